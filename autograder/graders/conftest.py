"""Run a grader file with plain pytest against one submission:

    pytest autograder/graders/test_access.py --submission path/to/notebook.ipynb

It gives the tests the same fixtures the engine's runner does (``student``,
``rng``), with the same sandbox and the same per-question time budget.
"""
from __future__ import annotations

import random

import pytest


def pytest_addoption(parser):
    parser.addoption("--submission", action="store", default=None, help="the submission to grade")


def pytest_configure(config):
    config.addinivalue_line("markers", "question(name, points, visibility): contract question, points, visibility")


@pytest.fixture(scope="session")
def _student(request):
    from ..engine.loader import load
    from ..engine.sandbox import Limits
    from ..engine.student import Student

    path = request.config.getoption("--submission")
    if not path:
        pytest.skip("graders need --submission FILE")
    sub = load(path)
    student = Student(sub, Limits())
    student.start()
    yield student
    student.close()


@pytest.fixture
def student(_student, request):
    mark = request.node.get_closest_marker("question")
    _student.begin_question(mark.args[0])
    return _student


@pytest.fixture
def rng(_student, request):
    from ..engine.runner import seed_for

    return random.Random(seed_for(_student.submission.digest, request.node.originalname))
