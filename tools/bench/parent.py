"""Where the grading parent's memory goes, phase by phase, as the class grows (a command, not a timed test).

    python -m tools.bench.parent [--assignment access] [--sizes 10,100] [--jobs 2]

Runs ``autograder.grade.grade_paths`` (what ``python -m autograder grade`` runs) in this process
on ``bench-bulk``'s class (``common.compose_class``) of each size, with ``tracemalloc`` on, and
prints for each phase the Python memory it left allocated (retained) and the most it held at
once above its start (peak): ``api.grade_many`` (the workers' rows come back), the gradebook,
the free-response answers and pages, the feedback files and the summary. Then each phase's
growth per submission between the smallest and the largest class (after a class of 3 not counted, which
fills the imports and caches once): what ``bench-scale`` sees as
the slope of the parent's peak RSS, attributed. (tracemalloc counts Python's allocations only,
and slows allocation down: the times are not worth reading, the memory is.)
"""
from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import ASSIGNMENTS, MB, compose_class, int_list

PHASES = (("api", "grade_many"), ("results", "write_gradebook"), ("manual", "collect"), ("manual", "write"),
          ("reports", "write_feedback"), ("reports", "write_summary"))


def measure(assignment: str, folder: Path, out: Path, jobs: int) -> dict[str, tuple[int, int]]:
    """Grade ``folder`` in this process; (retained, peak) bytes per phase (``PHASES``)."""
    from autograder import api, manual, reports
    from autograder.engine import results
    from autograder.grade import grade_paths

    modules = {"api": api, "results": results, "manual": manual, "reports": reports}
    spent: dict[str, tuple[int, int]] = {}

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()  # the phases do not nest: each peak is its own
            try:
                return fn(*args, **kwargs)
            finally:
                now, peak = tracemalloc.get_traced_memory()
                kept, most = spent.get(name, (0, 0))
                spent[name] = (kept + now - before, max(most, peak - before))  # feedback: once per submission
        return wrapper

    saved = [(modules[m], f, getattr(modules[m], f)) for m, f in PHASES]
    tracemalloc.start()
    try:
        for mod, f, fn in saved:
            setattr(mod, f, wrap(f, fn))
        grade_paths(assignment, [str(folder)], out, jobs=jobs)
    finally:
        tracemalloc.stop()
        for mod, f, fn in saved:
            setattr(mod, f, fn)
    return spent


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.bench.parent``: see the module's docstring."""
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.parent", description=doc.splitlines()[0])
    parser.add_argument("--assignment", default="access", choices=ASSIGNMENTS)
    parser.add_argument("--sizes", default="10,100", help="class sizes (default 10,100)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    sizes = sorted(int_list(args.sizes))
    found: dict[int, dict[str, tuple[int, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # a small class first, not counted: the imports and caches every grading fills once
        compose_class(args.assignment, 3, tmp / "warm-up")
        measure(args.assignment, tmp / "warm-up", tmp / "warm-up-out", args.jobs)
        for n in sizes:
            compose_class(args.assignment, n, tmp / f"class-{n}")
            found[n] = measure(args.assignment, tmp / f"class-{n}", tmp / f"out-{n}", args.jobs)
    names = [f for _, f in PHASES]
    print(f"{args.assignment}, --jobs {args.jobs}: Python memory per phase of the grading parent (tracemalloc), MB "
          f"retained / peak above the phase's start")
    print(f"{'phase':<16}" + "".join(f"{'N=' + str(n):>20}" for n in sizes) + "   growth per submission, KB")
    lo, hi = sizes[0], sizes[-1]
    for name in names:
        cells = "".join(f" {found[n].get(name, (0, 0))[0] / MB:9.2f} / {found[n].get(name, (0, 0))[1] / MB:7.2f}"
                        for n in sizes)
        if hi > lo:
            (k0, p0), (k1, p1) = found[lo].get(name, (0, 0)), found[hi].get(name, (0, 0))
            growth = f"retained {(k1 - k0) / (hi - lo) / 1024:6.1f}, peak {(p1 - p0) / (hi - lo) / 1024:6.1f}"
        else:
            growth = ""
        print(f"{name:<16}{cells}   {growth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
