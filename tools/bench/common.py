"""What the benchmarks share: the machine they ran on, spreads of repeated timings, interleaved
schedules, classes of composed notebooks, and the memory of a command's process tree.

Pure helpers (``Spread``, ``round_robin``, ``class_kinds``, ``int_list``, ``slope_kb``) carry
the arithmetic and are unit-tested (tests/unit/test_bench.py); the rest starts processes.
"""
from __future__ import annotations

import argparse
import ctypes
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from autograder import paths
from autograder.engine.sandbox import _proc_field, _pss  # the watchdog's own readings of /proc

from .. import CHECKOUT, ROOT

MB = 2**20
ASSIGNMENTS = paths.assignments()  # every assignment with a grader file: access, init, tied


def chosen_assignments(parser: argparse.ArgumentParser, names: list[str]) -> list[str]:
    """The assignments ``names`` names, each possibly comma-separated (make's ``ASSIGNMENTS=a,b``);
    an unknown one is the parser's error (exit status 2)."""
    chosen = [x for a in names for x in a.replace(" ", ",").split(",") if x]
    if unknown := sorted(set(chosen) - set(ASSIGNMENTS)):
        parser.error(f"unknown assignment(s): {', '.join(unknown)}")
    return chosen


# ------------------------------------------------------------------ arithmetic (pure)


@dataclass(frozen=True)
class Spread:
    """The median of repeated measurements with their min and max."""

    median: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, xs: list[float]) -> Spread:
        """The spread of ``xs`` (at least one value)."""
        if not xs:
            raise ValueError("no measurements")
        return cls(statistics.median(xs), min(xs), max(xs), len(xs))

    def scaled(self, by: float) -> Spread:
        """Every figure divided by ``by`` (a class's wall time per submission, say)."""
        return Spread(self.median / by, self.low / by, self.high / by, self.n)

    def show(self, digits: int = 2, unit: str = "s") -> str:
        """``1.23 s [1.10-1.40]``: the median, then min-max."""
        return f"{self.median:.{digits}f} {unit} [{self.low:.{digits}f}-{self.high:.{digits}f}]"


def round_robin(names: list[str], runs: int, limit: dict[str, int] | None = None) -> list[tuple[int, str]]:
    """The interleaved schedule: round 0 runs every name once in order, then round 1, and so on, for
    ``runs`` rounds; a name in ``limit`` takes part in only its first ``limit[name]`` rounds (and in
    more rounds than ``runs`` when its limit is higher). Load that drifts over the run then hits every
    command alike, instead of whichever ran during the busy minute."""
    limit = limit or {}
    rounds = max([runs, *limit.values()]) if names else 0
    return [(r, n) for r in range(rounds) for n in names if r < limit.get(n, runs)]


def int_list(text: str) -> list[int]:
    """``"10,100,1000"`` as [10, 100, 1000] (a make variable's value; spaces and empty items ignored)."""
    return [int(x) for x in text.replace(" ", ",").split(",") if x.strip()]


def slope_kb(points: list[tuple[int, float]]) -> float:
    """Least-squares growth in KB per submission of ``(class size, bytes)`` points: how much memory
    each more submission costs (0 with fewer than two distinct sizes)."""
    xs = [float(x) for x, _ in points]
    if len(set(xs)) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(y for _, y in points)
    num = sum((x - mx) * (y - my) for x, (_, y) in zip(xs, points, strict=True))
    den = sum((x - mx) ** 2 for x in xs)
    return num / den / 1024


def class_kinds(mistakes: list[str], crashing: list[str], n: int) -> list[str | None]:
    """The mistake each of ``n`` students made (None: the reference answers), in the order
    ``bench-bulk`` has always used: a reference, every bundled mistake, another reference, then the
    crashing answers, and again."""
    cycle: list[str | None] = [None, *mistakes, None, *crashing]
    return [cycle[i % len(cycle)] for i in range(n)]


BROKEN_FROM, BROKEN_EVERY = 7, 20  # student 7, 27, 47, ...: a notebook saved half-way (not JSON at all)


def broken(n: int) -> list[int]:
    """Which of ``n`` students' notebooks are truncated."""
    return list(range(BROKEN_FROM, n, BROKEN_EVERY))


def verdict(ok: bool) -> str:
    """How a figure compares with its target."""
    return "ok" if ok else "MISSED"


# ------------------------------------------------------------------ the machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _commit() -> str:
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return rev + (" (with uncommitted changes)" if dirty else "")


def machine() -> list[str]:
    """Lines naming the run: date, machine, load, versions and commit (for the README to quote)."""
    cores = len(os.sched_getaffinity(0))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), 0)
    return [
        f"date     {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"machine  {cores} cores (nproc), {_cpu_model()}, {mem / 1024:.1f} GiB, Linux {platform.release()}",
        f"load     {load} (1, 5, 15 min averages at the start: the figures are only as quiet as this)",
        f"versions Python {platform.python_version()}, torch {_version('torch')}, "
        f"otter-grader {_version('otter-grader')}",
        f"commit   {_commit()}",
    ]


