"""Write what grading found: Gradescope's results.json per submission, the gradebook (CSV, JSON).

Only the trusted parent calls this, after the submission's child is gone, so
nothing a submission wrote (a forged results.json included) survives: every
file here is written afresh, atomically.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

from .runner import Grading


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def results_json(g: Grading, seconds: float | None = None) -> dict:
    """Gradescope's results format: one test per rule, tagged with its question.

    A rule's outcome (passed, failed, or error: the grader failed, not the student) and its rule name
    go in the test's ``extra_data``, which Gradescope keeps but does not show; a grader error shows
    as passed with its points (the student loses nothing) and a hint saying it could not be checked.
    The submission's errors and notes go in ``output`` (notes marked as such) and in ``extra_data``.
    """
    tests = []
    for r in g.results:
        extra = {"rule": r.rule.name, "outcome": r.outcome}
        if r.error:
            extra["grader_error"] = r.error
        tests.append({
            "name": f"{r.rule.question}: {r.rule.doc.splitlines()[0]}",
            "score": r.score,
            "max_score": r.rule.points,
            "status": "failed" if r.outcome == "failed" or r.score < r.rule.points else "passed",
            "output": r.hint,
            "visibility": r.rule.visibility,
            "tags": [r.rule.question],
            "extra_data": extra,
        })
    lines = [*g.errors, *(f"Note: {n}" for n in g.notes)]
    out = {"score": g.total, "output": "\n".join(lines) if lines else "Graded.",
           "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
           "extra_data": {"errors": list(g.errors), "notes": list(g.notes), "grader_errors": g.grader_errors}}
    if seconds is not None:
        out["execution_time"] = round(seconds, 3)
    return out


def write_results(g: Grading, folder: Path, seconds: float | None = None) -> Path:
    path = folder / "results.json"
    _write(path, json.dumps(results_json(g, seconds), indent=2) + "\n")
    return path


def gradebook_rows(gradings: list[Grading]) -> list[dict]:
    rows = []
    for g in gradings:
        scores = g.question_scores()
        rows.append({
            "submission": g.submission, "total": g.total, "max_total": g.max_total,
            "questions": {q: {"score": s, "max_score": m} for q, (s, m) in scores.items()},
            "errors": list(g.errors),
            "notes": list(g.notes),
            "grader_errors": g.grader_errors,
        })
    return rows


def write_gradebook(assignment: str, rows: list[dict], out: Path, questions: list[str]) -> None:
    """``gradebook.csv`` (a row per submission, a column per question, then total) and ``gradebook.json``."""
    _write(out / "gradebook.json", json.dumps({"assignment": assignment, "submissions": rows}, indent=2) + "\n")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", *questions, "total"])
    for row in rows:
        writer.writerow([row["submission"], *(_num(row["questions"].get(q, {}).get("score", 0.0)) for q in questions),
                         _num(row["total"])])
    _write(out / "gradebook.csv", buf.getvalue())


def _num(x: float) -> str:
    return f"{x:g}"
