"""Benchmarks (commands, not timed tests): cold grading of one submission, side by side.

    python -m tools.bench [ASSIGNMENT ...] [--runs N] [--otter-runs N]

For each assignment: the median wall time of ``python -c "import torch"`` (the
floor any grader of torch code pays), of ``python -m autograder grade`` on one
notebook (the student notebook with the reference answers, cold: a new process
each time), and of ``otter run`` on the same notebook with the autograder zip
``otter assign`` made. Prints the ratios next to their targets.
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

from .. import CHECKOUT, ROOT

TARGETS = {"access": 2.0, "init": 2.5, "tied": 2.5}  # cold grading / bare torch import
OTTER_SPEEDUP = 4.0  # otter run / our cold grading, at least (access)


def timed(cmd: list[str], runs: int) -> float:
    """Median wall seconds of ``runs`` runs of ``cmd`` (which must succeed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def otter_zip(assignment: str) -> Path:
    """otter's autograder zip for the assignment, made by ``otter assign`` if it is not there yet."""
    path = CHECKOUT.dist / "otter" / f"{assignment}-autograder.zip"
    if not path.exists():
        from autograder.assign import assign

        with tempfile.TemporaryDirectory() as tmp:
            assign(assignment, Path(tmp), zip_dir=path.parent, run_tests=False, solutions_dir=CHECKOUT.solutions)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(TARGETS))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--otter-runs", type=int, default=5, help="otter run is slow: fewer runs (0 to skip)")
    args = parser.parse_args(argv)
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        torch_s = timed([py, "-c", "import torch"], args.runs)
        print(f"python -c 'import torch'            {torch_s:6.2f} s")
        ok = True
        for a in args.assignments:
            nb = compose(a, None, tmp / a / f"{a}.ipynb")
            ours = timed([py, "-m", "autograder", "grade", a, str(nb), "--out", str(tmp / "out" / a), "--quiet"], args.runs)
            ratio = ours / torch_s
            ok &= ratio <= TARGETS[a]
            print(f"grade {a:<6} (cold, one notebook)   {ours:6.2f} s   {ratio:4.2f}x torch import "
                  f"(target <= {TARGETS[a]}x) {'ok' if ratio <= TARGETS[a] else 'MISSED'}")
            if args.otter_runs and a == "access":
                zip_path = otter_zip(a)
                (tmp / "otter" / a).mkdir(parents=True)  # otter run wants an existing output folder
                otter_s = timed([py, "-m", "otter", "run", "-a", str(zip_path), "-o", str(tmp / "otter" / a), str(nb)],
                                args.otter_runs)
                speedup = otter_s / ours
                ok &= speedup >= OTTER_SPEEDUP
                print(f"otter run {a:<6} (same notebook)     {otter_s:6.2f} s   ours is {speedup:4.1f}x faster "
                      f"(target >= {OTTER_SPEEDUP}x) {'ok' if speedup >= OTTER_SPEEDUP else 'MISSED'}")
    return 0 if ok else 1
