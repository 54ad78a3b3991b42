"""Peak memory of the whole process tree that grades one submission (parent + sandbox child).

    python -m tools.bench.memory [ASSIGNMENT ...] [--submission FILE] [--via gradescope|grade]
                                      [--interval 0.02] [--target-mb 600]

``/usr/bin/time -v`` reports the maximum RSS of one process (the largest of the tree at best),
not the tree: the grading parent and the sandbox child (a second Python with torch loaded, in
its own session and, as root, under its own uid) are alive at the same time. So this samples,
every ``--interval`` seconds, every process descended from the command (this process is made a
child subreaper first, so that processes whose parent died are still counted), and adds up

- PSS (``/proc/PID/smaps_rollup``): shared pages (torch's libraries, mapped by both processes)
  counted once in total; this is what the tree costs the machine, and what a container's
  memory limit sees (roughly: the cgroup also counts page cache);
- RSS (``/proc/PID/status``): shared pages counted in every process; an upper bound.

For the moment of the PSS peak it prints each process with its anonymous (heap: tensors,
Python objects) and file-backed (libraries: libtorch_cpu.so and friends) resident memory, which
says where the memory goes. Also measured, for scale: ``python -c "import torch"`` alone.

By default it grades the assignment's reference notebook (``autograder.samples.compose``) the
way Gradescope does (``python -m autograder.gradescope`` in a temporary ``$AUTOGRADER_ROOT``);
``--via grade`` measures ``python -m autograder grade`` on the same file instead. Exits 1 when a
peak PSS is over ``--target-mb``.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.engine.sandbox import _pss  # the watchdog's own reading (PSS, or RSS where smaps is closed)
from autograder.paths import assignments

from .. import ROOT

MB = 2**20


def _subreaper() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:  # without it, orphans are missed: still a lower bound
        pass


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(p))
    return kids


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    kids = _children()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _status(pid: int) -> dict[str, int]:
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"):
                    fields[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        pass
    return fields


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            parts = f.read().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(p.decode(errors="replace") for p in parts if p)
    if "autograder.engine.child" in text:
        return "sandbox child (python -I -c ... engine.child)"
    if "-m autograder" in text:
        return "grading parent (" + text[text.index("-m autograder") + 3:][:40] + ")"
    return text[:60]


@dataclass
class Peak:
    """What ``measure`` saw of a process tree: its peaks, and its processes at the PSS peak."""

    pss: int = 0
    rss: int = 0
    seconds: float = 0.0
    samples: int = 0
    procs: int = 0
    at_peak: list[tuple[int, str, int, dict]] = field(default_factory=list)  # pid, what, pss, status
    per_process_hwm: dict[str, int] = field(default_factory=dict)


def measure(cmd: list[str], env: dict, interval: float, cwd: Path = ROOT) -> tuple[Peak, subprocess.CompletedProcess]:
    """Run ``cmd`` and sample its process tree every ``interval`` s; the peaks and the run."""
    _subreaper()
    peak = Peak()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while True:
        done = proc.poll() is not None
        pids = [p for p in tree(os.getpid()) if p != os.getpid()]
        if done and not pids:
            break
        rows = []
        for pid in pids:
            st = _status(pid)
            if not st.get("VmRSS"):
                continue  # a zombie, or gone
            rows.append((pid, _cmdline(pid), _pss(pid), st))
        pss = sum(r[2] for r in rows)
        rss = sum(r[3].get("VmRSS", 0) for r in rows)
        peak.samples += 1
        peak.procs = max(peak.procs, len(rows))
        peak.rss = max(peak.rss, rss)
        for _, what, _, st in rows:
            peak.per_process_hwm[what] = max(peak.per_process_hwm.get(what, 0), st.get("VmHWM", 0))
        if pss > peak.pss:
            peak.pss, peak.at_peak, peak.seconds = pss, rows, time.monotonic() - started
        if done:
            # reap what the subreaper inherited, then stop once only zombies are left
            try:
                while os.waitpid(-1, os.WNOHANG)[0] > 0:
                    pass
            except ChildProcessError:
                pass
            if not rows:
                break
        time.sleep(interval)
    out, err = proc.communicate()
    return peak, subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def report(title: str, peak: Peak) -> None:
    """Print a measurement: the peaks, then each process at the PSS peak and the high-water marks."""
    print(f"== {title}: peak PSS {peak.pss / MB:.0f} MB (tree, shared pages once), peak RSS {peak.rss / MB:.0f} MB "
          f"(summed), {peak.procs} process(es) at most, {peak.samples} samples; PSS peak at {peak.seconds:.1f} s")
    for pid, what, pss, st in sorted(peak.at_peak, key=lambda r: -r[2]):
        print(f"   {what:<48} pid {pid:<7} PSS {pss / MB:6.0f}  RSS {st.get('VmRSS', 0) / MB:6.0f}  "
              f"anon {st.get('RssAnon', 0) / MB:6.0f}  file {st.get('RssFile', 0) / MB:6.0f}  (MB)")
    for what, hwm in peak.per_process_hwm.items():
        print(f"   high-water RSS of {what}: {hwm / MB:.0f} MB")


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.bench.memory``: each assignment's grading measured; 1 if one failed or went over."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench.memory", description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", default=list(assignments()))
    parser.add_argument("--submission", type=Path, help="grade this file instead of the reference notebook")
    parser.add_argument("--via", choices=("gradescope", "grade"), default="gradescope")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between samples (default 0.02)")
    parser.add_argument("--target-mb", type=float, default=600.0)
    args = parser.parse_args(argv)
    py = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    ok = True
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        base, run = measure([py, "-c", "import torch; torch.ones(1)"], env, args.interval)
        report("python -c 'import torch' (for scale)", base)
        for a in args.assignments:
            try:
                from autograder.engine import runner

                runner.rules(a)
            except Exception as exc:  # an assignment whose graders are not there yet
                print(f"== {a}: skipped, its graders do not load ({type(exc).__name__}: {exc})")
                continue
            layout = tmp / a
            (layout / "submission").mkdir(parents=True)
            (layout / "results").mkdir()
            if args.submission:
                sub = layout / "submission" / args.submission.name
                sub.write_bytes(args.submission.read_bytes())
            else:
                from autograder.samples import compose

                sub = compose(a, None, layout / "submission" / f"{a}.ipynb")
            if args.via == "gradescope":
                cmd = [py, "-m", "autograder.gradescope", a]
                results = layout / "results" / "results.json"
            else:
                cmd = [py, "-m", "autograder", "grade", a, str(sub), "--out", str(layout / "results"), "--quiet"]
                results = layout / "results" / sub.name / "results.json"
            peak, run = measure(cmd, {**env, "AUTOGRADER_ROOT": str(layout)}, args.interval)
            if run.returncode != 0 or not results.exists():
                print(f"== {a}: grading failed (exit {run.returncode})\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
                ok = False
                continue
            import json

            score = json.loads(results.read_text())["score"]
            report(f"{a} via {args.via} (score {score:g})", peak)
            within = peak.pss <= args.target_mb * MB
            ok &= within
            print(f"   target < {args.target_mb:g} MB PSS: {'ok' if within else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
