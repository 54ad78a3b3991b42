"""When a class's grading does what, on one clock from the command's start (a command, not a timed test).

    python -m tools.bench.timeline [ASSIGNMENT] [--n 100] [--jobs 2] [--runs 3]

Runs ``python -m autograder grade`` in this process (``autograder.__main__.main``) on a class of
``--n`` copies of the reference notebook, ``--runs`` times, and prints the medians [min-max] of
when each step began and ended: the workers started; the parent's imports (``api.preload``); the
first, second and last submission graded; the end of ``api.grade_many`` (every worker gone);
the gradebook; the free-response answers and pages; the feedback and the summary; the end. What
lies outside the steady stretch between the first and the last submission (the start, the tail)
is paid once per class: this shows how much of a class's time it is. Functions are wrapped from
here, in this process; no engine file is edited.
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from .common import ASSIGNMENTS, print_machine

# (module, function, label): each wrapped call records when it began and ended
STEPS = (("api", "preload", "the parent's imports (api.preload)"),
         ("api", "grade_many", "api.grade_many (until every worker is gone)"),
         ("results", "write_gradebook", "the gradebook"),
         ("manual", "collect", "the free-response answers"),
         ("manual", "write", "the free-response pages"),
         ("reports", "write_reports", "the feedback and the summary"),
         ("reports", "write_summary", "  of which the summary"))


def one_run(assignment: str, folder: Path, out: Path, jobs: int) -> dict[str, tuple[float, float]]:
    """Grade ``folder`` once; {label: (began, ended)} in seconds from the start, with the workers' start
    and the first, second and last submission graded as points in time."""
    import importlib

    import autograder.__main__ as cli
    from autograder.grade import pool

    modules: dict[str, Any] = {}
    for mod, path in (("api", "autograder.api"), ("results", "autograder.engine.results"),
                      ("manual", "autograder.manual"), ("reports", "autograder.reports")):
        try:  # an earlier commit may lack one (run from its checkout to compare)
            modules[mod] = importlib.import_module(path)
        except ImportError:
            pass
    start = time.perf_counter()
    marks: dict[str, tuple[float, float]] = {}
    done: list[float] = []
    saved: list[tuple[Any, str, Any]] = []

    def now() -> float:
        return time.perf_counter() - start

    def wrap(obj: Any, name: str, fn: Callable[..., Any], label: str) -> None:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = now()
            try:
                return fn(*args, **kwargs)
            finally:
                marks.setdefault(label, (began, now()))
        saved.append((obj, name, fn))
        setattr(obj, name, wrapper)

    for mod, name, label in STEPS:
        if hasattr(modules.get(mod), name):
            wrap(modules[mod], name, getattr(modules[mod], name), label)
    real_worker, real_step = pool.Worker.__init__, pool.Progress.step

    def worker_init(self: Any, *args: Any, **kwargs: Any) -> None:
        marks.setdefault("the workers started", (now(), now()))
        real_worker(self, *args, **kwargs)

    def step(self: Any, *args: Any, **kwargs: Any) -> None:
        done.append(now())
        real_step(self, *args, **kwargs)

    saved += [(pool.Worker, "__init__", real_worker), (pool.Progress, "step", real_step)]
    pool.Worker.__init__ = worker_init  # type: ignore[method-assign]
    pool.Progress.step = step  # type: ignore[method-assign]
    try:
        code = cli.main(["grade", assignment, str(folder), "--jobs", str(jobs), "--out", str(out), "--quiet"])
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)
    if code != 0 or len(done) < 2:
        raise SystemExit(f"grading failed (exit status {code})")
    marks["the end"] = (now(), now())
    for label, at in (("first submission graded", done[0]), ("second submission graded", done[1]),
                      ("last submission graded", done[-1])):
        marks[label] = (at, at)
    return marks


def main(argv: list[str] | None = None) -> int:
    """``make bench-timeline``: see the module's docstring."""
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.timeline", description=doc.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="access", choices=ASSIGNMENTS)
    parser.add_argument("--n", type=int, default=100, help="submissions in the class (default 100)")
    parser.add_argument("--jobs", type=int, default=2, help="workers (default 2)")
    parser.add_argument("--runs", type=int, default=3, help="runs, medians taken over them (default 3)")
    args = parser.parse_args(argv)
    if args.n < 2 or args.runs < 1:
        parser.error("--n takes at least 2 (a class) and --runs at least 1")
    from autograder.samples import compose

    print_machine()
    runs: list[dict[str, tuple[float, float]]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)
        nb = compose(args.assignment, None, tmp / "one.ipynb")
        folder = tmp / "class"
        folder.mkdir()
        for i in range(args.n):
            (folder / f"student{i:04d}.ipynb").write_bytes(nb.read_bytes())
        for r in range(args.runs):
            runs.append(one_run(args.assignment, folder, tmp / f"out{r}", args.jobs))

    def spread(xs: list[float]) -> str:
        return f"{statistics.median(xs):6.2f} [{min(xs):.2f}-{max(xs):.2f}]"

    print(f"== {args.assignment}: {args.n} reference notebooks, --jobs {args.jobs}, {args.runs} run(s); seconds "
          f"from the start, median [min-max]")
    order = sorted(runs[0], key=lambda label: (runs[0][label][0], runs[0][label][1]))
    for label in order:
        began = [r[label][0] for r in runs if label in r]
        ended = [r[label][1] for r in runs if label in r]
        if began == ended:
            print(f"   {label:<46} at   {spread(began)}")
        else:
            print(f"   {label:<46} from {spread(began)} to {spread(ended)}")
    steady = [(r["last submission graded"][0] - r["first submission graded"][0]) / (args.n - 1) for r in runs]
    start = [r["first submission graded"][0] for r in runs]
    tail = [r["the end"][0] - r["last submission graded"][0] for r in runs]
    total = [r["the end"][0] for r in runs]
    once = statistics.median(start) + statistics.median(tail)
    print(f"   steady: {1000 * statistics.median(steady):.1f} ms per submission between the first and the last; "
          f"once per class: {statistics.median(start):.2f} s before the first, {statistics.median(tail):.2f} s "
          f"after the last ({100 * once / statistics.median(total):.0f}% of {statistics.median(total):.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
