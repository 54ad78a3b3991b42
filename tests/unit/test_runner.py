"""The collection of rules from pytest marks (autograder/engine/runner.py): what a grader file declares is what
the runner grades (names, order, questions, points, visibility, needs, check names), rule factories are
collected like functions written out, and whatever plain pytest would run differently is refused at load.
Then the runner's outcomes, on a stand-in student: no sandbox is started here."""
from __future__ import annotations

import random
import types

import pytest

from autograder import i18n
from autograder.engine import runner
from autograder.engine.runner import GraderFileError, Rule, RuleResult, collect, run_rules
from autograder.engine.snapshot import MissingName, Names
from autograder.engine.student import ProtocolMismatch, StudentTimeout

MARK = '@pytest.mark.question("q", points=1)\n'


def _module(source: str, **names: object) -> types.ModuleType:
    """A grader module made from source, as ``autograder/graders/test_<name>.py`` would be."""
    module = types.ModuleType("autograder.graders.test_example")
    module.__dict__.update(names)
    exec(compile("import pytest\n" + source, "test_example.py", "exec"), module.__dict__)
    return module


class FakeStudent:
    """Stands in for ``Student``: records the questions begun."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    def new_run(self) -> None:
        self.questions.clear()

    def begin_question(self, name: str) -> None:
        self.questions.append(name)


# ------------------------------------------------------------------ what a mark declares


def test_marks_give_question_points_visibility_needs_and_check_name():
    rules = collect(_module(
        '@pytest.mark.question("q1", points=2, visibility="hidden")\n'
        'def test_a(student, rng):\n    """the check name\n\n    more text"""\n'
        '@pytest.mark.question("q1", 3)\ndef test_b(rng):\n    pass\n'
        '@pytest.mark.question("q2")\ndef test_c_no_docstring():\n    pass\n'
        '@pytest.mark.question("q1", points=0.5, visibility="after_due_date", needs=("test_a", "test_b"))\n'
        'def test_d(student):\n    pass\n'
        '@pytest.mark.question("q2", needs="test_c_no_docstring")\ndef test_e(student):\n    pass\n'))
    got = [(r.name, r.question, r.points, r.visibility, r.needs, r.doc) for r in rules]
    assert got == [
        ("test_a", "q1", 2.0, "hidden", (), "the check name\n\nmore text"),
        ("test_b", "q1", 3.0, "visible", (), "b"),
        ("test_c_no_docstring", "q2", 1.0, "visible", (), "c no docstring"),
        ("test_d", "q1", 0.5, "after_due_date", ("test_a", "test_b"), "d"),
        ("test_e", "q2", 1.0, "visible", ("test_c_no_docstring",), "e"),
    ]
    assert runner.question_order(rules) == ["q1", "q2"]


def test_helpers_and_other_names_are_not_rules():
    rules = collect(_module("def helper(student):\n    pass\nCONSTANT = 3\nclass Helper:\n    pass\n"
                            + MARK + "def test_a(student):\n    pass\n"))
    assert [r.name for r in rules] == ["test_a"]


def test_a_rule_factory_is_collected_like_functions_written_out():
    """test_init defines rules in a loop (``globals()[name] = mark(function)``): the runner sees each under its
    name, in definition order, with its mark and docstring; pytest collects module functions the same way."""
    source = (
        "def _define(question, rule, doc, needs=()):\n"
        "    def test(student, rng):\n"
        "        pass\n"
        "    test.__name__ = test.__qualname__ = f'test_{question}_{rule}'\n"
        "    test.__doc__ = doc\n"
        "    globals()[test.__name__] = pytest.mark.question(question, points=1, needs=needs)(test)\n"
        "    return test.__name__\n"
        "for q in ('f', 'g'):\n"
        "    job = (_define(q, 'works', 'it works'),)\n"
        "    _define(q, 'no_harm', 'it does no harm', needs=job)\n"
        + MARK + "def test_written_out(student):\n    pass\n")
    rules = collect(_module(source))
    assert [(r.name, r.question, r.needs, r.doc) for r in rules] == [
        ("test_f_works", "f", (), "it works"), ("test_f_no_harm", "f", ("test_f_works",), "it does no harm"),
        ("test_g_works", "g", (), "it works"), ("test_g_no_harm", "g", ("test_g_works",), "it does no harm"),
        ("test_written_out", "q", (), "written out")]


def test_the_init_graders_are_collected_with_their_declared_rules():
    """The factory in test_init.py: six initializers, five rules each, the no-harm rule last and needing the
    other four; every rule one point, visible, with a check name."""
    rules = runner.rules("init")
    by_question: dict[str, list[Rule]] = {}
    for r in rules:
        by_question.setdefault(r.question, []).append(r)
    initializers = ["init_normal", "init_constant", "init_xavier", "init_42", "my_init", "init_kaiming_relu"]
    assert list(by_question)[:6] == initializers
    for name in initializers:
        five = [r.name.removeprefix(f"test_{name}_") for r in by_question[name]]
        assert len(five) == 5 and five[0].startswith("weight") and five[1] in ("bias_is_zero", "bias_unchanged")
        assert five[2:4] == ["acts_only_on_linear", "works_in_place"]
        assert five[4] in ("uses_global_generator", "never_reseeds")
        assert by_question[name][4].needs == tuple(r.name for r in by_question[name][:4])
        assert all(r.points == 1 and r.visibility == "visible" and r.doc != r.name[5:].replace("_", " ")
                   for r in by_question[name])


# ------------------------------------------------------------------ what is refused at load


@pytest.mark.parametrize("source,message", [
    (MARK + '@pytest.mark.parametrize("n", [1, 2])\ndef test_a(student, n):\n    pass\n',
     "parametrize is not supported"),
    (MARK + "@pytest.mark.skip\ndef test_a(student):\n    pass\n", "skip is not supported"),
    (MARK + "@pytest.mark.xfail\ndef test_a(student):\n    pass\n", "xfail is not supported"),
    (MARK + "def test_a(student, tmp_path):\n    pass\n", "fixture 'tmp_path' is not supported"),
    ("class TestA:\n    " + MARK.replace("\n", "\n    ") + "def test_a(self, student):\n        pass\n",
     "test classes are not supported"),
    ("def test_a(student):\n    pass\n", "exactly one @pytest.mark.question"),
    (MARK + MARK + "def test_a(student):\n    pass\n", "exactly one @pytest.mark.question"),
    (MARK + "def test_a(student):\n    yield\n", "generator and async tests"),
    (MARK + "async def test_a(student):\n    pass\n", "generator and async tests"),
    (MARK + "def testa(student):\n    pass\n", "name grader tests test_<rule>"),
    ('@pytest.mark.question("q", visibility="secret")\ndef test_a(student):\n    pass\n', "visibility must be one of"),
    ('@pytest.mark.question("q", needs="test_b")\ndef test_a(student):\n    pass\n' + MARK
     + "def test_b(student):\n    pass\n", "must name earlier tests"),
    (MARK + 'def test_a(student):\n    pass\n@pytest.mark.question("r", needs="test_a")\n'
     "def test_b(student):\n    pass\n", "must name earlier tests of question 'r'"),
    ("pytestmark = pytest.mark.skip\n" + MARK + "def test_a(student):\n    pass\n", "module-level pytestmark"),
    ("@pytest.fixture(autouse=True)\ndef setup():\n    pass\n" + MARK + "def test_a(student):\n    pass\n",
     "fixtures other than student and rng"),
    ("@pytest.fixture\ndef data():\n    return 1\n" + MARK + "def test_a(student):\n    pass\n",
     "fixtures other than student and rng"),
    ("__test__ = False\n" + MARK + "def test_a(student):\n    pass\n", "collect nothing"),
])
def test_what_pytest_would_run_differently_is_refused_with_a_message(source, message):
    with pytest.raises(GraderFileError, match=message):
        collect(_module(source))


def test_a_test_pytest_would_not_collect_is_not_a_rule():
    """``__test__ = False`` on a function: pytest leaves it out, and so does the runner."""
    rules = collect(_module(MARK + "def test_a(student):\n    pass\n" + MARK + "def test_b(student):\n    pass\n"
                            + "test_b.__test__ = False\n"))
    assert [r.name for r in rules] == ["test_a"]


def test_the_graders_conftest_gives_only_the_runners_fixtures():
    """The shipped conftest.py passes the check that refuses other fixtures, autouse ones above all."""
    assert [r.question for r in runner.rules("access")][0] == "param_shapes"
    import autograder.graders.conftest as conftest

    runner._refuse_fixtures(conftest, allowed=runner.CONFTEST_FIXTURES)
    with pytest.raises(GraderFileError, match="conftest._student"):
        runner._refuse_fixtures(conftest)


def test_refusals_name_the_test():
    with pytest.raises(GraderFileError, match=r"autograder\.graders\.test_example\.test_a: fixture 'tmp_path'"):
        collect(_module(MARK + "def test_a(student, tmp_path):\n    pass\n"))


# ------------------------------------------------------------------ outcomes


def test_outcomes_follow_pytest_and_needs_counts_only_after_the_job_is_done():
    module = _module(
        MARK + "def test_ok(student):\n    pass\n"
        + MARK + 'def test_wrong(student):\n    assert False, "a hint"\n'
        + MARK + 'def test_no_message(student):\n    """checks a thing"""\n    assert False\n'
        + MARK + 'def test_bug(student):\n    {}["missing"]\n'
        + '@pytest.mark.question("q", needs="test_wrong")\ndef test_no_harm(student):\n    pass\n'
        + '@pytest.mark.question("q", needs=("test_wrong", "test_ok"))\ndef test_no_harm_ok(student):\n    pass\n'
        + '@pytest.mark.question("q", needs="test_bug")\ndef test_after_error(student):\n    pass\n'
        + '@pytest.mark.question("r")\ndef test_slow(student):\n    raise StudentTimeout("too slow")\n'
        + '@pytest.mark.question("r")\ndef test_channel(student):\n    raise ProtocolMismatch("x")\n',
        StudentTimeout=StudentTimeout, ProtocolMismatch=ProtocolMismatch)
    student = FakeStudent()
    results = run_rules(student, "example", "0" * 64, collect(module))
    got = {r.rule.name: (r.outcome, r.score) for r in results}
    assert got == {"test_ok": ("passed", 1), "test_wrong": ("failed", 0), "test_no_message": ("failed", 0),
                   "test_bug": ("error", 1), "test_no_harm": ("failed", 0), "test_no_harm_ok": ("passed", 1),
                   "test_after_error": ("passed", 1), "test_slow": ("failed", 0), "test_channel": ("error", 0)}
    by_name = {r.rule.name: r for r in results}
    assert by_name["test_wrong"].hint == "a hint"
    assert by_name["test_no_message"].hint == "q: checks a thing"  # the check name stands in for a missing hint
    assert by_name["test_bug"].hint == runner.ERROR_HINT and "KeyError" in by_name["test_bug"].error
    assert by_name["test_no_harm"].hint == runner.needs_hint(by_name["test_no_harm"].rule)
    assert by_name["test_slow"].problem == "timeout" and by_name["test_slow"].hint == "too slow"
    assert by_name["test_channel"].withheld and by_name["test_channel"].hint == runner.WITHHELD_HINT
    assert student.questions == ["q"] * 7 + ["r"] * 2
    assert "seconds" not in RuleResult.__dataclass_fields__


def test_rng_is_seeded_by_the_secret_the_submission_and_the_rule():
    module = _module(MARK + "def test_a(rng):\n    DRAWS.append(rng.random())\n"
                     + MARK + "def test_b(rng):\n    DRAWS.append(rng.random())\n", DRAWS=[])
    rules = collect(module)

    def draws(digest: str, key: bytes) -> list[float]:
        module.DRAWS.clear()
        run_rules(FakeStudent(), "example", digest, rules, key=key)
        return list(module.DRAWS)

    first = draws("a" * 64, b"k")
    assert first == draws("a" * 64, b"k") and first[0] != first[1]  # stable per submission, distinct per rule
    assert first != draws("b" * 64, b"k") and first != draws("a" * 64, b"other")
    assert first[0] == random.Random(runner.seed_for("a" * 64, "test_a", b"k")).random()


@pytest.mark.parametrize("lang, hint", [("en", "the module has no parameter named 'w'"),
                                        ("zh", "模块中没有名为'w'的参数")])
def test_a_missing_name_fails_the_rule_in_the_students_language(lang: str, hint: str) -> None:
    # snapshot.py (bound into the sandbox, which has no i18n) says it in English; the runner translates it
    module = _module(MARK + "def test_a(student):\n    Names()['w']\n", Names=Names)
    with i18n.using(lang):
        (result,) = run_rules(FakeStudent(), "example", "0" * 64, collect(module))
    assert (result.outcome, result.hint) == ("failed", hint)
    assert str(MissingName("w")) == runner.MISSING_NAME_HINT.format(name="w")
