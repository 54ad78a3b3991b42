"""A pre-warmed process that forks sandbox children: torch is imported once, not per submission.

Started by the trusted side (``sandbox.Zygote``) inside a bubblewrap sandbox of its own (no
secret, minimal environment, read-only view of the interpreter), it imports torch and the
child's code, then waits on a Unix socket. For each request (the child's pipes passed as file
descriptors, and a JSON spec) it forks, and the fork isolates itself before it becomes a
sandbox child (``child.main``):

- new user, mount, pid, ipc and uts namespaces (``unshare``), nested in the zygote's (whose network
  namespace, bwrap's, has only a loopback nobody listens on);
- it forks once more, so that the child is pid 1 of its own pid namespace: the parent kills it,
  and the kernel ends every process the student started;
- fresh tmpfs mounts on ``/tmp`` and ``/dev/shm`` (bounded) and a fresh ``/proc`` that shows
  only its own processes;
- no further user namespaces, and every capability dropped, before any student code runs.

The zygote answers with a pidfd for the child. Public code: it holds nothing secret.
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import signal
import socket
import sys
from typing import Any

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID = 0x10000000, 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 16384, 1 << 18
SYS_CAPSET = {"x86_64": 126, "aarch64": 91}
_LIBC = ctypes.CDLL(None, use_errno=True)


def serve(fd: int, isolate: bool = True) -> None:
    """Zygote main loop: fork a sandbox child per request, answer with a pidfd for it."""
    from . import child, seccomp

    child._die_with_parent()
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
    sock = socket.socket(fileno=fd)
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
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                os.close(report_r)
                _become_child(spec, fds, report_w, isolate)
            finally:
                os._exit(1)
        os.close(report_w)
        for f in fds:
            os.close(f)
        with os.fdopen(report_r, "rb") as report:
            answer = report.read()
        try:
            child_pid = int(answer) if answer else pid
            pidfd = os.pidfd_open(child_pid)
        except (ValueError, OSError) as exc:
            sock.sendall(json.dumps({"error": f"{answer[:200]!r}: {exc}"}).encode())
            continue
        socket.send_fds(sock, [b"{}"], [pidfd])
        os.close(pidfd)


def _check(result: int, what: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_LIBC.mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
                       data.encode() if data else None), f"mount {target}")


def _enter_namespaces(report_w: int) -> None:
    """In the fork: new namespaces, then fork again so that the child is pid 1 of its pid namespace.
    Returns in that child; the intermediate process reports the child's pid and exits."""
    uid, gid = os.getuid(), os.getgid()
    # No network namespace of its own: the zygote's (bwrap's) already has nothing but a loopback that no
    # process listens on, one child at a time uses it, and a new one costs about 3 ms a submission.
    _check(_LIBC.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    pid = os.fork()
    if pid:
        os.write(report_w, str(pid).encode())
        os.close(report_w)  # now: exiting would close it only after tearing down a torch-sized address space
        os._exit(0)
    os.close(report_w)


def _isolate_mounts(tmp_size: int) -> None:
    """Private tmpfs /tmp and /dev/shm, a /proc of its own pid namespace, then no way back up."""
    _mount("none", "/", None, MS_REC | MS_PRIVATE)
    opts = f"size={tmp_size},mode=1777"
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, opts)
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, opts)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    with open("/proc/sys/user/max_user_namespaces", "w") as f:  # the student makes no namespace of its own
        f.write("0")
    _drop_capabilities()


def _drop_capabilities() -> None:
    """Drop every capability this process holds in its user namespace (``capset`` to nothing)."""
    machine = os.uname().machine
    number = SYS_CAPSET.get(machine)
    if number is None:
        raise OSError(f"capset: unknown system call number on {machine}")
    cap = 0
    while _LIBC.prctl(24, cap, 0, 0, 0) == 0:  # PR_CAPBSET_DROP, until the kernel knows no more capabilities
        cap += 1
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
            _enter_namespaces(report_w)
        except OSError as exc:
            os.write(report_w, f"could not isolate: {exc}".encode())
            raise
        _isolate_mounts(int(spec["tmp_size"]))
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
    child.main(req_r, res_w, spec["memory"], spec["processes"], die_with_parent=not isolate)
