"""Bulk benchmark (a command, not a timed test): a class of N notebooks per assignment, its time and memory.

    python -m tools.bench.bulk [--n 100] [--jobs 2] [--assignments access,init,tied]
                               [--otter-sample 3] [--no-hang]

For each assignment, N student notebooks (``common.compose_class``: the reference answers, every
bundled mistake of ``tests/submissions/<assignment>/``, two crashing answers, ``os._exit`` in a
probe and a 4 MB output flood, and every 20th notebook saved half-way) are graded by one
``python -m autograder grade --jobs J`` run. Printed per assignment:

- the wall time per submission, amortized (the workers' start-up included), against issue 13's
  target (0.08 s at ``--jobs 2`` on a 2-core machine);
- the grading parent's peak RSS (its VmHWM when it ends, ``common.grade_command``), and the peak
  of the whole process tree (workers, zygotes, sandboxes), RSS summed every 50 ms and PSS (shared
  pages once) every 0.5 s (``common.TreeSampler``);
- the statuses found, and whether every reference notebook got full marks (a figure of a grading
  that lost points would time a broken grading: the run fails).

Then, per assignment, a hanging answer timed apart (``--no-hang`` skips it): it must cost its
question's time limit and no more over a correct one; and ``otter run`` on the first
``--otter-sample`` notebooks that are not broken, one after another (0 skips it), for scale: otter
has no bulk mode, each notebook is a new process. (A memory bomb is not in the mix: touching
2 GiB takes about 2 s per check, by design of the limit, and would measure the bomb, not the grader.)
Exit status 1 when a target is missed or a check fails.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.samples import compose

from .common import (
    ASSIGNMENTS,
    CRASH_TARGET,
    MB,
    Measured,
    chosen_assignments,
    compose_class,
    grade_command,
    measure,
    otter_zip,
    print_machine,
    verdict,
)

PER_SUBMISSION = 0.08  # seconds, amortized, at --jobs 2 on a 2-core machine: issue 13's target
HANG_LIMIT = 10.0  # the question's time limit (Limits.time) a hanging answer must wait out, and no more


def grade_class(assignment: str, folder: Path, out: Path, jobs: int) -> Measured:
    """Grade ``folder`` with ``--jobs``; time and memory of the run (which must succeed)."""
    hwm = out.parent / f"{out.name}.hwm"
    got = measure(grade_command([assignment, str(folder), "--out", str(out), "--jobs", str(jobs), "--quiet"], hwm), hwm)
    if got.returncode != 0:
        raise RuntimeError(f"grading {folder} failed (exit {got.returncode}):\n{got.stderr[-3000:]}")
    return got


def gradebook_check(out: Path, references: list[Path]) -> tuple[dict[str, int], list[str]]:
    """Statuses counted from ``out/gradebook.json``, and the reference notebooks that lost points."""
    book = json.loads((out / "gradebook.json").read_text())
    rows = {r["submission"]: r for r in book["submissions"]}
    counts: dict[str, int] = {}
    for r in rows.values():
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lost = [p.name for p in references if p.name not in rows or rows[p.name]["total"] < rows[p.name]["max_total"]]
    return counts, lost


def hang_check(assignment: str, tmp: Path) -> tuple[bool, str]:
    """A reference and a hanging answer graded together: the hanging one waits out its question's
    time limit, and costs no more than that (plus 1 s) over the reference."""
    fn = CRASH_TARGET[assignment][0]
    hang = tmp / f"hang-{assignment}.py"
    hang.write_text(f"# {fn} never returns.\ndef {fn}(*args, **kwargs):\n    while True:\n        pass\n")
    folder, out = tmp / f"hang-{assignment}", tmp / f"hang-{assignment}-out"
    compose(assignment, None, folder / "a_reference.ipynb")
    compose(assignment, hang, folder / "b_hang.ipynb")
    grade_class(assignment, folder, out, 1)
    seconds = {p.parent.name: json.loads(p.read_text())["execution_time"] for p in out.glob("*/results.json")}
    extra = seconds["b_hang.ipynb"] - seconds["a_reference.ipynb"]
    fits = seconds["b_hang.ipynb"] >= HANG_LIMIT and extra <= HANG_LIMIT + 1.0
    return fits, (f"a hanging {fn}: graded in {seconds['b_hang.ipynb']:5.1f} s, {extra:5.1f} s more than the "
                  f"reference (time limit {HANG_LIMIT:g} s, at most 1 s more)")


def otter_sample(assignment: str, notebooks: list[Path], tmp: Path) -> tuple[list[float], int]:
    """``otter run`` on each notebook, one after another: the wall times, and how many failed."""
    zip_path = otter_zip(assignment)
    times, failed = [], 0
    for i, nb in enumerate(notebooks):
        out = tmp / f"otter-{assignment}-{i}"
        out.mkdir()  # otter run wants an existing output folder
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o", str(out), str(nb)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start)
        failed += run.returncode != 0
    return times, failed


def main(argv: list[str] | None = None) -> int:
    """``make bench-bulk``: see the module's docstring."""
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.bulk", description=doc.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="notebooks per class (default 100)")
    parser.add_argument("--jobs", type=int, default=2, help="--jobs of the grading (default 2)")
    parser.add_argument("--assignments", default=",".join(ASSIGNMENTS),
                        help="comma-separated (default: all three)")
    parser.add_argument("--otter-sample", type=int, default=3, help="notebooks otter run grades (0 to skip)")
    parser.add_argument("--no-hang", action="store_true", help="skip the hanging answer")
    args = parser.parse_args(argv)
    chosen = chosen_assignments(parser, [args.assignments])
    print_machine()
    ok = True
    table = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for a in chosen:
            made = compose_class(a, args.n, tmp / a / "class")
            got = grade_class(a, tmp / a / "class", tmp / a / "out", args.jobs)
            per = got.wall / args.n
            hit = per <= PER_SUBMISSION
            ok &= hit
            counts, lost = gradebook_check(tmp / a / "out", made["reference"])
            print(f"== {a}: {args.n} submissions ({len(made['reference'])} reference, {len(made['mistake'])} "
                  f"mistakes, {len(made['crashing'])} crashing, {len(made['broken'])} broken), --jobs {args.jobs}")
            print(f"   {got.wall:6.1f} s, {per:5.3f} s per submission amortized (target <= {PER_SUBMISSION:g} s) "
                  f"{verdict(hit)}")
            print(f"   parent peak RSS {got.parent_hwm / MB:5.0f} MB; process tree peak: RSS {got.tree_rss / MB:5.0f} "
                  f"MB summed, PSS {got.tree_pss / MB:5.0f} MB; {got.processes} processes at most ({got.samples} "
                  f"samples, sampler CPU {got.sampler_cpu:.1f} s){''.join('; ' + n for n in got.notes)}")
            print(f"   statuses: {', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}; references with full "
                  f"marks: {len(made['reference']) - len(lost)}/{len(made['reference'])}")
            if lost:
                ok = False
                print(f"   WARNING: reference notebooks that lost points: {', '.join(lost[:5])}")
            otter_per = None
            if not args.no_hang and a in CRASH_TARGET:  # a hanging answer needs a function its graders call
                fits, line = hang_check(a, tmp)
                ok &= fits
                print(f"   {line} {verdict(fits)}")
            if args.otter_sample:
                sample = sorted(p for k in ("reference", "mistake", "crashing") for p in made[k])[:args.otter_sample]
                times, failed = otter_sample(a, sample, tmp)
                otter_per = statistics.median(times)
                print(f"   otter run, one after another: {otter_per:5.2f} s per notebook (median of {len(times)}, "
                      f"{min(times):.2f}-{max(times):.2f}), {otter_per * args.n:6.0f} s for {args.n}; "
                      f"ours is {otter_per / per:4.0f}x faster{f'; {failed} otter run(s) failed' if failed else ''}")
            table.append((a, per, got, otter_per))
        print(f"\n{'assignment':<10} {'N':>5} {'jobs':>4} {'s/submission':>12} {'target':>7} {'parent MB':>9} "
              f"{'tree RSS MB':>11} {'tree PSS MB':>11} {'otter/ours':>10}")
        for a, per, got, otter_per in table:
            ratio = f"{otter_per / per:9.0f}x" if otter_per else f"{'-':>10}"
            print(f"{a:<10} {args.n:>5} {args.jobs:>4} {per:12.3f} {verdict(per <= PER_SUBMISSION):>7} "
                  f"{got.parent_hwm / MB:9.0f} {got.tree_rss / MB:11.0f} {got.tree_pss / MB:11.0f} {ratio}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
