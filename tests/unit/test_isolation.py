"""autograder.engine.isolation's helpers that need no sandbox (the isolation itself: tests/test_isolation.py)."""
from __future__ import annotations

from collections import namedtuple

import pytest

from autograder.engine import isolation

_Uids = namedtuple("_Uids", "real effective saved")


class _Proc:
    def __init__(self, uids: _Uids | None) -> None:
        self.info = {"uids": uids}


def test_free_uid_avoids_every_uid_a_process_runs_as(monkeypatch: pytest.MonkeyPatch) -> None:
    """psutil lists the processes; a uid in use as real, effective or saved uid is never handed out."""
    import psutil

    monkeypatch.setattr(isolation, "uid_range", lambda: (1000, 1004))
    procs = [_Proc(_Uids(1000, 0, 0)), _Proc(_Uids(0, 1001, 0)), _Proc(_Uids(0, 0, 1002)), _Proc(None)]
    monkeypatch.setattr(psutil, "process_iter", lambda attrs=None: iter(procs))
    assert {isolation.free_uid() for _ in range(20)} == {1003}
