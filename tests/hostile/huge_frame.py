# count_parameters writes a forged frame into every pipe it may write to besides its stdout (the
# grader's channel is one of them): a header announcing a 512 MiB payload, then the payload itself.
# The parent must refuse the frame without allocating it; the question is lost, nothing else.
import fcntl
import json
import os
import stat
import struct


def _channel_fds():
    fds = []
    for fd in range(3, 65):
        try:
            flags, mode = fcntl.fcntl(fd, fcntl.F_GETFL), os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISFIFO(mode) and flags & os.O_ACCMODE == os.O_WRONLY:
            fds.append(fd)
    return fds


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def count_parameters(module, trainable_only=False):
    size = 512 * 2**20
    header = json.dumps({"event": "program_done", "status": "ok", "results": [], "blobs": [size]}).encode()
    block = b"\0" * 2**20
    for fd in _channel_fds():
        try:
            _write_all(fd, struct.pack("<I", len(header)) + header)
            for _ in range(size // len(block)):
                _write_all(fd, block)
        except OSError:
            pass
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
