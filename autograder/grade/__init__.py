"""The ``grade`` command: grade submissions of one assignment and write results and gradebook.

    python -m autograder grade ASSIGNMENT PATH... --out DIR [--jobs N] [--insecure]

Before grading anything the command checks that the sandbox can isolate student
code (``engine.isolation.check``) and that ``DIR`` is safe to write (``outdir``),
and refuses with one line and exit status 2 otherwise.

One submission is graded cold, in this process (its child imports torch while
this process does). Several go to a pool of pre-warmed workers (``pool.py``):
each imports torch and the graders once and forks sandbox children from a
zygote, with every isolation property of the cold path. Each submission has a
wall-time budget (``time_budget``) for its cells and checks together.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from .. import ASSIGNMENTS, outdir
from ..engine.loader import LoadError, load
from ..engine.sandbox import Limits, Sandbox, Zygote

SUFFIXES = (".ipynb", ".py", ".zip")
SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
GRADESCOPE_METADATA = "submission_metadata.yml"


def _candidates(folder: Path) -> list[Path]:
    """Submission files anywhere under ``folder``: no hidden files, no checkpoints, and no symlinks
    (a link in an extracted zip must not make the trusted parent read a file outside the folder)."""
    found, base = [], folder.resolve()
    for path in folder.rglob("*"):
        if any(p.startswith(".") or p in SKIP_PARTS for p in path.relative_to(folder).parts):
            continue
        if path.suffix.lower() in SUFFIXES and not path.is_symlink() and path.is_file() \
                and path.resolve().is_relative_to(base):
            found.append(path)
    return sorted(found)


def pick_submission(folder: Path, assignment: str) -> tuple[Path | None, str]:
    """The file to grade in a student's folder, and a sentence saying which (and why, when there were several).

    The notebook named after the assignment first, then any notebook, then an otter export zip,
    then a .py file; the newest within a kind; the path breaks ties.
    """
    files = _candidates(folder) if folder.is_dir() else []
    if not files:
        return None, (f"No submission found: upload your notebook ({assignment}.ipynb), a .py file, "
                      f"or the zip that the notebook's export cell makes.")

    def rel(p: Path) -> str:
        return str(p.relative_to(folder))

    if len(files) == 1:
        return files[0], f"Graded {rel(files[0])}."

    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    wanted = f"{assignment}.ipynb"
    kind = {".ipynb": 2, ".zip": 1, ".py": 0}
    ranked = sorted(files, key=lambda p: (p.name.lower() == wanted, kind[p.suffix.lower()], mtime(p), rel(p)),
                    reverse=True)
    chosen = ranked[0]
    why = (f"named {wanted}" if chosen.name.lower() == wanted else
           {".ipynb": "the newest notebook", ".zip": "the newest zip", ".py": "the newest .py file"}[chosen.suffix.lower()])
    others = ", ".join(rel(p) for p in ranked[1:6]) + (", ..." if len(ranked) > 6 else "")
    return chosen, (f"Graded {rel(chosen)} ({why}); {len(files)} submission files were found, "
                    f"the others were not graded: {others}.")


def find_submissions(paths: list[str], assignment: str) -> list[tuple[str, Path | None, str]]:
    """(name, file, note) per submission, sorted by name within each folder given.

    A folder holds submission files, or one subfolder per student (a Gradescope
    "export submissions" folder, with ``submission_metadata.yml``, or any folder
    of folders): then each subfolder is one submission, named after it.
    """
    found: list[tuple[str, Path | None, str]] = []
    for p in map(Path, paths):
        if not p.is_dir():
            found.append((p.name, p, ""))  # named explicitly: graded (or refused with a message) whatever it is
            continue
        for c in sorted(p.iterdir()):
            if c.name.startswith(".") or c.name == GRADESCOPE_METADATA:
                continue
            if c.is_file() and c.suffix.lower() in SUFFIXES:
                found.append((c.name, c, ""))
            elif c.is_dir():
                file, note = pick_submission(c, assignment)
                found.append((c.name, file, note if file is None or "others" in note else ""))
    names: dict[str, int] = {}
    unique = []
    for name, file, note in found:  # two students' "hw.ipynb" from two folders must not share a results folder
        names[name] = names.get(name, 0) + 1
        unique.append((name if names[name] == 1 else f"{name}-{names[name]}", file, note))
    return unique


def preload(summary: bool = False) -> None:
    """Import now, before any student code runs, every module this trusted process needs later
    (the results writer, the reports and what they import; matplotlib when a summary will be drawn).
    ``sys.path`` is already free of the working folder (``autograder/__init__.py``); importing up
    front also means nothing planted later anywhere is imported after a submission has run."""
    import base64, csv, html, statistics  # noqa: E401,F401 - the reports' and gradebook's imports

    from .. import reports  # noqa: F401
    from ..engine import results, runner, student  # noqa: F401

    if summary:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.backends.backend_agg  # noqa: F401 - what Figure.savefig loads
        import matplotlib.figure  # noqa: F401


def time_budget(limits: Limits, questions: int) -> float:
    """A submission's wall-time budget in seconds, for its cells, their reruns and every check together:
    each question's time limit, and four more for the cells and restarts (100 s for 6 questions at 10 s)."""
    return limits.time * (questions + 4)


