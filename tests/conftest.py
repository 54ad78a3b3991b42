"""Shared fixtures: the kit's own interpreter, and grading through the real CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def grade_cli(assignment: str, paths: list, out: Path, *flags: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m autograder grade`` as a user would, in a subprocess."""
    cmd = [sys.executable, "-m", "autograder", "grade", assignment, *map(str, paths), "--out", str(out), "--quiet", *flags]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})


def load_gradebook(out: Path) -> dict:
    """The gradebook.json rows by submission name."""
    book = json.loads((out / "gradebook.json").read_text())
    return {row["submission"]: row for row in book["submissions"]}


@pytest.fixture(scope="session")
def cli():
    return grade_cli
