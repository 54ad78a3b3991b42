"""A pre-warmed process that forks sandbox children: torch is imported once, not per submission.

Started by the trusted side (``sandbox.Zygote``) inside a bubblewrap sandbox of its own (no
secret, minimal environment, read-only view of the interpreter), it imports torch and the
child's code, then waits on a Unix socket. For each request (the child's pipes passed as file
descriptors, and a JSON spec) it forks, and the fork isolates itself before it becomes a
sandbox child (``child.main``):

- the zygote enters a new pid namespace for its children (``unshare(CLONE_NEWPID)``) and forks once,
  so that the child is pid 1 of a pid namespace of its own: the parent kills it, and the kernel ends
  every process the student started. The zygote then returns to its own pid namespace (``setns``);
- the child enters new mount, ipc and uts namespaces (the network namespace is the zygote's, bwrap's,
  which has only a loopback nobody listens on);
- fresh tmpfs mounts on ``/tmp`` and ``/dev/shm`` (bounded) and a fresh ``/proc`` that shows
  only its own processes;
- every capability dropped, before any student code runs. No process in the zygote's sandbox can
  make a user namespace (bwrap's ``--disable-userns``), and the child's seccomp filter refuses
  ``unshare``, ``setns`` and namespace flags to ``clone``.

The zygote holds ``CAP_SYS_ADMIN`` (and ``CAP_SETPCAP``, to empty a child's bounding set) in its
sandbox's user namespace, given by bwrap, for these steps; no student code runs in it. One fork per
child, not two: the fork of a torch-sized process is the bulk of what starting a child costs.

The zygote answers with a pidfd for the child. Public code: it holds nothing secret.
"""
from __future__ import annotations

import ctypes
import errno
import gc
import json
import os
import signal
import socket
import sys
from typing import Any

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
ZYGOTE_PROCESSES = 2  # in the zygote's user namespace when it isolates: bwrap's pid 1, and the zygote proper
_LIBC = ctypes.CDLL(None, use_errno=True)


def serve(fd: int, isolate: bool = True) -> None:
    """Zygote main loop: fork a sandbox child per request, answer with a pidfd for it."""
    from . import child, seccomp

    child._die_with_parent()
    child.close_inherited({fd})  # what bwrap left open would reach every child (child.close_inherited)
    sock = socket.socket(fileno=fd)
    # The go-ahead comes once the worker's cgroup holds this process: what it forks from now on is born in it.
    if not sock.recv(1):
        return
    own_ns = -1
    try:
        if isolate:
            own_ns = _own_pid_namespace(sock)
        me = os.pidfd_open(os.getpid())
    except OSError as exc:
        sock.sendall(json.dumps({"error": f"could not isolate: {exc}"}).encode())
        return
    socket.send_fds(sock, [b"{}"], [me])  # the worker tells this process from the children it forks
    os.close(me)
    seccomp.prepare()  # built once here, installed by each child
    import torch  # noqa: F401 (the point of the zygote: imported once, shared copy-on-write)

    # What a submission's cells need besides torch (child.WARMERS) is warmed here the first time one
    # asks, and every later child has it, copy-on-write. Not before: each makes every fork slower
    # (torch._dynamo alone adds 70 MB that each fork maps copy-on-write), so a class that never plots never pays.
    warmed: set[str] = set()

    # Every object so far goes to the collector's permanent generation: a child's first full collection
    # would otherwise write to each one's header and copy the zygote's whole heap, page by page
    # (about 120 ms of every submission's cells, once per child).
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 65536, 3)
        except OSError:
            return
        if not msg:
            return
        spec = json.loads(msg)
        need = [w for w in spec.get("warmers", ()) if w in child.WARMERS and w not in warmed]
        if need:
            child.warm(need)
            warmed.update(need)
            gc.freeze()
        report_r, report_w = os.pipe()
        try:
            pid = _fork_into_pid_namespace(own_ns) if isolate else os.fork()
        except OSError as exc:
            os.close(report_r)
            os.close(report_w)
            for f in fds:
                os.close(f)
            sock.sendall(json.dumps({"error": f"could not isolate: {exc}"}).encode())
            continue
        if pid == 0:
            try:
                sock.close()
                os.close(report_r)
                if own_ns >= 0:
                    os.close(own_ns)
                _become_child(spec, fds, report_w, isolate)
            finally:
                os._exit(1)
        os.close(report_w)
        for f in fds:
            os.close(f)
        with os.fdopen(report_r, "rb") as report:
            answer = report.read()  # empty: the child closed it, isolated; else why it could not be
        try:
            if answer:
                raise OSError(answer[:200].decode(errors="replace"))
            pidfd = os.pidfd_open(pid)
        except OSError as exc:
            sock.sendall(json.dumps({"error": str(exc)}).encode())
            continue
        socket.send_fds(sock, [b"{}"], [pidfd])
        os.close(pidfd)


