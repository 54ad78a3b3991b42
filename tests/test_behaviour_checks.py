"""The child's word is not taken for identity: submissions that forge the engine's answers lose exactly
the points of their wrong answers.

``tests/forged/<assignment>/`` holds wrong answers dressed up by a cell that reaches the engine's own
objects inside the child through the garbage collector (not through ``sys.modules``, which the child
forgets before student code runs) and patches them: ``snapshot.take`` (every name a distinct object, or a
parameter left out) or ``Identities.of`` (a copy reports the id of its original). ``EXPECTED.json`` has
the format of ``tests/submissions/*/EXPECTED.json`` plus ``without_behaviour``: what the forged answer
scores when the graders' behaviour checks (``autograder/graders/behaviour.py``) are switched off. The
second test proves that every forgery reaches the engine and would pass the snapshot checks alone, so the
first one is not passing for a forgery that no longer works.
"""
from __future__ import annotations

import json

import pytest

from autograder.samples import compose, compose_folder

from conftest import ROOT, grade_cli, load_gradebook

FORGED = ROOT / "tests" / "forged"
ASSIGNMENTS = sorted(p.name for p in FORGED.iterdir() if (p / "EXPECTED.json").exists()) if FORGED.exists() else []


def _expected(assignment: str) -> dict:
    expected = json.loads((FORGED / assignment / "EXPECTED.json").read_text())
    for path in (FORGED / assignment).glob("*.py"):
        assert path.stem in expected, f"forged/{assignment}/{path.name} has no entry in EXPECTED.json"
    return expected


def _cases():
    for a in ASSIGNMENTS:
        for name, want in sorted(_expected(a).items()):
            yield pytest.param(a, name, want, id=f"{a}-{name}")


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """Grade every assignment's forged submissions (and the reference) once, through the CLI."""
    cache = {}

    def get(assignment: str):
        if assignment not in cache:
            base = tmp_path_factory.mktemp(f"forged-{assignment}")
            compose_folder(assignment, FORGED / assignment, base / "in")
            run = grade_cli(assignment, [base / "in"], base / "out", "--jobs", "2")
            assert run.returncode == 0, run.stderr
            cache[assignment] = (load_gradebook(base / "out"), base / "out")
        return cache[assignment]
    return get


def _scores(row: dict) -> dict[str, float]:
    return {q: got["score"] for q, got in row["questions"].items()}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_reference_keeps_full_marks(graded, assignment):
    book, _ = graded(assignment)
    row = book["reference.ipynb"]
    assert all(q["score"] == q["max_score"] for q in row["questions"].values()), _scores(row)


@pytest.mark.parametrize("assignment,name,expected", list(_cases()))
def test_a_forged_answer_loses_exactly_its_wrong_rules(graded, assignment, name, expected):
    book, out = graded(assignment)
    row = book[f"{name}.ipynb"]
    results = json.loads((out / f"{name}.ipynb" / "results.json").read_text())
    for q, got in row["questions"].items():
        want = expected["scores"].get(q, got["max_score"])
        hints = [t["output"] for t in results["tests"] if q in t["tags"] and t["status"] == "failed"]
        assert got["score"] == want, f"{name}: {q} scored {got['score']}, expected {want}; hints: {hints}"
    for q, phrase in expected.get("hint", {}).items():
        said = " | ".join(t["output"] for t in results["tests"] if q in t["tags"] and t["status"] == "failed")
        assert phrase in said, f"{name}: the hints for {q} should say {phrase!r}; they say: {said}"


@pytest.mark.parametrize("assignment,name,expected", list(_cases()))
def test_the_forgery_works_against_the_snapshot_checks_alone(assignment, name, expected, tmp_path, monkeypatch):
    """With the behaviour checks switched off in the grading process, the forged answer gains exactly the
    points ``without_behaviour`` says: the forgery reaches the engine, and only the behaviour checks stop it."""
    from autograder.api import grade_one
    from autograder.engine.sandbox import Limits
    from autograder.graders import behaviour

    for fn in [n for n in dir(behaviour) if n.startswith("confirm_")]:
        monkeypatch.setattr(behaviour, fn, lambda *args, **kwargs: None)
    g, _ = grade_one(compose(assignment, FORGED / assignment / f"{name}.py", tmp_path / f"{name}.ipynb"),
                     assignment, Limits())
    scores: dict[str, float] = {}
    for r in g.results:
        scores[r.rule.question] = scores.get(r.rule.question, 0.0) + (r.rule.points if r.passed else 0.0)
    for q, want in expected["without_behaviour"].items():
        assert scores[q] == want, (f"{name}: without the behaviour checks {q} scored {scores[q]}, expected {want}: "
                                   "the forgery no longer reaches the engine (update it) "
                                   "or the snapshot checks changed")
        assert want > expected["scores"][q], f"{name}: without_behaviour must say what the forgery would gain in {q}"
