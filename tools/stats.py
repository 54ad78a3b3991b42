"""The statistical sweep: grade the reference under many secrets, every wrong sample under several.

    python -m tools.stats [ASSIGNMENT] [--secrets N] [--wrong-secrets M] [--jobs J] [--laws K] [--fresh]

The graders draw sizes, seeds and structures from ``rng``, which is seeded from
``AUTOGRADER_SECRET`` (and the submission's bytes and the test's name): every secret is a new draw
of everything random in grading. This command grades

- the reference (the master notebook's answers) under N secrets (default 200): every rule must
  pass every time (an observed *false failure* is a bug: the graders promise at most 1e-6 per rule);
- every sample in ``tests/submissions/<assignment>/`` under M secrets (default 50): the correct
  ones (``ok_*``, EXPECTED entry ``{}``) must get full marks every time, the wrong ones must get
  exactly the scores EXPECTED.json gives every time (a higher score is a *miss*, a lower one a
  false failure on a question they answer correctly), with hints that contain EXPECTED's phrase.

For ``init`` it first runs the statistics alone (``--laws K``, default 500): K large layers per law,
drawn in this process by torch's own initializers (the correct laws and realistic wrong ones:
std 0.1, Xavier normal, He with fan_out, He uniform, my_init with thresholds 4, 5.5 and 6, a sign
slip, the comparison reversed) through the graders' checks at the graders' alphas: thousands of
law checks in seconds, no sandbox.

What it can and cannot confirm: the graders' false-failure bound (at most 1e-6 per correct
submission, see ``graders/init_stats.py``) is proved, not measured. N clean runs of the reference
only rule out, at 95 % confidence, a per-submission false-failure rate above about 3 / N
(200 runs: above about 1.5e-2): they catch a broken check (a wrong threshold, a wrong law), never a
rate near 1e-6, which would take millions of runs. Likewise M clean runs of a mistake rule out
miss rates above about 3 / M. A grader error (an exception in a grader) on any run is reported too.

It exits 0 when none of these was observed, 1 otherwise. How: each job loads one submission, starts
its sandboxed child once and runs the assignment's rules (``engine.runner.run_rules``, exactly
what ``grade`` runs) once per secret, setting ``AUTOGRADER_SECRET`` in its own process before each
run; the rules seed everything they draw, so reusing the child changes nothing for the graders
(``--fresh`` starts a new child for every secret, as ``grade`` does, and is slower).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from autograder.engine.runner import sum_by_question
from autograder.paths import assignments
from autograder.samples import compose

from . import CHECKOUT


@dataclass
class Job:
    """One worker's share of the sweep: a sample graded under some of the secrets."""

    name: str  # the sample's name ("reference", a mistake file's stem)
    path: str  # the composed notebook
    expected: dict  # {question: score} for the questions it should lose; others must get full marks
    secrets: list[str]
    hints: dict = field(default_factory=dict)  # {question: phrase its failing hints must contain}


@dataclass
class Tally:
    """What one sample's gradings under many secrets came to (summed over its jobs)."""

    name: str
    runs: int = 0
    false_failures: int = 0  # runs where a question scored below what it should
    misses: int = 0  # runs where a question scored above what it should
    wrong_hints: int = 0  # runs where a lost question's hints lack EXPECTED's phrase
    grader_errors: int = 0  # runs where a grader raised (an error outcome, not a verdict)
    examples: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _secrets(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}-{i}" for i in range(start, start + n)]


_ZYGOTE = None


def _spawn(limits):
    """Sandbox children forked from this worker process's zygote (torch imported once per worker)."""
    global _ZYGOTE
    from autograder.engine.sandbox import Sandbox, Zygote

    if _ZYGOTE is None:
        _ZYGOTE = Zygote()
    return Sandbox(limits, _ZYGOTE).start()


def run_job(job: Job, assignment: str, fresh: bool) -> Tally:
    """Grade one submission under each of the job's secrets (in a worker process)."""
    from autograder.engine import runner
    from autograder.engine.loader import load
    from autograder.engine.sandbox import Limits
    from autograder.engine.student import Student

    started = time.monotonic()
    out = Tally(job.name)
    sub = load(job.path)
    rules = runner.rules(assignment)
    student = None
    try:
        for secret in job.secrets:
            if student is None or fresh:
                if student is not None:
                    student.close()
                student = Student(sub, Limits(), spawn=_spawn)
                student.start()
            results = runner.run_rules(student, assignment, sub.digest, rules, key=secret.encode())
            summed = sum_by_question((r.rule.question, r.score, r.rule.points) for r in results)
            scores = {q: score for q, (score, _) in summed.items()}
            full = {q: points for q, (_, points) in summed.items()}
            hints: dict[str, list[str]] = {}
            for r in results:
                if not r.passed:
                    hints.setdefault(r.rule.question, []).append(f"{r.rule.name}: {r.hint}")
            out.runs += 1
            broken = [f"{r.rule.name}: {r.error}" for r in results if r.error]
            if broken:
                out.grader_errors += 1
                if len(out.examples) < 5:
                    out.examples.append(f"secret {secret!r}: grader error {broken[0]}")
            low = high = False
            for q in full:
                want = job.expected.get(q, full[q])
                if scores[q] < want - 1e-9:
                    low = True
                    if len(out.examples) < 5:
                        out.examples.append(f"secret {secret!r}: {q} scored {scores[q]:g} < {want:g}: {hints.get(q)}")
                elif scores[q] > want + 1e-9:
                    high = True
                    if len(out.examples) < 5:
                        out.examples.append(f"secret {secret!r}: {q} scored {scores[q]:g} > {want:g} (missed)")
            off = [q for q, phrase in job.hints.items()
                   if phrase.lower() not in " | ".join(hints.get(q, [])).lower()]
            if off and len(out.examples) < 5:
                out.examples.append(f"secret {secret!r}: the hints of {off[0]} lack {job.hints[off[0]]!r}: "
                                    f"{hints.get(off[0])}")
            out.false_failures += low
            out.misses += high
            out.wrong_hints += bool(off)
    finally:
        if student is not None:
            student.close()
    out.seconds = time.monotonic() - started
    return out


