"""The ``grade`` command: grade submissions of one assignment and write results and gradebook.

    python -m autograder grade ASSIGNMENT PATH... --out DIR [--jobs N] [--insecure] [--lang auto|en|zh]

Before grading anything the command checks that the sandbox can isolate student
code (``engine.isolation.check``) and that ``DIR`` is safe to write (``outdir``),
and refuses with one line and exit status 2 otherwise.

One submission is graded cold, in this process (its child imports torch while
this process does). Several go to a pool of pre-warmed workers (``pool.py``):
each imports torch and the graders once and forks sandbox children from a
zygote, with every isolation property of the cold path. Each submission has a
wall-time budget (``time_budget``) for its cells and checks together.

What a student reads (hints, notes, results.json, feedback) is in the language ``i18n.choose``
picks for the submission: ``--lang`` (default ``auto``: the language its notebook's
``metadata.autograder.lang`` names, else English); the class summary is in ``--lang`` (English
under ``auto``).
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

from .. import ASSIGNMENTS, i18n, outdir
from ..i18n import _, defer
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
    The sentence is an ``i18n.Message``: English as a string, said in the submission's language
    once it is known (``i18n.render``).
    """
    files = _candidates(folder) if folder.is_dir() else []
    if not files:
        return None, defer("No submission found: upload your notebook ({notebook}), a .py file, or the zip that "
                           "the notebook's export cell makes.", notebook=f"{assignment}.ipynb")

    def rel(p: Path) -> str:
        return str(p.relative_to(folder))

    if len(files) == 1:
        return files[0], defer("Graded {file}.", file=rel(files[0]))

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
    why = (defer("named {name}", name=wanted) if chosen.name.lower() == wanted else
           {".ipynb": defer("the newest notebook"), ".zip": defer("the newest zip"),
            ".py": defer("the newest .py file")}[chosen.suffix.lower()])
    others = ", ".join(rel(p) for p in ranked[1:6]) + (", ..." if len(ranked) > 6 else "")
    return chosen, defer("Graded {file} ({why}); {count} submission files were found, the others were not "
                         "graded: {others}.", file=rel(chosen), why=why, count=len(files), others=others)


def read_metadata(folder: Path) -> dict[str, list[dict]]:
    """The submitters of each submission of a Gradescope "Export Submissions" folder, from its
    ``submission_metadata.yml``: ``{"submission_1001": [{"name", "sid", "email"}, ...]}`` (several
    per group). Gradescope writes Ruby-style keys (``:submitters:``, ``:name:``); plain keys work too.
    {} when the file is missing or unreadable (the rows are then named after the folders alone)."""
    import yaml

    path = folder / GRADESCOPE_METADATA
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    out: dict[str, list[dict]] = {}
    for name, entry in (data or {}).items() if isinstance(data, dict) else ():
        if not isinstance(entry, dict):
            continue
        people = entry.get(":submitters", entry.get("submitters")) or []
        found = []
        for person in people if isinstance(people, list) else []:
            if isinstance(person, dict):
                got = {k: str(person.get(f":{k}", person.get(k)) or "").strip() for k in ("name", "sid", "email")}
                found.append({k: v for k, v in got.items() if v})
        out[str(name)] = [p for p in found if p]
    return out


def find_submissions(paths: list[str], assignment: str, people: dict[str, list[dict]] | None = None
                     ) -> list[tuple[str, Path | None, str | i18n.Message]]:
    """(name, file, note) per submission, sorted by name within each folder given.

    A folder holds submission files, or one subfolder per student (a Gradescope
    "export submissions" folder, with ``submission_metadata.yml``, or any folder
    of folders): then each subfolder is one submission, named after it. ``people``,
    when given, receives each submission's submitters from the metadata.
    """
    found: list[tuple[str, Path | None, str]] = []
    who: list[list[dict]] = []
    for p in map(Path, paths):
        if not p.is_dir():
            found.append((p.name, p, ""))  # named explicitly: graded (or refused with a message) whatever it is
            who.append([])
            continue
        metadata = read_metadata(p)
        for c in sorted(p.iterdir()):
            if c.name.startswith(".") or c.name == GRADESCOPE_METADATA:
                continue
            if c.is_file() and c.suffix.lower() in SUFFIXES:
                found.append((c.name, c, ""))
                who.append(metadata.get(c.name, []))
            elif c.is_dir():
                file, note = pick_submission(c, assignment)
                several = isinstance(note, i18n.Message) and "others" in note.params
                found.append((c.name, file, note if file is None or several else ""))
                who.append(metadata.get(c.name, []))
    names: dict[str, int] = {}
    unique = []
    for (name, file, note), persons in zip(found, who):  # two students' "hw.ipynb" must not share a folder
        names[name] = names.get(name, 0) + 1
        unique.append((name if names[name] == 1 else f"{name}-{names[name]}", file, note))
        if people is not None and persons:
            people[unique[-1][0]] = persons
    return unique


