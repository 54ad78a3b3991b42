"""A CI-sized version of `make stats`: the init graders never fail the reference and never miss
a bundled mistake, across several secrets (the full sweep is `make stats`)."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_statistical_sweep_small():
    run = subprocess.run([sys.executable, "-m", "autograder.stats", "init", "--secrets", "4", "--wrong-secrets", "1",
                          "--laws", "30", "--jobs", "2", "--prefix", "ci"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "observed false failures: 0 (reference: 0); observed misses: 0" in run.stdout, run.stdout[-2000:]
