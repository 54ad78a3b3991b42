"""Bulk benchmark (a command, not a timed test): a class of 100 notebooks, side by side with otter.

    python -m tools.bench.bulk [--n 100] [--jobs 2] [--otter-sample 3]

Generates N ``access`` submissions (correct ones, every bundled mistake, and
crashing ones: ``os._exit``, an output flood, a corrupted notebook), grades them with
``--jobs`` warm workers, and reports the amortized time per submission. A
hanging answer is timed apart: it must cost its question's time limit and no
more. (A memory bomb is not in the mix: touching 2 GiB takes about 2 s per
check, by design of the limit, and would measure the bomb, not the grader.)
``otter run`` grades a sample of the same notebooks one after another; its time
is scaled to N.
"""
from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.samples import compose

from .. import CHECKOUT, ROOT
from . import otter_zip

PER_SUBMISSION = 0.15  # seconds, amortized, target
OTTER_SPEEDUP = 50.0
CRASHING = ["exit", "output_flood"]


def _grade(folder: Path, out: Path, jobs: int, *flags: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autograder", "grade", "access", str(folder), "--out", str(out),
                    "--jobs", str(jobs), "--quiet", *flags], cwd=ROOT, check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench.bulk", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--otter-sample", type=int, default=3, help="notebooks otter run grades (0 to skip)")
    args = parser.parse_args(argv)
    mistakes = sorted((CHECKOUT.samples / "access").glob("*.py"))
    crashing = [CHECKOUT.hostile / f"{name}.py" for name in CRASHING]
    kinds = itertools.cycle([None, *mistakes, None, *crashing])
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        made = [compose("access", next(kinds), tmp / "class" / f"student{i:03d}.ipynb") for i in range(args.n)]
        for broken in made[7::20]:  # a notebook saved half-way: not JSON at all
            broken.write_text(broken.read_text()[:5000])
        wall = _grade(tmp / "class", tmp / "out", args.jobs)
        per = wall / args.n
        ok &= per <= PER_SUBMISSION
        print(f"{args.n} submissions, --jobs {args.jobs}: {wall:6.1f} s, {per:5.3f} s per submission amortized "
              f"(target <= {PER_SUBMISSION}) {'ok' if per <= PER_SUBMISSION else 'MISSED'}")

        # a hanging answer, timed apart: its cost over a correct one is its question's time limit
        compose("access", None, tmp / "hang" / "a_reference.ipynb")
        compose("access", CHECKOUT.hostile / "hang.py", tmp / "hang" / "b_hang.ipynb")
        _grade(tmp / "hang", tmp / "hang-out", 1)
        seconds = {p.parent.name: json.loads(p.read_text())["execution_time"] for p in (tmp / "hang-out").glob("*/results.json")}
        extra = seconds["b_hang.ipynb"] - seconds["a_reference.ipynb"]
        # it waits out its question's whole limit, and costs no more than that over a correct answer
        fits = seconds["b_hang.ipynb"] >= 10.0 and extra <= 10.0 + 1.0
        ok &= fits
        print(f"a hanging answer: graded in {seconds['b_hang.ipynb']:5.1f} s, {extra:5.1f} s more than a correct one "
              f"(time limit 10 s) {'ok' if fits else 'MISSED'}")

        if args.otter_sample:
            sample = made[: args.otter_sample]
            zip_path = otter_zip("access")
            start = time.perf_counter()
            for i, nb in enumerate(sample):
                (tmp / f"otter{i}").mkdir()  # otter run wants an existing output folder
                subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o", str(tmp / f"otter{i}"),
                                str(nb)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            otter_per = (time.perf_counter() - start) / len(sample)
            speedup = otter_per / per
            ok &= speedup >= OTTER_SPEEDUP
            print(f"otter run, one after another: {otter_per:5.2f} s per submission (sample of {len(sample)}), "
                  f"{otter_per * args.n:6.0f} s for {args.n}; ours is {speedup:5.0f}x faster "
                  f"(target >= {OTTER_SPEEDUP:g}x) {'ok' if speedup >= OTTER_SPEEDUP else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
