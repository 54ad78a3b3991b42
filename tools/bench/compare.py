"""Before/after benchmark (a command, not a timed test): this checkout against an earlier commit.

    python -m tools.bench.compare REV [--assignments access,init,tied] [--runs N] [--class-size N] [--jobs N]

Checks REV out into a temporary git worktree, then grades the same notebooks with both, runs
interleaved (old, new, new, old, ...) so that a change in the machine's load hits both alike:
one notebook of each assignment (``--assignments``, default all three) cold (a new process each
time), and a class of ``--class-size`` notebooks of each with ``--jobs`` warm workers. Prints each
median with its min and max, and the ratio new/old. Both run with this checkout's interpreter and packages.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.samples import compose

from .. import ROOT


def _run(checkout: Path, args: list[str]) -> float:
    start = time.perf_counter()
    # from the checkout's own folder: ``python -m autograder`` then imports that checkout's package
    subprocess.run([sys.executable, "-m", "autograder", "grade", *args, "--quiet"], cwd=checkout, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _line(what: str, old: list[float], new: list[float], per: int = 1) -> str:
    def fmt(xs: list[float]) -> str:
        return f"{statistics.median(xs) / per:7.3f} s [{min(xs) / per:.3f}-{max(xs) / per:.3f}]"

    return f"{what:<34} old {fmt(old)}   new {fmt(new)}   new/old {statistics.median(new) / statistics.median(old):.2f}"


def main(argv: list[str] | None = None) -> int:
    """``make bench-compare``: see the module's docstring."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.compare", description=__doc__.splitlines()[0])
    parser.add_argument("rev", help="the earlier commit, e.g. 26ae801")
    parser.add_argument("--runs", type=int, default=6, help="cold runs per side (default 6)")
    parser.add_argument("--class-size", type=int, default=40, help="notebooks in the bulk run (default 40; 0 skips)")
    parser.add_argument("--bulk-runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignments", default="access,init,tied", help="comma-separated (default all three)")
    args = parser.parse_args(argv)
    assignments = [a for a in args.assignments.split(",") if a]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        base.chmod(0o755)  # as in a normal checkout: the old engine drops to its own uid only where others can enter
        old = base / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(old), args.rev], check=True)
        try:
            sides = {"old": old, "new": ROOT}
            print("interleaved runs (old, new, new, old, ...); medians [min-max]")
            for a in assignments:
                nb = compose(a, None, base / "in" / a / "one" / f"{a}.ipynb")
                for i in range(args.class_size):
                    compose(a, None, base / "in" / a / "class" / f"student{i:03d}.ipynb")
                cold: dict[str, list[float]] = {"old": [], "new": []}
                for i in range(args.runs):
                    for side in (("old", "new") if i % 2 == 0 else ("new", "old")):
                        out = base / "out" / a / side / str(i)
                        cold[side].append(_run(sides[side], [a, str(nb), "--out", str(out)]))
                print(_line(f"grade one {a} notebook, cold", cold["old"], cold["new"]))
                if args.class_size:
                    bulk: dict[str, list[float]] = {"old": [], "new": []}
                    for i in range(args.bulk_runs):
                        for side in (("old", "new") if i % 2 == 0 else ("new", "old")):
                            out = base / "bulk" / a / side / str(i)
                            bulk[side].append(_run(sides[side], [a, str(base / "in" / a / "class"), "--jobs",
                                                                 str(args.jobs), "--out", str(out)]))
                    print(_line(f"{a} bulk, per submission ({args.class_size}, --jobs {args.jobs})", bulk["old"],
                                bulk["new"], per=args.class_size))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
