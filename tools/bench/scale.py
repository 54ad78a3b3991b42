"""Scale benchmark (a command, not a timed test): how grading cost grows with the class, the workers and the notebook.

    python -m tools.bench.scale [--assignments access,init,tied] [--sizes 10,100,1000] [--jobs-list 1,2,4]
                                [--cells 0,100,1000] [--outputs-mib 0,1,10,30] [--notebook-n 20]
                                [--notebook-jobs 2] [--parts classes,notebooks]

``classes``: for each assignment, the class of ``bench-bulk`` (``common.compose_class``) at every
size of ``--sizes``, graded with every ``--jobs`` of ``--jobs-list``: the wall time per
submission (amortized, the workers' start-up included), the grading parent's peak RSS (its
VmHWM when it ends) and the process tree's peaks. The parent must stay flat as the class
grows (it keeps the gradebook's rows, not every submission's results): the least-squares slope
of its peak over the class size is printed, in KB per submission, against ``FLAT_KB``
(``python -m tools.bench.parent`` says which phase of the parent a growth comes from).

``notebooks``: ``--notebook-n`` copies of the reference notebook made larger, graded with
``--notebook-jobs``: with more code cells (trivial ones, appended: each costs a round trip of
the cell protocol) and, apart, with saved outputs (random bytes as base64 PNGs, the way plots are
saved, spread over the first ten code cells) of each size of ``--outputs-mib``.

The full run (three assignments, 10/100/1,000 submissions, --jobs 1/2/4) grades about 10,000
notebooks: most of an hour on a 2-core machine. Exit status 1 when the parent's memory grows
with the class.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
import tempfile
from pathlib import Path

from autograder.samples import solved_notebook

from .bulk import grade_class
from .common import (
    ASSIGNMENTS,
    MB,
    Measured,
    chosen_assignments,
    compose_class,
    int_list,
    print_machine,
    slope_kb,
    verdict,
)

# KB per submission the parent may grow by: what the gradebook needs, measured by tools.bench.parent (access,
# N=10 vs 100): a row kept (~4 KB) and the gradebook's text while it is written (~7 KB). A results.json
# held for every submission adds ~30 KB.
FLAT_KB = 12.0


def _row(label: str, n: int, got: Measured) -> str:
    return (f"   {label:<24} {got.wall:8.1f} {got.wall / n:9.3f} {got.parent_hwm / MB:10.0f} "
            f"{got.tree_rss / MB:12.0f} {got.tree_pss / MB:12.0f} {got.processes:6d}")


HEADER = (f"   {'':<24} {'wall s':>8} {'s/sub':>9} {'parent MB':>10} {'tree RSS MB':>12} {'tree PSS MB':>12} "
          f"{'procs':>6}")


def classes(assignment: str, sizes: list[int], jobs_list: list[int], tmp: Path) -> bool:
    """The class-size and ``--jobs`` table of one assignment; whether the parent stayed flat."""
    full = tmp / assignment / "class-all"
    compose_class(assignment, max(sizes), full)
    everyone = sorted(full.glob("*.ipynb"))  # in the order compose_class made them
    print(f"== {assignment}: class size x --jobs (bench-bulk's class: references, mistakes, crashing, broken)")
    print(HEADER)
    flat = True
    by_jobs: dict[int, list[tuple[int, float]]] = {j: [] for j in jobs_list}
    for n in sorted(sizes):
        folder = tmp / assignment / f"class-{n}"
        folder.mkdir()
        for nb in everyone[:n]:
            os.link(nb, folder / nb.name)  # the same files, not copies
        for jobs in jobs_list:
            got = grade_class(assignment, folder, tmp / assignment / f"out-{n}-{jobs}", jobs)
            by_jobs[jobs].append((n, float(got.parent_hwm)))
            print(_row(f"N={n:<5} --jobs {jobs}", n, got), flush=True)
    for jobs, points in by_jobs.items():
        if len(points) > 1:
            kb = slope_kb(points)
            ok = kb <= FLAT_KB
            flat &= ok
            low, high = min(points), max(points)
            print(f"   parent's peak, --jobs {jobs}: {low[1] / MB:.0f} MB at N={low[0]}, {high[1] / MB:.0f} MB at "
                  f"N={high[0]}; slope {kb:.1f} KB per submission (flat: <= {FLAT_KB:g}) {verdict(ok)}")
    return flat


def padded_notebook(assignment: str, cells: int, outputs_mib: float, dest: Path) -> Path:
    """The reference notebook with ``cells`` trivial code cells appended and ``outputs_mib`` MiB of
    saved outputs (random base64 PNG data, spread over its first ten code cells)."""
    nb = solved_notebook(assignment)
    nb["cells"] += [{"cell_type": "code", "id": f"pad-{i}", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": f"_pad_{i} = {i}"} for i in range(cells)]
    if outputs_mib:
        code = [c for c in nb["cells"] if c["cell_type"] == "code"][:10]
        rng = random.Random(0)
        per_cell = int(outputs_mib * MB / len(code) * 3 / 4)  # base64 is 4/3 of the bytes
        for c in code:
            data = base64.b64encode(rng.randbytes(per_cell)).decode()
            c["outputs"] = [{"output_type": "display_data", "metadata": {}, "data": {"image/png": data}}]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb) + "\n", encoding="utf-8")
    return dest


def notebooks(assignment: str, cell_counts: list[int], outputs: list[int], n: int, jobs: int, tmp: Path) -> None:
    """The notebook-size table of one assignment."""
    print(f"== {assignment}: notebook size ({n} copies of the reference, --jobs {jobs})")
    print(HEADER)
    shapes = [(c, 0) for c in cell_counts] + [(0, o) for o in outputs if o]
    for cells, mib in dict.fromkeys(shapes):
        folder = tmp / assignment / f"nb-{cells}-{mib}"
        one = padded_notebook(assignment, cells, mib, folder / "student0000.ipynb")
        for i in range(1, n):
            os.link(one, folder / f"student{i:04d}.ipynb")
        size = one.stat().st_size / MB
        got = grade_class(assignment, folder, tmp / assignment / f"nb-out-{cells}-{mib}", jobs)
        print(_row(f"+{cells} cells, {size:5.1f} MiB", n, got), flush=True)


def main(argv: list[str] | None = None) -> int:
    """``make bench-scale``: see the module's docstring."""
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.scale", description=doc.splitlines()[0])
    parser.add_argument("--assignments", default=",".join(ASSIGNMENTS), help="comma-separated (default: all)")
    parser.add_argument("--sizes", default="10,100,1000", help="class sizes (default 10,100,1000)")
    parser.add_argument("--jobs-list", default="1,2,4", help="--jobs values (default 1,2,4)")
    parser.add_argument("--cells", default="0,100,1000", help="code cells appended (default 0,100,1000)")
    parser.add_argument("--outputs-mib", default="1,10,30", help="MiB of saved outputs (default 1,10,30)")
    parser.add_argument("--notebook-n", type=int, default=20, help="copies per notebook size (default 20)")
    parser.add_argument("--notebook-jobs", type=int, default=2)
    parser.add_argument("--parts", default="classes,notebooks", help="classes, notebooks or both (default)")
    args = parser.parse_args(argv)
    chosen = chosen_assignments(parser, [args.assignments])
    parts = set(args.parts.replace(" ", ",").split(","))
    print_machine()
    flat = True
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for a in chosen:
            (tmp / a).mkdir()
            if "classes" in parts:
                flat &= classes(a, int_list(args.sizes), int_list(args.jobs_list), tmp)
            if "notebooks" in parts:
                notebooks(a, int_list(args.cells), int_list(args.outputs_mib), args.notebook_n, args.notebook_jobs,
                          tmp)
            print()
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
