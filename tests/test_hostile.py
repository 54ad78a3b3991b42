"""Hostile submissions cost at most the question they sit in, and fool nothing.

Each file in ``tests/hostile/`` attacks from inside one answer (or at top level) on
top of the reference answers: a hang, a hang that swallows interruptions,
``os._exit``, a memory bomb, a fork bomb, monkeypatched comparisons, printed and
forged results, an output flood, top-level cells that hang and exit. Limits are
lowered (5 s, 1 GiB) through the CLI flags so the attacks stay small on CI.
"""
from __future__ import annotations

import json
import os

import pytest

from autograder.engine.sandbox import can_drop_privileges
from autograder.samples import compose
from conftest import ROOT, grade_cli, load_gradebook

HOSTILE = ROOT / "tests" / "hostile"
EXPECTED = json.loads((HOSTILE / "EXPECTED.json").read_text())
UIDS = (450_000, 460_000)  # this test's own sandbox uids, so that other graders running here don't count


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    for name in EXPECTED:
        compose("access", HOSTILE / f"{name}.py", base / "in" / f"{name}.ipynb")
    run = grade_cli("access", [base / "in"], base / "out", "--jobs", "2", "--time-limit", "5", "--memory-limit", "1",
                    env={"AUTOGRADER_SANDBOX_UIDS": "-".join(map(str, UIDS))})
    assert run.returncode == 0, run.stderr
    return load_gradebook(base / "out"), base


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_attack_costs_only_its_question(graded, name):
    book, base = graded
    row = book[f"{name}.ipynb"]
    results = json.loads((base / "out" / f"{name}.ipynb" / "results.json").read_text())
    for q, got in row["questions"].items():
        want = EXPECTED[name].get("scores", {}).get(q, got["max_score"])
        assert got["score"] == want, f"{name}: {q} scored {got['score']}, expected {want}; errors: {row['errors']}"
    for q, phrase in EXPECTED[name].get("hint", {}).items():
        hints = " | ".join(t["output"] for t in results["tests"] if q in t["tags"] and t["status"] == "failed")
        assert phrase in hints, f"{name}: hints for {q} should say {phrase!r}: {hints}"
    assert results["score"] == row["total"], "results.json and the gradebook must agree"


def test_forged_and_printed_results_fool_nothing(graded):
    book, base = graded
    results = json.loads((base / "out" / "fake_results.ipynb" / "results.json").read_text())
    assert results["score"] == book["fake_results.ipynb"]["total"] < book["fake_results.ipynb"]["max_total"]
    assert all(t["max_score"] <= 1 for t in results["tests"]), "a forged test entry got in"
    written = {p.relative_to(base / "out").as_posix() for p in (base / "out").rglob("*") if p.is_file()}
    ours = {"gradebook.csv", "gradebook.json", "summary.html", "summary-scores.png", "summary-questions.png",
            *(f"{n}.ipynb/{f}" for n in EXPECTED for f in ("results.json", "feedback.md", "feedback.html"))}
    assert written == ours, f"unexpected files: {written ^ ours}"
    assert json.loads((base / "out" / "gradebook.json").read_text())["assignment"] == "access"


def test_hung_and_exiting_cells_are_reported(graded):
    book, _ = graded
    errors = " ".join(book["top_level_mayhem.ipynb"]["errors"])
    assert "did not finish in time" in errors and "skipped" in errors, errors


def test_no_sandbox_process_survives(graded):
    leftover = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                uid = int(open(f"/proc/{p}/status").read().split("Uid:")[1].split()[0])
            except (OSError, IndexError, ValueError):
                continue
            if UIDS[0] <= uid < UIDS[1]:
                leftover.append((p, uid))
    assert not leftover, f"sandbox processes still alive: {leftover}"


@pytest.mark.skipif(not can_drop_privileges(), reason="needs root and a world-readable interpreter")
def test_forged_file_could_not_be_written_anywhere_outside(graded):
    _, base = graded
    assert not (base / "in" / "results.json").exists()
