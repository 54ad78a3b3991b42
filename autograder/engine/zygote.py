"""A pre-warmed process that forks sandbox children: torch is imported once, not per submission.

Started by the trusted side (``sandbox.Zygote``) with a minimal environment and
no secret, it imports torch and the child's code, then waits on a Unix socket.
For each request (the child's pipes passed as file descriptors, and a JSON spec)
it forks; the fork makes itself a new session, moves to its empty directory,
takes the minimal environment, drops to its own uid when there is one, and
becomes a sandbox child (``child.main``), which sets its own limits. Public code.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import sys


def serve(fd: int) -> None:
    """Zygote main loop: fork a sandbox child per request, answer with its pid."""
    from . import child

    child._die_with_parent()
    import torch  # the point of the zygote: imported once, shared copy-on-write

    # The first optimizer imports torch._dynamo (about a second): pay it here, not in a question.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)

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
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                _become_child(spec, fds)
            finally:
                os._exit(1)
        for f in fds:
            os.close(f)
        sock.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _become_child(spec: dict, fds: list[int]) -> None:
    from . import child

    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    req_r, res_w, out_w = fds
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(out_w, 2)
    for f in (null, out_w):
        os.close(f)
    os.environ.clear()
    os.environ.update(spec["env"])
    uid = spec.get("uid")
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    os.chdir(spec["tmp"])  # after the uid change: the folder is the sandbox user's own
    import random

    random.seed()  # a fresh process would have its own seed
    sys.stdout.flush()
    child.main(req_r, res_w, spec["memory"], spec["processes"])
