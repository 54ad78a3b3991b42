# get_parameter writes a forged "cell started" frame with an index no cell has into the grader's
# channel (every pipe it may write to besides its stdout), then answers correctly. The frame makes
# no sense during a question: it costs get_parameter, and no other question.
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


def get_parameter(module, name):
    header = json.dumps({"event": "cell", "index": 987654321, "blobs": []}).encode()
    for fd in _channel_fds():
        try:
            os.write(fd, struct.pack("<I", len(header)) + header)
        except OSError:
            pass
    params = dict(module.named_parameters(remove_duplicate=False))
    if name not in params:
        raise KeyError(f"{name!r} is not the name of a parameter")
    return params[name]
