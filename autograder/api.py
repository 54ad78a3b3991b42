"""The grading core: what to grade, one submission graded, many graded. Every front end calls this.

- ``find_submissions`` (and ``pick_submission``, for one student's folder) says what the paths
  given hold: a ``Submitted`` each;
- ``grade_one`` grades one file in a sandbox, in this process: a ``Graded``;
- ``grade_many`` grades a list of submissions into a results folder (one cold in this process,
  several with a pool of pre-warmed workers): a ``Batch``.

The command line (``grade/``), Gradescope's entry point (``gradescope/``), otter's plugin
(``otter_plugin.py``) and the pool's workers (``grade/worker.py``) are thin layers over it. What
grading finds is the engine's own model, reused rather than copied: ``engine.runner.Grading`` (each
rule's ``RuleResult``, the errors and notes, their language), ``engine.results.Run`` (how a run
graded) and the gradebook rows of ``engine.results.gradebook_rows``.

Nothing a submission does makes these functions raise, and nothing here exits the process: only a
command line's ``main`` turns an exception into an exit status.
"""
from __future__ import annotations

import dataclasses
import functools
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from . import i18n
from .engine.child import warmers_for
from .engine.loader import LoadError, Submission, load
from .engine.runner import (
    Grading,
    Rule,
    RuleResult,
    # not_graded and time_budget are the core's, re-exported: they live in the engine so that the
    # worker pool (grade.pool) needs nothing of this module
    not_graded as not_graded,
    question_order,
    sum_by_question,
    time_budget as time_budget,
)
from .engine.sandbox import Limits, Sandbox, Zygote
from .i18n import _, defer

if TYPE_CHECKING:
    from .engine.results import Run

SUFFIXES = (".ipynb", ".py", ".zip")  # what a submission file may be
SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}  # folders no submission is looked for in
GRADESCOPE_METADATA = "submission_metadata.yml"  # who submitted what, in a Gradescope "Export Submissions" folder


@dataclass(frozen=True)
class Submitted:
    """One submission to grade, as ``find_submissions`` found it (``engine.loader.Submission`` is its
    file once read)."""

    name: str  # its name in the results folder and the gradebook: its file's or folder's, made unique
    path: Path | None  # the file to grade; None when its folder held none (it is then "not graded")
    note: str | i18n.Message = ""  # for the student: why nothing was graded, or which of several files was
    submitters: tuple[dict[str, str], ...] = ()  # from a Gradescope export: {"name", "sid", "email"} each


class Graded(NamedTuple):
    """What ``grade_one`` returns; a pair, so ``grading, seconds = grade_one(...)`` works too."""

    grading: Grading  # every rule's result, the errors and notes, and the language they are in
    seconds: float  # wall time, from reading the file to the last check


@dataclass
class Batch:
    """What ``grade_many`` returns: the gradebook's rows and its columns."""

    rows: list[dict[str, Any]]  # a gradebook row per submission (``engine.results.gradebook_rows``), in the order given
    questions: list[str]  # the assignment's questions, in the graders' order (``runner.question_order``)
    points: dict[str, float]  # each question's points possible: the gradebook's maxima, rows or none

    @classmethod
    def of(cls, rows: list[dict[str, Any]], rules: list[Rule]) -> Batch:
        """The rows, with the questions and points possible of the assignment's ``rules``."""
        possible = sum_by_question((r.question, 0.0, r.points) for r in rules)
        return cls(rows, question_order(rules), {q: points for q, (_, points) in possible.items()})


# ------------------------------------------------------------------ what to grade


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


def pick_submission(folder: Path, assignment: str) -> tuple[Path | None, i18n.Message]:
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


@functools.lru_cache(maxsize=None)
def _metadata_loader() -> type:
    """yaml's ``SafeLoader`` that reads a tag it does not know (Gradescope's Ruby tags: ``!ruby/object:BigDecimal``,
    ``!ruby/hash:...``, ``!ruby/sym``) as the plain scalar, sequence or mapping it tags, instead of failing."""
    import yaml

    class MetadataLoader(yaml.SafeLoader):  # type: ignore[misc]  # yaml has no stubs here
        pass

    def untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return loader.construct_scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_mapping(node, deep=True)

    MetadataLoader.add_multi_constructor("!", untagged)
    MetadataLoader.add_multi_constructor("tag:", untagged)
    return MetadataLoader


