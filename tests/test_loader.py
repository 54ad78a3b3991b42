"""Loading submissions end to end: a notebook of over 100 MiB, and what the CLI writes for a submission
it cannot read, a hang, a notebook made for another assignment, a zip. The loader's own logic (every
format, magic, limit and refusal) is unit-tested without a sandbox in ``tests/unit/test_loader.py``."""
from __future__ import annotations

import json
import zipfile

from autograder.engine.loader import load

from conftest import ROOT, grade_cli, load_gradebook


def _nb(cells: list[tuple[str, object]]) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": t, "metadata": {}, "source": s,
                                  **({"outputs": [], "execution_count": None} if t == "code" else {})}
                                 for t, s in cells]})


def test_large_outputs_do_not_matter(tmp_path):
    """A notebook of over 100 MiB, nearly all saved outputs, is graded: the limits bound the code (a second's
    I/O: here rather than in the unit layer)."""
    nb = json.loads(_nb([("code", "x = 1")]))
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "y" * 2**20}] * 101
    p = tmp_path / "big.ipynb"
    p.write_text(json.dumps(nb))
    assert p.stat().st_size > 100 * 2**20
    assert load(p).cells == ["x = 1"]


def test_unreadable_submissions_get_a_row_and_results_through_the_cli(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.ipynb").write_text("{oops")
    (tmp_path / "in" / "empty.py").write_text("# nothing here\n")
    (tmp_path / "in" / "notes.zip").write_bytes(b"PK\x03\x04garbage")
    run = grade_cli("access", [tmp_path / "in"], tmp_path / "out")
    assert run.returncode == 0, run.stderr
    book = load_gradebook(tmp_path / "out")
    assert set(book) == {"broken.ipynb", "empty.py", "notes.zip"}
    for name, row in book.items():
        assert row["total"] == 0 and row["max_total"] > 0
        assert row["errors"] and row["errors"][0].startswith("not graded:"), row
        results = json.loads((tmp_path / "out" / name / "results.json").read_text())
        assert results["score"] == 0 and results["tests"] and "not graded" in results["output"]


def test_cli_refuses_bad_arguments(tmp_path):
    assert grade_cli("nosuch", [tmp_path], tmp_path / "o").returncode != 0
    assert grade_cli("access", [tmp_path / "missing.ipynb"], tmp_path / "o").returncode != 0
    assert grade_cli("access", [tmp_path], tmp_path / "o", "--jobs", "0").returncode != 0


def test_what_the_student_is_told_hangs_wrong_assignment_notes(tmp_path):
    """A hang says so; a notebook made for another assignment is told so; a note is not an error."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "hang.py").write_text("def param_shapes(module):\n    while True:\n        pass\n")
    init = json.loads((ROOT / "assignments" / "init" / "init.ipynb").read_text())
    (tmp_path / "in" / "other.ipynb").write_text(json.dumps(init))
    (tmp_path / "in" / "other.py").write_text('import otter\ngrader = otter.Notebook("init.ipynb")\nx = 1\n')
    with zipfile.ZipFile(tmp_path / "in" / "export.zip", "w") as z:
        z.writestr("access.ipynb", _nb([("code", "def count_parameters(module, trainable_only=False):\n    return 0")]))
    run = grade_cli("access", [tmp_path / "in"], tmp_path / "out", "--time-limit", "2")
    assert run.returncode == 0, run.stderr
    book = load_gradebook(tmp_path / "out")
    hang = book["hang.py"]
    assert any("param_shapes" in e and "did not finish within 2 s" in e for e in hang["errors"]), hang["errors"]
    feedback = (tmp_path / "out" / "hang.py" / "feedback.md").read_text()
    assert "ran without errors" not in feedback and "did not finish" in feedback
    assert any("made for the assignment 'init'" in e for e in book["other.ipynb"]["errors"]), book["other.ipynb"]
    assert any("made for the assignment 'init' (its otter.Notebook(...) line says so)" in e
               for e in book["other.py"]["errors"]), book["other.py"]  # a script export names it in its init cell
    exported = book["export.zip"]
    assert exported["errors"] == [] and any("graded the notebook access.ipynb" in n for n in exported["notes"])
    assert "ran without errors" in (tmp_path / "out" / "export.zip" / "feedback.md").read_text()
