# Fill the temporary folders, 1.5 GiB each at most (and never more than half of what is free there):
# shared_names fills /dev/shm, count_parameters fills /tmp (and a little of /var/tmp), in files named
# by the test's marker. A sandbox must stop the writes (a bounded private tmpfs) or count them as
# memory (the question fails with a memory message); if all of it went through, the answer raises
# "FILLED". Either way nothing may remain on the machine after grading (the test looks, by marker).
import os

P = __HOSTILE__
TARGET = 3 * 2**29  # 1.5 GiB
CHUNK = b"\xa5" * (16 * 2**20)
PER_FILE = 3  # chunks: 48 MiB files, under the 64 MiB file-size limit
_outcome = {}


def _fill(folder, wanted, tag):
    try:
        st = os.statvfs(folder)
        room = st.f_bavail * st.f_frsize // 2
    except OSError as exc:
        return f"{folder}: {exc.strerror}"
    total, written, i = min(wanted, room), 0, 0
    try:
        while written < total:
            with open(os.path.join(folder, f"{P['marker']}-{tag}-{i}"), "wb") as f:
                for _ in range(PER_FILE):
                    if written >= total:
                        break
                    f.write(CHUNK)
                    written += len(CHUNK)
            i += 1
    except OSError as exc:
        return f"{folder}: stopped after {written >> 20} MiB ({exc.strerror})"
    if written >= TARGET:
        return f"FILLED {folder} with {written >> 20} MiB and nothing stopped it"
    return f"{folder}: wrote {written >> 20} MiB (all the room there was)"


def _once(key, jobs):
    if key not in _outcome:
        _outcome[key] = [_fill(*job) for job in jobs]
    filled = [o for o in _outcome[key] if o.startswith("FILLED")]
    if filled:
        raise RuntimeError("; ".join(filled))


def shared_names(module):
    _once("shm", [("/dev/shm", TARGET, "shm")])
    names = {}
    for name, param in module.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), []).append(name)
    return [group for group in names.values() if len(group) > 1]


def count_parameters(module, trainable_only=False):
    _once("tmp", [("/tmp", TARGET, "tmp"), ("/var/tmp", 2**28, "vartmp")])
    total = 0
    for name, param in module.named_parameters():
        if nn.parameter.is_lazy(param):
            raise ValueError(f"parameter {name!r} is not initialized yet")
        if param.requires_grad or not trainable_only:
            total += param.numel()
    return total
