# A top-level cell forges a "cell started" frame with a bogus index, then ends its process: a parent
# that believes the index skips the wrong cell and restarts the child forever. It must restart a few
# times at most and report it. Bounded even if the sandbox is broken: the cell counts its runs in a
# folder the test planted (a working sandbox cannot even see it) and stops after 15.
import fcntl
import json
import os
import stat
import struct

P = __HOSTILE__
runs = None
try:
    with open(os.path.join(P["counter"], "runs"), "a") as f:
        f.write("x")
    runs = os.path.getsize(os.path.join(P["counter"], "runs"))
except OSError:
    pass
if runs is None or runs <= 15:
    header = json.dumps({"event": "cell", "index": 123456, "blobs": []}).encode()
    for fd in range(3, 65):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                os.write(fd, struct.pack("<I", len(header)) + header)
        except OSError:
            pass
    os._exit(0)