def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_LIBC.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


def _own_pid_namespace(sock: socket.socket) -> int:
    """Become pid 1 of a new pid namespace that this process's user namespace owns, and return an fd on it.

    Returning to one's own pid namespace after each child (``setns``) needs ``CAP_SYS_ADMIN`` in the
    user namespace that owns it, and bwrap's pid namespace belongs to an outer one (it nests a user
    namespace to map the uid and to disable further ones). The process started by bwrap stays behind,
    holding nothing, until the zygote ends."""
    _check(_LIBC.unshare(CLONE_NEWPID), "unshare")
    pid = os.fork()
    if pid:
        sock.close()
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        os._exit(os.waitstatus_to_exitcode(status) & 0x7F)
    return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


def _fork_into_pid_namespace(own_ns: int) -> int:
    """``os.fork()``, the child being pid 1 of a new pid namespace; the zygote stays in its own."""
    _check(_LIBC.unshare(CLONE_NEWPID), "unshare")
    try:
        pid = os.fork()
    except OSError:
        _LIBC.setns(own_ns, CLONE_NEWPID)  # no child: the next fork may try again from a clean state
        raise
    if pid and _LIBC.setns(own_ns, CLONE_NEWPID) != 0:
        # stuck: every later fork would join this child's namespace, so every later one fails instead
        error = OSError(ctypes.get_errno(), f"setns: {os.strerror(ctypes.get_errno())}")
        os.kill(pid, signal.SIGKILL)
        raise error
    return pid


def _isolate_mounts(tmp_size: int) -> None:
    """Private tmpfs /tmp and /dev/shm, a /proc of its own pid namespace, then no way back up."""
    _check(_LIBC.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    opts = f"size={tmp_size},mode=1777"
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts)
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opts)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    _drop_capabilities()


def _drop_capabilities() -> None:
    """Drop every capability this process holds: the bounding set, then ``capset`` to nothing."""
    machine = os.uname().machine
    number = SYS_CAPSET.get(machine)
    if number is None:
        raise OSError(f"capset: unknown system call number on {machine}")
    cap = 0
    while _LIBC.prctl(24, cap, 0, 0, 0) == 0:  # PR_CAPBSET_DROP, until the kernel knows no more capabilities
        cap += 1
    if ctypes.get_errno() != errno.EINVAL:  # EPERM: no CAP_SETPCAP, and the bounding set stays as it was
        _check(-1, f"drop capability {cap} from the bounding set")
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all zero, both words
    _check(_LIBC.syscall(number, header, data), "capset")
    _LIBC.prctl(47, 4, 0, 0, 0)  # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL
    _LIBC.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS (bwrap set it already; harmless twice)


def _become_child(spec: dict[str, Any], fds: list[int], report_w: int, isolate: bool) -> None:
    from . import child

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    req_r, res_w, out_w = fds
    # The worker's cgroup holds the zygote too: when the child's code fills it, the kernel's OOM killer
    # must pick the child (or a process it started), never the zygote. Raising one's own score needs
    # no privilege, and everything the child starts inherits it.
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    if isolate:
        try:
            _isolate_mounts(int(spec["tmp_size"]))
        except OSError as exc:
            os.write(report_w, f"could not isolate: {exc}".encode())
            raise
        os.close(report_w)
        os.setsid()
        os.chdir("/tmp")
    else:  # --insecure: a plain process in a session of its own, as a uid of its own when there is one
        os.close(report_w)
        os.setsid()
        uid = spec.get("uid")
        if uid is not None:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.chdir(spec["tmp"])  # after the uid change: the folder is the sandbox user's own
        os.environ.clear()
        os.environ.update(spec["env"])
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    for fd in (null, out_w):
        os.close(fd)
    import random

    random.seed()  # a fresh process would have its own seed
    sys.stdout.flush()
    processes = int(spec["processes"])
    if isolate and processes > 0:
        # RLIMIT_NPROC counts this uid's processes in the child's user namespace, the zygote's: its own
        # two (bwrap's pid 1 and the zygote proper) are not the student's to spend
        processes += ZYGOTE_PROCESSES
    child.main(req_r, res_w, spec["memory"], processes, die_with_parent=not isolate)
