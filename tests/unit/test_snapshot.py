"""Snapshots: the child's take of a module, decoded in the parent, and the names the graders read it by."""
from __future__ import annotations

import pytest
import torch

from autograder.engine import codec
from autograder.engine.snapshot import MissingName, Names, Snapshot, take
from autograder.engine.values import Refusal


class Tied(torch.nn.Module):
    """One Linear registered twice (so its parameters have two names each), a buffer, a lazy layer."""

    def __init__(self) -> None:
        super().__init__()
        self.first = torch.nn.Linear(2, 2)
        self.again = self.first
        self.last = torch.nn.Linear(2, 1, bias=False)
        self.register_buffer("stats", torch.arange(3.0))


def snapshot_of(module: torch.nn.Module) -> Snapshot:
    """What the parent reads: ``take`` in the child, ``Snapshot.decode`` in the parent."""
    enc = codec.Encoder()
    node = take(module, enc)
    return Snapshot.decode(node, enc.blobs)


def test_named_params_lists_every_name_of_every_parameter_in_order() -> None:
    snap = snapshot_of(Tied())
    assert [n for n, _ in snap.named_params] == ["first.weight", "first.bias", "again.weight", "again.bias",
                                                 "last.weight"]
    by_oid = {n: t.oid for n, t in snap.named_params}
    assert by_oid["first.weight"] == by_oid["again.weight"] != by_oid["first.bias"]


def test_distinct_params_gives_each_parameter_once_under_its_first_name() -> None:
    net = Tied()
    snap = snapshot_of(net)
    distinct = snap.distinct_params()
    assert isinstance(distinct, Names)
    assert list(distinct) == [n for n, _ in net.named_parameters()] == ["first.weight", "first.bias", "last.weight"]
    with pytest.raises(MissingName):
        distinct["again.weight"]  # a second name is not in it


def test_param_named_and_by_name_reach_a_parameter_under_any_of_its_names() -> None:
    net = Tied()
    snap = snapshot_of(net)
    again = snap.param_named("again.weight")
    assert again.oid == snap.param_named("first.weight").oid == snap.by_name()["again.weight"].oid
    assert torch.equal(again.data, net.first.weight.detach()) and again.is_parameter
    for lookup in (lambda: snap.param_named("nope"), lambda: snap.by_name()["nope"]):
        with pytest.raises(MissingName, match="no parameter named 'nope'") as missing:
            lookup()
        assert isinstance(missing.value, AssertionError) and isinstance(missing.value, KeyError)
        assert missing.value.name == "nope"


def test_groups_name_what_is_shared() -> None:
    snap = snapshot_of(Tied())
    assert snap.shared_groups() == [["first.weight", "again.weight"], ["first.bias", "again.bias"]]
    assert snap.module_groups() == [["first", "again"]]
    assert snapshot_of(torch.nn.Linear(2, 2)).shared_groups() == []


def test_buffers_state_dict_modules_and_mode() -> None:
    net = Tied().eval()
    snap = snapshot_of(net)
    assert [n for n, _ in snap.buffers] == ["stats"]
    assert torch.equal(snap.buffers[0][1].data, torch.arange(3.0)) and not snap.buffers[0][1].is_parameter
    assert snap.state_dict == list(net.state_dict())
    assert [n for n, _ in snap.modules] == ["", "first", "again", "last"]
    assert snap.modules[1][1].oid == snap.modules[2][1].oid and snap.modules[1][1].cls == "Linear"
    assert snap.cls == "Tied" and snap.training is False and snap.oid == snap.modules[0][1].oid


def test_a_lazy_parameter_is_named_without_values() -> None:
    snap = snapshot_of(torch.nn.LazyLinear(3))
    weight = snap.param_named("weight")
    assert weight.lazy and weight.shape is None and weight.data is None


def test_take_refuses_what_is_not_a_module() -> None:
    with pytest.raises(Refusal) as refused:  # coded: the parent words it in the student's language
        take([torch.zeros(1)], codec.Encoder())
    assert refused.value.code == "not_module" and refused.value.params == {"type": "list"}
    with pytest.raises(Refusal) as refused:
        take(None, codec.Encoder())
    assert refused.value.params == {"type": "None"}
