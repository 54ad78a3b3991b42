"""The spec language (autograder/engine/specs.py): every kind and key builds what it says, the parent's and
the child's builds agree value for value, and a malformed spec is refused before anything is built."""
from __future__ import annotations

import inspect
import random
import re

import pytest
import torch

from autograder.engine import specs
from autograder.engine.specs import SpecError, build, check, linear


def _names(module: torch.nn.Module) -> list[str]:
    return [n for n, _ in module.named_parameters(remove_duplicate=False)]


# ------------------------------------------------------------------ every kind, every key


@pytest.mark.parametrize("spec,cls,shapes", [
    ({"k": "linear", "in": 3, "out": 4}, torch.nn.Linear, {"weight": (4, 3), "bias": (4,)}),
    ({"k": "linear", "in": 3, "out": 4, "bias": False}, torch.nn.Linear, {"weight": (4, 3)}),
    ({"k": "lazylinear", "out": 5, "bias": False}, torch.nn.LazyLinear, {}),
    ({"k": "relu"}, torch.nn.ReLU, {}),
    ({"k": "tanh"}, torch.nn.Tanh, {}),
    ({"k": "bn1d", "n": 6}, torch.nn.BatchNorm1d, {"weight": (6,), "bias": (6,)}),
    ({"k": "layernorm", "n": 6}, torch.nn.LayerNorm, {"weight": (6,), "bias": (6,)}),
    ({"k": "conv2d", "in": 2, "out": 3, "ks": 3}, torch.nn.Conv2d, {"weight": (3, 2, 3, 3), "bias": (3,)}),
    ({"k": "bilinear", "in1": 3, "in2": 4, "out": 5}, torch.nn.Bilinear, {"weight": (5, 3, 4), "bias": (5,)}),
])
def test_each_kind_builds_its_module(spec, cls, shapes):
    m = build(spec, 1)
    assert type(m) is cls
    assert {n: tuple(p.shape) for n, p in m.named_parameters() if not isinstance(p, torch.nn.UninitializedParameter)} \
        == shapes


def test_fixed_hidden_mlp_and_spy():
    mlp = build({"k": "fixed_hidden_mlp", "id": "f"}, 1)
    assert type(mlp).__name__ == "FixedHiddenMLP" and "rand_weight" not in dict(mlp.named_buffers())
    assert mlp.rand_weight.shape == (20, 20) and isinstance(mlp.linear, torch.nn.LazyLinear)
    spy = build({"k": "spy"})
    x = torch.ones(2, 3)
    assert spy(x) is x
    with torch.no_grad():
        spy(x)
    assert spy.grad_enabled == [True, False]


def test_dtype_and_frozen():
    m = build(linear(3, 2, dtype="float64", frozen=["bias"]), 1)
    assert m.weight.dtype == torch.float64 and m.weight.requires_grad and not m.bias.requires_grad
    n = build({"k": "bn1d", "n": 4, "dtype": "float64", "frozen": ["weight", "bias"]})
    assert n.weight.dtype == torch.float64 and not any(p.requires_grad for p in n.parameters())


def test_linear_is_the_one_way_to_write_a_linear():
    assert linear(3, 4) == {"k": "linear", "in": 3, "out": 4, "bias": True}
    assert linear(3, 4, bias=False, dtype="float64", id="S") == \
        {"k": "linear", "in": 3, "out": 4, "bias": False, "dtype": "float64", "id": "S"}


def test_seq_children_in_order_with_their_names():
    m = build({"k": "seq", "children": [["block 1", linear(2, 3)], ["act", {"k": "relu"}], ["0", linear(3, 1)]]}, 1)
    assert [n for n, _ in m.named_children()] == ["block 1", "act", "0"]
    assert build({"k": "seq"}).__class__ is torch.nn.Sequential  # children are optional


