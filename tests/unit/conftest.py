"""The unit layer stays fast: a test here that starts a process (a sandbox, the CLI, a fork) fails at once.

End-to-end tests, which start sandboxes and subprocesses, live in ``tests/`` beside this folder.
"""
from __future__ import annotations

import os
import subprocess
from typing import Any, NoReturn

import pytest


def _refuse(*args: Any, **kwargs: Any) -> NoReturn:
    raise AssertionError("a unit test starts no process: put it in tests/, beside tests/unit/")


@pytest.fixture(autouse=True)
def _no_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any subprocess, fork or spawn in a unit test is a mistake of layer: make it fail, not slow."""
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse)
    for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _refuse)