def print_machine() -> None:
    """Print ``machine()`` and a rule under it."""
    for line in machine():
        print(line)
    print()


# ------------------------------------------------------------------ notebooks


# Answers that crash, per assignment (one without an entry here gets none): the function replaced is one
# its graders call. "exit" ends
# the child from inside a probe (a restart); "output_flood" prints 4 MB, then answers as the reference
# did (the function it wraps was defined by the reference's cells above it).
CRASH_TARGET = {"access": ("get_parameter", "count_parameters"), "init": ("init_constant", "init_normal"),
                "tied": ("build_shared_mlp", "untie")}
CRASHING = ("exit", "output_flood")


def crashing_answer(assignment: str, kind: str) -> str:
    """The code of a crashing answer (``CRASHING``) for ``assignment``."""
    exit_fn, flood_fn = CRASH_TARGET[assignment]
    if kind == "exit":
        return f"# {exit_fn} ends its process outright.\nimport os\n\n\ndef {exit_fn}(*args, **kwargs):\n" \
               f"    os._exit(0)\n"
    if kind == "output_flood":
        return (f"# {flood_fn} prints far more than the output limit, then answers as the reference does.\n"
                f"_reference_{flood_fn} = {flood_fn}\n\n\ndef {flood_fn}(*args, **kwargs):\n"
                f"    for _ in range(40_000):\n        print('x' * 100)\n"
                f"    return _reference_{flood_fn}(*args, **kwargs)\n")
    raise ValueError(f"unknown crashing answer {kind!r}")


def compose_class(assignment: str, n: int, dest: Path) -> dict[str, list[Path]]:
    """``n`` student notebooks in ``dest`` (``student0000.ipynb``, ...): the reference answers, every
    bundled mistake of ``tests/submissions/<assignment>/``, the crashing answers (``CRASHING``) and, for
    every 20th student, a notebook saved half-way (``broken``). Returns the paths by kind:
    ``reference``, ``mistake``, ``crashing``, ``broken``."""
    from autograder.samples import compose

    mistakes = sorted((CHECKOUT.samples / assignment).glob("*.py"))
    crash_dir = dest.parent / f".crashing-{assignment}"
    crash_dir.mkdir(parents=True, exist_ok=True)
    crashing = []
    for name in CRASHING if assignment in CRASH_TARGET else ():
        path = crash_dir / f"{name}.py"
        path.write_text(crashing_answer(assignment, name))
        crashing.append(path)
    by_name = {p.stem: p for p in [*mistakes, *crashing]}
    kinds = class_kinds([p.stem for p in mistakes], [p.stem for p in crashing], n)
    made: dict[str, list[Path]] = {"reference": [], "mistake": [], "crashing": [], "broken": []}
    cut = set(broken(n))
    width = max(4, len(str(n)))
    for i, kind in enumerate(kinds):
        nb = compose(assignment, by_name[kind] if kind else None, dest / f"student{i:0{width}d}.ipynb")
        if i in cut:
            nb.write_text(nb.read_text()[:5000])
            made["broken"].append(nb)
        else:
            made["reference" if kind is None else "crashing" if kind in CRASHING else "mistake"].append(nb)
    return made


def otter_zip(assignment: str) -> Path:
    """otter's autograder zip for the assignment, (re)made by ``otter assign`` when it is missing or
    older than the master notebook or the graders (a stale zip would grade other questions)."""
    path = CHECKOUT.dist / "otter" / f"{assignment}-autograder.zip"
    sources = [CHECKOUT.solutions / f"{assignment}.ipynb"]
    if not path.exists() or path.stat().st_mtime < max(p.stat().st_mtime for p in sources if p.exists()):
        import tempfile

        from autograder.assign import assign

        with tempfile.TemporaryDirectory() as tmp:
            assign(assignment, Path(tmp), zip_dir=path.parent, run_tests=False, solutions_dir=CHECKOUT.solutions)
    return path


def full_marks(results: Path) -> bool:
    """Whether a results.json (ours or otter's, both Gradescope's format) gives every point possible:
    a benchmark of the reference answers that lost points measured a broken grading, not a fast one."""
    data = json.loads(results.read_text())
    tests = [t for t in data.get("tests", []) if "max_score" in t]
    possible = sum(float(t["max_score"]) for t in tests)
    got = float(data["score"]) if "score" in data else sum(float(t.get("score", 0)) for t in tests)
    return possible > 0 and abs(got - possible) < 1e-6


# ------------------------------------------------------------------ a command's memory


