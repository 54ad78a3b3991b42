"""Issue 8's promises that need a harness: each attack costs only the attacker.

- Through the engine API (one child, probes returning plain data): the child sees no process outside
  its sandbox (a canary process the test started is invisible), reads no environment holding the
  secret, cannot signal or ptrace a process outside, and a forged 512 MiB frame is refused without
  the parent allocating it (the test's own peak memory is measured).
- One ``tied`` class graded with ``--jobs 2`` from a world-writable working folder: 20 CPU spinners
  in one submission while a classmate's correct notebook is graded at the same time (the classmate
  keeps full marks), a cell that rewrites the engine's snapshot code so that ``untie = copy.deepcopy``
  looks untied (untie still loses its point), and a cell that plants modules in the working folder
  (nothing the grading imports may come from there, the folder is unchanged). Each student's
  results there are readable by the grader alone.
- ``--out``: a folder others can write, or someone else's, is refused before grading (symlinks
  planted in ``--out`` are tried in ``test_hostile.py``'s class run).
- A notebook nested 100,000 deep, graded on its own (the cold path): a results.json saying why.

Hostile code only ever aims at folders, processes and listeners this test made.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.engine.loader import Submission
from autograder.engine.sandbox import Limits
from autograder.engine.student import Program, Student, StudentProblem
from autograder.samples import compose

from conftest import ROOT, grade_cli, load_gradebook
from test_hostile import folder_state, kill_marked, marked_processes, nested_json

HOSTILE = ROOT / "tests" / "hostile"
TOKEN = secrets.token_hex(6)
MARKER = f"autograder-isolation-{TOKEN}"
SECRET = f"isolation-secret-{TOKEN}"
SPINNER = f"{MARKER}-spinner"  # what spinners.py names its processes (P["marker"] + "-spinner")
LIMITS = ("--time-limit", "5", "--memory-limit", "1")


def render(path: Path, params: dict) -> str:
    return path.read_text().replace("__HOSTILE__", repr(params))


# ------------------------------------------------------------------ through the engine API

PROBE = r'''
import ctypes, fcntl, json, os, signal, stat, struct

def processes():
    seen = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    seen[p] = f.read().decode(errors="replace").replace("\0", " ")
            except OSError:
                seen[p] = None
    return seen

def environments(secret):
    found = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/environ", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            if secret.encode() in data or b"AUTOGRADER_SECRET" in data:
                found.append(p)
    return found

def reach(victims, probe_only):
    """ptrace and kill the victims (processes the test started for this), signal 0 the others."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    done = []
    for pid in victims:
        if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
            done.append(f"ptrace-attached to {pid}")
            try:
                os.waitpid(pid, 0x40000000)
            except OSError:
                pass
            libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
                done.append(f"sent signal {int(sig)} to {pid}")
            except OSError:
                pass
    for pid in probe_only:
        try:
            os.kill(pid, 0)
            done.append(f"may signal {pid}")
        except OSError:
            pass
    return done

