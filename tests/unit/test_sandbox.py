"""The parent side of a child's channel, read from a file standing for the pipe (no process is started)."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from autograder.engine import framing
from autograder.engine.sandbox import READ_AHEAD, ChildGone, Limits, Sandbox


def _reading(data: bytes, tmp_path: Path) -> Sandbox:
    """A sandbox whose results channel holds ``data`` and then ends (as when the child is gone)."""
    (tmp_path / "channel").write_bytes(data)
    box = Sandbox(Limits())
    box.rfd = os.open(tmp_path / "channel", os.O_RDONLY)
    box.kill = lambda: None  # type: ignore[method-assign]  # no child behind this channel
    return box


def test_frames_read_ahead_are_kept_for_the_next_one(tmp_path: Path) -> None:
    blobs = [bytes([i]) * (i * 700) for i in range(1, 40)]  # a frame of many small blobs, then another
    data = framing.encode_frame({"event": "a"}, blobs) + framing.encode_frame({"event": "b"}, [b"tail"])
    box = _reading(data, tmp_path)
    deadline = time.monotonic() + 5
    assert box._receive(deadline) == ({"event": "a", "blobs": [len(b) for b in blobs]}, blobs)
    assert box._receive(deadline) == ({"event": "b", "blobs": [4]}, [b"tail"])
    assert not box._buf


def test_reading_ahead_is_bounded_and_a_closed_channel_is_the_childs_end(tmp_path: Path) -> None:
    box = _reading(b"x" * (3 * READ_AHEAD), tmp_path)
    box._death_reason = lambda: "gone"  # type: ignore[method-assign]
    assert box._read(10, time.monotonic() + 5) == b"x" * 10
    assert len(box._buf) <= READ_AHEAD  # never the whole pipe at once
    with pytest.raises(ChildGone, match="gone"):
        box._read(4 * READ_AHEAD, time.monotonic() + 5)


# ------------------------------------------------------------------ /proc through psutil

def test_pss_is_psutils_and_falls_back_to_the_resident_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The watchdog's memory reading comes from psutil: PSS, else (smaps unreadable) RSS, else 0."""
    import psutil

    from autograder.engine.sandbox import _pss

    assert _pss(os.getpid()) > 0

    def denied(self: psutil.Process) -> None:
        raise psutil.AccessDenied(self.pid)

    monkeypatch.setattr(psutil.Process, "memory_full_info", denied)
    monkeypatch.setattr(psutil.Process, "memory_info", lambda self: type("M", (), {"rss": 12345})())
    assert _pss(os.getpid()) == 12345
    assert _pss(2**22 + 12345) == 0  # no such process (beyond pid_max's default)