def test_custom_module_holds_every_part_and_runs_its_children_in_order():
    spec = {"k": "custom", "children": [["a", linear(2, 3)]],
            "lists": {"layers": [{"k": "relu"}, linear(3, 3)]},
            "dicts": {"heads": [["out", linear(3, 2)], ["act", {"k": "tanh"}]]},
            "params": {"scale": [2]}, "buffers": {"stats": [2]}, "tensors": {"mask": [2, 2]}, "dtype": "float64"}
    m = build(spec, 3)
    assert _names(m) == ["scale", "a.weight", "a.bias", "layers.1.weight", "layers.1.bias", "heads.out.weight",
                         "heads.out.bias"]
    assert [n for n, _ in m.named_buffers()] == ["stats"] and m.mask.shape == (2, 2) and "mask" not in m.state_dict()
    assert m.scale.dtype == torch.float64 and m.a.weight.dtype == torch.float32  # dtype is per spec, not inherited
    x = torch.randn(4, 2)
    want = torch.tanh(m.heads.out(m.layers[1](torch.relu(m.a(x)))))
    assert torch.equal(m(x), want)


def test_ref_registers_the_same_module_again():
    m = build({"k": "seq", "children": [["0", dict(linear(2, 2), id="S")], ["1", {"k": "ref", "id": "S"}]]}, 1)
    assert m[0] is m[1] and _names(m) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_materialize_runs_one_forward_in_the_top_specs_dtype():
    m = build({"k": "seq", "children": [["0", {"k": "lazylinear", "out": 3}]], "materialize": 5}, 1)
    assert m[0].weight.shape == (3, 5)
    lazy64 = build({"k": "lazylinear", "out": 2, "dtype": "float64", "materialize": 4}, 1)
    assert lazy64.weight.shape == (2, 4) and lazy64.weight.dtype == torch.float64


def test_a_seed_makes_values_reproducible():
    spec = {"k": "seq", "children": [["0", linear(4, 3)], ["1", {"k": "bn1d", "n": 3}]]}
    a, b, c = build(spec, 7), build(spec, 7), build(spec, 8)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(a[0].weight, c[0].weight)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("n_in,n_out,bias", [(1, 1, True), (3, 4, True), (20, 64, False), (7, 1000, True)])
def test_a_linear_spec_builds_what_nn_linear_builds_bit_for_bit(n_in, n_out, bias, dtype):
    """specs builds its Linears without nn.Linear's constructor (a fast path): the same object, the same values."""
    torch.default_generator.manual_seed(11)
    want = torch.nn.Linear(n_in, n_out, bias=bias, dtype=getattr(torch, dtype))
    after_want = torch.rand(3)
    got = build(linear(n_in, n_out, bias, dtype=dtype), 11)
    after_got = torch.rand(3)
    assert type(got) is torch.nn.Linear
    assert list(got.__dict__) == list(want.__dict__)
    assert {k: v for k, v in got.__dict__.items() if not k.startswith("_")} == \
           {k: v for k, v in want.__dict__.items() if not k.startswith("_")}
    assert list(got._parameters) == list(want._parameters) and repr(got) == repr(want)
    for name, p in want.named_parameters():
        q = got.get_parameter(name)
        assert type(q) is type(p) and q.dtype == p.dtype and q.requires_grad and q.is_leaf
        assert torch.equal(q, p), name
    assert torch.equal(after_got, after_want)  # as many draws from the generator, no more


def test_a_linear_spec_nn_linear_would_refuse_is_refused_alike():
    with pytest.raises(RuntimeError):
        torch.nn.Linear(-1, 2)
    with pytest.raises(RuntimeError):
        build(linear(-1, 2))


# ------------------------------------------------------------------ ties and zero, applied by build


def test_ties_put_one_parameter_into_two_modules():
    spec = {"k": "seq", "children": [["0", linear(3, 3)], ["1", {"k": "relu"}],
                                     ["inner", {"k": "seq", "children": [["0", linear(3, 3)]]}]],
            "ties": [[["inner", "0"], "weight", ["0", "weight"]]]}
    m = build(spec, 2)
    assert m.inner[0].weight is m[0].weight and m.inner[0] is not m[0]
    assert m.inner[0].bias is not m[0].bias
    assert _names(m) == ["0.weight", "0.bias", "inner.0.weight", "inner.0.bias"]
    again = build(spec, 2)  # the child's build and the parent's agree value for value
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), again.parameters(), strict=True))


def test_ties_come_after_materialize():
    spec = {"k": "seq", "children": [["0", {"k": "lazylinear", "out": 3}], ["1", {"k": "lazylinear", "out": 3}]],
            "materialize": 3, "ties": [[["1"], "weight", ["0", "weight"]]]}
    m = build(spec, 1)
    assert m[1].weight is m[0].weight and m[0].weight.shape == (3, 3)


