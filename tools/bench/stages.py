"""Where a warm worker's time goes for one submission, against the floor (a command, not a timed test).

    python -m tools.bench.stages [ASSIGNMENT ...] [--n 20] [--warmup 2]

Does what a bulk worker does (``autograder/grade/worker.py``): one ``Zygote``, ``api.preload``,
then ``api.grade_one`` and the results writing for each of ``--n`` reference notebooks, in this
process, after ``--warmup`` gradings that are not counted. The engine is timed from outside: its
functions are wrapped here, in this process (no engine file is edited), and each stage is the
wall time spent in it per submission:

- load: the parent reads and checks the notebook (``loader.load``);
- fork: the zygote forks the sandbox child (``Sandbox.start``);
- ready: the child enters its namespaces until it says ready (``Sandbox.wait_ready``);
- cells: the child runs the student's cells (``Student._exec_cells``: "exec" sent to "exec_done" read);
- probes: the child runs the graders' probe programs (in ``Student.run``, a program's send to its
  answer's receive);
- probe round trips: the rest of ``Student.run``, in the parent (checks, decoding the answers);
- graders: ``runner.run_rules`` outside ``Student.run`` (the graders' own Python in the parent);
- close: the child ended (``Student.close``);
- results: ``results.write_results`` and ``results.gradebook_rows``;
- rest: what ``grade_one`` spends outside all of these.

The floor is the child's own work: cells + probes. Also printed: the parent's CPU time in the
grading thread (``time.thread_time``) and in all its threads (the sandbox's output drain and
watchdog included), and how many probe programs ran.
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .common import ASSIGNMENTS, chosen_assignments, print_machine

STAGES = ("load", "fork", "ready", "cells", "probes", "round trips", "graders", "close", "results", "rest")
DESCRIBE = {
    "load": "the parent reads the notebook",
    "fork": "the zygote forks the sandbox",
    "ready": "the child's namespaces, until ready",
    "cells": "the child runs the cells [floor]",
    "probes": "the child runs the probes [floor]",
    "round trips": "Student.run's parent side",
    "graders": "the graders' own Python",
    "close": "the child ended",
    "results": "results.json, gradebook row",
    "rest": "the rest of grade_one",
}


class Stopwatch:
    """Wall time per stage for the submission being graded, from wrapped engine functions."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.spent: dict[str, float] = {}
        self.probes = 0
        self._sent: float | None = None  # when the program being run was sent to the child
        self._in_run = False

    def add(self, stage: str, seconds: float) -> None:
        """Count ``seconds`` to ``stage``."""
        self.spent[stage] = self.spent.get(stage, 0.0) + seconds

    def reset(self) -> None:
        """A new submission."""
        self.spent, self.probes, self._sent, self._in_run = {}, 0, None, False

    def timed(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn``, counting its wall time to ``stage``."""
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = self.clock()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(stage, self.clock() - start)
        return wrapper

    def run(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``Student.run``: its whole time as "round trips" (the child's part is moved to "probes")."""
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self._in_run, start = True, self.clock()
            try:
                return fn(*args, **kwargs)
            finally:
                self._in_run = False
                self.add("round trips", self.clock() - start)
        return wrapper

    def send(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``Sandbox.send``: a probe program's clock starts when it is sent."""
        @functools.wraps(fn)
        def wrapper(sandbox: Any, header: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            result = fn(sandbox, header, *args, **kwargs)
            if self._in_run and header.get("cmd") == "program":
                self._sent = self.clock()
                self.probes += 1
            return result
        return wrapper

    def receive(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``Sandbox.receive``: a probe program's clock stops when its answer is read (or it failed)."""
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                if self._sent is not None:
                    child = self.clock() - self._sent
                    self.add("probes", child)
                    self.add("round trips", -child)  # that part of Student.run was the child's
                    self._sent = None
        return wrapper


@contextmanager
def wrapped(watch: Stopwatch) -> Iterator[None]:
    """The engine's functions wrapped for ``watch`` (restored after)."""
    from autograder import api
    from autograder.engine import results, runner
    from autograder.engine.sandbox import Sandbox
    from autograder.engine.student import Student

    patches: list[tuple[Any, str, Callable[..., Any]]] = [
        (api, "load", watch.timed("load", vars(api)["load"])),  # the loader's function, as api calls it
        (Sandbox, "start", watch.timed("fork", Sandbox.start)),
        (Sandbox, "wait_ready", watch.timed("ready", Sandbox.wait_ready)),
        (Sandbox, "send", watch.send(Sandbox.send)),
        (Sandbox, "receive", watch.receive(Sandbox.receive)),
        (Student, "_exec_cells", watch.timed("cells", Student._exec_cells)),
        (Student, "run", watch.run(Student.run)),
        (Student, "close", watch.timed("close", Student.close)),
        (runner, "run_rules", watch.timed("graders", runner.run_rules)),
        (results, "write_results", watch.timed("results", results.write_results)),
        (results, "gradebook_rows", watch.timed("results", results.gradebook_rows)),
    ]
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in patches]
    try:
        for obj, name, fn in patches:
            setattr(obj, name, fn)
        yield
    finally:
        for obj, name, fn in saved:
            setattr(obj, name, fn)


def grade_all(assignment: str, notebooks: list[Path], out: Path, warmup: int) -> tuple[list[dict[str, float]], int]:
    """Grade ``notebooks`` as a worker does; per submission (after ``warmup``), seconds per stage."""
    from autograder.api import grade_one, preload
    from autograder.engine import results, runner
    from autograder.engine.sandbox import Limits, Zygote

    limits = Limits()
    zygote = Zygote(insecure=limits.insecure, limits=limits)
    preload()
    runner.rules(assignment)
    watch = Stopwatch()
    rows: list[dict[str, float]] = []
    lost = 0
    try:
        with wrapped(watch):
            for i, nb in enumerate(notebooks):
                watch.reset()
                cpu, all_cpu, start = time.thread_time(), time.process_time(), time.perf_counter()
                g, seconds = grade_one(nb, assignment, limits, zygote=zygote)
                results.write_results(g, out / f"{i:04d}", seconds, root=out)
                results.gradebook_rows([g])
                total = time.perf_counter() - start
                row = dict(watch.spent)
                row["graders"] = row.get("graders", 0.0) - row.get("round trips", 0.0) - row.get("probes", 0.0)
                row["rest"] = total - sum(row.get(s, 0.0) for s in STAGES if s != "rest")
                row.update({"total": total, "cpu": time.thread_time() - cpu, "cpu all": time.process_time() - all_cpu,
                            "programs": float(watch.probes)})
                lost += g.total < g.max_total
                if i >= warmup:
                    rows.append(row)
    finally:
        zygote.close()
    return rows, lost


def report(assignment: str, rows: list[dict[str, float]], lost: int) -> None:
    """Print the medians per stage of one assignment."""
    def med(key: str) -> float:
        return statistics.median(r.get(key, 0.0) for r in rows)

    total = med("total")
    print(f"== {assignment}: {len(rows)} reference notebooks, a warm worker (one zygote); medians per submission")
    for s in STAGES:
        ms = med(s) * 1000
        print(f"   {s:<12} {DESCRIBE[s]:<38} {ms:8.1f} ms  {100 * med(s) / total:5.1f}%")
    floor = statistics.median(r.get("cells", 0.0) + r.get("probes", 0.0) for r in rows)
    ratio = statistics.median(r["total"] / max(r.get("cells", 0.0) + r.get("probes", 0.0), 1e-9) for r in rows)
    print(f"   {'total':<12} {'wall, grade_one + results':<38} {total * 1000:8.1f} ms  "
          f"[{min(r['total'] for r in rows) * 1000:.0f}-{max(r['total'] for r in rows) * 1000:.0f}]")
    print(f"   floor (cells + probes) {floor * 1000:.1f} ms; total / floor {ratio:.2f}x (median of per-submission "
          f"ratios); {med('programs'):.0f} probe programs")
    print(f"   parent CPU: {med('cpu') * 1000:.1f} ms in the grading thread, {med('cpu all') * 1000:.1f} ms in all "
          f"its threads")
    if lost:
        print(f"   WARNING: {lost} reference grading(s) lost points: the figures time a broken grading")


def main(argv: list[str] | None = None) -> int:
    """``make bench-stages``: see the module's docstring."""
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.stages", description=doc.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS), metavar="ASSIGNMENT",
                        help=f"any of {', '.join(ASSIGNMENTS)} (default: all)")
    parser.add_argument("--n", type=int, default=20, help="submissions measured (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="gradings before those, not counted (default 2)")
    args = parser.parse_args(argv)
    args.assignments = chosen_assignments(parser, args.assignments)
    from autograder.samples import compose

    print_machine()
    lost_any = False
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for a in args.assignments:
            nb = compose(a, None, tmp / a / f"{a}.ipynb")
            rows, lost = grade_all(a, [nb] * (args.warmup + args.n), tmp / a / "out", args.warmup)
            report(a, rows, lost)
            lost_any |= lost > 0
    return 1 if lost_any else 0


if __name__ == "__main__":
    sys.exit(main())
