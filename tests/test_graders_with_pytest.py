"""The hidden graders are plain pytest files: pytest runs them against one submission too,
with the same verdicts as the engine's runner. (How the runner collects rules from pytest marks, and
what it refuses, is unit-tested in tests/unit/test_runner.py.)"""
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
