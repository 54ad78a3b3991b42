"""Parent side of the child process: start it with limits, talk to it with deadlines, kill it.

Isolation, in layers:
- a fresh interpreter per submission (``python -I``), in its own session and
  process group, in an empty temporary directory, with a minimal environment
  (no secret, no inherited variables);
- as root, an unprivileged uid of its own (so it can read neither the parent's
  environment nor the results folder, RLIMIT_NPROC counts only its processes,
  and every process it forks, even out of its process group, can be found and killed);
- rlimits set by the child before any student code runs (address space, processes,
  file size, open files, no core dumps);
- a watchdog thread here that adds up the memory of all the sandbox's processes
  and kills them all past the limit (a fork bomb of allocators is bounded too);
- wall-time deadlines on every read from the channel.
"""
from __future__ import annotations

import json
import os
import secrets
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

from . import channel

ROOT = Path(__file__).resolve().parents[2]  # the folder holding the autograder package
STUBS = Path(__file__).resolve().parent / "stubs"
UID_RANGE = (200_000, 400_000)  # default; AUTOGRADER_SANDBOX_UIDS="LO-HI" overrides (e.g. to avoid LDAP uids)
STARTUP_LIMIT = 60.0  # seconds for a fresh interpreter to import torch on a loaded machine


@dataclass(frozen=True)
class Limits:
    """Per-question limits for student code (settable from the CLI)."""

    time: float = 10.0  # wall seconds per question (and per cell)
    memory: int = 2 * 2**30  # bytes the student's code may add to Python with torch loaded
    processes: int = 64
    output: int = 2**20  # bytes of stdout+stderr recorded per question


class ChildGone(Exception):
    """The child died, or was killed; ``reason`` says why in the student's words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChildTimeout(Exception):
    """The child did not answer in time (it was killed)."""


def _proc_field(pid: int, name: str) -> str | None:
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
    """A process's proportional memory; its resident size where smaps is unreadable (a container
    without CAP_SYS_PTRACE), which over-counts shared pages but never misses a memory bomb."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    rss = _proc_field(pid, "VmRSS")
    return int(rss.split()[0]) * 1024 if rss else 0


def child_env(home: str) -> dict[str, str]:
    """The whole environment of a sandbox process: nothing inherited, no secret."""
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}


def uid_range() -> tuple[int, int]:
    """The uids sandboxes run as: one unused uid of this range per child."""
    value = os.environ.get("AUTOGRADER_SANDBOX_UIDS")
    if value:
        lo, hi = (int(x) for x in value.split("-"))
        if 0 < lo < hi:
            return lo, hi
    return UID_RANGE


def can_drop_privileges() -> bool:
    """Root, and the interpreter with its libraries readable by other users (not under /root)."""
    if os.geteuid() != 0:
        return False
    for path in {os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix), str(ROOT)}:
        p = Path(path)
        for part in [p, *p.parents]:
            try:
                if not part.stat().st_mode & 0o001:
                    return False
            except OSError:
                return False
    return True


