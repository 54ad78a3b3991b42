"""The hidden graders are plain pytest files: pytest runs them against one submission too,
with the same verdicts as the engine's runner."""
from __future__ import annotations

import subprocess
import sys

from autograder.samples import compose
from conftest import ROOT


def _pytest(submission) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "autograder/graders/test_access.py", "--submission", str(submission)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_pytest_passes_the_reference_and_fails_a_mistake(tmp_path):
    good = _pytest(compose("access", None, tmp_path / "good.ipynb"))
    assert good.returncode == 0 and "17 passed" in good.stdout, good.stdout[-2000:]
    bad = _pytest(compose("access", ROOT / "tests/submissions/access/cp_float.py", tmp_path / "bad.ipynb"))
    assert bad.returncode == 1, bad.stdout[-2000:]
    assert "2 failed, 15 passed" in bad.stdout and "must return an integer" in bad.stdout, bad.stdout[-2000:]