def forge_huge_frame():
    """A frame announcing 512 MiB, and the 512 MiB, into every pipe it may write to but stdout."""
    size = 512 * 2**20
    header = json.dumps({"event": "program_done", "status": "ok", "results": [], "blobs": [size]}).encode()
    block = b"\0" * 2**20
    for fd in range(3, 65):
        try:
            if not (stat.S_ISFIFO(os.fstat(fd).st_mode)
                    and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY):
                continue
            data = memoryview(struct.pack("<I", len(header)) + header)
            while data:
                data = data[os.write(fd, data):]
            for _ in range(size // len(block)):
                data = memoryview(block)
                while data:
                    data = data[os.write(fd, data):]
        except OSError:
            pass
    return "sent"
'''


@pytest.fixture(scope="module")
def canary():
    """A process of the test's own, named by the marker: the child must neither see nor touch it."""
    proc = subprocess.Popen([f"{MARKER}-canary", "120"], executable="/usr/bin/sleep", stdin=subprocess.DEVNULL)
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def student(canary):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AUTOGRADER_SECRET", SECRET)
        st = Student(Submission("probe.py", [PROBE], "0" * 64), Limits(time=10))
        st.start()
        yield st
        st.close()


def ask(student, question: str, fn: str, *args):
    student.begin_question(question)
    p = Program()
    out = p.ret(p.call(fn, *args))
    return student.run(p, f"{fn}(...)")[out]


def test_child_sees_no_process_outside_its_sandbox(student, canary):
    seen = ask(student, "processes", "processes")
    assert seen, "the child saw no process at all, not even itself"
    outside = {pid: cmd for pid, cmd in seen.items()
               if cmd and (MARKER in cmd or "pytest" in cmd or "autograder grade" in cmd)}
    assert not outside, f"the child sees processes outside its sandbox: {outside}"


def test_child_reads_no_environment_holding_the_secret(student):
    assert ask(student, "environments", "environments", SECRET) == [], "an environment holding the secret is readable"


def test_child_cannot_signal_or_trace_outside_its_sandbox(student, canary):
    done = ask(student, "reach", "reach", [canary.pid], [os.getpid()])
    assert done == [], f"the child reached outside its sandbox: {done}"
    assert canary.poll() is None, "the child killed a process outside its sandbox"


def _peak_rss_reset() -> int:
    """Reset this process's peak resident size to its current size; return that size."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return _status_kib("VmHWM")


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def test_oversized_frame_is_refused_without_being_allocated(student):
    before = _peak_rss_reset()
    with pytest.raises(StudentProblem) as problem:
        ask(student, "huge frame", "forge_huge_frame")
    grew = _status_kib("VmHWM") - before
    assert grew < 64 * 2**20, f"the parent's peak memory grew by {grew >> 20} MiB reading a forged frame"
    assert problem.value.hint, "the question must say why it was lost"


# ------------------------------------------------------------------ a tied class, from a world-writable folder

SHIM = '''# Planted by tests/test_isolation.py: if this runs, a grading process imported from its working folder.
import os as _os
import sys as _sys
try:
    open(_os.path.join({marks!r}, "imported-" + __name__ + "-" + str(_os.getpid())), "w").close()
except OSError:
    pass
_here = _os.path.dirname(_os.path.abspath(__file__))
_saved = list(_sys.path)
_sys.path[:] = [p for p in _sys.path if _os.path.abspath(p or ".") != _here]
del _sys.modules[__name__]
try:
    import importlib as _importlib
    _real = _importlib.import_module(__name__)
finally:
    _sys.path[:] = _saved
_sys.modules[__name__] = _real
globals().update({{k: v for k, v in vars(_real).items() if not k.startswith("__")}})
'''
# --jobs 2 on this machine: a fair CPU budget per sandbox is half the machine (one CPU here), with some slack
ALLOWED_CPUS = max(1.0, (os.cpu_count() or 2) / 2) * 1.25
PRE_PLANTED = ("json", "csv", "argparse", "selectors")  # the submission plants statistics, reports, autograder/


@pytest.fixture(scope="module")
def tied_class(tmp_path_factory):
    base = tmp_path_factory.mktemp("tied-class")
    marks = base / "imported"
    marks.mkdir()
    # reachable by anyone, as an attacker's would be
    work = Path(tempfile.mkdtemp(prefix=f"{MARKER}-work-", dir="/tmp"))
    try:
        os.chmod(work, 0o777)
        shim = SHIM.format(marks=str(marks))
        for name in PRE_PLANTED:
            (work / f"{name}.py").write_text(shim)
        planted = folder_state(work)
        params = {"marker": MARKER, "spin_seconds": 7.5, "cell_seconds": 4.0, "workdir": str(work), "shim": shim,
                  "allowed_cpus": ALLOWED_CPUS}
        subs = base / "in"
        subs.mkdir()
        (subs / "a_spinners.py").write_text(render(HOSTILE / "tied" / "spinners.py", params))
        compose("tied", None, subs / "b_classmate.ipynb")
        compose("tied", HOSTILE / "tied" / "patch_snapshot.py", subs / "c_patch_snapshot.ipynb")
        (base / "plant_modules.py").write_text(render(HOSTILE / "tied" / "plant_modules.py", params))
        compose("tied", base / "plant_modules.py", subs / "d_plant_modules.ipynb")
        cmd = [sys.executable, "-m", "autograder", "grade", "tied", str(subs), "--out", str(base / "out"), "--quiet",
               "--jobs", "2", *LIMITS]
        run = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=900,
                             env={**os.environ, "AUTOGRADER_SECRET": SECRET})
        finished = time.monotonic()
        book = load_gradebook(base / "out") if (base / "out" / "gradebook.json").is_file() else {}
        yield {"run": run, "book": book, "base": base, "work": work, "planted": planted, "marks": marks,
               "finished": finished}
    finally:
        kill_marked(SPINNER)
        shutil.rmtree(work, ignore_errors=True)


def _row(tied_class, name: str) -> dict:
    assert name in tied_class["book"], f"no gradebook row for {name}: {tied_class['run'].stderr[-2000:]}"
    return tied_class["book"][name]


def _lost(tied_class, name: str) -> str:
    """What a submission lost points on: the hints of its failed checks and its errors."""
    results = json.loads((tied_class["base"] / "out" / name / "results.json").read_text())
    failed = [f"{t['name']}: {t['output'][:200]}" for t in results["tests"] if t["status"] == "failed"]
    return f"failed: {failed}; errors: {results['output'][:600]}"


def test_tied_class_is_graded(tied_class):
    assert tied_class["run"].returncode == 0, tied_class["run"].stderr[-3000:]
    assert len(tied_class["book"]) == 4


def _cgroups_here() -> bool:
    try:
        from autograder.engine import isolation

        return bool(isolation.check().cgroup)
    except Exception:
        return False


def test_spinners_stay_within_one_sandbox_cpu_budget(tied_class):
    """spinners.py measured the CPU its sandbox took while 21 processes spun: its build_shared_mlp is right
    only if that stayed within a fair share (it raises with the figure otherwise)."""
    if os.geteuid() != 0 and not _cgroups_here():
        pytest.skip("no cgroup for an ordinary user here: CPU is shared as the scheduler shares it (README)")
    got = _row(tied_class, "a_spinners.py")["questions"]["build_shared_mlp"]
    assert got["score"] == got["max_score"], _lost(tied_class, "a_spinners.py")


def test_classmate_keeps_full_marks_beside_cpu_spinners(tied_class):
    if os.geteuid() != 0 and not _cgroups_here():
        pytest.skip("no cgroup for an ordinary user here: CPU is shared as the scheduler shares it (README)")
    row = _row(tied_class, "b_classmate.ipynb")
    assert row["total"] == row["max_total"], (
        f"the classmate lost points beside 20 spinners: {row['total']}/{row['max_total']}; "
        f"{_lost(tied_class, 'b_classmate.ipynb')}")


def test_no_spinner_outlives_grading(tied_class):
    deadline = tied_class["finished"] + 3.0
    while (alive := marked_processes(SPINNER)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, f"spinning processes outlived grading: {alive}"


def test_patched_snapshot_fools_nothing(tied_class):
    """untie = copy.deepcopy keeps the sharing (tests/submissions/tied/untie_deepcopy.py loses a point for it);
    rewriting the engine's snapshot code in the child must not win that point back, nor cost another question."""
    row = _row(tied_class, "c_patch_snapshot.ipynb")
    untie = row["questions"]["untie"]
    assert untie["score"] < untie["max_score"], f"the patched snapshot made a still-tied untie pass: {row}"
    others = {q: s for q, s in row["questions"].items() if q != "untie" and s["score"] != s["max_score"]}
    assert not others, f"other questions lost points: {others}; {_lost(tied_class, 'c_patch_snapshot.ipynb')}"


def test_grading_imports_nothing_from_its_working_folder(tied_class):
    assert sorted(os.listdir(tied_class["marks"])) == [], "a grading process imported a module from its working folder"
    assert folder_state(tied_class["work"]) == tied_class["planted"], (
        f"the working folder changed during grading: {sorted(folder_state(tied_class['work']))}")
    row = _row(tied_class, "d_plant_modules.ipynb")
    assert row["total"] == row["max_total"], _lost(tied_class, "d_plant_modules.ipynb")


def test_each_students_results_are_readable_only_by_the_grader(tied_class):
    out = tied_class["base"] / "out"
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        for path in [folder, *folder.iterdir()]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            assert not mode & 0o077, f"{path.relative_to(out)} has mode {mode:o}: others may read it"


# ------------------------------------------------------------------ --out

@pytest.mark.parametrize("kind", ["writable by others", "someone else's"])
def test_unsafe_out_folder_is_refused_before_grading(tmp_path, kind):
    out = tmp_path / "out"
    out.mkdir()
    if kind == "writable by others":
        os.chmod(out, 0o777)
    elif os.geteuid() != 0:
        pytest.skip("only root can give the test a folder that belongs to someone else")
    else:
        os.chown(out, 65534, 65534)
        os.chmod(out, 0o755)
    compose("access", None, tmp_path / "in" / "a.ipynb")
    run = grade_cli("access", [tmp_path / "in"], out, *LIMITS)
    assert run.returncode == 2, f"{kind} --out was used: exit {run.returncode}; {run.stderr[-1000:]}"
    assert os.listdir(out) == [], "nothing may be written into a refused folder"
    assert len(run.stderr.strip().splitlines()) >= 1 and str(out) in run.stderr, run.stderr


# ------------------------------------------------------------------ the loader, cold

def test_deeply_nested_notebook_alone_gets_results_and_a_row(tmp_path):
    nested_json(tmp_path / "nested.ipynb")
    run = grade_cli("access", [tmp_path / "nested.ipynb"], tmp_path / "out", *LIMITS)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads((tmp_path / "out" / "nested.ipynb" / "results.json").read_text())
    assert results["score"] == 0 and "not graded" in results["output"], results["output"]
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert "nested.ipynb" in load_gradebook(tmp_path / "out")
