"""The child process: who it runs as, what it can see, and that nothing of it outlives grading."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from autograder.engine import isolation
from autograder.engine.loader import Submission
from autograder.engine.sandbox import Limits, Sandbox
from autograder.engine.student import Program, Student, StudentCrashed, StudentRaised
from autograder.engine.zygote import ZYGOTE_PROCESSES

SPY = '''
import os, resource

def spy(out_dir):
    seen = {"uid": os.getuid(), "euid": os.geteuid(), "env": sorted(os.environ),
            "cwd_entries": os.listdir("."), "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0]}
    try:
        with open(f"/proc/{os.getppid()}/environ", "rb") as f:
            seen["parent_env"] = f.read().decode(errors="replace")
    except OSError as exc:
        seen["parent_env"] = None
    try:
        with open(os.path.join(out_dir, "results.json"), "w") as f:
            f.write("forged")
        seen["wrote_out"] = True
    except OSError:
        seen["wrote_out"] = False
    return seen

def world(checkout):
    import socket
    s = socket.socket()
    s.settimeout(2)
    return {"pids": sorted(p for p in os.listdir("/proc") if p.isdigit()), "net": s.connect_ex(("127.0.0.1", 22)),
            "kit": [p for p in ("solutions", "tests", "autograder/graders")
                    if os.path.exists(os.path.join(checkout, p))],
            "root": sorted(os.listdir("/")), "tmp": os.listdir("/tmp"), "home": os.environ.get("HOME"),
            "writable": [d for d in ("/", "/kit", "/kit/stubs", "/etc", "/dev", "/usr", "/tmp", "/dev/shm")
                         if os.access(d, os.W_OK)],
            "caps": {line.split(":")[0]: line.split()[1] for line in open("/proc/self/status")
                     if line.startswith(("Cap", "NoNewPrivs"))},
            "descriptors": _descriptors()}

def _descriptors():
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the listing's own descriptor, closed already
            pass
    return out

def syscalls():
    import ctypes, platform, subprocess, threading
    from autograder.engine.seccomp import ARCHES  # a fresh copy: the table, not the engine's filter
    libc = ctypes.CDLL(None, use_errno=True)
    table = ARCHES[platform.machine()][1]
    out = {}
    for name in ("ptrace", "keyctl", "bpf", "unshare", "io_uring_setup", "perf_event_open", "userfaultfd"):
        libc.syscall(table[name], 0, 0, 0, 0, 0)
        out[name] = ctypes.get_errno()
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
    out["subprocess"] = subprocess.run(["/bin/echo", "ok"], capture_output=True, text=True).stdout.strip()
    return out

def boom():
    raise ValueError("boom")

def scribble():  # write junk into every pipe it holds, the grader's channel among them
    for fd in range(3, 64):
        try:
            os.write(fd, b"junk" * 4)
        except OSError:
            pass
    return "done"
'''


def _spy(student, out_dir):
    p = Program()
    out = p.ret(p.call("spy", out_dir))
    return student.run(p, "spy")[out]


@pytest.fixture(scope="module")
def zygote():
    from autograder.engine.sandbox import Zygote

    z = Zygote(limits=Limits(time=10))
    yield z
    z.close()


@pytest.fixture(params=["cold", "forked"])
def student(request, monkeypatch):
    """The same child two ways: started cold under bwrap, and forked by a worker's zygote."""
    monkeypatch.setenv("AUTOGRADER_SECRET", "s3cret-value")
    spawn = None
    if request.param == "forked":
        z = request.getfixturevalue("zygote")
        spawn = lambda limits: Sandbox(limits, z).start()  # noqa: E731
    st = Student(Submission("spy.py", [SPY], "0" * 64), Limits(time=10), spawn=spawn)
    st.start()
    st.begin_question("spy")
    yield st
    st.close()