def preload(summary: bool = False) -> None:
    """Import now, before any student code runs, every module this trusted process needs later
    (the results writer, the reports and what they import; matplotlib when a summary will be drawn).
    ``sys.path`` is already free of the working folder (``autograder/__init__.py``); importing up
    front also means nothing planted later anywhere is imported after a submission has run."""
    import base64, csv, datetime, html, statistics  # noqa: E401,F401 - the reports' and gradebook's imports

    import jinja2.ext  # noqa: F401
    import markdown_it  # noqa: F401
    import yaml  # noqa: F401

    from .. import manual, reports  # noqa: F401
    from ..engine import results, runner, student  # noqa: F401

    for lang in ("en",):  # the templates, compiled now (the report writers only render them later)
        env = reports.environment(lang)
        for name in ("feedback.html.j2", "summary.html.j2", "manual.html.j2"):
            env.get_template(name)
    if sys.stderr.isatty():
        import tqdm  # noqa: F401

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
              note: str | i18n.Message = "", total_time: float | None = None, lang: str = i18n.AUTO):
    """Grade one submission file; never raises for anything the submission does. Returns (Grading, seconds).

    ``total_time`` is the submission's wall-time budget (default ``time_budget``): past it, the checks
    not run yet fail with a message saying so. ``lang`` (``--lang``) and the notebook's own language
    decide, through ``i18n.choose``, the language of everything the student reads (``Grading.lang``)."""
    started = time.monotonic()
    sub, load_error, said = None, None, i18n.choose(lang, None)
    if path is not None:
        try:
            sub = load(path, lang)
            said = i18n.choose(lang, sub.lang)
        except LoadError as exc:
            load_error, said = str(exc), exc.lang
    with i18n.using(said):
        g, seconds = _grade(path, sub, load_error, assignment, limits, zygote, note, total_time, started)
    g.lang = said
    return g, seconds


def _grade(path: Path | None, sub, load_error: str | None, assignment: str, limits: Limits, zygote: Zygote | None,
           note: str | i18n.Message, total_time: float | None, started: float):
    """``grade_one`` once the submission is read, in its language (``i18n.using``)."""
    note = i18n.render(note)
    if load_error is None:
        load_error = note or _("nothing was submitted")
    from ..engine import runner
    from ..engine.student import Student

    # the child starts now: cold, it imports torch while this process does
    sandbox = Sandbox(limits, zygote).start() if sub is not None else None
    rules = runner.rules(assignment)
    g = runner.Grading(assignment=assignment, submission=path.name if path else "",
                       questions=list(dict.fromkeys(r.question for r in rules)))
    if sub is None:
        why = _("not graded: {reason}").format(reason=load_error)
        g.not_graded = load_error
        g.errors.append(why)
        g.results = [runner.RuleResult(r, passed=False, hint=why) for r in rules]
        return g, time.monotonic() - started
    if note:
        g.notes.append(note)
    g.notes.extend(sub.notes)
    if sub.assignment and sub.assignment != assignment:
        g.errors.append(_("this notebook was made for the assignment '{made_for}' (its otter metadata says so), "
                          "not '{assignment}': check that you submitted the right notebook").format(
            made_for=sub.assignment, assignment=assignment))
    if total_time is None:
        total_time = time_budget(limits, len(g.questions))
    student = Student(sub, limits, sandbox=sandbox, spawn=lambda lim: Sandbox(lim, zygote).start(),
                      total_time=total_time)
    timed_out = False
    try:
        for c in student.start():
            timed_out = timed_out or bool(c.timeout)
            if c.fatal:
                g.errors.append(_("{cell} was skipped: {reason}").format(cell=sub.where(c.index), reason=c.fatal))
            elif c.timeout:
                g.errors.append(_("{cell} did not finish in time").format(cell=sub.where(c.index)))
            elif c.error is not None:
                g.errors.append(_("{cell} raised {error}: {message}").format(
                    cell=sub.where(c.index), error=c.error.type, message=c.error.message[:200]))
        g.results = runner.run_rules(student, assignment, sub.digest, rules)
        g.errors.extend(runner.stopped_questions(g.results))
    except Exception as exc:  # the engine itself failed: the submission still gets its row
        g.errors.append(_("grading stopped: {error}").format(error=exc))
        done = {r.rule.name for r in g.results}
        g.results += [runner.RuleResult(r, passed=False, hint=_("not graded: {reason}").format(reason=exc))
                      for r in rules if r.name not in done]
    finally:
        student.close()
    if student.restarts:
        g.errors.append(i18n.ngettext("the process running the code was restarted {count} time",
                                      "the process running the code was restarted {count} times",
                                      student.restarts).format(count=student.restarts))
    if student.gave_up:
        g.errors.append(student.gave_up)
    g.timed_out = timed_out or bool(getattr(student, "out_of_time", False))
    return g, time.monotonic() - started


