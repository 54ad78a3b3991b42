"""Parent side of the child process: start it isolated, talk to it with deadlines, kill it.

Isolation is the kernel's (``isolation.py``): the child runs under bubblewrap in new user,
mount, pid, network, ipc and uts namespaces, with a minimal read-only filesystem, private
bounded ``/tmp`` and ``/dev/shm``, as a uid of its own when grading runs as root, and in a
cgroup of its own where the machine offers one. The child is pid 1 of its pid namespace, so
killing it ends every process it started. On top of that, in this process:

- rlimits set by the child before any student code runs (address space, processes,
  file size, open files, no core dumps);
- a watchdog thread that adds up the sandbox's memory (its cgroup's charge, or the PSS of its
  processes plus what it put in its tmpfs mounts) and kills it past the limit;
- wall-time deadlines on every read from the channel.

If the isolation cannot be set up, ``start`` raises ``isolation.IsolationUnavailable``: grading
refuses rather than fall back. Only ``Limits(insecure=True)`` (the CLI's ``--insecure``) runs
the child as a plain process (its own session and folder, a uid of its own where possible).
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..paths import SOURCE_ROOT as ROOT  # the folder holding the autograder package
from . import framing, isolation
from .isolation import KIT, IsolationUnavailable, can_drop_privileges, free_uid

STUBS = Path(__file__).resolve().parent / "stubs"
STARTUP_LIMIT = 60.0  # seconds for a fresh interpreter to import torch on a loaded machine
OVERHEAD = 512 * 2**20  # Python and torch themselves, on top of what the student's code may use
# in the zygote's user namespace alone, to give each child namespaces of its own (zygote.py); never a child's
ZYGOTE_CAPS = ("CAP_SYS_ADMIN", "CAP_SETPCAP")
READ_AHEAD = 64 * 1024  # bytes of the child's results read past the current need (Sandbox._read)


@dataclass(frozen=True)
class Limits:
    """Per-question limits for student code (settable from the CLI)."""

    time: float = 10.0  # wall seconds per question (and per cell)
    memory: int = 2 * 2**30  # bytes the student's code may add to Python with torch loaded
    processes: int = 64
    output: int = 2**20  # bytes of stdout+stderr recorded per question
    insecure: bool = False  # run without kernel isolation (``--insecure``): only on a machine you trust


class ChildGone(Exception):
    """The child died, or was killed; ``reason`` says why in the student's words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChildTimeout(Exception):
    """The child did not answer in time (it was killed)."""


def _proc_field(pid: int, name: str) -> str | None:
    """A field of ``/proc/PID/status``: the benchmarks read ``VmHWM`` with it, which psutil does not provide."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def _session_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
        return int(text.rsplit(")", 1)[1].split()[3])
    except (OSError, ValueError, IndexError):
        return None


def _pss(pid: int) -> int:
    """A process's proportional memory (psutil reads smaps_rollup); its resident size where smaps is
    unreadable (a container without CAP_SYS_PTRACE), which over-counts shared pages but never misses a
    memory bomb; 0 for a process gone meanwhile."""
    import psutil

    # psutil's memory_full_info().pss: 0.37 ms a process on the kit's test machine, the smaps_rollup read
    # it replaced 0.41 ms; memory_info().rss 0.047 ms, the VmRSS line of /proc/PID/status 0.034 ms
    try:
        proc = psutil.Process(pid)
        try:
            return int(proc.memory_full_info().pss)
        except psutil.AccessDenied:
            return int(proc.memory_info().rss)
    except psutil.Error:
        return 0


def child_env(home: str) -> dict[str, str]:
    """The whole environment of a sandbox process: nothing inherited, no secret."""
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


def _child_code(req_r: int, res_w: int, memory: int, processes: int, kit: str, stubs: str, cwd: str,
                insecure: bool = False, warmers: tuple[str, ...] = ()) -> str:
    return (f"import os, sys; os.chdir({cwd!r}); sys.path[:0] = [{stubs!r}, {kit!r}]; "
            f"from autograder.engine.child import main; "
            f"main({req_r}, {res_w}, {memory}, {processes}, {insecure}, {tuple(warmers)!r})")


def _read_info(fd: int, deadline: float) -> dict[str, Any]:
    """bwrap's --info-fd JSON (it holds the host pid of the sandbox's pid 1)."""
    data = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
        try:
            info: dict[str, Any] = json.loads(data)
            return info
        except ValueError:
            continue
    raise IsolationUnavailable(f"bubblewrap did not report its sandbox ({data[:200]!r})")


def _host_pid(pidfd: int) -> int:
    """The pid, in this process's namespace, of the process a pidfd refers to."""
    with open(f"/proc/self/fdinfo/{pidfd}") as f:
        for line in f:
            if line.startswith("Pid:"):
                return int(line.split()[1])
    raise ChildGone("the grading process could not start (no pid)")


