"""The hidden graders are plain pytest files: pytest runs them against one submission too,
with the same verdicts as the engine's runner."""
from __future__ import annotations

import subprocess
import sys

from autograder.samples import compose
from conftest import ROOT


def _pytest(submission) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "autograder/graders/test_access.py", "--submission", str(submission)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_pytest_passes_the_reference_and_fails_a_mistake(tmp_path):
    """Counts come from the rules collected and EXPECTED.json, so that a new rule changes nothing here."""
    import re

    from autograder.engine import runner
    from conftest import GOLDENS

    rules = {r.name: r for r in runner.rules("access")}
    good = _pytest(compose("access", None, tmp_path / "good.ipynb"))
    assert good.returncode == 0 and re.search(rf"\b{len(rules)} passed\b", good.stdout), good.stdout[-2000:]
    bad = _pytest(compose("access", ROOT / "tests/submissions/access/cp_float.py", tmp_path / "bad.ipynb"))
    assert bad.returncode == 1, bad.stdout[-2000:]
    failed = re.findall(r"^FAILED \S+::(\w+)", bad.stdout, re.M)
    assert re.search(rf"\b{len(failed)} failed, {len(rules) - len(failed)} passed\b", bad.stdout), bad.stdout[-2000:]
    # cp_float loses exactly EXPECTED.json's points, all of them in count_parameters, and is told why
    question = "count_parameters"
    kept = GOLDENS[ROOT / "tests/submissions/access/EXPECTED.json"]["cp_float"]["scores"][question]
    assert failed and {rules[name].question for name in failed} == {question}, failed
    lost = sum(r.points for r in rules.values() if r.question == question) - kept
    assert sum(rules[name].points for name in failed) == lost, failed
    assert "must return an integer" in bad.stdout, bad.stdout[-2000:]


def _grader_module(source: str):
    """A grader module made from source, as `autograder/graders/test_<name>.py` would be."""
    import types

    module = types.ModuleType("autograder.graders.test_example")
    exec(compile("import pytest\n" + source, "test_example.py", "exec"), module.__dict__)
    return module


def test_the_runner_refuses_what_it_would_not_run_as_pytest_does():
    """Whatever the engine's runner would run differently from plain pytest is refused at load, with a message."""
    import pytest

    from autograder.engine.runner import GraderFileError, collect

    mark = '@pytest.mark.question("q", points=1)\n'
    refused = {
        "parametrize": (mark + '@pytest.mark.parametrize("n", [1, 2])\ndef test_a(student, n):\n    pass\n',
                        "parametrize is not supported"),
        "fixture": (mark + "def test_a(student, tmp_path):\n    pass\n", "fixture 'tmp_path' is not supported"),
        "class": ("class TestA:\n    " + mark.replace("\n", "\n    ") + "def test_a(self, student):\n        pass\n",
                  "test classes are not supported"),
        "skip": (mark + "@pytest.mark.skip\ndef test_a(student):\n    pass\n", "skip is not supported"),
        "no question": ("def test_a(student):\n    pass\n", "exactly one @pytest.mark.question"),
        "generator": (mark + "def test_a(student):\n    yield\n", "generator and async tests"),
        "needs later": ('@pytest.mark.question("q", points=1, needs="test_b")\ndef test_a(student):\n    pass\n'
                        + mark + "def test_b(student):\n    pass\n", "must name earlier tests"),
    }
    for what, (source, message) in refused.items():
        with pytest.raises(GraderFileError, match=message):
            collect(_grader_module(source))
    rules = collect(_grader_module(mark + "def test_a(student, rng):\n    pass\n"
                                   + '@pytest.mark.question("q", points=2, needs="test_a")\ndef test_b(rng):\n    pass\n'))
    assert [(r.name, r.points, r.needs) for r in rules] == [("test_a", 1.0, ()), ("test_b", 2.0, ("test_a",))]


def test_grader_errors_are_not_student_failures():
    """An exception in a grader (not an AssertionError, not the student's problem) is an error: points kept, flagged."""
    from autograder.engine.runner import ERROR_HINT, collect, run_rules
    from autograder.engine.student import ProtocolMismatch

    module = _grader_module(
        '@pytest.mark.question("q", points=1)\ndef test_ok(student):\n    pass\n'
        '@pytest.mark.question("q", points=1)\ndef test_wrong(student):\n    assert False, "a hint"\n'
        '@pytest.mark.question("q", points=1)\ndef test_bug(student):\n    {}["missing"]\n'
        '@pytest.mark.question("q", points=1, needs="test_wrong")\ndef test_no_harm(student):\n    pass\n')
    module.ProtocolMismatch = ProtocolMismatch
    exec('@pytest.mark.question("r", points=1)\ndef test_channel(student):\n    raise ProtocolMismatch("x")\n',
         module.__dict__)

    class FakeStudent:
        def new_run(self):
            pass

        def begin_question(self, name):
            pass

    results = run_rules(FakeStudent(), "example", "0" * 64, collect(module))
    got = {r.rule.name: (r.outcome, r.score) for r in results}
    assert got == {"test_ok": ("passed", 1), "test_wrong": ("failed", 0), "test_bug": ("error", 1),
                   "test_no_harm": ("failed", 0), "test_channel": ("error", 0)}
    bug = next(r for r in results if r.rule.name == "test_bug")
    assert bug.hint == ERROR_HINT and "KeyError" in bug.error


def test_probe_answers_are_matched_by_slot_name():
    """Each answer goes to the request of its slot's name; any mismatch is a grader error, never a shifted value."""
    import pytest

    from autograder.engine.student import GraderError, Program, ProtocolMismatch, RunResult, match_answers

    p = Program()
    m = p.build({"k": "linear", "in": 2, "out": 3}, 1)
    snap = p.snapshot(m)
    out = p.ret(p.call("f", m))
    assert [s.get("ret") for s in p.steps] == [None, True, None, None, True]  # build, snapshot, name, call, return
    match_answers(p, {snap.name: 1, out.name: 2}, complete=True)
    match_answers(p, {snap.name: 1}, complete=False)  # the program stopped on the student's exception
    with pytest.raises(ProtocolMismatch, match="no answer"):
        match_answers(p, {snap.name: 1}, complete=True)
    with pytest.raises(ProtocolMismatch, match="never asked"):
        match_answers(p, {snap.name: 1, out.name: 2, "s99": 3}, complete=True)
    with pytest.raises(GraderError, match="returned twice"):
        p.ret(out)
    with pytest.raises(GraderError, match="never returned"):
        RunResult("f(...)", {snap.name: 1}, None)[m]
    assert RunResult("f(...)", {snap.name: 1, out.name: 2}, None)[out] == 2