OUTPUT_FILES = ["gradebook.csv", "gradebook.json", "canvas.csv", "summary.html", "summary-scores.png",
                "summary-questions.png", "manual.html", "manual.csv", "manual.json"]


def grade_paths(assignment: str, paths: list[str], out: Path, jobs: int = 1, limits: Limits = Limits(),
                progress: bool = False, run=None, total_time: float | None = None, lang: str = i18n.AUTO,
                after_due_date: bool = False) -> list[dict]:
    """Grade every submission found in ``paths``; write results, the gradebook and reports under ``out``:
    ``<name>/results.json``, ``<name>/feedback.{md,html}``, ``gradebook.{csv,json}`` (``canvas.csv``
    when submitters have SIDs), ``summary.html``, and the free-response pages ``manual.{html,csv,json}``.
    What the previous run into ``out`` wrote is removed first (``outdir.clear_previous``).

    ``run`` (``results.Run``) is what every results.json records of the isolation; without it the
    isolation is checked here (``IsolationUnavailable`` unless ``limits.insecure``). ``total_time``
    is each submission's wall-time budget (default ``time_budget``). ``out`` must pass
    ``outdir.prepare`` and ``outdir.check_reusable`` (else ``outdir.UnsafeOutput``). ``lang`` is
    ``--lang``: each submission's results and feedback are in the language ``i18n.choose`` picks for
    it; the class pages (summary, manual) in ``lang``, English under ``auto``. ``after_due_date``
    lists the checks shown after the due date in the feedback."""
    from .. import manual
    from ..engine import results

    if run is None:
        from ..engine import isolation

        layers = isolation.check(insecure=limits.insecure)
        run = results.Run(isolation=layers.describe(), insecure=layers.insecure)
    out = outdir.prepare(out)
    outdir.check_reusable(out, assignment)
    people: dict[str, list[dict]] = {}
    subs = find_submissions(paths, assignment, people)
    preload(summary=len(subs) > 1)
    outdir.clear_previous(out)
    outdir.write_manifest(out, assignment, [name for name, _, _ in subs] + OUTPUT_FILES)
    if not subs:  # an empty folder still gets a gradebook with the assignment's columns
        from ..engine import runner

        rows, questions = [], runner.questions(assignment)
        points: dict[str, float] | None = {}
        for rule in runner.rules(assignment):
            points[rule.question] = points.get(rule.question, 0.0) + rule.points
    elif len(subs) == 1:
        points = None
        name, path, note = subs[0]
        g, seconds = grade_one(path, assignment, limits, note=note, total_time=total_time, lang=lang)
        g.submission = name
        budget = total_time or time_budget(limits, len(g.questions))
        this = dataclasses.replace(run, time_budget=budget)
        results.write_results(g, out / name, seconds, this, root=out)
        rows, questions = results.gradebook_rows([g], this), g.questions
        if progress:
            print(f"[1/1] {name}: {rows[0]['total']:g}/{rows[0]['max_total']:g} {rows[0]['status']}", file=sys.stderr)
    else:
        from .pool import grade_many

        points = None
        rows, questions = grade_many(assignment, subs, out, jobs, limits, progress, run, total_time, lang=lang)
    for row in rows:
        if people.get(row["submission"]):
            row["submitters"] = people[row["submission"]]
    run = dataclasses.replace(run, time_budget=total_time or time_budget(limits, len(questions)))
    free = manual.questions(assignment)
    results.write_gradebook(assignment, rows, out, questions, run, manual=free, points=points)
    page_lang = lang if lang in i18n.LANGUAGES else i18n.DEFAULT
    if free and subs:
        answers = manual.collect(assignment, subs)
        manual.write(out, assignment, answers, lang=page_lang)
    from ..reports import write_reports

    write_reports(out, summary=True, lang=page_lang, after_due_date=after_due_date)
    return rows


def counts(rows: list[dict]) -> dict[str, int]:
    """How many submissions were graded (timed-out ones and those with grader errors included),
    not graded, timed out, and had grader errors."""
    status = [r.get("status", "graded") for r in rows]
    return {"graded": sum(s != "not graded" for s in status), "not graded": status.count("not graded"),
            "timed out": status.count("timed out"), "grader errors": sum(bool(r.get("grader_errors")) for r in rows)}


def _refuse(message: str) -> int:
    """One line on stderr, exit status 2: nothing was graded, nothing written."""
    print(f"autograder: {message}", file=sys.stderr)
    return 2


