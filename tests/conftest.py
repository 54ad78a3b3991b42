"""Shared fixtures: the kit's own interpreter, grading through the real CLI, and the golden files.

Golden files (``tests/**/EXPECTED.json``) say what each bundled submission must score. They are
written in one format only (``golden_text``), never edited for layout by hand:
``pytest --update-goldens`` records what the tests observe (where a test knows how: see
``Goldens.update``) and rewrites every golden file in that format when the session ends.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
UPDATE_GOLDENS = "--update-goldens"


def grade_cli(assignment: str, paths: list, out: Path, *flags: str,
              env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m autograder grade`` as a user would, in a subprocess."""
    cmd = [sys.executable, "-m", "autograder", "grade", assignment, *map(str, paths), "--out", str(out), "--quiet",
           *flags]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, **(env or {})})


def load_gradebook(out: Path) -> dict:
    """The gradebook.json rows by submission name."""
    book = json.loads((out / "gradebook.json").read_text())
    return {row["submission"]: row for row in book["submissions"]}


@pytest.fixture(scope="session")
def cli():
    return grade_cli


# ------------------------------------------------------------------ golden files


def golden_text(data: Any) -> str:
    """The one format of every golden file: sorted keys (a stable order, whatever order entries were added
    in), 2-space indent, non-ASCII as is (Chinese hints stay readable), a final newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def golden_number(value: float) -> float:
    """A score as a golden file holds it: 2, not the 2.0 the gradebook may report (so an update that
    changes nothing writes nothing)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


class Goldens:
    """The session's golden files, each read once.

    Tests read them here (``GOLDENS[path]``), never from disk on their own, so that what one test
    records under ``--update-goldens`` is what the later tests of the session compare against.
    """

    def __init__(self) -> None:
        self.update = False  # set from --update-goldens by pytest_configure
        self._data: dict[Path, dict] = {}

    def __getitem__(self, path: Path) -> dict:
        path = Path(path).resolve()
        if path not in self._data:
            self._data[path] = json.loads(path.read_text(encoding="utf-8"))
        return self._data[path]

    def paths(self) -> list[Path]:
        """Every golden file: those under ``tests/`` and any other a test read."""
        return sorted({p.resolve() for p in (ROOT / "tests").rglob("EXPECTED.json")} | set(self._data))

    def write(self) -> list[Path]:
        """Rewrite every golden file in ``golden_text``'s format, with what tests recorded; the files changed."""
        changed = []
        for path in self.paths():
            text = golden_text(self[path])
            if path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                changed.append(path)
        return changed


GOLDENS = Goldens()
_rewritten: list[Path] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(UPDATE_GOLDENS, action="store_true", default=False,
                     help="record what the tests observe in the golden files (tests/**/EXPECTED.json) "
                          "and rewrite them all in their one format, instead of failing on a difference")


def pytest_configure(config: pytest.Config) -> None:
    GOLDENS.update = bool(config.getoption(UPDATE_GOLDENS, default=False))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # an interrupted session recorded only part of what it would have: keep the files as they were
    if GOLDENS.update and exitstatus != pytest.ExitCode.INTERRUPTED:
        _rewritten.extend(GOLDENS.write())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if GOLDENS.update:
        names = ", ".join(str(p.relative_to(ROOT)) for p in _rewritten) or "none changed"
        terminalreporter.write_line(f"{UPDATE_GOLDENS}: golden files rewritten: {names}")
