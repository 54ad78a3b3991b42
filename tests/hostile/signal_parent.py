# get_parameter is the reference answer, but first it attacks the processes grading it: every
# process it can see that belongs to this test's own grading run (the test process, the CLI, its
# workers and their zygotes, found by ancestry and command line). It attaches with ptrace (and
# detaches at once), sends SIGTERM then SIGKILL (only signal 0 to the test process itself).
# Anything that succeeds makes it raise; a grading process it killed shows in the gradebook.
# Processes outside the test's own run are never aimed at, even when the sandbox is broken.
import ctypes
import os
import signal

P = __HOSTILE__
_done = None


def _argv(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace").split("\0")
    except OSError:
        return []


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _in_test_run(pid):
    for _ in range(64):
        if pid == P["test_pid"]:
            return True
        if pid <= 1:
            return False
        pid = _ppid(pid)
    return False


def _is_grading(argv):
    for i, arg in enumerate(argv[:-1]):
        if arg == "-m" and (argv[i + 1] == "autograder" or argv[i + 1].startswith("autograder.")):
            return True
    return any("autograder.engine.zygote" in a or "autograder.grade" in a or "pytest" in a for a in argv)


def _attack():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    me = os.getpid()
    seen = set()
    pid = os.getppid()
    while pid > 1 and len(seen) < 64:
        seen.add(pid)
        pid = _ppid(pid)
    seen |= {int(p) for p in os.listdir("/proc") if p.isdigit()}
    targets = [p for p in sorted(seen) if p not in (me, 0, 1) and _in_test_run(p)
               and (p == P["test_pid"] or _is_grading(_argv(p)))]
    done = []
    for pid in targets:
        if pid == P["test_pid"]:
            continue
        if libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
            done.append(f"ptrace-attached to {pid}")
            try:
                os.waitpid(pid, 0x40000000)  # __WALL: until it stops
            except OSError:
                pass
            libc.ptrace(17, pid, None, None)  # PTRACE_DETACH: it runs on
    for pid in targets:
        for sig in ([0] if pid == P["test_pid"] else [signal.SIGTERM, signal.SIGKILL]):
            try:
                os.kill(pid, sig)
                done.append(f"sent signal {int(sig)} to {pid}")
            except OSError:
                pass
    return done


def get_parameter(module, name):
    global _done
    if _done is None:
        _done = _attack()
    if _done:
        raise RuntimeError("reached processes outside the sandbox: " + "; ".join(_done))
    params = dict(module.named_parameters(remove_duplicate=False))
    if name not in params:
        raise KeyError(f"{name!r} is not the name of a parameter")
    return params[name]