EPILOG = """\
writes, in DIR:
  <submission>/results.json    Gradescope's results format (one test per rule)
  <submission>/feedback.md     for the student (also feedback.html): points, checks, hints
  gradebook.csv                a row per submission (per submitter, from a Gradescope export's
                               submission_metadata.yml), a points-possible row, a column per
                               question and free-response question, total, status
  gradebook.json               the same, with errors and notes;  canvas.csv when SIDs are known
  summary.html                 the class: rates per question and rule, every failure group
  manual.html, manual.csv      free-response answers with their rubric; fill manual.csv, then
                               run: python -m autograder merge-manual DIR manual.csv
What the previous run into DIR wrote is removed first; DIR must not hold another assignment's
results.

environment:
  AUTOGRADER_SECRET   key the graders' random probes are derived from (with each submission's
                      bytes): set it, so that students cannot predict the probes and a regrade
                      gives the same scores

exit status:
  0  grading ran (whatever the scores; the last line counts graded, not graded, timed out
     and grader errors)
  2  nothing was graded: a usage error, an unknown assignment, an unusable --out, or a
     sandbox that cannot isolate student code (--insecure grades anyway, on a machine you
     trust: recorded in every results.json and the gradebook)
"""


def add_arguments(parser) -> None:
    """The ``grade`` command's arguments (shared by ``python -m autograder grade`` and ``main``)."""
    parser.add_argument("assignment", choices=ASSIGNMENTS, metavar="ASSIGNMENT",
                        help=f"one of: {', '.join(ASSIGNMENTS)}")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a submission (.ipynb, .py, or a zip holding one notebook), a folder of them, "
                             "or a Gradescope export folder (one subfolder per submission)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="folder for the results, feedback, gradebook and summary (created, mode 0700)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="submissions graded at once (default 1)")
    parser.add_argument("--time-limit", type=float, default=Limits.time, metavar="SECONDS",
                        help="seconds per question (default 10)")
    parser.add_argument("--memory-limit", type=float, default=Limits.memory / 2**30, metavar="GIB",
                        help="GiB (default 2)")
    parser.add_argument("--process-limit", type=int, default=Limits.processes, metavar="N",
                        help="processes (default 64)")
    parser.add_argument("--output-limit", type=float, default=Limits.output / 2**20, metavar="MIB",
                        help="MiB of output per question (default 1)")
    parser.add_argument("--submission-time-limit", type=float, default=None, metavar="SECONDS",
                        help="wall seconds for one submission in all, its cells and checks together "
                             "(default: (questions + 4) x --time-limit)")
    parser.add_argument("--lang", choices=(i18n.AUTO, *i18n.LANGUAGES), default=i18n.AUTO,
                        help="language of what students read (results, feedback): auto (default) takes each "
                             "notebook's own (metadata.autograder.lang), else English; the class pages are in "
                             "this language (English under auto)")
    parser.add_argument("--after-due-date", action="store_true",
                        help="list the checks marked visibility='after_due_date' in the students' feedback "
                             "(default: counted, not shown, as Gradescope does before the due date)")
    parser.add_argument("--insecure", action="store_true",
                        help="grade even where student code cannot be isolated (only on a machine you trust); "
                             "recorded in every results.json and in the gradebook")
    parser.add_argument("--quiet", action="store_true", help="no progress (the last line still gives the counts)")


def run(args, error=None) -> int:
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
        out = outdir.prepare(args.out)
        outdir.check_reusable(out, args.assignment)
    except outdir.UnsafeOutput as exc:
        return _refuse(f"refusing --out: {exc}")
    from ..engine import isolation
    from ..engine.results import Run

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
    if not find_submissions(args.paths, args.assignment):
        print(f"autograder: warning: no submissions found in {', '.join(map(str, args.paths))} "
              f"(looked for {', '.join(SUFFIXES)} files, or one subfolder per submission)", file=sys.stderr)
    run_ = Run(isolation=layers.describe(), insecure=layers.insecure)
    rows = grade_paths(args.assignment, args.paths, out, args.jobs, limits, progress=not args.quiet, run=run_,
                       total_time=args.submission_time_limit, lang=args.lang,
                       after_due_date=args.after_due_date)
    n = counts(rows)
    print(f"{len(rows)} submission{'s' * (len(rows) != 1)}: {n['graded']} graded, {n['not graded']} not graded, "
          f"{n['timed out']} timed out, {n['grader errors']} with grader errors; "
          f"gradebook in {args.out / 'gradebook.csv'}", file=sys.stderr)
    return 0


def _remove_if_made(out: Path, given: Path) -> None:
    """Undo ``prepare``'s creation of an empty results folder when grading is refused afterwards."""
    try:
        if not os.listdir(out):
            os.rmdir(out)
    except OSError:
        pass


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder grade ...`` (the same parser as the top-level command's subcommand)."""
    from ..__main__ import build_parser

    parser = build_parser()
    args = parser.parse_args(["grade", *(argv if argv is not None else sys.argv[1:])])
    return run(args)
