"""Run an assignment's hidden graders (plain pytest files) against one submission, in this process.

A grader file ``autograder/graders/test_<assignment>.py`` holds test functions,
each marked ``@pytest.mark.question(name, points=…, visibility=…)``. They take
fixtures by name: ``student`` (the submission, see ``student.py``) and ``rng``
(a ``random.Random`` seeded from the secret, the submission's bytes and the
test's name: stable per submission, unpredictable without the secret).

This runner calls the test functions directly (no pytest session per
submission: collecting costs more than grading); ``graders/conftest.py`` gives
pytest the same fixtures, so ``pytest autograder/graders/test_access.py
--submission FILE`` runs the same checks. So that both mean the same, loading a
grader file refuses (``GraderFileError``, with a message) what this runner does
not do as pytest does: test classes, ``parametrize`` and every mark but
``question``, fixtures other than ``student`` and ``rng``, generator or async tests.

Outcomes follow pytest's: a rule *passes* (returns), *fails* (an ``AssertionError``,
or the student's code raised, hung or died: the student's hint) or *errors* (any
other exception: a bug in the grader, not the student's mistake; the student keeps
the rule's points and the instructor is told).

A rule marked ``needs="test_…"`` (or a tuple of names) is one that an answer doing
nothing would pass: it checks that the answer does no harm (it never reseeds, it
leaves net unchanged) or handles an edge case that raising alone handles (a
``ValueError`` for an uninitialized module). It counts only when one of those
earlier rules of its question passed, the rules that check the answer does its
job. So an empty or do-nothing answer earns nothing from it, and a wrong law does
not also cost the "never reseeds" point.

Hints are made in the active language (``i18n.using``, set around a submission's grading by
``grade.grade_one``); a ``Grading`` records it (``lang``) for the results written from it.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib
import inspect
import os
import random
import sys
import traceback
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Protocol

from .. import i18n
from ..i18n import N_, _
from .snapshot import MissingName
from .student import StudentCrashed, StudentProblem, StudentTimeout

if TYPE_CHECKING:
    from .sandbox import Limits

DEFAULT_SECRET = "d2l-autograder-development-secret"
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
FIXTURES = ("student", "rng")
CONFTEST_FIXTURES = frozenset({"_student", *FIXTURES})  # what graders/conftest.py defines for plain pytest
ERROR_HINT = N_("this check could not be run: the autograder failed on it (a problem in the grader, not in "
                "your code). You keep its points, and your instructor has been told.")
# snapshot.MissingName's message, said in the student's language (snapshot.py is child-side: no i18n there)
MISSING_NAME_HINT = N_("the module has no parameter named {name!r}")
WITHHELD_HINT = N_("this check could not be run: the answer sent back did not match what was asked. Your "
                   "instructor has been told and will look at it.")


class GraderFileError(ValueError):
    """A grader file uses something the runner would not run as pytest does; the message says what."""


class StudentHandle(Protocol):
    """What the runner itself uses of a ``student.Student``, which it hands on to each rule as its
    ``student`` fixture (the unit tests' stand-in has only this)."""

    def new_run(self) -> None:
        """A fresh grading run: every question's time budget starts afresh."""

    def begin_question(self, name: str) -> None:
        """Start a question's time budget."""


@dataclass(frozen=True)
class Rule:
    """One grader test: one rule of the contract for one question."""

    name: str
    question: str
    points: float
    visibility: str
    func: Callable[..., Any]  # the grader test: called with the fixtures its parameters name
    doc: str
    needs: tuple[str, ...] = ()  # earlier rules of the question; one must pass for this one to count


@dataclass
class RuleResult:
    """One rule's outcome: passed, failed (``hint`` for the student) or error (``error`` for the instructor)."""

    rule: Rule
    passed: bool
    hint: str = ""
    error: str = ""  # a grader error: the exception and where, for the instructor
    problem: str = ""  # "timeout" or "crashed" when the student's code hung or died in this rule
    withheld: bool = False  # a grader error whose points wait for the instructor (see student.ProtocolMismatch)

    @property
    def outcome(self) -> str:
        """pytest's word for it: "passed", "failed" or "error"."""
        return "error" if self.error else "passed" if self.passed else "failed"

    @property
    def score(self) -> float:
        """The points it earns: all of them when passed, or on a grader error whose points are not withheld."""
        return self.rule.points if self.passed or (self.error and not self.withheld) else 0.0


@dataclass
class Grading:
    """Everything one submission's grading found (before it is written anywhere)."""

    assignment: str
    submission: str
    results: list[RuleResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what went wrong, for the student and the gradebook
    questions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # informational only (which file of a zip was graded, ...)
    lang: str = i18n.DEFAULT  # the language of its hints, errors and notes: results are written in it too
    not_graded: str | None = None  # why nothing of it could be graded (unreadable, nothing submitted, its worker died)
    timed_out: bool = False  # its code hit a time limit: a cell's, or the submission's whole budget

    @property
    def grader_errors(self) -> list[str]:
        """``rule: exception`` for every rule the graders failed on (for the instructor)."""
        return [f"{r.rule.name}: {r.error}" for r in self.results if r.error]

    def question_scores(self) -> dict[str, tuple[float, float]]:
        """(score, points possible) per question (``sum_by_question``)."""
        return sum_by_question(((r.rule.question, r.score, r.rule.points) for r in self.results), self.questions)

    @property
    def total(self) -> float:
        """The points earned."""
        return round(sum(r.score for r in self.results), 6)

    @property
    def max_total(self) -> float:
        """The points possible."""
        return round(sum(r.rule.points for r in self.results), 6)


def secret() -> bytes:
    """The key of the per-submission seeds: ``AUTOGRADER_SECRET``, or a fixed one for development."""
    value = os.environ.get("AUTOGRADER_SECRET")
    return (value or DEFAULT_SECRET).encode()


def seed_for(digest: str, name: str, key: bytes | None = None) -> int:
    """A 64-bit seed from the secret, the submission's sha256 and a test's name."""
    mac = hmac.new(key if key is not None else secret(), f"{digest}:{name}".encode(), hashlib.sha256)
    return int.from_bytes(mac.digest()[:8], "big")


def grader_module(assignment: str) -> ModuleType:
    """The assignment's grader tests (``autograder/graders/test_<assignment>.py``), imported."""
    import torch

    # The graders' own computations are small: one thread avoids contention with the children.
    torch.set_num_threads(1)
    return importlib.import_module(f"autograder.graders.test_{assignment}")


def rules(assignment: str) -> list[Rule]:
    """The grader tests of an assignment, in file order, with their question marks."""
    module = grader_module(assignment)
    if module.__package__:  # the graders' conftest.py: pytest would give its fixtures to every test
        conftest = importlib.import_module(f"{module.__package__}.conftest")
        _refuse_fixtures(conftest, allowed=CONFTEST_FIXTURES)
    return collect(module)


def _fixture_marker(obj: object) -> Any:
    """pytest's fixture marker of ``obj`` (its scope, autouse, ...), or None when it is not a fixture."""
    from _pytest.fixtures import getfixturemarker  # pytest's own test for a fixture (pytest re-exports none)

    return getfixturemarker(obj)


def _refuse_fixtures(module: ModuleType, allowed: frozenset[str] = frozenset()) -> None:
    """``GraderFileError`` for a fixture the runner does not give (or give as pytest would): any fixture of a grader
    file, and in its conftest any but the runner's own (never autouse, which pytest would run around every test)."""
    for name, obj in vars(module).items():
        marker = _fixture_marker(obj)
        if marker is None:
            continue
        if name not in allowed or getattr(marker, "autouse", False):
            raise GraderFileError(f"{module.__name__}.{name}: fixtures other than {' and '.join(FIXTURES)} (and "
                                  f"autouse fixtures) are not supported by the grading runner")


def collect(module: ModuleType) -> list[Rule]:
    """The rules of a grader module; ``GraderFileError`` for anything not run here as pytest would run it."""
    where = module.__name__
    if "pytestmark" in vars(module):
        raise GraderFileError(f"{where}: a module-level pytestmark is not supported by the grading runner (it would "
                              f"apply to every test under pytest); mark each test with @pytest.mark.question only")
    if vars(module).get("__test__", True) is False:
        raise GraderFileError(f"{where}: __test__ = False makes pytest collect nothing from this grader file")
    _refuse_fixtures(module)
    out: list[Rule] = []
    for name, obj in vars(module).items():
        if getattr(obj, "__test__", True) is False:
            continue  # pytest does not collect it either: a helper, not a rule
        if name.startswith("Test") and inspect.isclass(obj):
            raise GraderFileError(f"{where}.{name}: test classes are not supported by the grading runner; "
                                  f"write module-level test functions")
        if not (name.startswith("test") and inspect.isfunction(obj)):
            continue
        if not name.startswith("test_"):
            raise GraderFileError(f"{where}.{name}: name grader tests test_<rule> (pytest collects {name} too)")
        if inspect.isgeneratorfunction(obj) or inspect.iscoroutinefunction(obj):
            raise GraderFileError(f"{where}.{name}: generator and async tests are not supported")
        marks = getattr(obj, "pytestmark", [])
        other = sorted({m.name for m in marks if m.name != "question"})
        if other:
            raise GraderFileError(f"{where}.{name}: @pytest.mark.{other[0]} is not supported by the grading runner "
                                  f"(it would not mean what it means in pytest): only @pytest.mark.question")
        questions = [m for m in marks if m.name == "question"]
        if len(questions) != 1:
            raise GraderFileError(f"{where}.{name} needs exactly one @pytest.mark.question")
        params = list(inspect.signature(obj).parameters)
        unknown = [p for p in params if p not in FIXTURES]
        if unknown:
            raise GraderFileError(f"{where}.{name}: fixture {unknown[0]!r} is not supported by the grading runner; "
                                  f"tests take only {' and '.join(FIXTURES)}")
        mark = questions[0]
        question = mark.args[0]
        points = float(mark.kwargs.get("points", mark.args[1] if len(mark.args) > 1 else 1))
        visibility = mark.kwargs.get("visibility", "visible")
        if visibility not in VISIBILITIES:
            raise GraderFileError(f"{where}.{name}: visibility must be one of {VISIBILITIES}")
        needs = mark.kwargs.get("needs", ())
        needs = (needs,) if isinstance(needs, str) else tuple(needs)
        earlier = {r.name for r in out if r.question == question}
        if any(n not in earlier for n in needs):
            raise GraderFileError(f"{where}.{name}: needs={needs!r} must name earlier tests of question {question!r}")
        doc = inspect.getdoc(obj) or name[5:].replace("_", " ")
        out.append(Rule(name=name, question=question, points=points, visibility=visibility, func=obj, doc=doc,
                        needs=needs))
    return out


def needs_hint(rule: Rule) -> str:
    """The hint of a rule that counts only once the answer does its job (none of the rules it needs passed)."""
    return _("{question}: this check counts once your answer does its job (see the other checks of {question}): on "
             "its own it would give points to an answer that does nothing").format(question=rule.question)


def questions(assignment: str) -> list[str]:
    """The assignment's questions in the order the graders list them."""
    return question_order(rules(assignment))


def question_order(rule_list: Iterable[Rule]) -> list[str]:
    """The questions of ``rule_list`` in the order of their first rule: the order the graders list them
    (every question list of the kit comes from here)."""
    return list(dict.fromkeys(r.question for r in rule_list))


def sum_by_question(scores: Iterable[tuple[str, float, float]],
                    questions: Iterable[str] = ()) -> dict[str, tuple[float, float]]:
    """(score, points possible) per question from ``(question, score, points)`` triples, rounded to 6
    places: ``questions`` first and in their order (0 of 0 for one without a triple), then any other
    question in the order it comes (every per-question sum of the kit comes from here)."""
    out: dict[str, list[float]] = {q: [0.0, 0.0] for q in questions}
    for question, score, points in scores:
        total = out.setdefault(question, [0.0, 0.0])
        total[0] += score
        total[1] += points
    return {q: (round(s, 6), round(m, 6)) for q, (s, m) in out.items()}


def time_budget(limits: Limits, questions: int) -> float:
    """A submission's wall-time budget in seconds, for its cells, their reruns and every check together:
    each question's time limit, and four more for the cells and restarts (100 s for 6 questions at 10 s)."""
    return limits.time * (questions + 4)


def not_graded(assignment: str, submission: str, rule_list: list[Rule], reason: str) -> Grading:
    """A grading in which nothing could run (nothing submitted, an unreadable file, a grading process
    that died): every rule failed, saying ``reason``, in the active language (``i18n.using``)."""
    why = _("not graded: {reason}").format(reason=reason)
    g = Grading(assignment=assignment, submission=submission, questions=question_order(rule_list), not_graded=reason)
    g.errors.append(why)
    g.results = [RuleResult(r, passed=False, hint=why) for r in rule_list]
    return g


def run_rules(student: StudentHandle, assignment: str, digest: str, rule_list: list[Rule] | None = None,
              key: bytes | None = None) -> list[RuleResult]:
    """Run every rule against a started ``Student``; a rule's failure never stops the next.
    ``key`` overrides the secret (a statistical sweep grades under many)."""
    results: list[RuleResult] = []
    key = key if key is not None else secret()
    student.new_run()
    for rule in rule_list if rule_list is not None else rules(assignment):
        student.begin_question(rule.question)
        required = [r for r in results if r.rule.name in rule.needs]
        if required and all(r.outcome == "failed" for r in required):
            result = RuleResult(rule, passed=False, hint=needs_hint(rule))
        else:
            result = run_rule(rule, student, digest, key)
        results.append(result)
    return results


def stopped_questions(results: list[RuleResult]) -> list[str]:
    """A message per question whose checks the student's code stopped (a hang, a crash): its first such hint."""
    seen: dict[str, str] = {}
    for r in results:
        if r.problem and r.rule.question not in seen:
            seen[r.rule.question] = f"{r.rule.question}: {r.hint}"
    return list(seen.values())


def run_rule(rule: Rule, student: object, digest: str, key: bytes) -> RuleResult:
    """One rule, with pytest's outcomes: passed, failed (the student's hint) or error (a grader bug).
    ``student`` is handed to the rule as its fixture, as it is."""
    fixtures = {"student": student, "rng": random.Random(seed_for(digest, rule.name, key))}
    try:
        rule.func(**{p: fixtures[p] for p in inspect.signature(rule.func).parameters})
        return RuleResult(rule, passed=True)
    except StudentProblem as exc:
        problem = "timeout" if isinstance(exc, StudentTimeout) else "crashed" if isinstance(exc, StudentCrashed) else ""
        return RuleResult(rule, passed=False, hint=exc.hint, problem=problem)
    except MissingName as exc:
        return RuleResult(rule, passed=False, hint=_(MISSING_NAME_HINT).format(name=exc.name))
    except AssertionError as exc:
        said = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)  # a Text stays one
        return RuleResult(rule, passed=False, hint=said or f"{rule.question}: {_(rule.doc.splitlines()[0])}")
    except Exception as exc:  # the grader's own bug: not the student's failure
        where = traceback.extract_tb(exc.__traceback__)[-1]
        error = f"{type(exc).__name__}: {exc} ({os.path.basename(where.filename)}:{where.lineno})"
        print(f"autograder: grader error in {rule.name}: {error}", file=sys.stderr)
        result = RuleResult(rule, passed=False, hint=_(ERROR_HINT), error=error)
        if not getattr(exc, "keeps_points", True):  # the child's answers did not match: withheld, not given
            result.withheld = True
            result.hint = _(WITHHELD_HINT)
        return result