class Sandbox:
    """One child process running one submission's code, isolated (see the module's docstring)."""

    def __init__(self, limits: Limits, zygote: "Zygote | None" = None, warmers: tuple[str, ...] = ()) -> None:
        self.limits = limits
        self.zygote = zygote
        self.warmers = warmers  # what a cold child imports before it is ready (a zygote did already)
        self.proc: subprocess.Popen[bytes] | None = None  # when spawned directly (cold): bwrap, or the child itself
        self.pid: int | None = None  # the child: pid 1 of the sandbox's pid namespace when isolated
        self.pidfd: int | None = None  # a stable handle on the child, immune to pid reuse
        self.uid: int | None = None  # the child's own uid (root only)
        self.tmp: str | None = None  # the child's folder on this machine (--insecure only; else a tmpfs)
        self.cgroup: isolation.CGroup | None = None  # the sandbox's own cgroup (cold children)
        self._ooms = 0  # the zygote's cgroup's OOM count when this child started
        self.killed: str | None = None  # why the watchdog killed the child, if it did
        self.out_fd: int | None = None
        self.wfd: int | None = None
        self.rfd: int | None = None
        self._ready = False
        self._out = bytearray()
        self._buf = bytearray()  # the child's results read ahead of the frame being parsed (_read)
        self._out_total = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ------------------------------------------------------------ start
    def start(self) -> "Sandbox":
        """Spawn the child; returns at once (the child imports torch in the background)."""
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        self.wfd, self.rfd = req_w, res_r
        try:
            if self.limits.insecure:
                self._start_insecure(req_r, res_w)
            else:
                layers = isolation.check()
                # A forked child is born in its worker's cgroup (its zygote's): moving a process into a
                # cgroup costs about 13 ms, a fifth of a bulk submission. A worker grades one submission
                # at a time, so that cgroup is this sandbox's alone, the idle zygote besides.
                if layers.cgroup and self.zygote is None:
                    self.cgroup = isolation.CGroup(self.limits.memory + OVERHEAD, self.limits.processes + 8)
                elif self.zygote is not None and self.zygote.cgroup is not None:
                    self._ooms = self.zygote.cgroup.oom_count()
                if self.zygote is not None:
                    self._start_forked(req_r, res_w)
                else:
                    self._start_cold(req_r, res_w)
        except BaseException:
            self.close()
            raise
        finally:
            os.close(req_r)
            os.close(res_w)
        if self.cgroup is not None and self.pid is not None:
            self.cgroup.add(self.pid)  # before any student code: the child waits for its cells
        threading.Thread(target=self._drain, daemon=True).start()
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    def _start_cold(self, req_r: int, res_w: int) -> None:
        info_r, info_w = os.pipe()
        code = _child_code(req_r, res_w, self.limits.memory, self.limits.processes, KIT, f"{KIT}/stubs", "/tmp",
                           warmers=self.warmers)
        self.uid = free_uid() if os.geteuid() == 0 else None  # never root, even inside its namespace
        cmd, fds = isolation.bwrap_command([isolation.python(), "-I", "-c", code], child_env("/tmp"),
                                           self._tmpfs_size(), info_fd=info_w, uid=self.uid)
        try:
            self.proc = subprocess.Popen(cmd, cwd="/", env={}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, pass_fds=(*fds, req_r, res_w, info_w),
                                         close_fds=True)
        finally:
            os.close(info_w)
        try:
            info = _read_info(info_r, time.monotonic() + STARTUP_LIMIT)
        finally:
            os.close(info_r)
        self.pid = int(info["child-pid"])
        self.pidfd = os.pidfd_open(self.pid)
        self.out_fd = self.proc.stdout.fileno() if self.proc.stdout else None

    def _start_forked(self, req_r: int, res_w: int) -> None:
        assert self.zygote is not None
        out_r, out_w = os.pipe()
        try:
            self.pidfd = self.zygote.fork([req_r, res_w, out_w], {
                "memory": self.limits.memory, "processes": self.limits.processes, "tmp_size": self._tmpfs_size(),
                "warmers": list(self.warmers)})
        finally:
            os.close(out_w)
        self.out_fd = out_r
        self.pid = _host_pid(self.pidfd)

    def _start_insecure(self, req_r: int, res_w: int) -> None:
        self.tmp = tempfile.mkdtemp(prefix="autograder-")
        os.chmod(self.tmp, 0o700)  # before the chown: changing another uid's folder would need CAP_FOWNER
        processes = self.limits.processes
        user: dict[str, Any] = {}
        if can_drop_privileges():
            self.uid = free_uid()
            os.chown(self.tmp, self.uid, self.uid)
            user = {"user": self.uid, "group": self.uid, "extra_groups": []}
        elif processes > 0:  # RLIMIT_NPROC counts all of this user's processes: leave room for them
            processes += sum(1 for p in psutil_pids_of(os.getuid()))
        if self.zygote is not None:
            out_r, out_w = os.pipe()
            try:
                self.pidfd = self.zygote.fork([req_r, res_w, out_w], {
                    "memory": self.limits.memory, "processes": processes, "tmp": self.tmp,
                    "uid": self.uid, "env": child_env(self.tmp), "warmers": list(self.warmers)})
            finally:
                os.close(out_w)
            self.out_fd = out_r
            self.pid = _host_pid(self.pidfd)
            return
        code = _child_code(req_r, res_w, self.limits.memory, processes, str(ROOT), str(STUBS), self.tmp, True,
                           self.warmers)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", code], cwd="/", env=child_env(self.tmp), start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            pass_fds=(req_r, res_w), close_fds=True, **user)
        self.pid = self.proc.pid
        self.pidfd = os.pidfd_open(self.pid)
        self.out_fd = self.proc.stdout.fileno() if self.proc.stdout else None

    def _tmpfs_size(self) -> int:
        """Each of /tmp and /dev/shm: at most the memory limit (the watchdog counts them as memory)."""
        return max(self.limits.memory, 16 * 2**20)

    # ------------------------------------------------------------ processes
    def processes(self) -> list[int]:
        """Every live (non-zombie) process of the sandbox: its cgroup's, or the child and its
        descendants (orphans in the sandbox are reparented to the child, its pid 1)."""
        if self.pid is None:
            return []
        if self.limits.insecure:  # no pid namespace: by uid when the child has its own, else by session
            pids = _pids_of_uid(self.uid) if self.uid is not None else _session_members(self.pid)
        elif self.cgroup is not None:
            pids = self.cgroup.pids()
        elif self.zygote is not None and self.zygote.cgroup is not None:
            pids = [p for p in self.zygote.cgroup.pids() if p not in self.zygote.pids]
        else:
            pids = _descendants(self.pid)
        return [p for p in pids if _alive(p)]

    def strays(self) -> bool:
        """Whether processes other than the child itself are alive in the sandbox (the student forked)."""
        return any(pid != self.pid for pid in self.processes())

    def memory(self) -> int:
        """Bytes the sandbox holds now: its cgroup's charge, or its processes' PSS plus its tmpfs mounts."""
        if self.cgroup is not None:
            return self.cgroup.memory()
        used = sum(_pss(p) for p in self.processes())
        if self.pid is not None and not self.limits.insecure:
            for mount in ("tmp", "dev/shm"):
                try:
                    st = os.statvfs(f"/proc/{self.pid}/root/{mount}")
                    used += (st.f_blocks - st.f_bfree) * st.f_frsize
                except OSError:
                    pass
        return used

    def _watch(self) -> None:
        budget = self.limits.memory + OVERHEAD
        # Where the worker's cgroup holds a forked child, the kernel enforces the limit (its OOM killer
        # picks the child: zygote.py) and _oom() sees it act: reading every process's PSS ten times a
        # second cost more than a tenth of a bulk submission. Without a cgroup, PSS it is.
        poll = self.zygote is None or self.zygote.cgroup is None
        while not self._stop.wait(0.1):
            if self.pid is None or not self.alive() and not self.processes():
                return
            if self._oom() or poll and self.memory() > budget:
                self.killed = f"used more than the memory limit ({self.limits.memory / 2**30:g} GiB)"
                self.kill()
                return

    def _oom(self) -> bool:
        """Whether the kernel's OOM killer acted in this sandbox's cgroup (its own, or its worker's since it
        started)."""
        if self.cgroup is not None:
            return self.cgroup.oom_count() > 0
        if self.zygote is not None and self.zygote.cgroup is not None:
            return self.zygote.cgroup.oom_count() > self._ooms
        return False

    def alive(self) -> bool:
        """Whether the child itself still runs (a zombie does not)."""
        if self.pid is None:
            return False
        if self.pidfd is not None:
            ready, _, _ = select.select([self.pidfd], [], [], 0)
            if ready:  # a pidfd is readable once its process has exited
                return False
        return _alive(self.pid)

    def _drain(self) -> None:
        fd = self.out_fd
        if fd is None:
            return
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self._out_total += len(chunk)
                room = self.limits.output - len(self._out)
                if room > 0:
                    self._out += chunk[:room]

    def take_output(self) -> tuple[str, bool]:
        """What the student's code printed since the last call, and whether it went past the limit."""
        with self._lock:
            text = self._out.decode("utf-8", "replace")
            over = self._out_total > self.limits.output
            self._out = bytearray()
            self._out_total = 0
        return text, over

    # ------------------------------------------------------------ channel
    def send(self, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
        """Write one request frame to the child (``ChildGone`` when it is gone)."""
        assert self.wfd is not None
        try:
            framing.write_frame(self.wfd, header, list(blobs))
        except OSError:
            raise ChildGone(self._death_reason()) from None

    def wait_ready(self) -> None:
        """Wait (up to ``STARTUP_LIMIT``) for the child's "ready": its imports done, no student code run yet."""
        if not self._ready:
            self._ready = True
            header, _ = self._receive(time.monotonic() + STARTUP_LIMIT)
            if header.get("event") != "ready":
                self.kill()
                raise ChildGone("the grading process did not start")

    def receive(self, deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        """Read one frame from the child by ``deadline`` (time.monotonic); kill it when late."""
        self.wait_ready()
        return self._receive(deadline)

    def _receive(self, deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        try:
            return framing.parse_frame(lambda n: self._read(n, deadline), framing.FROM_CHILD)
        except framing.FrameTooLarge:
            self.kill()
            raise ChildGone(f"your code wrote garbage into the grader's channel (a frame over its "
                            f"{framing.FROM_CHILD.total // 2**20} MiB limit)") from None
        except framing.ChannelError:
            self.kill()
            raise ChildGone("your code wrote garbage into the grader's channel") from None

    def _read(self, n: int, deadline: float) -> bytes:
        """Exactly ``n`` bytes of the child's results by ``deadline``. Read in chunks of up to
        ``READ_AHEAD`` bytes past what is asked: a frame is a header then many small blobs, and one
        system call (and one wake-up of the child blocked on a full pipe) per blob cost more than
        the rest of reading them. What is read ahead waits in ``_buf`` for the next call."""
        assert self.rfd is not None
        buf = self._buf
        while len(buf) < n:
            wait = deadline - time.monotonic()
            if wait <= 0:
                self.kill()
                raise ChildTimeout()
            ready, _, _ = select.select([self.rfd], [], [], min(wait, 0.5))
            if not ready:
                continue
            try:
                chunk = os.read(self.rfd, min(n - len(buf), 1 << 20) + READ_AHEAD)
            except OSError:
                chunk = b""
            if not chunk:
                self.kill()
                raise ChildGone(self._death_reason())
            buf += chunk
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def _death_reason(self) -> str:
        if self.killed:
            return self.killed
        if self._oom():
            return f"used more than the memory limit ({self.limits.memory / 2**30:g} GiB)"
        if self.proc is None or not self.limits.insecure:
            # forked by a zygote, or under bwrap: the child's own exit status is not ours to read
            return "the process running your code exited or was killed"
        code = self.proc.wait(timeout=5)
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return f"the process running your code was killed by signal {name}"
        return f"the process running your code exited (exit status {code})"

    # ------------------------------------------------------------ end
    def kill(self) -> None:
        """Kill the child and with it every process of its sandbox (the child is their pid 1)."""
        if self.pid is None:
            return
        for _ in range(500):
            pids = self.processes()
            if self.pidfd is not None:
                try:
                    signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
                except OSError:
                    pass
            if self.limits.insecure:  # no pid namespace: its process group and stray processes too
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except OSError:
                    pass
            for pid in pids:
                if pid != self.pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
            if self.pidfd is not None:  # readable the moment the child has exited: no polling
                select.select([self.pidfd], [], [], 0.05)
            if self.proc is not None and self.proc.poll() is None:
                try:
                    self.proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
            if not self.alive() and not self.processes():
                break
            time.sleep(0.001)

    def close(self) -> None:
        """End the child for good: kill its sandbox, close its pipes, remove its cgroup and folder."""
        self.kill()
        self._stop.set()
        own = [self.wfd, self.rfd, self.pidfd]
        if self.proc is None:  # a Popen's stdout is closed through its file object below
            own.append(self.out_fd)
        for fd in own:
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.wfd = self.rfd = self.pidfd = None
        if self.proc is not None:
            if self.proc.stdout:
                self.proc.stdout.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


PF_EXITING = 0x4  # a process's flag (field 9 of /proc/PID/stat) from the moment it starts to exit


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs and will go on running: neither a zombie nor already exiting (a worker's
    last child may still be tearing down its address space, in the same cgroup, when the next starts)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0] not in ("Z", "X") and not int(fields[6]) & PF_EXITING
    except (OSError, IndexError, ValueError):
        return False


def _session_members(sid: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and _session_of(int(p)) == sid]


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (psutil reads the parent links of all processes)."""
    import psutil

    try:
        root = psutil.Process(pid)
        return [pid, *(c.pid for c in root.children(recursive=True))]
    except psutil.Error:
        return []


def _pids_of_uid(uid: int) -> list[int]:
    # Not psutil: psutil.process_iter(["uids"]) takes 2.7 ms at 81 processes, this scan 0.28 ms, and the
    # watchdog runs it 10 times a second per sandbox (under --insecure with a uid of the sandbox's own).
    pids = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:  # /proc/<pid> belongs to the process's effective uid: one stat, no parsing
                if os.stat(f"/proc/{p}").st_uid == uid:
                    pids.append(int(p))
            except OSError:
                pass
    return pids


def psutil_pids_of(uid: int) -> list[int]:
    """Threads count against RLIMIT_NPROC too: one entry per task of ``uid``'s processes."""
    import psutil

    out = []
    for proc in psutil.process_iter(["uids", "num_threads"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real == uid:
                out += [proc.pid] * int(proc.info["num_threads"] or 1)
        except psutil.Error:
            pass
    return out


class Zygote:
    """A pre-warmed process that forks sandbox children (see ``zygote.py``): bulk grading pays
    for ``import torch`` once per worker instead of once per submission. It runs inside its own
    bubblewrap sandbox (never with the secret), and every child it forks enters namespaces of its own."""

    def __init__(self, insecure: bool = False, limits: Limits | None = None) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.insecure = insecure
        self.cgroup: isolation.CGroup | None = None  # the worker's: the zygote and the one child it runs
        if insecure:
            kit, stubs = str(ROOT), str(STUBS)
        else:
            isolation.check()
            kit, stubs = KIT, f"{KIT}/stubs"
        code = (f"import sys; sys.path[:0] = [{stubs!r}, {kit!r}]; "
                f"from autograder.engine.zygote import serve; serve({theirs.fileno()}, {not insecure})")
        argv = [sys.executable if insecure else isolation.python(), "-I", "-c", code]
        fds: list[int] = []
        user: dict[str, Any] = {}
        info_r, info_w = os.pipe()
        if not insecure:
            # the zygote's tmpfs holds nothing: each child mounts fresh ones of its own
            argv, fds = isolation.bwrap_command(argv, child_env("/tmp"), 16 * 2**20, caps=ZYGOTE_CAPS,
                                                info_fd=info_w, uid=free_uid() if os.geteuid() == 0 else None)
        try:
            self.proc = subprocess.Popen(argv, cwd="/", env=child_env("/tmp"), stdin=subprocess.DEVNULL,
                                         pass_fds=(*fds, theirs.fileno(), info_w), close_fds=True, **user)
        finally:
            os.close(info_w)
            theirs.close()
        try:  # the zygote itself (pid 1 of its namespace): killing it ends everything it forked
            pid = self.proc.pid if insecure else int(_read_info(info_r, time.monotonic() + STARTUP_LIMIT)["child-pid"])
        finally:
            os.close(info_r)
        self.pid = pid
        self.pidfd = os.pidfd_open(pid)
        if not insecure and isolation.check().cgroup:
            limits = limits or Limits()
            # the child's memory and processes, plus the idle zygote (torch is shared copy-on-write)
            self.cgroup = isolation.CGroup(limits.memory + 2 * OVERHEAD, limits.processes + 16)
            self.cgroup.add(pid)  # before it forks anything: every child is born in it
        self.sock = ours
        self.lock = threading.Lock()
        self.pids = {pid}  # the zygote's own processes (it forks once for itself): not a child's
        self._hello = False
        self._broken: str | None = None  # why the zygote could not start, once it said so
        try:
            ours.sendall(b"g")  # the go-ahead: the zygote forks nothing before it is in the cgroup
        except OSError:
            pass  # gone already: the first fork says why

    def fork(self, fds: list[int], spec: dict[str, Any]) -> int:
        """A new sandbox child with the given pipes (stdin side, result side, output); returns a pidfd for it."""
        with self.lock:
            if self._broken is not None:  # it said why once and then ended: every later fork is refused alike
                raise ChildGone(self._broken)
            try:
                if not self._hello:  # the zygote's first word: a pidfd for itself, or why it could not start
                    try:
                        me = self._answer()
                    except ChildGone as exc:
                        self._broken = str(exc)
                        raise
                    try:
                        self.pids.add(_host_pid(me))
                    finally:
                        os.close(me)
                    self._hello = True
                socket.send_fds(self.sock, [json.dumps(spec).encode()], fds)
                return self._answer()
            except (OSError, ValueError) as exc:
                raise ChildGone(f"the grading process could not start ({exc})") from None

    def _answer(self) -> int:
        """The zygote's answer: a pidfd, or ``ChildGone`` with its reason."""
        msg, got, _, _ = socket.recv_fds(self.sock, 4096, 1)
        if not got:
            reason = json.loads(msg or b"{}").get("error", "the zygote is gone")
            raise ChildGone(f"the grading process could not start ({reason})")
        return got[0]

    def close(self) -> None:
        """Kill the zygote and wait until it (and so every process of its namespace) is gone."""
        self.sock.close()
        try:
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            select.select([self.pidfd], [], [], 10)
        except OSError:
            pass
        os.close(self.pidfd)
        self.proc.kill()
        self.proc.wait()
        if self.cgroup is not None:
            self.cgroup.remove()