def law_sweep(n: int, seed: int = 0) -> tuple[int, int]:
    """In-process check of the init laws' statistics alone (no sandbox): ``n`` layers per law drawn by
    torch's own initializers at random large shapes, as the graders' weight rules draw them, through
    the graders' checks at the graders' alphas (ALPHA / 3 per layer). Returns (false failures, misses)
    over the correct laws and a set of realistic wrong ones."""
    import math
    import random

    import torch
    from torch import nn

    from autograder.graders import init_stats as st
    from autograder.graders.test_init import ALPHA, _big_shapes

    torch.set_num_threads(1)

    def my(w, t=5.0, key=abs):
        nn.init.uniform_(w, -10, 10)
        with torch.no_grad():
            w *= key(w) >= t

    def normal(w, fi, fo, s):
        return st.normal_law(w, s, ALPHA / 3)

    cases = {  # name: (correct?, draw(w), check(w, fan_in, fan_out))
        "init_normal": (True, lambda w: nn.init.normal_(w, 0, 0.01), lambda w, fi, fo: normal(w, fi, fo, 0.01)),
        "init_normal std 0.1": (False, lambda w: nn.init.normal_(w, 0, 0.1), lambda w, fi, fo: normal(w, fi, fo, 0.01)),
        "init_xavier": (True, nn.init.xavier_uniform_,
                        lambda w, fi, fo: st.uniform_law(w, math.sqrt(6 / (fi + fo)), ALPHA / 3)),
        "init_xavier as Xavier normal": (False, nn.init.xavier_normal_,
                                         lambda w, fi, fo: st.uniform_law(w, math.sqrt(6 / (fi + fo)), ALPHA / 3)),
        "init_kaiming_relu": (True, lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
                              lambda w, fi, fo: normal(w, fi, fo, math.sqrt(2 / fi))),
        "init_kaiming_relu fan_out": (False, lambda w: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
                                      lambda w, fi, fo: normal(w, fi, fo, math.sqrt(2 / fi))),
        "init_kaiming_relu He uniform": (False, lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
                                         lambda w, fi, fo: normal(w, fi, fo, math.sqrt(2 / fi))),
        "my_init": (True, my, lambda w, fi, fo: st.my_init_law(w, ALPHA / 3)),
        "my_init threshold 6": (False, lambda w: my(w, 6), lambda w, fi, fo: st.my_init_law(w, ALPHA / 3)),
        "my_init threshold 4": (False, lambda w: my(w, 4), lambda w, fi, fo: st.my_init_law(w, ALPHA / 3)),
        "my_init threshold 5.5": (False, lambda w: my(w, 5.5), lambda w, fi, fo: st.my_init_law(w, ALPHA / 3)),
        "my_init sign slip (w >= 5)": (False, lambda w: my(w, key=lambda x: x),
                                       lambda w, fi, fo: st.my_init_law(w, ALPHA / 3)),
        "my_init keeps |w| < 5": (False, lambda w: my(w, key=lambda x: -x.abs(), t=-5 + 1e-9),
                                  lambda w, fi, fo: st.my_init_law(w, ALPHA / 3)),
    }
    rng = random.Random(seed)
    false_failures = misses = 0
    print(f"{'law (in process, no sandbox)':34s}  layers  failed")
    for name, (correct, draw, check) in cases.items():
        failed = 0
        for i in range(n):
            fan_in, fan_out = _big_shapes(rng)[i % 3]
            torch.manual_seed(rng.getrandbits(31))
            w = torch.empty(fan_out, fan_in)
            draw(w)
            failed += check(w, fan_in, fan_out) is not None
        print(f"{name:34s}  {n:6d}  {failed:6d}" + ("" if (failed == 0) == correct else "   <--"))
        false_failures += failed if correct else 0
        misses += 0 if correct else n - failed
    return false_failures, misses


