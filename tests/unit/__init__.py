"""The fast layer: unit tests of one module each (``test_<module>.py``), no sandbox, no subprocess;
``pytest tests/unit``."""
