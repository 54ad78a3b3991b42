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
    """Gradescope's results format: one test per rule, tagged with its question."""
    tests = []
    for r in g.results:
        tests.append({
            "name": f"{r.rule.question}: {r.rule.doc.splitlines()[0]}",
            "score": r.score,
            "max_score": r.rule.points,
            "status": "passed" if r.passed else "failed",
            "output": r.hint,
            "visibility": r.rule.visibility,
            "tags": [r.rule.question],
        })
    out = {"score": g.total, "output": "\n".join(g.errors) if g.errors else "Graded.",
           "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}
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
