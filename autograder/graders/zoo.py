"""A randomized zoo of modules to probe ``access`` answers with (module specs, see engine/specs.py).

Every family is drawn from the test's ``rng``: sizes, names (with spaces too)
and which features appear change with the submission and the secret.
"""
from __future__ import annotations

import random
from typing import Any

from ..engine import specs
from .common import Case


def _name(rng: random.Random, i: int) -> str:
    return rng.choice([str(i), f"block {i}", f"layer_{i}", f"stage {i} a"])


def _linear(rng: random.Random, n_in: int, n_out: int, bias: bool | None = None) -> dict:
    """A Linear's spec; without ``bias``, it has one with probability 0.8."""
    return specs.linear(n_in, n_out, rng.random() < 0.8 if bias is None else bias)


def nested_seq(rng: random.Random) -> dict:
    """Sequential of Sequentials, with custom child names."""
    a, b, c, d = (rng.randint(2, 9) for _ in range(4))
    inner = {"k": "seq", "children": [["0", _linear(rng, a, b)], ["1", {"k": "relu"}], ["2", _linear(rng, b, c)]]}
    return {"k": "seq", "children": [[_name(rng, 0), inner], [_name(rng, 1), {"k": "tanh"}],
                                     [_name(rng, 2), _linear(rng, c, d)]]}


def custom_lists(rng: random.Random) -> dict:
    """A custom module with a ModuleList, a ModuleDict, its own parameter, a buffer and a plain tensor."""
    a, b, c = (rng.randint(2, 8) for _ in range(3))
    return {"k": "custom",
            "children": [[_name(rng, 0), _linear(rng, a, b)]],
            "lists": {"layers": [_linear(rng, b, b), {"k": "relu"}, _linear(rng, b, c)]},
            "dicts": {"heads": [["out", _linear(rng, c, c)], ["act", {"k": "tanh"}]]},
            "params": {"scale": [c]}, "buffers": {"stats": [c]}, "tensors": {"mask": [c, c]}}


def shared(rng: random.Random) -> dict:
    """A Linear registered at two indices, and a whole block registered under two names."""
    h = rng.randint(3, 8)
    block = {"k": "seq", "id": "blk", "children": [["0", _linear(rng, h, h, True)], ["1", {"k": "relu"}]]}
    return {"k": "seq", "children": [
        ["0", _linear(rng, rng.randint(2, 6), h)], ["1", {"k": "relu"}],
        ["2", dict(_linear(rng, h, h), id="S")], ["3", {"k": "relu"}], ["4", {"k": "ref", "id": "S"}],
        [_name(rng, 5), block], [_name(rng, 6), {"k": "ref", "id": "blk"}],
        ["7", _linear(rng, h, rng.randint(1, 4))]]}


def frozen(rng: random.Random) -> dict:
    """Some parameters with requires_grad=False."""
    a, b, c = (rng.randint(2, 9) for _ in range(3))
    first = dict(_linear(rng, a, b, True), frozen=[rng.choice(["weight", "bias"])])
    return {"k": "seq", "children": [["0", first], ["1", {"k": "relu"}],
                                     ["2", dict(_linear(rng, b, c, True), frozen=["weight", "bias"])]]}


def with_buffers(rng: random.Random) -> dict:
    """BatchNorm1d: parameters and buffers side by side."""
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    return {"k": "seq", "children": [["0", _linear(rng, a, b)], ["1", {"k": "bn1d", "n": b}], ["2", {"k": "relu"}]]}


def lazy(rng: random.Random, materialized: bool) -> dict:
    """Lazy layers, before their first forward or after it."""
    n_in, h = rng.randint(2, 9), rng.randint(2, 9)
    spec: dict[str, Any] = {"k": "seq", "children": [["0", {"k": "lazylinear", "out": h}], ["1", {"k": "relu"}],
                                     ["2", {"k": "lazylinear", "out": rng.randint(1, 5)}]]}
    if materialized:
        spec["materialize"] = n_in
    return spec


def partly_lazy(rng: random.Random) -> dict:
    """An initialized Linear followed by a LazyLinear that has not run yet: only some parameters are lazy."""
    a, h = rng.randint(2, 9), rng.randint(2, 9)
    return {"k": "seq", "children": [["0", _linear(rng, a, h)], ["1", {"k": "relu"}],
                                     [_name(rng, 2), {"k": "lazylinear", "out": rng.randint(1, 5)}]]}


def tied(rng: random.Random) -> dict:
    """One Parameter tied into two different Linear layers (``b.weight = a.weight``), no module shared
    (the spec's ``ties``, applied by ``specs.build`` in the child and in the parent alike)."""
    h = rng.randint(3, 8)
    inner = _name(rng, 2)
    return {"k": "seq", "children": [["0", _linear(rng, h, h, True)], ["1", {"k": "relu"}],
                                     [inner, {"k": "seq", "children": [["0", _linear(rng, h, h, True)]]}]],
            "ties": [[[inner, "0"], "weight", ["0", "weight"]]]}


def equal_values(rng: random.Random) -> dict:
    """Two distinct Linear(h, h) layers with every parameter zero (the spec's ``zero``), so distinct
    parameters have equal values (sharing is identity, not equal values)."""
    h = rng.randint(2, 8)
    return {"k": "seq", "children": [["0", _linear(rng, h, h, True)], ["1", {"k": "relu"}],
                                     [_name(rng, 2), _linear(rng, h, h, True)]], "zero": True}


def chimera(materialized: bool = True) -> dict:
    """d2l's chimera: Sequential(NestMLP(), LazyLinear(20), FixedHiddenMLP()), after a forward or before."""
    nest = {"k": "custom", "children": [
        ["net", {"k": "seq", "children": [["0", {"k": "lazylinear", "out": 64}], ["1", {"k": "relu"}],
                                          ["2", {"k": "lazylinear", "out": 32}], ["3", {"k": "relu"}]]}],
        ["linear", {"k": "lazylinear", "out": 16}]]}
    spec: dict[str, Any] = {"k": "seq", "children": [["0", nest], ["1", {"k": "lazylinear", "out": 20}],
                                     ["2", {"k": "fixed_hidden_mlp"}]]}
    if materialized:
        spec["materialize"] = 20
    return spec


def cases(rng: random.Random, *families) -> list[Case]:
    """One case per family (a spec builder taking rng, or a spec), each with its own seed."""
    out = []
    for fam in families:
        spec = fam(rng) if callable(fam) else fam
        out.append((spec, rng.getrandbits(31)))
    return out


def initialized(rng: random.Random) -> list[Case]:
    """Every family, all parameters initialized."""
    return cases(rng, nested_seq, custom_lists, shared, frozen, with_buffers,
                 lambda r: lazy(r, True), chimera())
