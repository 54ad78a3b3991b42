# shared_names spreads its memory over processes, each under the per-process address-space limit,
# together past the sandbox's: the cgroup (or, without one, the watchdog's sum) must stop them all.
import os
import time


def shared_names(module):
    for _ in range(5):
        if os.fork() == 0:
            hoard = b"\x01" * (600 * 2**20)  # touched pages, not just reserved
            time.sleep(60)
            os._exit(len(hoard) and 0)
    time.sleep(60)
