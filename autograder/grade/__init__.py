"""The ``grade`` command: grade submissions of one assignment and write results and gradebook.

    python -m autograder grade ASSIGNMENT PATH... --out DIR [--jobs N] [--insecure] [--lang auto|en|zh]

Before grading anything the command checks that the sandbox can isolate student
code (``engine.isolation.check``) and that ``DIR`` is safe to write (``outdir``),
and refuses with one line and exit status 2 otherwise.

The grading itself is the core's (``api.grade_many``): one submission is graded
cold, in this process (its child imports torch while this process does); several
go to a pool of pre-warmed workers (``pool.py``): each imports torch and the
graders once and forks sandbox children from a zygote, with every isolation
property of the cold path. Each submission has a wall-time budget
(``api.time_budget``) for its cells and checks together. This module turns the
command line into that call, and its findings into the gradebook and reports.

What a student reads (hints, notes, results.json, feedback) is in the language ``i18n.choose``
picks for the submission: ``--lang`` (default ``auto``: the language its notebook's
``metadata.autograder.lang`` names, else English); the class summary is in ``--lang`` (English
under ``auto``).
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
from pathlib import Path
from typing import Callable

from .. import api, i18n, outdir
from ..engine.results import Run
from ..engine.sandbox import Limits

SECRET_WARNING = ("autograder: warning: AUTOGRADER_SECRET is not set: the probes came from a fixed development "
                  "key that anyone with the kit can reproduce; set it to a secret of your own and regrade")
OUTPUT_FILES = ["gradebook.csv", "gradebook.json", "canvas.csv", "summary.html", "summary-scores.png",
                "summary-questions.png", "manual.html", "manual.csv", "manual.json"]


def grade_paths(assignment: str, paths: list[str], out: Path, jobs: int = 1, limits: Limits = Limits(),
                progress: bool = False, run: Run | None = None, total_time: float | None = None,
                lang: str = i18n.AUTO, after_due_date: bool = False, blind: bool = False,
                found: tuple[Path, list[api.Submitted]] | None = None) -> list[dict]:
    """Grade every submission found in ``paths`` (``api.grade_many``); write results, the gradebook and
    reports under ``out``: ``<name>/results.json``, ``<name>/feedback.{md,html}``, ``gradebook.{csv,json}``
    (``canvas.csv`` when submitters have SIDs), ``summary.html``, and the free-response pages
    ``manual.{html,csv,json}``. What the previous run into ``out`` wrote is removed first
    (``outdir.clear_previous``). Returns the gradebook's rows.

    ``run`` (``results.Run``) is what every results.json records of the isolation; without it the
    isolation is checked here (``IsolationUnavailable`` unless ``limits.insecure``). ``total_time``
    is each submission's wall-time budget (default ``api.time_budget``). ``out`` must pass
    ``outdir.prepare`` and ``outdir.check_reusable`` (else ``outdir.UnsafeOutput``). ``lang`` is
    ``--lang``: each submission's results and feedback are in the language ``i18n.choose`` picks for
    it; the class pages (summary, manual) in ``lang``, English under ``auto``. ``after_due_date``
    lists the checks shown after the due date in the feedback. ``blind`` leaves the submitters' names
    out of manual.html and manual.csv (anonymous grading of the free-response answers). ``found`` is what
    ``open_out`` returned for these ``paths`` and ``out``, when the caller checked them already."""
    from .. import manual
    from ..engine import results
    from ..reports import write_reports

    if run is None:
        from ..engine import isolation

        layers = isolation.check(insecure=limits.insecure)
        run = results.Run(isolation=layers.describe(), insecure=layers.insecure)
    out, subs = found if found is not None else open_out(assignment, paths, out)
    outdir.clear_previous(out)
    outdir.write_manifest(out, assignment, [sub.name for sub in subs] + OUTPUT_FILES)
    batch = api.grade_many(assignment, subs, out, jobs=jobs, limits=limits, run=run, total_time=total_time,
                           lang=lang, progress=progress, prepare=functools.partial(api.preload, summary=len(subs) > 1))
    people = {sub.name: list(sub.submitters) for sub in subs if sub.submitters}
    for row in batch.rows:
        if people.get(row["submission"]):
            row["submitters"] = people[row["submission"]]
    run = dataclasses.replace(run, time_budget=total_time or api.time_budget(limits, len(batch.questions)))
    free = manual.questions(assignment)
    page_lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    results.write_gradebook(assignment, batch.rows, out, batch.questions, run, manual=free, points=batch.points,
                            summary_lang=page_lang)
    if free and subs:
        answers = manual.collect(assignment, subs)
        names = None if blind else {sub.name: "; ".join(p.get("name") or p.get("sid") or "" for p in sub.submitters)
                                    for sub in subs}
        manual.write(out, assignment, answers, lang=page_lang, submitters=names)
    write_reports(out, summary=True, lang=page_lang, after_due_date=after_due_date)
    return batch.rows


def counts(rows: list[dict]) -> dict[str, int]:
    """How many submissions were graded (timed-out ones and those with grader errors included),
    not graded, timed out, and had grader errors."""
    status = [r.get("status", "graded") for r in rows]
    return {"graded": sum(s != "not graded" for s in status), "not graded": status.count("not graded"),
            "timed out": status.count("timed out"), "grader errors": sum(bool(r.get("grader_errors")) for r in rows)}


def open_out(assignment: str, paths: list[str], out: Path) -> tuple[Path, list[api.Submitted]]:
    """The results folder, made safe to write (``outdir.UnsafeOutput`` when it is not: apart from the
    submission ``paths``, ``outdir.prepare``, ``outdir.check_reusable``, and no file the kit did not write
    where a submission's folder goes), and the submissions found in ``paths``."""
    outdir.check_apart(out, paths)  # before prepare, which may create it
    folder = outdir.prepare(out)
    outdir.check_reusable(folder, assignment)
    subs = api.find_submissions(paths, assignment)
    clash = outdir.conflicts(folder, [sub.name for sub in subs])
    if clash:
        shown = ", ".join(clash[:3]) + (", ..." if len(clash) > 3 else "")
        raise outdir.UnsafeOutput(f"{out} holds files the kit did not write where submissions' folders go "
                                  f"({shown}): they are left alone; use another folder")
    return folder, subs


def _refuse(message: str) -> int:
    """One line on stderr, exit status 2: nothing was graded, nothing written."""
    print(f"autograder: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace, error: Callable[[str], object] | None = None) -> int:
    """Run the parsed ``grade`` command; ``error(message)`` reports a usage error (exit 2)."""
    def usage(message: str) -> int:
        if error is not None:
            error(message)
        return _refuse(message)

    if args.jobs < 1 or args.time_limit <= 0 or args.memory_limit <= 0 or args.output_limit <= 0 \
            or args.process_limit < 1 or (args.submission_time_limit is not None and args.submission_time_limit <= 0):
        return usage("limits and --jobs must be positive")
    limits = Limits(time=args.time_limit, memory=int(args.memory_limit * 2**30), processes=args.process_limit,
                    output=int(args.output_limit * 2**20), insecure=args.insecure)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        return usage(f"no such file or folder: {', '.join(missing)}")
    try:  # before the sandbox check, which creates nothing: an unusable --out is the user's to fix first
        out, subs = open_out(args.assignment, args.paths, args.out)
    except outdir.UnsafeOutput as exc:
        return _refuse(f"refusing --out: {exc}")
    from ..engine import isolation

    try:  # before anything is graded or written: fail closed
        layers = isolation.check(insecure=args.insecure)
    except isolation.IsolationUnavailable as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        _remove_if_made(out, args.out)
        return _refuse(f"cannot isolate student code: {reason} "
                       f"(pass --insecure to grade anyway on a machine you trust)")
    if layers.insecure:
        print("autograder: WARNING: --insecure: student code runs WITHOUT kernel isolation: it may read and "
              "change whatever this user can. Every results.json and the gradebook record it.", file=sys.stderr)
    if not subs:
        print(f"autograder: warning: no submissions found in {', '.join(map(str, args.paths))} "
              f"(looked for {', '.join(api.SUFFIXES)} files, or one subfolder per submission)", file=sys.stderr)
    run_ = Run(isolation=layers.describe(), insecure=layers.insecure)
    from ..engine.runner import GraderFileError

    try:
        rows = grade_paths(args.assignment, args.paths, out, args.jobs, limits, progress=not args.quiet, run=run_,
                           total_time=args.submission_time_limit, lang=args.lang,
                           after_due_date=args.after_due_date, blind=args.blind, found=(out, subs))
    except GraderFileError as exc:  # found when the graders load, before any submission is graded
        _remove_if_made(out, args.out)
        return _refuse(f"the graders of {args.assignment} cannot be used: {exc}")
    n = counts(rows)
    if not os.environ.get("AUTOGRADER_SECRET"):  # once per run, beside the counts, where progress cannot bury it
        print(SECRET_WARNING, file=sys.stderr)
    print(f"{len(rows)} submission{'s' * (len(rows) != 1)}: {n['graded']} graded, {n['not graded']} not graded, "
          f"{n['timed out']} timed out, {n['grader errors']} with grader errors; "
          f"gradebook in {args.out / 'gradebook.csv'}", file=sys.stderr)
    return 0


def _remove_if_made(out: Path, given: Path) -> None:
    """Undo ``prepare``'s creation of a results folder when grading is refused afterwards: it goes when it holds
    nothing, or only the manifest this run began (a folder with anything else stays)."""
    try:
        if os.listdir(out) == [outdir.MANIFEST]:
            os.unlink(out / outdir.MANIFEST)
        if not os.listdir(out):
            os.rmdir(out)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder grade ...`` (the same parser as the top-level command's subcommand)."""
    from .cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["grade", *(argv if argv is not None else sys.argv[1:])])
    return run(args)
