"""Run an assignment's hidden graders (plain pytest files) against one submission, in this process.

A grader file ``autograder/graders/test_<assignment>.py`` holds test functions,
each marked ``@pytest.mark.question(name, points=…, visibility=…)``. They take
fixtures by name: ``student`` (the submission, see ``student.py``) and ``rng``
(a ``random.Random`` seeded from the secret, the submission's bytes and the
test's name: stable per submission, unpredictable without the secret).

This runner calls the test functions directly (no pytest session per
submission: collecting costs more than grading); ``graders/conftest.py`` gives
pytest the same fixtures, so ``pytest autograder/graders/test_access.py
--submission FILE`` runs the same checks.
"""
from __future__ import annotations

import hashlib
import hmac
import importlib
import inspect
import os
import random
import sys
import time
import traceback
from dataclasses import dataclass, field
from types import ModuleType
from typing import Callable

from .student import StudentProblem

DEFAULT_SECRET = "d2l-autograder-development-secret"
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


@dataclass(frozen=True)
class Rule:
    """One grader test: one rule of the contract for one question."""

    name: str
    question: str
    points: float
    visibility: str
    func: Callable
    doc: str


@dataclass
class RuleResult:
    rule: Rule
    passed: bool
    hint: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return self.rule.points if self.passed else 0.0


@dataclass
class Grading:
    """Everything one submission's grading found (before it is written anywhere)."""

    assignment: str
    submission: str
    results: list[RuleResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)

    def question_scores(self) -> dict[str, tuple[float, float]]:
        out = {q: [0.0, 0.0] for q in self.questions}
        for r in self.results:
            out[r.rule.question][0] += r.score
            out[r.rule.question][1] += r.rule.points
        return {q: (round(s, 6), round(m, 6)) for q, (s, m) in out.items()}

    @property
    def total(self) -> float:
        return round(sum(r.score for r in self.results), 6)

    @property
    def max_total(self) -> float:
        return round(sum(r.rule.points for r in self.results), 6)


def secret() -> bytes:
    value = os.environ.get("AUTOGRADER_SECRET")
    return (value or DEFAULT_SECRET).encode()


def seed_for(digest: str, name: str, key: bytes | None = None) -> int:
    """A 64-bit seed from the secret, the submission's sha256 and a test's name."""
    mac = hmac.new(key if key is not None else secret(), f"{digest}:{name}".encode(), hashlib.sha256)
    return int.from_bytes(mac.digest()[:8], "big")


def grader_module(assignment: str) -> ModuleType:
    import torch

    # The graders' own computations are small: one thread avoids contention with the children.
    torch.set_num_threads(1)
    return importlib.import_module(f"autograder.graders.test_{assignment}")


def rules(assignment: str) -> list[Rule]:
    """The grader tests of an assignment, in file order, with their question marks."""
    module = grader_module(assignment)
    out = []
    for name, func in vars(module).items():
        if not (name.startswith("test_") and inspect.isfunction(func)):
            continue
        marks = [m for m in getattr(func, "pytestmark", []) if m.name == "question"]
        if len(marks) != 1:
            raise ValueError(f"{module.__name__}.{name} needs exactly one @pytest.mark.question")
        mark = marks[0]
        question = mark.args[0]
        points = float(mark.kwargs.get("points", mark.args[1] if len(mark.args) > 1 else 1))
        visibility = mark.kwargs.get("visibility", "visible")
        if visibility not in VISIBILITIES:
            raise ValueError(f"{name}: visibility must be one of {VISIBILITIES}")
        doc = inspect.getdoc(func) or name[5:].replace("_", " ")
        out.append(Rule(name=name, question=question, points=points, visibility=visibility, func=func, doc=doc))
    return out


def questions(assignment: str) -> list[str]:
    """The assignment's questions in the order the graders list them."""
    return list(dict.fromkeys(r.question for r in rules(assignment)))


def run_rules(student, assignment: str, digest: str, rule_list: list[Rule] | None = None,
              key: bytes | None = None) -> list[RuleResult]:
    """Run every rule against a started ``Student``; a rule's failure never stops the next.
    ``key`` overrides the secret (a statistical sweep grades under many)."""
    results = []
    key = key if key is not None else secret()
    student.new_run()
    for rule in rule_list if rule_list is not None else rules(assignment):
        student.begin_question(rule.question)
        fixtures = {"student": student, "rng": random.Random(seed_for(digest, rule.name, key))}
        params = inspect.signature(rule.func).parameters
        started = time.monotonic()
        try:
            rule.func(**{p: fixtures[p] for p in params})
            result = RuleResult(rule, passed=True)
        except StudentProblem as exc:
            result = RuleResult(rule, passed=False, hint=exc.hint)
        except AssertionError as exc:
            result = RuleResult(rule, passed=False, hint=str(exc) or f"{rule.question}: {rule.doc}")
        except Exception as exc:  # a value the grader could not handle: still the student's answer that failed
            where = traceback.extract_tb(exc.__traceback__)[-1]
            print(f"autograder: {rule.name} could not check the answer: {type(exc).__name__}: {exc} "
                  f"({os.path.basename(where.filename)}:{where.lineno})", file=sys.stderr)
            result = RuleResult(rule, passed=False,
                                hint=f"{rule.question}: your answer could not be checked ({type(exc).__name__}); "
                                     f"check that it returns what the question asks for")
        result.seconds = time.monotonic() - started
        results.append(result)
    return results