def grade_one(path: Path | None, assignment: str, limits: Limits, zygote: Zygote | None = None,
              note: str = "", total_time: float | None = None):
    """Grade one submission file; never raises for anything the submission does. Returns (Grading, seconds).

    ``total_time`` is the submission's wall-time budget (default ``time_budget``): past it, the checks
    not run yet fail with a message saying so."""
    started = time.monotonic()
    sub, load_error = None, note or "nothing was submitted"
    if path is not None:
        try:
            sub = load(path)
        except LoadError as exc:
            load_error = str(exc)
    from ..engine import runner
    from ..engine.student import Student

    # the child starts now: cold, it imports torch while this process does
    sandbox = Sandbox(limits, zygote).start() if sub is not None else None
    rules = runner.rules(assignment)
    g = runner.Grading(assignment=assignment, submission=path.name if path else "",
                       questions=list(dict.fromkeys(r.question for r in rules)))
    if sub is None:
        g.errors.append(f"not graded: {load_error}")
        g.results = [runner.RuleResult(r, passed=False, hint=f"not graded: {load_error}") for r in rules]
        return g, time.monotonic() - started
    if note:
        g.notes.append(note)
    g.notes.extend(sub.notes)
    if sub.assignment and sub.assignment != assignment:
        g.errors.append(f"this notebook was made for the assignment '{sub.assignment}' (its otter metadata says so), "
                        f"not '{assignment}': check that you submitted the right notebook")
    if total_time is None:
        total_time = time_budget(limits, len(g.questions))
    student = Student(sub, limits, sandbox=sandbox, spawn=lambda lim: Sandbox(lim, zygote).start(),
                      total_time=total_time)
    try:
        for c in student.start():
            if c.fatal:
                g.errors.append(f"{sub.where(c.index)} was skipped: {c.fatal}")
            elif c.error is not None:
                kind = "did not finish in time" if c.timeout else f"raised {c.error.type}: {c.error.message[:200]}"
                g.errors.append(f"{sub.where(c.index)} {kind}")
        g.results = runner.run_rules(student, assignment, sub.digest, rules)
        g.errors.extend(runner.stopped_questions(g.results))
    except Exception as exc:  # the engine itself failed: the submission still gets its row
        g.errors.append(f"grading stopped: {exc}")
        done = {r.rule.name for r in g.results}
        g.results += [runner.RuleResult(r, passed=False, hint=f"not graded: {exc}") for r in rules if r.name not in done]
    finally:
        student.close()
    if student.restarts:
        g.errors.append(f"the process running the code was restarted {student.restarts} time(s)")
    if student.gave_up:
        g.errors.append(student.gave_up)
    return g, time.monotonic() - started


