"""Benchmarks (commands, not timed tests): cold grading of one submission, side by side.

    python -m tools.bench [ASSIGNMENT ...] [--runs 5] [--otter-runs 5]

For each assignment, the student notebook with the reference answers
(``autograder.samples.compose``) is graded cold (a new ``python -m autograder grade`` process
each time) and by ``otter run`` with the autograder zip ``otter assign`` made; the floor any
grader of torch code pays is ``python -c "import torch"``. Every command runs once per round,
round after round (torch, access, init, tied, otter access, otter init, otter tied, then again),
so that a change in the machine's load hits all of them alike. Prints each command's median,
min and max, the ratios of medians next to issue 13's targets, and the machine and date. Every
run of the reference must get full marks, ours and otter's: otherwise the figure would time a
broken grading. Exit status 1 when a target is missed or a grading lost points.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .common import (
    ASSIGNMENTS,
    Spread,
    chosen_assignments,
    full_marks,
    otter_zip,
    print_machine,
    round_robin,
    timed,
    verdict,
)

# issue 13's targets: cold grading / bare torch import (at most), and otter run / our cold grading (at least)
TARGETS = {"access": 1.2, "init": 1.8, "tied": 1.8}
OTTER_SPEEDUP = 5.0

def paired(xs: list[float], ys: list[float]) -> Spread:
    """The ratios x/y of two commands' runs in the same rounds (the schedule runs both in its first rounds)."""
    return Spread.of([x / y for x, y in zip(xs, ys, strict=False)])


def main(argv: list[str] | None = None) -> int:
    """``make bench``: see the module's docstring."""
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=doc.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(ASSIGNMENTS), metavar="ASSIGNMENT",
                        help=f"any of {', '.join(ASSIGNMENTS)} (default: all)")
    parser.add_argument("--runs", type=int, default=5, help="rounds of every command (default 5)")
    parser.add_argument("--otter-runs", type=int, default=5,
                        help="rounds otter run takes part in (default 5; 0 skips otter)")
    args = parser.parse_args(argv)
    args.assignments = chosen_assignments(parser, args.assignments)
    py = sys.executable
    print_machine()
    ok = True
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        from autograder.samples import compose

        commands: dict[str, list[str]] = {"torch": [py, "-c", "import torch"]}
        checks: dict[str, Path] = {}  # the results.json each run writes (emptied before each)
        notebooks = {a: compose(a, None, tmp / "in" / a / f"{a}.ipynb") for a in args.assignments}
        for a, nb in notebooks.items():
            commands[a] = [py, "-m", "autograder", "grade", a, str(nb), "--out", str(tmp / "out" / a), "--quiet"]
            checks[a] = tmp / "out" / a / nb.name / "results.json"
        if args.otter_runs:
            for a, nb in notebooks.items():
                out = tmp / "otter" / a
                out.mkdir(parents=True)  # otter run wants an existing output folder
                commands[f"otter {a}"] = [py, "-m", "otter", "run", "-a", str(otter_zip(a)), "-o", str(out), str(nb)]
                checks[f"otter {a}"] = out / "results.json"
        limit = {name: args.otter_runs for name in commands if name.startswith("otter ")}
        times: dict[str, list[float]] = {name: [] for name in commands}
        lost: set[str] = set()
        schedule = round_robin(list(commands), args.runs, limit)
        print(f"{len(schedule)} runs, interleaved: {', '.join(commands)}; then again", flush=True)
        for _, name in schedule:
            if name in checks:
                checks[name].unlink(missing_ok=True)
            times[name].append(timed(commands[name]))
            if name in checks and not (checks[name].exists() and full_marks(checks[name])):
                lost.add(name)
        print()
        spread = {name: Spread.of(xs) for name, xs in times.items() if xs}
        torch_s = spread["torch"].median
        print(f"{'command':<38} {'median [min-max]':<24} runs")
        torch_cmd = 'python -c "import torch"'
        print(f"{torch_cmd:<38} {spread['torch'].show():<24} {spread['torch'].n}")
        for a in args.assignments:
            print(f"{'grade ' + a + ' (cold, one notebook)':<38} {spread[a].show():<24} {spread[a].n}")
        for a in args.assignments:
            if f"otter {a}" in spread:
                print(f"{'otter run ' + a + ' (same notebook)':<38} {spread[f'otter {a}'].show():<24} "
                      f"{spread[f'otter {a}'].n}")
        print("\nratios of medians (issue 13's targets); paired: the same ratio within each round, median [min-max]")
        for a in args.assignments:
            ratio = spread[a].median / torch_s
            hit = ratio <= TARGETS[a]
            ok &= hit
            print(f"  {'grade ' + a + ' / torch import':<32} {ratio:5.2f}x   target <= {TARGETS[a]}x   "
                  f"{verdict(hit):<6}   paired {paired(times[a], times['torch']).show(2, 'x')}")
        for a in args.assignments:
            if f"otter {a}" in spread:
                speedup = spread[f"otter {a}"].median / spread[a].median
                hit = speedup >= OTTER_SPEEDUP
                ok &= hit
                print(f"  {'otter run ' + a + ' / grade ' + a:<32} {speedup:5.2f}x   target >= {OTTER_SPEEDUP:g}x   "
                      f"{verdict(hit):<6}   paired {paired(times[f'otter {a}'], times[a]).show(2, 'x')}")
        for name in sorted(lost):
            ok = False
            print(f"WARNING: {name}: a run of the reference answers did not get full marks (or wrote no results)")
    return 0 if ok else 1