def read_metadata(folder: Path) -> dict[str, list[dict[str, str]]]:
    """The submitters of each submission of a Gradescope "Export Submissions" folder, from its
    ``submission_metadata.yml``: ``{"submission_1001": [{"name", "sid", "email"}, ...]}`` (several
    per group). Gradescope writes Ruby-style keys (``:submitters:``, ``:name:``); plain keys work too.
    Its Ruby tags (``:score: !ruby/object:BigDecimal 18:0.17e2``) are read as the plain scalar, list or
    mapping they tag (``_MetadataLoader``: a safe loader, nothing is constructed). {} when the file is
    missing or unreadable (the rows are then named after the folders alone; one line on stderr says
    why when the file is there but cannot be read)."""
    import yaml

    path = folder / GRADESCOPE_METADATA
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_metadata_loader())  # a SafeLoader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        why = " ".join(str(exc).split())[:200]
        print(f"autograder: warning: {path} cannot be read ({why}): the submissions are named after their "
              f"folders only, with no submitters", file=sys.stderr)
        return {}
    out: dict[str, list[dict[str, str]]] = {}
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


def find_submissions(paths: list[str] | list[Path], assignment: str) -> list[Submitted]:
    """The submissions in ``paths``, sorted by name within each folder given.

    A file named explicitly is one submission, whatever it is (refused with a message if it is no
    submission). A folder holds submission files, or one subfolder per student (a Gradescope
    "export submissions" folder, with ``submission_metadata.yml``, or any folder of folders): then
    each subfolder is one submission, named after it, and ``pick_submission`` chooses its file.
    Two submissions with one name (two students' ``hw.ipynb``) get ``hw.ipynb`` and ``hw.ipynb-2``.
    """
    found: list[Submitted] = []
    for p in map(Path, paths):
        if not p.is_dir():
            found.append(Submitted(p.name, p))
            continue
        metadata = read_metadata(p)
        for c in sorted(p.iterdir()):
            if c.name.startswith(".") or c.name == GRADESCOPE_METADATA:
                continue
            who = tuple(metadata.get(c.name, []))
            if c.is_file() and c.suffix.lower() in SUFFIXES:
                found.append(Submitted(c.name, c, "", who))
            elif c.is_dir():
                file, note = pick_submission(c, assignment)
                several = "others" in note.params
                found.append(Submitted(c.name, file, note if file is None or several else "", who))
    seen: dict[str, int] = {}
    unique = []
    for sub in found:  # two students' "hw.ipynb" must not share a folder
        seen[sub.name] = seen.get(sub.name, 0) + 1
        unique.append(sub if seen[sub.name] == 1 else dataclasses.replace(sub, name=f"{sub.name}-{seen[sub.name]}"))
    return unique


# ------------------------------------------------------------------ grading


def preload(summary: bool = False, pages: bool = True) -> None:
    """Import now, before any student code runs, every module this trusted process needs later
    (the results writer, the reports and what they import; matplotlib when a summary will be drawn).
    ``sys.path`` is already free of the working folder (``autograder/__init__.py``); importing up
    front also means nothing planted later anywhere is imported after a submission has run.

    ``pages=False`` for a grading worker, which writes results.json and gradebook rows but never a
    page: the page renderers' imports and templates (a fifth of a second of each worker's start)
    stay in the process that renders them (``tests/test_parent.py`` checks that a worker imports
    nothing once it has started grading)."""
    # the reports' and gradebook's imports
    import base64  # noqa: F401
    import csv  # noqa: F401
    import datetime  # noqa: F401
    import html  # noqa: F401
    import statistics  # noqa: F401

    import psutil  # noqa: F401  (the sandbox's process lists without a cgroup: an ordinary user's)

    from .engine import results, runner, student  # noqa: F401

    if not pages:
        return
    import jinja2.ext  # noqa: F401
    import markdown_it  # noqa: F401
    import yaml  # noqa: F401

    from . import manual, reports  # noqa: F401

    for lang in ("en",):  # the templates, compiled now (the report writers only render them later)
        env = reports.environment(lang)
        for name in ("feedback.html.j2", "summary.html.j2", "manual.html.j2"):
            env.get_template(name)
    if sys.stderr.isatty():
        import tqdm  # noqa: F401

    if summary:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.backends.backend_agg  # what Figure.savefig loads
        import matplotlib.figure


