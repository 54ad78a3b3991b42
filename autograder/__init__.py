"""Auto-graded exercises for d2l's "Parameter Management" section.

A submission flows one way: ``engine.loader`` reads it into code cells,
``engine.sandbox`` runs them in a limited child process, the graders in
``graders/`` (run by ``engine.runner`` in this trusted process) question the
child through ``engine.channel``, and ``engine.results`` writes what they found.
"""

import os

# One BLAS/OpenMP thread in the grading processes, set before numpy or torch load: the graders'
# arithmetic is small, and a threaded BLAS call racing a fork() that starts a sandbox can hang
# or return a wrong sum.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
ASSIGNMENTS = ("access", "init", "tied")
