# count_parameters never returns and swallows every interruption (even BaseException).
import time


def count_parameters(module, trainable_only=False):
    while True:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
