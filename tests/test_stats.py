"""A CI-sized version of `make stats`: the init graders never fail the reference and never miss
a bundled mistake, across several secrets (the full sweep is `make stats`)."""
from __future__ import annotations

import inspect
import re
import subprocess
import sys

from conftest import ROOT


def test_statistical_sweep_small():
    run = subprocess.run([sys.executable, "-m", "tools.stats", "init", "--secrets", "4", "--wrong-secrets", "1",
                          "--laws", "30", "--jobs", "2", "--prefix", "ci"],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "observed false failures: 0 (reference: 0); observed misses: 0" in run.stdout, run.stdout[-2000:]
    assert "runs with grader errors: 0" in run.stdout, run.stdout[-2000:]


def test_statistical_rules_spend_at_most_1e_6_per_submission():
    """Every init rule that spends false-failure probability is counted: 7 rules × 1e-6 / 7 = 1e-6 per submission."""
    from autograder.engine import runner
    from autograder.graders import init_stats as st, test_init as t

    spending = []
    for rule in runner.rules("init"):
        source = inspect.getsource(rule.func)
        law = re.search(r'_weights_law\(student, rng, "(\w+)"\)', source)
        if "ALPHA" in source or (law and t.LAWS[law.group(1)].random):
            spending.append(rule.name)
    assert sorted(spending) == sorted(t.STATISTICAL)
    assert len(t.STATISTICAL) == st.STATISTICAL_RULES
    assert st.STATISTICAL_RULES * st.RULE_ALPHA <= st.SUBMISSION_ALPHA * (1 + 1e-12) and st.SUBMISSION_ALPHA <= 1e-6
