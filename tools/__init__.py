"""The kit's development tools, run from its checkout and never installed with the package.

    python -m tools.stats [ASSIGNMENT ...]     the statistical sweep of the graders (make stats)
    python -m tools.bench [ASSIGNMENT ...]     cold grading against torch's import and otter (make bench)
    python -m tools.bench.bulk                 a class of 100 notebooks (make bench-bulk)
    python -m tools.bench.memory               peak memory of a grading (make bench-memory)
    python -m tools.bench.compare REV          this checkout against an earlier commit (make bench-compare)

They read the repository (the bundled samples in ``tests/``, the notebooks of ``assignments/`` and
``solutions/``) through ``CHECKOUT``, and grade through the package's command line or its core.
"""
from __future__ import annotations

import sys
from pathlib import Path

import autograder  # noqa: F401 - first: it takes the working folder off sys.path (a grading process's rule)
from autograder import paths

ROOT = Path(__file__).resolve().parents[1]
CHECKOUT = paths.checkout(ROOT)

# The tools import one another, in this process and in the worker processes they spawn (which
# import them by name): the checkout goes back on sys.path, last, so that it shadows nothing.
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