def grade_one(path: Path | None, assignment: str, limits: Limits = Limits(), zygote: Zygote | None = None,
              note: str | i18n.Message = "", total_time: float | None = None, lang: str = i18n.AUTO) -> Graded:
    """Grade one submission file (None: nothing was submitted, ``note`` says why); never raises for
    anything the submission does.

    Its child is a cold sandbox (it imports torch while this process does), or one forked from
    ``zygote``. ``total_time`` is the submission's wall-time budget (default ``time_budget``): past
    it, the checks not run yet fail with a message saying so. ``lang`` (``--lang``) and the notebook's
    own language decide, through ``i18n.choose``, the language of everything the student reads
    (``Grading.lang``)."""
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
    return Graded(g, seconds)


def _grade(path: Path | None, sub: Submission | None, load_error: str | None, assignment: str, limits: Limits,
           zygote: Zygote | None, note: str | i18n.Message, total_time: float | None, started: float) -> Graded:
    """``grade_one`` once the submission is read, in its language (``i18n.using``)."""
    from .engine import runner
    from .engine.student import Student

    note = i18n.render(note)
    if load_error is None:
        load_error = note or _("nothing was submitted")
    # the child starts now: cold, it imports torch while this process does
    student = None
    if sub is not None:
        warmers = warmers_for(sub.cells)
        student = Student(sub, limits, sandbox=Sandbox(limits, zygote, warmers).start(),
                          spawn=lambda lim: Sandbox(lim, zygote, warmers).start())
        student.send_cells()  # and runs them as soon as it has torch, while this process imports the graders
    try:
        rules = runner.rules(assignment)
    except BaseException:
        if student is not None:
            student.close()
        raise
    if sub is None or student is None:
        return Graded(not_graded(assignment, path.name if path else "", rules, load_error),
                      time.monotonic() - started)
    g = Grading(assignment=assignment, submission=path.name if path else "", questions=question_order(rules))
    if note:
        g.notes.append(note)
    g.notes.extend(sub.notes)
    if sub.assignment and sub.assignment != assignment:
        said_by = (_("its otter metadata says so") if not sub.name.lower().endswith(".py")
                   else _("its otter.Notebook(...) line says so"))
        g.errors.append(_("this notebook was made for the assignment '{made_for}' ({said_by}), not '{assignment}': "
                          "check that you submitted the right notebook").format(
            made_for=sub.assignment, said_by=said_by, assignment=assignment))
    student.total_time = time_budget(limits, len(g.questions)) if total_time is None else total_time
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
        g.results += [RuleResult(r, passed=False, hint=_("not graded: {reason}").format(reason=exc))
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
    return Graded(g, time.monotonic() - started)


def grade_many(assignment: str, subs: list[Submitted], out: Path, *, jobs: int = 1, limits: Limits = Limits(),
               run: Run | None = None, total_time: float | None = None, lang: str = i18n.AUTO,
               progress: bool = False, prepare: Callable[[], None] | None = None) -> Batch:
    """Grade ``subs`` into ``out``, writing each one's ``<name>/results.json`` as it is graded.

    One submission is graded cold, in this process (its child imports torch while this process
    does); several go to ``jobs`` pre-warmed workers (``grade.pool``), each grading one at a time in
    submission order. ``out`` is a results folder ``outdir.prepare`` accepted; ``run`` is what every
    results.json records of how the run graded (default: ``limits.insecure`` alone); ``total_time``
    is each submission's wall-time budget (default ``time_budget``); ``lang`` is ``--lang``.
    ``progress`` writes a line per submission (a bar on a terminal) to stderr. ``prepare`` (``preload``)
    runs before any student code: once the workers are started, while they import torch (several
    submissions), or first (one). Raises ``RuntimeError`` when no grading worker can start."""
    from .engine import results, runner

    run = run if run is not None else results.Run(insecure=limits.insecure)
    if not subs:  # an empty class still has the assignment's columns
        return Batch.of([], runner.rules(assignment))
    if len(subs) > 1:
        from .grade.pool import run_pool

        return Batch.of(*run_pool(assignment, subs, out, jobs, limits, progress, run, total_time, lang, prepare))
    if prepare is not None:
        prepare()
    sub = subs[0]
    g, seconds = grade_one(sub.path, assignment, limits, note=sub.note, total_time=total_time, lang=lang)
    g.submission = sub.name
    this = dataclasses.replace(run, time_budget=total_time or time_budget(limits, len(g.questions)))
    results.write_results(g, out / sub.name, seconds, this, root=out)
    rows = results.gradebook_rows([g], this)
    if progress:
        print(f"[1/1] {sub.name}: {rows[0]['total']:g}/{rows[0]['max_total']:g} {rows[0]['status']}", file=sys.stderr)
    return Batch.of(rows, [r.rule for r in g.results])
