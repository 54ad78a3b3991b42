# A tied submission that takes all the CPU it can while a classmate is graded: 20 processes, each in
# a session of its own (no scheduler group holds them together) and named by the test's marker, spin
# from 1 s after the first cell started (all forked by then) until P["spin_seconds"] after it, and
# end by themselves. The two cells spin too, each just under its time limit, so that the spinning
# lasts through the classmate's grading; the second reaps the spinners (the questions find no process
# left behind, the child is not restarted and these cells do not run again) and measures how many
# CPUs the sandbox took on average. Its one answer, build_shared_mlp,
# is right only if that stayed within P["allowed_cpus"] (a CPU budget per sandbox); otherwise it
# raises and says how much it took. A classmate graded at the same time must keep full marks.
import os
import sys
import time

P = __HOSTILE__
started = time.monotonic()
SPIN = (f"import time\ntime.sleep(max(0.0, {started + 1.0} - time.monotonic()))\n"
        f"while time.monotonic() < {started + P['spin_seconds']}:\n    pass\n")
spinners = []
for _ in range(20):
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            os.execv(sys.executable, [sys.executable, "-c", SPIN, P["marker"] + "-spinner"])
        finally:
            os._exit(0)
    spinners.append(pid)
time.sleep(max(0.0, started + 1.0 - time.monotonic()))
spinning, cpu_before = time.monotonic(), os.times()
end = started + P["cell_seconds"]
while time.monotonic() < end:
    pass
# %%
end = time.monotonic() + P["cell_seconds"]
while time.monotonic() < end:
    pass
for pid in spinners:
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass
cpu_after = os.times()
cpus = sum(cpu_after[i] - cpu_before[i] for i in range(4)) / (time.monotonic() - spinning)
# %%
from torch import nn

if cpus > P["allowed_cpus"]:
    def build_shared_mlp(in_features=4, hidden=8, out_features=1):
        raise RuntimeError(f"this sandbox took {cpus:.2f} CPUs on average while spinning "
                           f"(its budget: {P['allowed_cpus']:.2f})")
else:
    def build_shared_mlp(in_features=4, hidden=8, out_features=1):
        shared = nn.Linear(hidden, hidden)
        return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                             nn.Linear(hidden, out_features))
