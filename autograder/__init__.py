"""Auto-graded exercises for d2l's "Parameter Management" section.

A submission flows one way: ``engine.loader`` reads it into code cells,
``engine.sandbox`` runs them in a limited child process, the graders in
``graders/`` (run by ``engine.runner`` in this trusted process) question the
child through the channel (``engine.framing``, ``engine.codec``), and ``engine.results`` writes what they found.

The sandboxed child imports this file too (``engine.isolation.CHILD_FILES``), so it imports nothing
of the kit: the assignments the kit knows are ``paths.assignments()``.
"""

from __future__ import annotations

import os
import sys


def _safe_sys_path(path: list[str], cwd: str | None) -> list[str]:
    """``path`` without the working folder: the cwd that ``python -m`` puts first (what ``-P``
    drops on Python 3.11+), ``''`` and every other relative entry (each names the cwd too).
    The trusted process must never import from a folder a submission or another user can write."""
    here = os.path.realpath(cwd) if cwd is not None else None
    return [entry for entry in path
            if isinstance(entry, str) and os.path.isabs(entry) and os.path.realpath(entry) != here]


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # the working folder is gone: nothing can be imported from it
        return None


# First of all, before this package imports anything: a student's ``statistics.py`` planted in
# a world-writable working folder must not shadow the standard library in the grading process.
sys.path[:] = _safe_sys_path(sys.path, _cwd())

# One BLAS/OpenMP thread in the grading processes, set before numpy or torch load: the graders'
# arithmetic is small, and a threaded BLAS call racing a fork() that starts a sandbox can hang
# or return a wrong sum.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__version__ = "0.1.0"