def test_child_sees_no_secret_and_a_minimal_environment(student, tmp_path):
    seen = _spy(student, str(tmp_path))
    assert "AUTOGRADER_SECRET" not in seen["env"]
    assert set(seen["env"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                "OPENBLAS_NUM_THREADS", "MPLBACKEND", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED",
                                "LC_CTYPE"}
    assert seen["cwd_entries"] == [], "the child starts in an empty directory"
    assert seen["parent_env"] is None or "s3cret-value" not in seen["parent_env"]


@pytest.mark.skipif(os.geteuid() != 0, reason="as an ordinary user the child runs as that user, in its namespaces")
def test_child_runs_unprivileged_and_cannot_write_results(student, tmp_path, request):
    os.chmod(tmp_path, 0o755)
    seen = _spy(student, str(tmp_path))
    assert seen["uid"] != 0 and seen["euid"] != 0
    assert seen["parent_env"] is None, "the parent's environment must be unreadable"
    assert seen["wrote_out"] is False and not (tmp_path / "results.json").exists()
    # a forked child's cap counts the zygote's own processes too (they share its user namespace): the
    # student's share is the same (test_the_process_cap_is_the_same_however_the_child_started)
    forked = request.node.callspec.params["student"] == "forked"
    assert seen["nproc"] == Limits().processes + (ZYGOTE_PROCESSES if forked else 0)


ESCAPEE = """
import os
if os.fork() == 0:          # a double fork into a new session: no longer the child's process group
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "{marker}"])
    os._exit(0)
"""


def _with_marker(marker: str) -> list[int]:
    found = []
    for p in os.listdir("/proc"):
        try:
            if p.isdigit() and marker.encode() in open(f"/proc/{p}/cmdline", "rb").read():
                found.append(int(p))
        except OSError:
            pass
    return found


def test_every_process_of_the_sandbox_ends_with_close():
    marker = f"{os.getpid() % 1000}.{time.monotonic_ns() % 10**6:06d}"
    st = Student(Submission("escape.py", [ESCAPEE.format(marker=marker)], "0" * 64), Limits(time=10))
    try:
        st.start()
        for _ in range(100):  # the escapee execs asynchronously
            if _with_marker(marker):
                break
            time.sleep(0.05)
        assert _with_marker(marker), "the escapee should run while the sandbox lives"
    finally:
        st.close()
    assert not _with_marker(marker), "a setsid, double-forked process outlived its sandbox"


def test_child_sees_only_its_own_world(student):
    p = Program()
    out = p.ret(p.call("world", str(Path(__file__).resolve().parents[1])))
    seen = student.run(p, "world()")[out]
    assert seen["pids"] == ["1"], f"the child sees other processes: {seen['pids']}"
    assert seen["net"] != 0, "the child reached a port on the machine's loopback"
    assert seen["kit"] == [], f"the child sees the kit's sources: {seen['kit']}"
    # the system's folders, plus the top folder of each bound interpreter or venv path (wherever CI
    # cloned the kit: /work, /check, /root...), and nothing else of the machine
    bound = {isolation._inside(os.path.realpath(p)).split("/")[1]
             for p in (sys.base_prefix, sys.prefix, os.path.dirname(sys.executable))}
    system = {"bin", "dev", "etc", "kit", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr"}
    assert set(seen["root"]) <= system | bound, set(seen["root"]) - system - bound
    assert seen["tmp"] == [] and seen["home"] == "/tmp"
    assert seen["writable"] == ["/tmp", "/dev/shm"], "only the bounded tmpfs mounts are writable"
    # no descriptor of the machine's files: one of a folder outside the root would lead back up its tree
    assert all(d.startswith(("pipe:", "socket:", "anon_inode:")) or d == "/dev/null" for d in seen["descriptors"]), \
        seen["descriptors"]
    # not one capability, even in its own user namespace (a zygote holds some, to make each child's)
    assert seen["caps"] == {"CapInh": "0" * 16, "CapPrm": "0" * 16, "CapEff": "0" * 16, "CapBnd": "0" * 16,
                            "CapAmb": "0" * 16, "NoNewPrivs": "1"}, seen["caps"]


def test_system_calls_grading_never_needs_are_refused(student):
    import errno

    p = Program()
    out = p.ret(p.call("syscalls"))
    seen = student.run(p, "syscalls()")[out]
    assert seen.pop("subprocess") == "ok", "threads, fork and exec still work"
    assert seen == dict.fromkeys(seen, errno.EPERM), seen


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_the_seccomp_program_is_whole_instructions(machine):
    from autograder.engine import seccomp

    code = seccomp.program(machine)
    assert len(code) % 8 == 0 and len(code) // 8 < 4096  # the kernel's BPF_MAXINSNS


def test_no_isolation_means_no_grading(monkeypatch):
    monkeypatch.setattr(isolation, "_bwrap_candidates", lambda: [])
    monkeypatch.setattr(isolation, "_PATHS", None)
    monkeypatch.setattr(isolation, "_CHECKED", None)
    with pytest.raises(isolation.IsolationUnavailable, match="bwrap"):
        isolation.check()
    with pytest.raises(isolation.IsolationUnavailable):
        Sandbox(Limits()).start()
    if os.geteuid() == 0 and not isolation.can_drop_privileges():
        with pytest.raises(isolation.IsolationUnavailable, match="never runs as root"):
            isolation.check(insecure=True)  # no uid of its own could run this interpreter
    else:
        assert isolation.check(insecure=True).insecure


def test_student_exception_becomes_a_hint_not_a_crash(student):
    p = Program()
    out = p.ret(p.call("boom"))
    with pytest.raises(StudentRaised, match="boom\\(\\) raised ValueError: boom"):
        student.run(p, "boom()")[out]
    assert _spy(student, "/nonexistent")["wrote_out"] is False


def test_junk_written_into_the_channel_costs_the_question_and_nothing_else(student):
    p = Program()
    out = p.ret(p.call("scribble"))
    with pytest.raises(StudentCrashed, match="garbage"):
        student.run(p, "scribble()")[out]
    student.begin_question("next")  # a new child for the next question
    assert _spy(student, "/nonexistent")["wrote_out"] is False


def test_the_root_stage_never_covers_a_source(monkeypatch):
    import json
    import sys

    holds_the_venv = os.path.dirname(os.path.realpath(sys.prefix))  # the checkout, holding .venv
    monkeypatch.setattr(isolation, "STAGE_DIRS", (holds_the_venv, "/mnt"))
    cmd, _ = isolation.bwrap_command(["true"], {}, 2**20, uid=300_000)
    spec = json.loads(cmd[-1])
    assert spec["stage"] == "/mnt"
    assert not any(source.startswith(spec["stage"] + "/") for source, _, _ in spec["binds"])


def test_a_forked_child_has_no_strays_when_it_starts():
    """The zygote's own processes share the child's cgroup, and a child of the last submission may still
    be exiting: neither is the student's process that kept running (found when 13 forks of 60 said so)."""
    from autograder.engine.sandbox import Zygote

    limits = Limits(time=10)
    zygote = Zygote(limits=limits)
    try:
        for _ in range(30):
            box = Sandbox(limits, zygote).start()
            try:
                box.wait_ready()
                assert not box.strays(), f"processes besides the child: {box.processes()} (child {box.pid})"
            finally:
                box.close()
    finally:
        zygote.close()


SPAWNER = '''
import os, time

def spawn():
    pids = []
    while len(pids) < 100:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
    for pid in pids:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    return len(pids)
'''


@pytest.mark.parametrize("how", ["cold", "forked"])
def test_the_process_cap_is_the_same_however_the_child_started(how, request):
    """The cap counts the child itself, never the zygote's own processes that share its user namespace."""
    spawn = None
    if how == "forked":
        z = request.getfixturevalue("zygote")
        spawn = lambda limits: Sandbox(limits, z).start()  # noqa: E731
    limits = Limits(time=20, processes=10)
    st = Student(Submission("spawner.py", [SPAWNER], "0" * 64), limits, spawn=spawn)
    try:
        st.start()
        st.begin_question("spawn")
        p = Program()
        out = p.ret(p.call("spawn"))
        assert st.run(p, "spawn()")[out] == limits.processes - 1  # the child is one of them
    finally:
        st.close()


def test_a_zygote_that_cannot_isolate_its_children_forks_none(monkeypatch):
    """Without the capabilities it needs for its children's namespaces, the zygote refuses every fork,
    saying why: no child ever runs in the zygote's own namespaces (fail closed)."""
    from autograder.engine import sandbox
    from autograder.engine.sandbox import ChildGone, Zygote

    monkeypatch.setattr(sandbox, "ZYGOTE_CAPS", ())
    limits = Limits(time=10)
    zygote = Zygote(limits=limits)
    try:
        for _ in range(2):  # the first fork and every later one
            with pytest.raises(ChildGone, match="could not isolate"):
                Sandbox(limits, zygote).start()
    finally:
        zygote.close()