# The grading command, run so that its own peak RSS can be read when it ends: the same ``main`` as
# ``python -m autograder`` and the same ending (``os._exit`` after flushing), but VmHWM is read from
# /proc/self/status just before and written to the file named first. Polling from outside could
# miss the last moments, where the gradebook and the summary are written.
_HWM_CODE = (
    "import os, sys\n"
    "hwm_file = sys.argv.pop(1)\n"
    "from autograder.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    "sys.stdout.flush(); sys.stderr.flush()\n"
    "with open('/proc/self/status') as f:\n"
    "    hwm = [int(l.split()[1]) * 1024 for l in f if l.startswith('VmHWM:')]\n"
    "with open(hwm_file, 'w') as f:\n"
    "    f.write(str(hwm[0] if hwm else 0))\n"
    "os._exit(code)\n"
)


def grade_command(args: list[str], hwm_file: Path) -> list[str]:
    """``python -m autograder grade ARGS`` that also writes its peak RSS (bytes) to ``hwm_file``."""
    return [sys.executable, "-c", _HWM_CODE, str(hwm_file), "grade", *args]


def _subreaper() -> None:
    """Orphans of the measured command (a process whose parent died) become this process's
    children, so the tree still counts them."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap() -> None:
    """Wait for the orphans the subreaper took in (only once the measured command has been waited for)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


@dataclass
class Measured:
    """One run of a command: wall time and the memory of its process tree."""

    wall: float = 0.0
    returncode: int = 0
    parent_hwm: int = 0  # the command's own peak RSS, bytes (VmHWM at exit when it wrote it, else polled)
    tree_rss: int = 0  # peak of the tree's RSS summed over its processes (shared pages counted in each)
    tree_pss: int = 0  # peak of the tree's PSS (shared pages counted once), sampled less often
    processes: int = 0  # most processes alive at once
    samples: int = 0
    sampler_cpu: float = 0.0  # CPU seconds the sampling took (on a 2-core machine, it competes)
    stderr: str = ""
    notes: list[str] = field(default_factory=list)


class TreeSampler:
    """Samples the RSS of every process below this one every ``interval`` s, and its PSS every
    ``pss_every``-th sample: reading smaps_rollup costs about 2.5 ms per process with torch loaded,
    so every 50 ms it would take a third of a core from the grading it measures."""

    def __init__(self, root_pid: int, interval: float = 0.05, pss_every: int = 10) -> None:
        self.root_pid, self.interval, self.pss_every = root_pid, interval, max(1, pss_every)
        self.result = Measured()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> TreeSampler:
        """Start sampling in a thread."""
        self._thread.start()
        return self

    def stop(self) -> Measured:
        """Stop sampling; the peaks seen."""
        self._stop.set()
        self._thread.join()
        return self.result

    def _loop(self) -> None:
        import psutil

        me = psutil.Process(os.getpid())
        cpu0 = time.thread_time()
        r = self.result
        while not self._stop.is_set():
            try:
                procs = me.children(recursive=True)  # the command and everything below, orphans included
            except psutil.Error:
                procs = []
            rss = 0
            alive = 0
            for p in procs:
                try:
                    m = p.memory_info()
                except psutil.Error:
                    continue
                if m.rss == 0:
                    continue  # a zombie
                alive += 1
                rss += m.rss
                if p.pid == self.root_pid:
                    r.parent_hwm = max(r.parent_hwm, _hwm(p.pid))
            if r.samples % self.pss_every == 0:
                r.tree_pss = max(r.tree_pss, sum(_pss(p.pid) for p in procs))
            r.samples += 1
            r.tree_rss = max(r.tree_rss, rss)
            r.processes = max(r.processes, alive)
            self._stop.wait(self.interval)
        r.sampler_cpu = time.thread_time() - cpu0


def _hwm(pid: int) -> int:
    """A process's peak resident memory (VmHWM), in bytes; 0 once it is gone."""
    hwm = _proc_field(pid, "VmHWM")
    return int(hwm.split()[0]) * 1024 if hwm else 0


def measure(cmd: list[str], hwm_file: Path | None = None, interval: float = 0.05, pss_every: int = 10,
            cwd: Path = ROOT) -> Measured:
    """Run ``cmd`` (stdout discarded, stderr kept), timing it and sampling its process tree.
    ``hwm_file``: where ``grade_command`` writes the command's exact peak RSS."""
    _subreaper()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid, interval, pss_every).start()
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    got = sampler.stop()
    _reap()
    got.wall, got.returncode, got.stderr = wall, proc.returncode, err
    if hwm_file is not None and hwm_file.exists() and hwm_file.read_text().strip():
        got.parent_hwm = int(hwm_file.read_text())
    else:
        got.notes.append("parent peak polled (it wrote no VmHWM at exit)")
    return got


def timed(cmd: list[str], cwd: Path = ROOT) -> float:
    """Wall seconds of one run of ``cmd``, which must succeed (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start