def plan(assignment: str, n: int, m: int, folder: Path, chunk: int, prefix: str,
         submissions: Path = CHECKOUT.samples) -> list[Job]:
    """Compose the samples (the mistakes in ``submissions/<assignment>/``, with their EXPECTED.json) and
    cut the work into jobs of at most ``chunk`` secrets. ``ValueError`` for a mistake EXPECTED.json omits."""
    expected_file = submissions / assignment / "EXPECTED.json"
    expected = json.loads(expected_file.read_text()) if expected_file.exists() else {}
    samples: list[tuple[str, Path | None, dict, int]] = [("reference", None, {}, n)]
    for path in sorted((submissions / assignment).glob("*.py")):
        if path.stem not in expected:
            raise ValueError(f"{path} has no entry in {expected_file}")
        samples.append((path.stem, path, expected[path.stem], m))
    jobs = []
    for name, mistake, entry, count in samples:
        nb = compose(assignment, mistake, folder / f"{name}.ipynb")
        secrets = _secrets(prefix, count)
        for i in range(0, len(secrets), chunk):
            jobs.append(Job(name, str(nb), entry.get("scores", {}), secrets[i:i + chunk], entry.get("hint", {})))
    return jobs


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.stats``: the sweep; 1 when it saw any false failure, miss, wrong hint or grader error."""
    parser = argparse.ArgumentParser(prog="python -m tools.stats", description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", default="init", choices=assignments())
    parser.add_argument("--secrets", type=int, default=200, metavar="N", help="secrets for the reference (default 200)")
    parser.add_argument("--wrong-secrets", type=int, default=50, metavar="M",
                        help="secrets for every sample in tests/submissions (default 50)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: CPUs)")
    parser.add_argument("--chunk", type=int, default=25, help="secrets per job (one child each; default 25)")
    parser.add_argument("--prefix", default="stats", help="secrets are PREFIX-0, PREFIX-1, ... (default 'stats')")
    parser.add_argument("--fresh", action="store_true", help="a new child for every secret (slower)")
    parser.add_argument("--laws", type=int, default=500, metavar="K",
                        help="init only: first check the statistics alone, in process, on K large layers per "
                             "law, correct and wrong (default 500; 0 skips)")
    args = parser.parse_args(argv)
    if args.secrets < 1 or args.wrong_secrets < 0 or args.jobs < 1 or args.chunk < 1 or args.laws < 0:
        parser.error("counts must be positive")

    started = time.monotonic()
    law_ff = law_miss = 0
    if args.laws and args.assignment == "init":
        law_ff, law_miss = law_sweep(args.laws)
        print(f"laws: {law_ff} false failures, {law_miss} misses ({time.monotonic() - started:.1f} s)\n")
    with tempfile.TemporaryDirectory(prefix="autograder-stats-") as tmp:
        try:
            jobs = plan(args.assignment, args.secrets, args.wrong_secrets, Path(tmp), args.chunk, args.prefix)
        except ValueError as exc:
            print(exc, file=sys.stderr)
            return 1
        outcomes: dict[str, Tally] = {}
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_job, job, args.assignment, args.fresh) for job in jobs]
            for fut in as_completed(futures):
                got = fut.result()
                agg = outcomes.setdefault(got.name, Tally(got.name))
                agg.runs += got.runs
                agg.false_failures += got.false_failures
                agg.misses += got.misses
                agg.wrong_hints += got.wrong_hints
                agg.grader_errors += got.grader_errors
                agg.examples += got.examples[: 5 - len(agg.examples)]
                agg.seconds += got.seconds
    wall = time.monotonic() - started

    width = max(len(n) for n in outcomes)
    print(f"{'sample':{width}s}  runs  false failures  misses  wrong hints  seconds")
    for name in sorted(outcomes, key=lambda n: (n != "reference", n)):
        o = outcomes[name]
        print(f"{name:{width}s}  {o.runs:4d}  {o.false_failures:14d}  {o.misses:6d}  {o.wrong_hints:11d}  "
              f"{o.seconds:7.1f}")
    ref = outcomes["reference"]
    ff = sum(o.false_failures for o in outcomes.values())
    miss = sum(o.misses for o in outcomes.values())
    bad_hints = sum(o.wrong_hints for o in outcomes.values())
    broken = sum(o.grader_errors for o in outcomes.values())
    runs = sum(o.runs for o in outcomes.values())
    print(f"\n{runs} gradings ({ref.runs} of the reference) in {wall:.1f} s wall, --jobs {args.jobs}")
    print(f"observed false failures: {ff} (reference: {ref.false_failures}); observed misses: {miss}; "
          f"runs with hints lacking EXPECTED's phrase: {bad_hints}")
    print(f"runs with grader errors: {broken}")
    print(f"(0 false failures in {ref.runs} runs of the reference rule out a per-submission false-failure rate "
          f"above about {3 / ref.runs:.1g} at 95 % confidence; the 1e-6 bound itself is proved, not measured)")
    for o in outcomes.values():
        for e in o.examples:
            print(f"  {o.name}: {e}", file=sys.stderr)
    return 0 if ff == 0 and miss == 0 and bad_hints == 0 and broken == 0 and law_ff == 0 and law_miss == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
