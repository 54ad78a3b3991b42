"""Auto-graded exercises for d2l's "Parameter Management" section.

A submission flows one way: ``engine.loader`` reads it into code cells,
``engine.sandbox`` runs them in a limited child process, the graders in
``graders/`` (run by ``engine.runner`` in this trusted process) question the
child through ``engine.channel``, and ``engine.results`` writes what they found.
"""

__version__ = "0.1.0"
ASSIGNMENTS = ("access", "init", "tied")
