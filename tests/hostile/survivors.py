# build_rgnet answers correctly, but first (once) it leaves processes meant to outlive grading, each
# in a session of its own after a double fork, each named by the test's marker: a Python that ignores
# SIGTERM, SIGHUP and SIGINT; `sleep`; and a setuid-root helper (passwd, else su) blocked reading a
# pipe it holds itself, so that its /proc entry belongs to root. Bounded even if the sandbox is
# broken: each ends within 120 s by itself (an alarm survives exec), and the test kills leftovers.
import os
import signal
import sys

P = __HOSTILE__
_spawned = False
IGNORED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def _detached(run):
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        for sig in IGNORED:
            signal.signal(sig, signal.SIG_IGN)
        signal.alarm(120)
        run()
    finally:
        os._exit(0)


def _python():
    code = "import signal, time\nfor s in (1, 2, 15): signal.signal(s, signal.SIG_IGN)\ntime.sleep(120)"
    os.execve(sys.executable, [sys.executable, "-c", code, P["marker"] + "-python"], {"SURVIVOR": P["marker"]})


def _sleep():
    os.execve("/usr/bin/sleep", [P["marker"] + "-sleep", "120"], {"SURVIVOR": P["marker"]})


def _setuid(helper):
    def run():
        r, w = os.pipe()
        os.dup2(r, 0)
        os.set_inheritable(w, True)  # it holds the pipe's other end itself: no EOF ever comes
        os.execve(helper, [P["marker"] + "-setuid"], {"SURVIVOR": P["marker"]})
    return run


def _spawn():
    _detached(_python)
    _detached(_sleep)
    for helper in ("/usr/bin/passwd", "/usr/bin/su", "/bin/su"):
        try:
            if os.stat(helper).st_mode & 0o4000:
                _detached(_setuid(helper))
                break
        except OSError:
            pass


def build_rgnet():
    global _spawned
    if not _spawned:
        _spawned = True
        _spawn()
    return nn.Sequential(block2(), nn.Linear(4, 1))
