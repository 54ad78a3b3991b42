"""Write what grading found: Gradescope's results.json per submission, the gradebook (CSV, JSON).

Only the trusted parent calls this, after the submission's child is gone, so
nothing a submission wrote (a forged results.json included) survives: every
file here is written afresh, atomically, through ``autograder.outdir`` (mode 0600,
no symlink below the results folder followed). Every results.json and gradebook
row also records how the run graded (``Run``): the isolation that held the
student's code, and the submission's time budget.

A results.json is in the language its submission was graded in (``Grading.lang``, recorded as
``extra_data.lang``): hints, errors and notes come so from the grading; check names (the first line
of a rule's docstring) and the words added here are translated here.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from .. import i18n, outdir
from ..i18n import N_, _
from .runner import Grading

INSECURE_WARNING = N_("WARNING: graded with --insecure: the student's code ran without kernel isolation")


@dataclass(frozen=True)
class Run:
    """What every results.json and gradebook row of a grading run records about how it graded."""

    isolation: str = ""  # ``isolation.Layers.describe()``: the layers that held the student's code
    insecure: bool = False  # graded with ``--insecure``
    time_budget: float | None = None  # a submission's wall-time budget, cells and checks together (s)

    def extra(self) -> dict[str, Any]:
        """The run's facts for a results.json's ``extra_data``."""
        return {k: v for k, v in asdict(self).items() if v not in ("", None)}


def _write(path: Path, text: str, root: Path | None = None) -> None:
    """Write ``path`` atomically, mode 0600, following no symlink below ``root`` (default: its folder)."""
    root = path.parent if root is None else root
    if not root.exists():
        root.mkdir(parents=True, mode=0o700)
    outdir.write(root, path.relative_to(root), text)


def results_json(g: Grading, seconds: float | None = None, run: Run | None = None) -> dict[str, Any]:
    """Gradescope's results format: one test per rule, tagged with its question.

    A rule's outcome (passed, failed, or error: the grader failed, not the student) and its rule name
    go in the test's ``extra_data``, which Gradescope keeps but does not show; a grader error shows
    as passed with its points (the student loses nothing) and a hint saying it could not be checked.
    The submission's errors and notes go in ``output`` (notes marked as such) and in ``extra_data``.
    Everything is in ``g.lang`` (``extra_data.lang``).
    """
    with i18n.using(g.lang):
        return _results_json(g, seconds, run)


def _results_json(g: Grading, seconds: float | None, run: Run | None) -> dict[str, Any]:
    tests = []
    for r in g.results:
        extra: dict[str, Any] = {"rule": r.rule.name, "outcome": r.outcome, "check": r.rule.doc.splitlines()[0]}
        if isinstance(r.hint, i18n.Text) and r.hint:
            extra["hint_source"] = r.hint.source  # how the hint was made: the summary says it in its own language
        if r.error:
            extra["grader_error"] = r.error
        tests.append({
            "name": f"{r.rule.question}: {_(r.rule.doc.splitlines()[0])}",
            "score": r.score,
            "max_score": r.rule.points,
            "status": "failed" if r.outcome == "failed" or r.score < r.rule.points else "passed",
            "output": r.hint,
            "visibility": r.rule.visibility,
            "tags": [r.rule.question],
            "extra_data": extra,
        })
    lines = [*g.errors, *(_("Note: {note}").format(note=n) for n in g.notes)]
    out: dict[str, Any] = {"score": g.total, "output": "\n".join(lines) if lines else _("Graded."),
           "visibility": "visible", "stdout_visibility": "hidden", "tests": tests,
           "extra_data": {"errors": list(g.errors), "notes": list(g.notes), "grader_errors": g.grader_errors,
                          "lang": g.lang}}
    if seconds is not None:
        out["execution_time"] = round(seconds, 3)
    if run is not None:
        out.setdefault("extra_data", {}).update(run.extra())
        if run.insecure:
            out["output"] = f"{_(INSECURE_WARNING)}.\n{out['output']}"
    return out


def write_results(g: Grading, folder: Path, seconds: float | None = None, run: Run | None = None,
                  root: Path | None = None) -> Path:
    """``folder/results.json``; ``root`` is the results folder ``folder`` lies in (no link below it is followed)."""
    path = folder / "results.json"
    _write(path, json.dumps(results_json(g, seconds, run), indent=2) + "\n", root)
    return path


STATUSES = ("graded", "timed out", "grader error", "not graded")


def status(g: Grading) -> tuple[str, str]:
    """(status, reason) of a grading: ``not graded`` (nothing of it could run: unreadable, nothing
    submitted, its grading process died), ``grader error`` (a grader failed on some rule), ``timed
    out`` (its code hit a time limit: a cell, a question, or the submission's budget), else ``graded``."""
    if g.not_graded:  # set where grading gave up, in any language: never read back from the message text
        return "not graded", g.not_graded
    if g.grader_errors:
        return "grader error", f"{len(g.grader_errors)} rule(s) could not be checked"
    timed = [r.rule.question for r in g.results if r.problem == "timeout"]
    if timed or getattr(g, "timed_out", False):
        where = ", ".join(dict.fromkeys(timed))
        return "timed out", where or "a cell or the submission's time budget"
    return "graded", ""


def gradebook_rows(gradings: list[Grading], run: Run | None = None) -> list[dict[str, Any]]:
    """One gradebook row per grading (with the run's isolation when ``run`` says it)."""
    rows = []
    for g in gradings:
        scores = g.question_scores()
        state, reason = status(g)
        rows.append({
            "submission": g.submission, "total": g.total, "max_total": g.max_total,
            "questions": {q: {"score": s, "max_score": m} for q, (s, m) in scores.items()},
            "errors": list(g.errors),
            "notes": list(g.notes),
            "grader_errors": g.grader_errors,
            "status": state, "status_reason": reason,
        })
        if getattr(g, "lang", None):
            rows[-1]["lang"] = g.lang  # the language the student reads (``i18n.choose``)
        if run is not None and run.isolation:
            rows[-1]["isolation"] = run.isolation
    return rows


# ------------------------------------------------------------------ the gradebook

# OWASP's CSV-injection advice: a cell a spreadsheet would read as a formula (it starts with one of
# these) is prefixed with a single quote, which the spreadsheet shows as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
POINTS_POSSIBLE = "Points Possible"


def neutralize(cell: object) -> str:
    """A CSV cell that no spreadsheet evaluates: a text that could start a formula gets a leading ``'``."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_START) else text


def _num(x: float | None) -> str:
    return "" if x is None else f"{round(x, 6):g}"


def manual_total(row: dict[str, Any]) -> float:
    """The free-response points merged into ``row`` so far."""
    return sum(float(m["score"]) for m in (row.get("manual") or {}).values() if m.get("score") is not None)


def total_with_manual(row: dict[str, Any]) -> float:
    """The autograded total plus every free-response point merged so far."""
    return round(float(row["total"]) + manual_total(row), 6)


def _submitters(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The row's submitters (one per person of a group); a single nameless one when none are known."""
    return [s for s in row.get("submitters") or [] if isinstance(s, dict)] or [{}]


def gradebook_csv(rows: list[dict[str, Any]], questions: list[str], manual: Sequence[tuple[str, float]],
                  isolation: str | None = None, points: dict[str, float] | None = None) -> str:
    """``gradebook.csv``, a row per submission: the submitters' names, SIDs and emails first (when a
    Gradescope export said who they are; a group's members joined with "; ", in the same order in each
    column: ``canvas.csv`` has a line per student), the
    submission, a column per autograded question, one per free-response question (empty until its
    points are merged), ``total`` (autograded plus merged free-response points) and ``status``;
    the first line after the header gives the points possible. No cell can start a formula."""
    people = any(r.get("submitters") for r in rows)
    head = [*(["name", "sid", "email"] if people else []), "submission", *questions, *(q for q, _ in manual),
            "total", "status", *(["isolation"] if isolation else [])]
    maxima = {q: float((points or {}).get(q, 0.0)) for q in questions}
    for row in rows:
        for q in questions:
            maxima[q] = max(maxima[q], float(row["questions"].get(q, {}).get("max_score", 0.0)))
    possible = [POINTS_POSSIBLE, *(["", "", ""] if people else []), *(_num(maxima[q]) for q in questions),
                *(_num(p) for _, p in manual), _num(sum(maxima.values()) + sum(p for _, p in manual)), "",
                *([""] if isolation else [])]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(head)
    writer.writerow(possible)
    for row in rows:
        state = row.get("status", "graded")
        reason = row.get("status_reason", "")
        cells = [row["submission"], *(_num(row["questions"].get(q, {}).get("score", 0.0)) for q in questions),
                 *(_num((row.get("manual") or {}).get(q, {}).get("score")) for q, _ in manual),
                 _num(total_with_manual(row)), f"{state}: {reason}" if state == "not graded" and reason else state,
                 *([row.get("isolation", isolation)] if isolation else [])]
        who = _submitters(row)
        lead = ["; ".join(str(p.get(k, "")) for p in who) for k in ("name", "sid", "email")] if people else []
        writer.writerow([neutralize(c) for c in [*lead, *cells]])
    return buf.getvalue()


def canvas_csv(assignment: str, rows: list[dict[str, Any]], max_total: float) -> str | None:
    """Canvas's gradebook import file (its CSV: ``Student, ID, SIS User ID, SIS Login ID, Section`` and
    a column for the assignment, with a ``Points Possible`` line), one line per submitter with a SID;
    None when no submitter has one. ``ID`` (Canvas's own) is left empty: Canvas matches the SIS id."""
    people = [(p, row) for row in rows for p in _submitters(row) if p.get("sid")]
    if not people:
        return None
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    writer.writerow(["    Points Possible", "", "", "", "", _num(max_total)])
    for person, row in people:
        writer.writerow([neutralize(c) for c in (person.get("name", ""), "", person["sid"], "",
                                                 "", _num(total_with_manual(row)))])
    return buf.getvalue()


def write_gradebook(assignment: str, rows: list[dict[str, Any]], out: Path, questions: list[str],
                    run: Run | None = None, manual: Sequence[tuple[str, float]] = (),
                    points: dict[str, float] | None = None, summary_lang: str | None = None) -> None:
    """``gradebook.csv`` (``gradebook_csv``), ``gradebook.json`` and, when submitters have SIDs,
    ``canvas.csv`` (``canvas_csv``). ``manual`` lists the free-response questions and their points.

    gradebook.json keeps the contract's keys (``total`` and ``max_total`` are the autograded
    score, as in results.json) and adds ``status``, ``submitters`` and ``manual`` per submission,
    and ``manual_questions``; with ``run``, it says how the run graded (``isolation``,
    ``time_budget``). An ``--insecure`` run also gets an ``isolation`` column in the CSV. ``points``
    gives each question's points where no row says them (an empty class). ``summary_lang`` is the
    language of the class pages (``grade --lang``), kept so that ``reports`` and ``merge-manual``
    rewrite them in it."""
    manual = list(manual)
    for row in rows:
        known = row.get("manual") or {}
        row["manual"] = {q: {"score": known.get(q, {}).get("score"), "max_score": p,
                             **({"comment": known[q]["comment"]} if known.get(q, {}).get("comment") else {})}
                         for q, p in manual}
    book = {"assignment": assignment, **(run.extra() if run is not None else {}),
            **({"summary_lang": summary_lang} if summary_lang else {}),
            "questions": list(questions), "manual_questions": {q: p for q, p in manual}, "submissions": rows}
    _write(out / "gradebook.json", json.dumps(book, indent=2) + "\n")
    isolation = run.isolation if run is not None and run.insecure else None  # a column only for --insecure
    _write(out / "gradebook.csv", gradebook_csv(rows, questions, manual, isolation, points))
    maxima = max((float(r["max_total"]) for r in rows), default=0.0) + sum(p for _, p in manual)
    canvas = canvas_csv(assignment, rows, maxima)
    if canvas is not None:
        _write(out / "canvas.csv", canvas)
