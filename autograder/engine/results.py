"""Write what grading found: Gradescope's results.json per submission, the gradebook (CSV, JSON).

Only the trusted parent calls this, after the submission's child is gone, so
nothing a submission wrote (a forged results.json included) survives: every
file here is written afresh, atomically, through ``autograder.outdir`` (mode 0600,
no symlink below the results folder followed). Every results.json and gradebook
row also records how the run graded (``Run``): the isolation that held the
student's code, and the submission's time budget.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .. import outdir
from .runner import Grading

INSECURE_WARNING = "WARNING: graded with --insecure: the student's code ran without kernel isolation"


@dataclass(frozen=True)
class Run:
    """What every results.json and gradebook row of a grading run records about how it graded."""

    isolation: str = ""  # ``isolation.Layers.describe()``: the layers that held the student's code
    insecure: bool = False  # graded with ``--insecure``
    time_budget: float | None = None  # a submission's wall-time budget, cells and checks together (s)

    def extra(self) -> dict:
        """The run's facts for a results.json's ``extra_data``."""
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


def _write(path: Path, text: str, root: Path | None = None) -> None:
    """Write ``path`` atomically, mode 0600, following no symlink below ``root`` (default: its folder)."""
    root = path.parent if root is None else root
    if not root.exists():
        root.mkdir(parents=True, mode=0o700)
    outdir.write(root, path.relative_to(root), text)


def results_json(g: Grading, seconds: float | None = None, run: Run | None = None) -> dict:
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
    if run is not None:
        out.setdefault("extra_data", {}).update(run.extra())
        if run.insecure:
            out["output"] = f"{INSECURE_WARNING}.\n{out['output']}"
    return out


def write_results(g: Grading, folder: Path, seconds: float | None = None, run: Run | None = None,
                  root: Path | None = None) -> Path:
    """``folder/results.json``; ``root`` is the results folder ``folder`` lies in (no link below it is followed)."""
    path = folder / "results.json"
    _write(path, json.dumps(results_json(g, seconds, run), indent=2) + "\n", root)
    return path


def gradebook_rows(gradings: list[Grading], run: Run | None = None) -> list[dict]:
    """One gradebook row per grading (with the run's isolation when ``run`` says it)."""
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
        if run is not None and run.isolation:
            rows[-1]["isolation"] = run.isolation
    return rows


def write_gradebook(assignment: str, rows: list[dict], out: Path, questions: list[str],
                    run: Run | None = None) -> None:
    """``gradebook.csv`` (a row per submission, a column per question, then total) and ``gradebook.json``.

    With ``run``, gradebook.json says how the run graded (``isolation``, ``time_budget``); an
    ``--insecure`` run also gets an ``isolation`` column in the CSV, on every row."""
    book = {"assignment": assignment, **(run.extra() if run is not None else {}), "submissions": rows}
    _write(out / "gradebook.json", json.dumps(book, indent=2) + "\n")
    insecure = run is not None and run.insecure
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["submission", *questions, "total", *(["isolation"] if insecure else [])])
    for row in rows:
        writer.writerow([row["submission"], *(_num(row["questions"].get(q, {}).get("score", 0.0)) for q in questions),
                         _num(row["total"]), *([row.get("isolation", run.isolation)] if insecure else [])])
    _write(out / "gradebook.csv", buf.getvalue())


def _num(x: float) -> str:
    return f"{x:g}"
