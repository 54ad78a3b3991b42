"""Run a grader file with plain pytest against one submission:

    pytest autograder/graders/test_access.py --submission path/to/notebook.ipynb

It gives the tests the same fixtures the engine's runner does (``student``,
``rng``), with the same sandbox and the same per-question time budget, and the
same meaning to ``@pytest.mark.question(..., needs=...)``: a test that checks
an answer does no harm fails unless one of the earlier tests it names passed. (A grader
error, which the engine tells apart, is a plain failure with its traceback here.)
"""
from __future__ import annotations

import random

import pytest


def pytest_addoption(parser):
    """``--submission FILE``: the submission the graders grade."""
    parser.addoption("--submission", action="store", default=None, help="the submission to grade")


def pytest_configure(config):
    """Declare the ``question`` mark, and start recording each rule's outcome (for ``needs``)."""
    config.addinivalue_line("markers", "question(name, points, visibility, needs): contract question, points, "
                                       "visibility, and the earlier test this one needs to pass to count")
    config._grader_outcomes = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Record the rule's outcome, for the rules that need it."""
    report = (yield).get_result()
    if report.when == "call":
        item.config._grader_outcomes[item.originalname] = report.outcome


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item):
    """A rule marked needs=… fails (as in the engine's runner) when the rule it needs did not pass."""
    mark = item.get_closest_marker("question")
    needs = mark.kwargs.get("needs", ()) if mark else ()
    needs = (needs,) if isinstance(needs, str) else tuple(needs)
    if needs and not any(item.config._grader_outcomes.get(n) == "passed" for n in needs):
        from ..engine.runner import collect, needs_hint

        rule = next(r for r in collect(item.module) if r.name == item.originalname)
        raise AssertionError(needs_hint(rule))


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
    """The submission's ``Student``, its time budget started for this rule's question."""
    mark = request.node.get_closest_marker("question")
    _student.begin_question(mark.args[0])
    return _student


@pytest.fixture
def rng(_student, request):
    """The rule's ``random.Random``, seeded as the engine's runner seeds it."""
    from ..engine.runner import seed_for

    return random.Random(seed_for(_student.submission.digest, request.node.originalname))