def test_zero_sets_every_parameter_to_zero_and_keeps_them_distinct():
    spec = {"k": "seq", "children": [["0", linear(3, 3)], ["1", {"k": "bn1d", "n": 3}]], "zero": True}
    m = build(spec, 4)
    params = list(m.parameters())
    assert len(params) == 4 and all(torch.all(p == 0) and p.is_leaf and p.grad is None for p in params)
    assert len({id(p) for p in params}) == 4
    assert torch.all(m[1].running_var == 1)  # buffers are not parameters: left as built


def test_zoo_families_that_need_ties_and_zero_are_right_wherever_built():
    from autograder.graders import zoo

    rng = random.Random(5)
    tied = build(zoo.tied(rng), 1)
    groups: dict[int, list[str]] = {}
    for n, p in tied.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), []).append(n)
    assert sorted(len(g) for g in groups.values()) == [1, 1, 2]  # the tied weight, two biases
    equal = build(zoo.equal_values(rng), 1)
    assert all(torch.all(p == 0) for p in equal.parameters())


# ------------------------------------------------------------------ malformed specs are refused


@pytest.mark.parametrize("spec,message", [
    ({"k": "linear", "in": 3, "out": 4, "bais": True}, "unknown key 'bais'"),
    ({"k": "relu", "n": 3}, "unknown key 'n'"),
    ({"k": "seq", "children": [["0", linear(2, 2)]], "dtype": "float64"}, "unknown key 'dtype'"),
    ({"k": "ref", "id": "S", "frozen": ["weight"]}, "unknown key 'frozen'"),
    ({"k": "seq", "children": [["0", dict(linear(2, 2), zero=True)]]}, "'zero' belongs to the top-level spec"),
    ({"k": "seq", "children": [["0", dict(linear(2, 2), materialize=2)]]}, "'materialize' belongs to the top-level"),
    ({"k": "custom", "lists": {"l": [{"k": "relu", "ties": []}]}}, r"spec > l\[0\]: unknown key 'ties'"),
    ({"k": "custom", "dicts": {"d": [["x", {"k": "tanh", "bias": 1}]]}}, r"spec > d\['x'\]: unknown key 'bias'"),
    ({"k": "linear", "in": 3}, "needs 'out'"),
    ({"k": "conv2d", "in": 1, "out": 2}, "needs 'ks'"),
    ({"k": "ref"}, "needs 'id'"),
    ({"k": "lstm"}, "unknown module kind 'lstm'"),
    ({"in": 3, "out": 4}, "unknown module kind None"),
    (["linear", 3, 4], "a spec is a dict"),
    ({"k": "seq", "children": [["0", {"k": "ref", "id": "S"}], ["1", dict(linear(2, 2), id="S")]]},
     "ref 'S' names no module built before it"),
    ({"k": "seq", "children": [], "ties": [["0", "weight"]]}, "'ties' is a list of"),
])
def test_a_malformed_spec_is_refused_with_a_message(spec, message):
    with pytest.raises(SpecError, match=message):
        check(spec)
    with pytest.raises(SpecError, match=message):
        build(spec, 1)  # build checks first: nothing is built from a malformed spec


def test_spec_error_is_a_grader_error_not_a_students_failure():
    """The runner fails a rule for an AssertionError (the student's) and errors it for anything else: a
    malformed spec must be the latter, and Program.build refuses it in the parent, before the child runs."""
    from autograder.engine.student import Program

    assert issubclass(SpecError, ValueError) and not issubclass(SpecError, AssertionError)
    p = Program()
    with pytest.raises(SpecError, match="unknown key 'outs'"):
        p.build({"k": "linear", "in": 2, "outs": 3}, 1)
    assert p.steps == []
    p.build(linear(2, 3), 1)
    assert [s["op"] for s in p.steps] == ["build"]


def test_every_kind_is_checked():
    """A kind added to build without its keys in the checker (or the reverse) fails here."""
    built = set(re.findall(r'k == "(\w+)"', inspect.getsource(specs._build)))
    assert built == set(specs._KINDS) | {"ref"}
