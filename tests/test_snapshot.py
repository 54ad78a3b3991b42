"""A snapshot is the child's word: a name it leaves out fails the rule, it never becomes a grader error
(which would keep the rule's points)."""
from __future__ import annotations

import pytest

from autograder.engine import runner
from autograder.engine.snapshot import Snapshot
from autograder.engine.values import ModuleRef, TensorRef


def _snapshot(names: list[str]) -> Snapshot:
    params = [(n, TensorRef(oid=i, cls="Parameter", dtype="float32", shape=(1,), requires_grad=True, is_leaf=True,
                            grad_fn=None, is_parameter=True, lazy=False)) for i, n in enumerate(names)]
    return Snapshot(oid=100, cls="Sequential", named_params=params, buffers=[], state_dict=list(names),
                    modules=[("", ModuleRef(oid=100, cls="Sequential"))], training=True)


def test_a_missing_name_is_an_assertion_and_a_key_error():
    snap = _snapshot(["0.weight"])
    assert snap.by_name()["0.weight"].oid == 0
    for lookup in (lambda: snap.by_name()["1.weight"], lambda: snap.param_named("1.weight")):
        with pytest.raises(AssertionError, match="no parameter named '1.weight'"):
            lookup()
        with pytest.raises(KeyError):
            lookup()


def test_a_rule_reading_a_name_the_child_left_out_fails_and_scores_nothing():
    def test_reads_both(student):
        """reads both layers' weights"""
        w = _snapshot(["0.weight"]).by_name()
        assert w["0.weight"] is not None and w["1.weight"] is not None

    rule = runner.Rule(name="test_reads_both", question="q", points=1.0, visibility="visible",
                       func=test_reads_both, doc="reads both layers' weights")
    result = runner.run_rule(rule, student=None, digest="0" * 64, key=b"k")
    assert result.outcome == "failed" and result.score == 0.0, (result.outcome, result.error)
    assert "1.weight" in result.hint