class Sandbox:
    """One child process running one submission's code."""

    def __init__(self, limits: Limits, zygote: "Zygote | None" = None) -> None:
        self.limits = limits
        self.zygote = zygote
        self.proc: subprocess.Popen | None = None  # when spawned directly (cold); None when forked by a zygote
        self.pid: int | None = None
        self.uid: int | None = None
        self.tmp: str | None = None
        self.killed: str | None = None  # why the watchdog killed the child, if it did
        self._out = bytearray()
        self._out_total = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # ------------------------------------------------------------ start
    def start(self) -> "Sandbox":
        """Spawn the child; returns at once (the child imports torch in the background)."""
        self.tmp = tempfile.mkdtemp(prefix="autograder-")
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        env = child_env(self.tmp)
        user = {}
        processes = self.limits.processes
        os.chmod(self.tmp, 0o700)  # before the chown: changing another uid's folder would need CAP_FOWNER
        if can_drop_privileges():
            self.uid = self._free_uid()
            os.chown(self.tmp, self.uid, self.uid)
            user = {"user": self.uid, "group": self.uid, "extra_groups": []}
        elif processes > 0:
            # RLIMIT_NPROC counts all of this user's processes: leave room for the ones running now
            processes += self._count_user_tasks()
        if self.zygote is not None:
            out_r, out_w = os.pipe()
            self.pid = self.zygote.fork([req_r, res_w, out_w], {
                "tmp": self.tmp, "env": env, "uid": self.uid, "memory": self.limits.memory, "processes": processes})
            os.close(out_w)
            self.out_fd = out_r
        else:
            # the child enters its folder itself, after the uid change (root would need CAP_DAC_OVERRIDE)
            code = (f"import os, sys; os.chdir({self.tmp!r}); sys.path[:0] = [{str(STUBS)!r}, {str(ROOT)!r}]; "
                    f"from autograder.engine.child import main; "
                    f"main({req_r}, {res_w}, {self.limits.memory}, {processes})")
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-c", code], cwd="/", env=env, start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                pass_fds=(req_r, res_w), close_fds=True, **user)
            self.pid = self.proc.pid
            self.out_fd = self.proc.stdout.fileno()
        os.close(req_r)
        os.close(res_w)
        self.wfd, self.rfd = req_w, res_r
        self._ready = False
        threading.Thread(target=self._drain, daemon=True).start()
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    @staticmethod
    def _free_uid() -> int:
        lo, hi = uid_range()
        used = set()
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    used.add(os.stat(f"/proc/{p}").st_uid)
                except OSError:
                    pass
        while True:
            uid = secrets.randbelow(hi - lo) + lo
            if uid not in used:
                return uid

    @staticmethod
    def _count_user_tasks() -> int:
        me = str(os.getuid())
        total = 0
        for p in os.listdir("/proc"):
            if p.isdigit() and (_proc_field(int(p), "Uid") or "").split()[:1] == [me]:
                total += int(_proc_field(int(p), "Threads") or 1)
        return total

    # ------------------------------------------------------------ processes
    def processes(self) -> list[int]:
        """Every live process of the sandbox: by uid when it has its own, else by session."""
        if self.pid is None:
            return []
        pids = []
        for p in os.listdir("/proc"):
            if not p.isdigit():
                continue
            pid = int(p)
            if self.uid is not None:
                try:  # /proc/<pid> belongs to the process's effective uid: one stat, no parsing
                    if os.stat(f"/proc/{p}").st_uid == self.uid:
                        pids.append(pid)
                except OSError:
                    pass
            elif _session_of(pid) == self.pid:
                pids.append(pid)
        return pids

    def strays(self) -> bool:
        """Whether processes other than the child itself are alive in the sandbox (the student forked)."""
        return any(pid != self.pid for pid in self.processes())

    def _watch(self) -> None:
        budget = self.limits.memory + 512 * 2**20  # the limit plus Python and torch themselves
        while not self._stop.wait(0.1):
            if self.pid is None or not self.alive() and not self.processes():
                return
            used = sum(_pss(p) for p in self.processes())
            if used > budget:
                self.killed = f"used more than the memory limit ({self.limits.memory / 2**30:g} GiB)"
                self.kill()
                return

    def alive(self) -> bool:
        """Whether the child itself still runs (a zombie does not)."""
        if self.proc is not None:
            return self.proc.poll() is None
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False

    def _drain(self) -> None:
        fd = self.out_fd
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
    def send(self, header: dict, blobs: list[bytes] = ()) -> None:
        try:
            channel.write_frame(self.wfd, header, list(blobs))
        except OSError:
            raise ChildGone(self._death_reason()) from None

    def receive(self, deadline: float) -> tuple[dict, list[bytes]]:
        """Read one frame from the child by ``deadline`` (time.monotonic); kill it when late."""
        if not self._ready:
            self._ready = True
            header, _ = self._receive(time.monotonic() + STARTUP_LIMIT)
            if header.get("event") != "ready":
                self.kill()
                raise ChildGone("the grading process did not start")
        return self._receive(deadline)

    def _receive(self, deadline: float) -> tuple[dict, list[bytes]]:
        try:
            return channel.parse_frame(lambda n: self._read(n, deadline))
        except channel.ChannelError:
            self.kill()
            raise ChildGone("your code wrote garbage into the grader's channel") from None

    def _read(self, n: int, deadline: float) -> bytes:
        chunks, left = [], n
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0:
                self.kill()
                raise ChildTimeout()
            ready, _, _ = select.select([self.rfd], [], [], min(wait, 0.5))
            if not ready:
                continue
            try:
                chunk = os.read(self.rfd, min(left, 1 << 20))
            except OSError:
                chunk = b""
            if not chunk:
                self.kill()
                raise ChildGone(self._death_reason())
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _death_reason(self) -> str:
        if self.killed:
            return self.killed
        if self.proc is None:  # forked by a zygote: its exit status is not ours to read
            return "the process running your code exited or was killed"
        code = self.proc.wait(timeout=5)
        if code is not None and code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
            return f"the process running your code was killed by signal {name}"
        return f"the process running your code exited (exit status {code})"

    # ------------------------------------------------------------ end
    def kill(self) -> None:
        """Kill the child, its process group and every process of the sandbox uid."""
        if self.pid is None:
            return
        for _ in range(50):
            pids = self.processes()
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if self.proc is not None and self.proc.poll() is None:
                try:
                    self.proc.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
            if not self.alive() and not self.processes():
                break
            time.sleep(0.002)

    def close(self) -> None:
        """End the child for good and remove its directory."""
        self.kill()
        self._stop.set()
        own = [getattr(self, "wfd", None), getattr(self, "rfd", None)]
        if self.proc is None:  # a Popen's stdout is closed through its file object below
            own.append(getattr(self, "out_fd", None))
        for fd in own:
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Zygote:
    """A pre-warmed process that forks sandbox children (see ``zygote.py``): bulk grading pays
    for ``import torch`` once per worker instead of once per submission."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        code = (f"import sys; sys.path[:0] = [{str(STUBS)!r}, {str(ROOT)!r}]; "
                f"from autograder.engine.zygote import serve; serve({theirs.fileno()})")
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", code], cwd="/", env=child_env("/tmp"),
                                     stdin=subprocess.DEVNULL, pass_fds=(theirs.fileno(),), close_fds=True)
        theirs.close()
        self.sock = ours
        self.reader = ours.makefile("rb")
        self.lock = threading.Lock()

    def fork(self, fds: list[int], spec: dict) -> int:
        """A new sandbox child with the given pipes (stdin side, result side, output); returns its pid."""
        with self.lock:
            try:
                socket.send_fds(self.sock, [json.dumps(spec).encode()], fds)
                line = self.reader.readline()
                return int(json.loads(line)["pid"])
            except (OSError, ValueError, KeyError) as exc:
                raise ChildGone(f"the grading process could not start ({exc})") from None

    def close(self) -> None:
        self.sock.close()
        self.proc.kill()
        self.proc.wait()
