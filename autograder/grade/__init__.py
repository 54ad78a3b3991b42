"""The ``grade`` command: grade submissions of one assignment and write results and gradebook.

    python -m autograder grade ASSIGNMENT PATH... --out DIR [--jobs N]
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .. import ASSIGNMENTS
from ..engine.loader import LoadError, Submission, load
from ..engine.sandbox import Limits, Sandbox

SUFFIXES = (".ipynb", ".py", ".zip")


def find_submissions(paths: list[str]) -> list[Path]:
    """Files given, and the submission files directly inside folders given, sorted by name."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found.extend(sorted(c for c in p.iterdir() if c.is_file() and c.suffix.lower() in SUFFIXES
                                and not c.name.startswith(".")))
        else:
            found.append(p)  # named explicitly: graded (or refused with a message) whatever it is
    return found


def grade_one(path: Path, assignment: str, limits: Limits):
    """Grade one submission file; never raises for anything the submission does."""
    from ..engine.runner import Grading

    started = time.monotonic()
    try:
        sub = load(path)
    except LoadError as exc:
        sub, load_error = None, str(exc)
    sandbox = Sandbox(limits).start() if sub is not None else None  # the child imports torch while we do
    from ..engine import runner
    from ..engine.student import Student

    rules = runner.rules(assignment)
    g = Grading(assignment=assignment, submission=path.name, questions=list(dict.fromkeys(r.question for r in rules)))
    if sub is None:
        g.errors.append(f"not graded: {load_error}")
        g.results = [runner.RuleResult(r, passed=False, hint=f"not graded: {load_error}") for r in rules]
        return g, time.monotonic() - started
    g.errors.extend(sub.notes)
    student = Student(sub, limits, sandbox=sandbox)
    try:
        cells = student.start()
        for c in cells:
            if c.fatal:
                g.errors.append(f"cell {c.index + 1} was skipped: {c.fatal}")
            elif c.error is not None:
                kind = "did not finish in time" if c.timeout else f"raised {c.error.type}: {c.error.message[:200]}"
                g.errors.append(f"cell {c.index + 1} {kind}")
        g.results = runner.run_rules(student, assignment, sub.digest, rules)
    except Exception as exc:  # the engine itself failed: the submission still gets its row
        g.errors.append(f"grading stopped: {exc}")
        done = {r.rule.name for r in g.results}
        g.results += [runner.RuleResult(r, passed=False, hint=f"not graded: {exc}") for r in rules if r.name not in done]
    finally:
        student.close()
    if student.restarts:
        g.errors.append(f"the process running the code was restarted {student.restarts} time(s)")
    return g, time.monotonic() - started


def output_folders(paths: list[Path]) -> list[str]:
    """A results folder name per submission: its file name, made unique."""
    names, seen = [], {}
    for p in paths:
        name = p.name
        if name in seen:
            seen[name] += 1
            name = f"{name}-{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
    return names


def grade_paths(assignment: str, paths: list[str], out: Path, jobs: int = 1, limits: Limits = Limits(),
                progress: bool = False) -> list:
    """Grade every submission found in ``paths`` and write results and the gradebook under ``out``."""
    from ..engine import results, runner

    files = find_submissions(paths)
    folders = output_folders(files)
    out.mkdir(parents=True, exist_ok=True)
    questions = runner.questions(assignment)

    def work(i: int):
        g, seconds = grade_one(files[i], assignment, limits)
        g.submission = folders[i]
        results.write_results(g, out / folders[i], seconds)
        if progress:
            print(f"graded {folders[i]}: {g.total:g}/{g.max_total:g}", file=sys.stderr)
        return g

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        gradings = list(pool.map(work, range(len(files))))
    results.write_gradebook(assignment, gradings, out, questions)
    return gradings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder grade", description=__doc__.splitlines()[0])
    parser.add_argument("assignment", choices=ASSIGNMENTS)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a submission, or a folder of them")
    parser.add_argument("--out", required=True, type=Path, help="folder for results and the gradebook")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    parser.add_argument("--time-limit", type=float, default=Limits.time, help="seconds per question (default 10)")
    parser.add_argument("--memory-limit", type=float, default=Limits.memory / 2**30, help="GiB (default 2)")
    parser.add_argument("--process-limit", type=int, default=Limits.processes, help="processes (default 64)")
    parser.add_argument("--output-limit", type=float, default=Limits.output / 2**20, help="MiB of output per question (default 1)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.time_limit <= 0 or args.memory_limit <= 0 or args.output_limit <= 0:
        parser.error("limits and --jobs must be positive")
    limits = Limits(time=args.time_limit, memory=int(args.memory_limit * 2**30), processes=args.process_limit,
                    output=int(args.output_limit * 2**20))
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    gradings = grade_paths(args.assignment, args.paths, args.out, args.jobs, limits, progress=not args.quiet)
    if not args.quiet:
        print(f"{len(gradings)} submission(s) graded; gradebook in {args.out / 'gradebook.csv'}", file=sys.stderr)
    return 0