def grade_paths(assignment: str, paths: list[str], out: Path, jobs: int = 1, limits: Limits = Limits(),
                progress: bool = False, run=None, total_time: float | None = None) -> list[dict]:
    """Grade every submission found in ``paths``; write results, the gradebook and reports under ``out``:
    ``<name>/results.json``, ``<name>/feedback.{md,html}``, ``gradebook.{csv,json}``, ``summary.html``.

    ``run`` (``results.Run``) is what every results.json records of the isolation; without it the
    isolation is checked here (``IsolationUnavailable`` unless ``limits.insecure``). ``total_time``
    is each submission's wall-time budget (default ``time_budget``). ``out`` must pass
    ``outdir.prepare`` (else ``outdir.UnsafeOutput``)."""
    from ..engine import results

    if run is None:
        from ..engine import isolation

        layers = isolation.check(insecure=limits.insecure)
        run = results.Run(isolation=layers.describe(), insecure=layers.insecure)
    out = outdir.prepare(out)
    subs = find_submissions(paths, assignment)
    preload(summary=len(subs) > 1)
    if not subs:  # an empty folder still gets a gradebook with the assignment's columns
        from ..engine import runner

        rows, questions = [], runner.questions(assignment)
    elif len(subs) == 1:
        name, path, note = subs[0]
        g, seconds = grade_one(path, assignment, limits, note=note, total_time=total_time)
        g.submission = name
        budget = total_time or time_budget(limits, len(g.questions))
        this = dataclasses.replace(run, time_budget=budget)
        results.write_results(g, out / name, seconds, this, root=out)
        rows, questions = results.gradebook_rows([g], this), g.questions
    else:
        from .pool import grade_many

        rows, questions = grade_many(assignment, subs, out, jobs, limits, progress, run, total_time)
    run = dataclasses.replace(run, time_budget=total_time or time_budget(limits, len(questions)))
    results.write_gradebook(assignment, rows, out, questions, run)
    from ..reports import write_reports

    write_reports(out, summary=len(rows) > 1)
    return rows


def _refuse(message: str) -> int:
    """One line on stderr, exit status 2: nothing was graded, nothing written."""
    print(f"autograder: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder grade", description=__doc__.splitlines()[0])
    parser.add_argument("assignment", choices=ASSIGNMENTS)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a submission, or a folder of them")
    parser.add_argument("--out", required=True, type=Path, help="folder for results and the gradebook")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    parser.add_argument("--time-limit", type=float, default=Limits.time, help="seconds per question (default 10)")
    parser.add_argument("--memory-limit", type=float, default=Limits.memory / 2**30, help="GiB (default 2)")
    parser.add_argument("--process-limit", type=int, default=Limits.processes, help="processes (default 64)")
    parser.add_argument("--output-limit", type=float, default=Limits.output / 2**20,
                        help="MiB of output per question (default 1)")
    parser.add_argument("--submission-time-limit", type=float, default=None, metavar="SECONDS",
                        help="wall seconds for one submission in all, its cells and checks together "
                             "(default: (questions + 4) x --time-limit)")
    parser.add_argument("--insecure", action="store_true",
                        help="grade even where student code cannot be isolated (only on a machine you trust); "
                             "recorded in every results.json and in the gradebook")
    parser.add_argument("--quiet", action="store_true", help="no progress")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.time_limit <= 0 or args.memory_limit <= 0 or args.output_limit <= 0 \
            or args.process_limit < 1 or (args.submission_time_limit is not None and args.submission_time_limit <= 0):
        parser.error("limits and --jobs must be positive")
    limits = Limits(time=args.time_limit, memory=int(args.memory_limit * 2**30), processes=args.process_limit,
                    output=int(args.output_limit * 2**20), insecure=args.insecure)
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    from ..engine import isolation
    from ..engine.results import Run

    try:  # before anything is graded or written: fail closed
        layers = isolation.check(insecure=args.insecure)
    except isolation.IsolationUnavailable as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return _refuse(f"cannot isolate student code: {reason} "
                       f"(pass --insecure to grade anyway on a machine you trust)")
    if layers.insecure:
        print("autograder: WARNING: --insecure: student code runs WITHOUT kernel isolation: it may read and "
              "change whatever this user can. Every results.json and the gradebook record it.", file=sys.stderr)
    try:
        out = outdir.prepare(args.out)
    except outdir.UnsafeOutput as exc:
        return _refuse(f"refusing --out: {exc}")
    run = Run(isolation=layers.describe(), insecure=layers.insecure)
    rows = grade_paths(args.assignment, args.paths, out, args.jobs, limits, progress=not args.quiet, run=run,
                       total_time=args.submission_time_limit)
    if not args.quiet:
        print(f"{len(rows)} submission(s) graded; gradebook in {args.out / 'gradebook.csv'}", file=sys.stderr)
    return 0
