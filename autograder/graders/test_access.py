"""Hidden graders for the `access` assignment (parameter access), one test per contract rule.

Each test probes the student's answer on a randomized zoo of modules (see
zoo.py), computes the right answer itself on its own copy of each module, and
fails with a hint that names the mistake without showing expected values.
"""
from __future__ import annotations

import pytest
import torch

from ..engine.student import Program
from ..engine.values import Raised, TensorRef
from ..i18n import _
from . import behaviour, zoo
from .checks import close
from .common import build, call_each, describe, is_int, raised, raises_where_due

# ------------------------------------------------------------------ param_shapes


def _check_shapes(got, module: torch.nn.Module) -> None:
    want = {n: tuple(p.shape) for n, p in module.named_parameters()}
    assert isinstance(got, dict), _("param_shapes must return a dict, not {kind}").format(kind=describe(got))
    all_names = [n for n, _ in module.named_parameters(remove_duplicate=False)]
    buffers = {n for n, _ in module.named_buffers()}
    extra = [k for k in got if k not in want]
    missing = [k for k in want if k not in got]
    if any(k in buffers for k in extra):
        raise AssertionError(_("param_shapes listed a buffer (e.g. BatchNorm's running_mean): only "
                               "parameters belong in it"))
    if any(k in all_names for k in extra):
        raise AssertionError(_("param_shapes listed a shared parameter more than once: it appears "
                               "once, under its first name"))
    if any(not module.get_parameter(k).requires_grad for k in missing):
        raise AssertionError(_("param_shapes left out parameters with requires_grad=False: every "
                               "parameter counts"))
    assert not extra and not missing, (_("param_shapes must have exactly the names named_parameters() "
                                         "yields ({n_missing} missing, {n_extra} unexpected)").format(
                                           n_missing=len(missing), n_extra=len(extra)))
    assert list(got) == list(want), _("param_shapes must list the parameters in named_parameters() "
                                      "order")
    for name, shape in got.items():
        assert isinstance(shape, tuple) and all(is_int(s) for s in shape), (
            _("the shape of {name!r} must be a tuple of ints (torch.Size is fine), not {kind}").format(
                name=name, kind=describe(shape)))
        assert shape == want[name], _("the shape given for {name!r} is not its parameter's shape").format(name=name)


@pytest.mark.question("param_shapes", points=1)
def test_param_shapes_every_parameter_in_order(student, rng):
    """every parameter of nested modules, in order, shape as a tuple"""
    cases = zoo.cases(rng, zoo.nested_seq, zoo.custom_lists, lambda r: zoo.lazy(r, True), zoo.chimera())
    for case, got in zip(cases, call_each(student, "param_shapes", cases), strict=True):
        _check_shapes(got, build(case))


@pytest.mark.question("param_shapes", points=1)
def test_param_shapes_shared_once_frozen_included_buffers_excluded(student, rng):
    """a shared parameter once under its first name; frozen parameters in; buffers out"""
    cases = zoo.cases(rng, zoo.shared, zoo.frozen, zoo.with_buffers)
    for case, got in zip(cases, call_each(student, "param_shapes", cases), strict=True):
        _check_shapes(got, build(case))


@pytest.mark.question("param_shapes", points=1)
def test_param_shapes_raises_value_error_while_uninitialized(student, rng):
    """ValueError while a lazy parameter is uninitialized"""
    cases = zoo.cases(rng, lambda r: zoo.lazy(r, False), zoo.partly_lazy, zoo.chimera(materialized=False))
    due, fine = raises_where_due(student, "param_shapes", cases, zoo.cases(rng, zoo.nested_seq))
    assert not any(raised(got, "ValueError") for got in fine), (
        _("param_shapes raised ValueError for a module whose parameters are all initialized: raise it only "
          "while a parameter is uninitialized"))
    for got in due:
        assert isinstance(got, Raised), (_("param_shapes must raise ValueError while any parameter is "
                                           "uninitialized (a lazy module before its first forward, "
                                           "even if other layers are initialized)"))
        assert got.is_a("ValueError"), (_("param_shapes raised {type} for an uninitialized (lazy) "
                                          "parameter: it must raise ValueError").format(type=got.type))


# ------------------------------------------------------------------ count_parameters


def _count(module: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _check_count(got, module: torch.nn.Module, trainable_only: bool) -> None:
    assert is_int(got), _("count_parameters must return an integer, not {kind}").format(kind=describe(got))
    want = _count(module, trainable_only)
    if got == want:
        return
    everything = sum(p.numel() for _, p in module.named_parameters(remove_duplicate=False)
                     if p.requires_grad or not trainable_only)
    with_buffers = want + sum(b.numel() for b in module.buffers())
    state = sum(t.numel() for t in module.state_dict(keep_vars=True).values()
                if not trainable_only or t.requires_grad)
    if got == state and state != want:
        raise AssertionError(_("count_parameters counted what state_dict() holds: buffers (not "
                               "parameters) and a shared parameter once per name; count each tensor of "
                               "module.parameters() once"))
    if got == everything and everything != want:
        raise AssertionError(_("count_parameters counted a shared parameter once per name: count each "
                               "tensor once"))
    if got == with_buffers and with_buffers != want:
        raise AssertionError(_("count_parameters counted buffers too: only parameters count"))
    if trainable_only and got == _count(module):
        raise AssertionError(_("count_parameters(m, trainable_only=True) counted frozen parameters "
                               "(requires_grad=False)"))
    if not trainable_only and got == _count(module, True):
        raise AssertionError(_("count_parameters(m) left out frozen parameters: by default every "
                               "parameter counts"))
    raise AssertionError(_("count_parameters gave a wrong number of scalars for a module"))


@pytest.mark.question("count_parameters", points=1)
def test_count_parameters_counts_every_scalar_once(student, rng):
    """the number of scalars, a shared parameter counted once, buffers not counted"""
    cases = zoo.initialized(rng)
    for case, got in zip(cases, call_each(student, "count_parameters", cases), strict=True):
        _check_count(got, build(case), False)


@pytest.mark.question("count_parameters", points=1)
def test_count_parameters_trainable_only(student, rng):
    """trainable_only=True counts only parameters with requires_grad=True"""
    cases = zoo.cases(rng, zoo.frozen, zoo.shared, zoo.with_buffers, zoo.frozen)
    for case, got in zip(cases, call_each(student, "count_parameters", cases, trainable_only=True), strict=True):
        _check_count(got, build(case), True)


@pytest.mark.question("count_parameters", points=1)
def test_count_parameters_raises_value_error_while_uninitialized(student, rng):
    """ValueError while a lazy parameter is uninitialized"""
    cases = zoo.cases(rng, lambda r: zoo.lazy(r, False), zoo.partly_lazy)
    due, fine = raises_where_due(student, "count_parameters", cases, zoo.cases(rng, zoo.nested_seq))
    assert not any(raised(got, "ValueError") for got in fine), (
        _("count_parameters raised ValueError for a module whose parameters are all initialized: raise it "
          "only while a parameter is uninitialized"))
    for got in due:
        assert isinstance(got, Raised) and got.is_a("ValueError"), (
            _("count_parameters must raise ValueError while any parameter is uninitialized (a lazy "
              "module before its first forward, even if other layers are initialized)")
            + (_(" (it raised {type})").format(type=got.type) if isinstance(got, Raised) else ""))


# ------------------------------------------------------------------ get_parameter


def _get_all(student, cases, names_of):
    """Call get_parameter for many names on each case; return (snapshot, [(name, result)]) per case."""
    p = Program()
    plan = []
    for case in cases:
        m = p.build(*case)
        names = names_of(build(case))
        outs = [p.ret(p.call("get_parameter", m, n, catch=True)) for n in names]
        plan.append((p.snapshot(m), list(zip(names, outs, strict=True))))
    result = student.run(p, "get_parameter(...)")
    return [(result[snap], [(n, result[o]) for n, o in pairs]) for snap, pairs in plan]


@pytest.mark.question("get_parameter", points=1)
def test_get_parameter_returns_the_registered_object_for_every_name(student, rng):
    """the very Parameter registered under each dotted name, later names of a shared one included"""
    cases = zoo.cases(rng, zoo.shared, zoo.custom_lists, zoo.nested_seq, zoo.chimera())
    def all_names(m):
        return [n for n, _ in m.named_parameters(remove_duplicate=False)]

    for snap, pairs in _get_all(student, cases, all_names):
        first = {t.oid: n for n, t in reversed(snap.named_params)}
        reported = dict(snap.named_params)
        for name, got in pairs:
            assert name in reported, (_("get_parameter changed the module: {name!r} is no longer one "
                                        "of its parameters (get_parameter must only look the parameter "
                                        "up)").format(name=name))
            want = reported[name]
            if isinstance(got, Raised):
                later = first.get(want.oid) != name
                raise AssertionError(_("get_parameter(module, {name!r}) raised {type}").format(
                                         name=name, type=got.type)
                                     + (_(": every name of a shared parameter must resolve, not only "
                                          "the first")
                                        if later else ""))
            assert isinstance(got, TensorRef) and got.is_parameter, (
                _("get_parameter(module, {name!r}) must return the nn.Parameter itself, not {kind}").format(
                    name=name, kind=describe(got)))
            assert got.oid == want.oid, (_("get_parameter(module, {name!r}) returned a different "
                                           "object (a copy?): return the very Parameter registered "
                                           "under that name").format(name=name))
    # oids are the child's word: confirm identity by behaviour (a change through the result reaches the module)
    behaviour.confirm_get_parameter(student, rng, cases)


@pytest.mark.question("get_parameter", points=1)
def test_get_parameter_key_error_for_non_parameters(student, rng):
    """KeyError for an unknown name, a buffer, or a submodule"""
    cases = zoo.cases(rng, zoo.with_buffers, zoo.custom_lists, zoo.nested_seq)

    def plain_tensors(m):
        return [f"{prefix}.{k}".lstrip(".") for prefix, sub in m.named_modules() for k, v in vars(sub).items()
                if isinstance(v, torch.Tensor) and not k.startswith("_")]

    def bad_names(m):
        buffers = [n for n, _ in m.named_buffers()]
        modules = [n for n, _ in m.named_modules() if n]
        params = [n for n, _ in m.named_parameters()]
        unknown = [params[0] + "x", "weight", params[0].rsplit(".", 1)[0] + ".gamma", ""]
        return buffers[:2] + modules[:2] + plain_tensors(m)[:1] + unknown + params[-1:]  # last: a real name

    for case, (snap, pairs) in zip(cases, _get_all(student, cases, bad_names), strict=True):
        buffers = {n for n, _ in snap.buffers}
        modules = {n for n, _ in snap.modules}
        plain = set(plain_tensors(build(case)))
        (real, answer), pairs = pairs[-1], pairs[:-1]
        assert not raised(answer, "KeyError"), (
            _("get_parameter(module, {name!r}) raised KeyError for a parameter's own name: raise it only for a "
              "name that is not a parameter").format(name=real))
        for name, got in pairs:
            kind = (_("a buffer") if name in buffers else _("a submodule") if name in modules
                    else _("a plain tensor attribute") if name in plain else _("not a name in the module"))
            assert isinstance(got, Raised), (_("get_parameter(module, {name!r}) must raise KeyError: "
                                               "{name!r} is {kind} (it returned {value})").format(
                                                 name=name, kind=kind,
                                                 value=_('None') if got is None else describe(got)))
            assert got.is_a("KeyError"), (_("get_parameter(module, {name!r}) raised {type}; it must "
                                            "raise KeyError ({name!r} is {kind})").format(
                                              name=name, type=got.type, kind=kind))


# ------------------------------------------------------------------ build_rgnet

RGNET_NAMES = ([f"0.block {b}.{i}.{w}" for b in range(4) for i in (0, 2) for w in ("weight", "bias")]
               + ["1.weight", "1.bias"])


def block2_ref() -> torch.nn.Sequential:
    """The parent's rgnet body (d2l's block2 of block1s), for the contract's names and shapes."""
    net = torch.nn.Sequential()
    for i in range(4):
        net.add_module(f"block {i}", torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
                                                         torch.nn.Linear(8, 4), torch.nn.ReLU()))
    return net


def _rgnet(student, rng):
    p = Program()
    net = p.call("build_rgnet")
    x = torch.randn(rng.randint(2, 6), 4, generator=torch.Generator().manual_seed(rng.getrandbits(31)))
    snap = p.snapshot(net)
    out = p.ret(p.call(net, x, no_grad=True, catch=True))
    result = student.run(p, "build_rgnet()")
    return result[snap], x, result[out]


RGNET_SHAPES = [(8, 4), (8,), (4, 8), (4,)] * 4 + [(1, 4), (1,)]  # rgnet's parameters' shapes, in RGNET_NAMES' order


def _rgnet_values(snap) -> dict[str, torch.Tensor] | None:
    """rgnet's parameter values by its names, from the student's net: under rgnet's names, or (other child
    names cost only the names rule) by position when the net holds rgnet's 18 shapes in rgnet's order; None
    when the net does not hold rgnet's parameters at all."""
    named = list(snap.named_params)
    values = dict(named)
    if all(n in values for n in RGNET_NAMES):
        return {n: values[n].data for n in RGNET_NAMES}
    if [tuple(t.shape or ()) for _, t in named] == RGNET_SHAPES:
        return {n: t.data for n, (_, t) in zip(RGNET_NAMES, named, strict=True)}
    return None


def _rgnet_forward(values: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    h = x
    for b in range(4):
        h = torch.relu(h @ values[f"0.block {b}.0.weight"].T + values[f"0.block {b}.0.bias"])
        h = torch.relu(h @ values[f"0.block {b}.2.weight"].T + values[f"0.block {b}.2.bias"])
    return h @ values["1.weight"].T + values["1.bias"]


@pytest.mark.question("build_rgnet", points=1)
def test_build_rgnet_structure_and_names(student, rng):
    """Sequential(block2(), Linear(4, 1)) with children 'block 0'…'block 3' and exactly rgnet's names"""
    snap, _unused, _unused = _rgnet(student, rng)
    modules = dict(snap.modules)
    names = [n for n, _ in snap.named_params]
    for b in range(4):
        assert f"0.block {b}" in modules, (_("block2() must register its children as 'block 0' … "
                                             "'block 3' (add_module(f'block {{i}}', block1())); 'block "
                                             "{b}' is missing").format(b=b))
        for i, cls in enumerate(["Linear", "ReLU", "Linear", "ReLU"]):
            got = modules.get(f"0.block {b}.{i}")
            assert got is not None and got.cls == cls, (
                _("each block is Sequential(Linear(4, 8), ReLU(), Linear(8, 4), ReLU()); child {i} of "
                  "'block {b}' is {value}").format(i=i, b=b, value=got.cls if got else _('missing')))
    assert modules.get("1") is not None and modules["1"].cls == "Linear", _("rgnet's second child is nn.Linear(4, 1)")
    assert sorted(names) == sorted(RGNET_NAMES), (_("the parameter names must be exactly those of "
                                                    "Sequential(block2(), Linear(4, 1)) (e.g. '0.block "
                                                    "0.0.weight')"))
    assert names == RGNET_NAMES, _("the parameters must come in rgnet's order: block 0 … block 3, then "
                                   "the output layer")
    for name, t in snap.named_params:
        layer = name.split(".")[-2]
        want = {"0": (8, 4), "2": (4, 8)}.get(layer, (1, 4)) if name.endswith("weight") else \
            {"0": (8,), "2": (4,)}.get(layer, (1,))
        assert t.shape == want, _("{name} has the wrong shape: blocks are Linear(4, 8) then Linear(8, "
                                  "4), output Linear(4, 1)").format(name=name)
    # the names are the child's word: confirm them by writing through each and by the forward
    ref = torch.nn.Sequential(block2_ref(), torch.nn.Linear(4, 1))  # one copy, not one per name
    shapes = [(n, tuple(ref.get_parameter(n).shape), torch.float32) for n in RGNET_NAMES]
    x = torch.randn(rng.randint(2, 6), 4, generator=torch.Generator().manual_seed(rng.getrandbits(31)))
    behaviour.confirm_names(student, rng, lambda p: p.call("build_rgnet"), shapes, x, "build_rgnet()")


@pytest.mark.question("build_rgnet", points=1)
def test_build_rgnet_computes_rgnet(student, rng):
    """the forward pass is rgnet's on a batch of 4 features"""
    snap, x, out = _rgnet(student, rng)
    assert not isinstance(out, Raised), _("rgnet(X) raised {out} for X of shape {shape}").format(
                                            out=getattr(out, 'type', ''), shape=tuple(x.shape))
    assert isinstance(out, TensorRef) and out.shape == (x.shape[0], 1), \
        _("rgnet(X) must return a tensor of shape (n, 1) for X of shape (n, 4)")
    values = _rgnet_values(snap)
    assert values is not None, _("rgnet(X) must compute four blocks of Linear(4, 8), ReLU, Linear(8, 4), ReLU, "
                                 "then Linear(4, 1): the network does not hold those 18 parameter tensors")
    # atol: an output near zero is a sum of larger terms, whose rounding sets its error
    assert close(out.data, _rgnet_forward(values, x), atol=1e-5), \
        _("rgnet(X) does not compute block 0 … block 3 then the output layer")


@pytest.mark.question("build_rgnet", points=1, needs=("test_build_rgnet_structure_and_names",
                                                     "test_build_rgnet_computes_rgnet"))
def test_build_rgnet_shares_nothing_between_blocks(student, rng):
    """no parameter shared: every block and layer its own module"""
    snap, _unused, _unused = _rgnet(student, rng)
    names = [n for n, _ in snap.named_params]
    for group in snap.module_groups():
        if not any(n.startswith(group[0] + ".") for n in names):
            continue  # a parameter-free module (a ReLU) used twice shares no parameter
        raise AssertionError(_("{names} are the same module: create a new block (and new layers) for "
                               "every name").format(names=' and '.join(repr(n) for n in group[:2])))
    for group in snap.shared_groups():
        raise AssertionError(_("{group!r} and {group2!r} are the same tensor: no parameter may be "
                               "shared").format(group=group[0], group2=group[1]))
    # oids are the child's word: a distinct value written through every name must show under that name only
    behaviour.confirm_parameters(student, rng, lambda p: p.call("build_rgnet"), snap, None, "build_rgnet()",
                                 _("Create a new block (and new layers) for every name: no parameter "
                                   "may be shared"))


# ------------------------------------------------------------------ FrozenHiddenMLP


def _frozen(student, rng, extra=None):
    """Construct the student's FrozenHiddenMLP, run one forward (caught: a broken forward costs only the
    forward rule) and snapshot it; ``extra`` adds steps after that."""
    p = Program()
    net = p.call("FrozenHiddenMLP")
    gen = torch.Generator().manual_seed(rng.getrandbits(31))
    x = torch.randn(rng.randint(2, 5), 20, generator=gen)
    out = p.ret(p.call(net, x, no_grad=True, catch=True))
    snap = p.snapshot(net)
    later = extra(p, net, gen) if extra else None
    result = student.run(p, "FrozenHiddenMLP")
    return result, snap, x, out, later


@pytest.mark.question("FrozenHiddenMLP", points=1)
def test_frozen_hidden_mlp_rand_weight_is_a_buffer(student, rng):
    """rand_weight is a (20, 20) buffer of torch.rand values; parameters are exactly linear.weight, linear.bias"""
    result, snap, _unused, _unused, _unused = _frozen(student, rng)
    snap = result[snap]
    names = [n for n, _ in snap.named_params]
    buffers = dict(snap.buffers)
    assert "rand_weight" not in names, _("rand_weight must be a buffer (register_buffer), not a "
                                         "parameter")
    assert "rand_weight" in buffers, _("rand_weight must be registered as a buffer: "
                                       "register_buffer('rand_weight', …)")
    assert names == ["linear.weight", "linear.bias"], (
        _("named_parameters() must yield exactly linear.weight and linear.bias"))
    w = buffers["rand_weight"]
    assert w.shape == (20, 20), _("rand_weight must have shape (20, 20)")
    # torch.rand draws from [0, 1): the values stay there, and 400 of them have a standard
    # deviation near 0.289; below 0.2 has probability far under 1e-12 for a torch.rand draw.
    assert bool(((w.data >= 0) & (w.data < 1)).all()) and float(w.data.double().std()) > 0.2, \
        _("rand_weight's values must come from torch.rand (uniform on [0, 1))")
    weight = snap.param_named("linear.weight")
    if not weight.lazy:  # a LazyLinear whose forward raised has no shape yet: the forward rule fails it
        assert weight.shape == (20, 20), _("linear must be an nn.Linear(20, 20)")
    # the lists above are the child's word: confirm by the module's own forward on the parent's values
    behaviour.confirm_frozen(student, rng, "params", "follows_to")


@pytest.mark.question("FrozenHiddenMLP", points=1)
def test_frozen_hidden_mlp_state_dict(student, rng):
    """state_dict() holds exactly rand_weight, linear.weight, linear.bias"""
    result, snap, _unused, _unused, _unused = _frozen(student, rng)
    keys = result[snap].state_dict
    assert sorted(keys) == sorted(["rand_weight", "linear.weight", "linear.bias"]), (
        _("state_dict() must hold exactly rand_weight, linear.weight and linear.bias")
        + (_(" (rand_weight is missing: a plain attribute or persistent=False is not saved)")
           if "rand_weight" not in keys else ""))
    behaviour.confirm_frozen(student, rng, "loaded")  # the keys are the child's word: confirm by the forward


def _fixed_hidden_forward(x, w_rand, weight, bias):
    h = x @ weight.T + bias
    h = torch.relu(h @ w_rand + 1)
    h = h @ weight.T + bias
    while h.abs().sum() > 1:
        h /= 2
    return h.sum()


@pytest.mark.question("FrozenHiddenMLP", points=1)
def test_frozen_hidden_mlp_forward_is_fixed_hidden_mlps(student, rng):
    """forward computes FixedHiddenMLP's forward exactly"""
    # rand_weight is read as an attribute, last (it may be missing): the forward rule holds
    # whatever rand_weight is registered as; the other rules judge that.
    result, snap, x, out, rw = _frozen(student, rng, lambda p, net, gen: p.ret(p.attr(net, "rand_weight")))
    snap, out, rw = result[snap], result[out], result.get(rw)
    assert not isinstance(out, Raised), _("forward raised {type} for X of shape {shape}").format(
                                            type=out.type, shape=tuple(x.shape))
    assert isinstance(out, TensorRef) and out.shape == (), _("forward must return X.sum(), a "
                                                             "0-dimensional tensor")
    params = dict(snap.named_params)
    assert isinstance(rw, TensorRef) and rw.shape == (20, 20) and "linear.weight" in params and \
        "linear.bias" in params, _("forward must be FixedHiddenMLP's, computed from its rand_weight (20 × 20) "
                                   "and its linear (nn.Linear(20, 20)): the module has no such attributes")
    want = _fixed_hidden_forward(x, rw.data.float(), params["linear.weight"].data, params["linear.bias"].data)
    # atol: the output is a sum of larger terms, whose rounding sets its error
    assert close(out.data, want, atol=1e-6), \
        _("forward must be FixedHiddenMLP's: linear, relu(X @ rand_weight + 1), the same linear, "
          "halve while |X|.sum() > 1, sum")


@pytest.mark.question("FrozenHiddenMLP", points=1)
def test_frozen_hidden_mlp_buffer_follows_to_and_load_state_dict(student, rng):
    """rand_weight follows .to(torch.float64) and load_state_dict"""
    def extra(p, net, gen):
        new = {"rand_weight": torch.rand(20, 20, generator=gen), "linear.weight": torch.randn(20, 20, generator=gen),
               "linear.bias": torch.randn(20, generator=gen)}
        # strict=False: only whether rand_weight follows is judged here (exact keys are the state_dict rule)
        load = p.ret(p.call(p.attr(net, "load_state_dict"), new, strict=False, catch=True))
        loaded = p.snapshot(net)
        p.method(net, "to", torch.float64)
        moved = p.snapshot(net)
        return new, load, loaded, moved

    result, _unused, _unused, _unused, (new, load, loaded, moved) = _frozen(student, rng, extra)
    load = result[load]
    if isinstance(load, Raised):
        why = " ".join(load.message.split())[:200]  # e.g. Unexpected key(s) in state_dict: "rand_weight"
        raise AssertionError(
            _("load_state_dict of a state_dict with rand_weight, linear.weight and linear.bias raised "
              "{type}").format(type=load.type)
            + (f" ({why})" if why else "") + _(": ")
            + (_("rand_weight must be loaded with the module's state (register_buffer)")
               if "rand_weight" in load.message
               else _("load_state_dict must accept rand_weight, linear.weight and linear.bias")))
    # the buffer rule is judged on its own: here rand_weight only has to follow the module
    loaded = dict(result[loaded].buffers) | dict(result[loaded].named_params)
    moved = dict(result[moved].buffers) | dict(result[moved].named_params)
    assert "rand_weight" in loaded, (_("rand_weight must be part of the module's state "
                                       "(register_buffer): a plain attribute is not loaded by "
                                       "load_state_dict nor moved by .to"))
    assert torch.equal(loaded["rand_weight"].data, new["rand_weight"]), (
        _("load_state_dict must set rand_weight (a buffer registered with persistent=False is not "
          "loaded)"))
    assert moved["rand_weight"].dtype == "float64", _("rand_weight must follow the module through "
                                                      ".to(torch.float64)")
    behaviour.confirm_frozen(student, rng, "loaded", "follows_to")  # the snapshots are the child's word


# ------------------------------------------------------------------ shared_names


def _groups(module: torch.nn.Module) -> list[list[str]]:
    by_id: dict[int, list[str]] = {}
    for n, p in module.named_parameters(remove_duplicate=False):
        by_id.setdefault(id(p), []).append(n)
    return [names for names in by_id.values() if len(names) > 1]


def _check_groups(got, module) -> None:
    assert isinstance(got, list), _("shared_names must return a list, not {kind}").format(kind=describe(got))
    assert all(isinstance(g, (list, tuple)) for g in got), _("each group of shared_names must be a "
                                                             "list (or tuple) of names")
    got = [list(g) for g in got]
    want = _groups(module)
    if want and not got:
        raise AssertionError(_("shared_names found no sharing where a parameter is registered under "
                               "several names (a layer registered twice, or one Parameter put into two "
                               "layers)"))
    if not want and got:
        note = (_("parameters with a single name are left out") if any(len(g) < 2 for g in got)
                else _("the same parameter means the same object, not equal values"))
        raise AssertionError(_("shared_names reported sharing in a module where nothing is shared: "
                               "return [] ({note})").format(note=note))
    assert all(isinstance(n, str) for g in got for n in g), _("shared_names: each group must hold the names (strings)")
    assert all(len(g) > 1 for g in got), (_("shared_names returned a group with a single name: "
                                            "parameters reachable under only one name are left out"))
    assert sorted(map(sorted, got)) == sorted(map(sorted, want)), (
        _("shared_names must group every name of each shared parameter (a layer registered twice, or "
          "one Parameter put into two layers: look at named_parameters(remove_duplicate=False), "
          "grouped by identity), and leave single names out"))
    assert got == want, (_("shared_names: names within a group, and the groups, must follow "
                           "named_parameters(remove_duplicate=False) order"))


@pytest.mark.question("shared_names", points=1)
def test_shared_names_groups_every_name_of_a_shared_parameter(student, rng):
    """every name of each shared parameter, in order, groups ordered by first name"""
    cases = zoo.cases(rng, zoo.shared, zoo.shared, zoo.tied)
    for case, got in zip(cases, call_each(student, "shared_names", cases), strict=True):
        _check_groups(got, build(case))


@pytest.mark.question("shared_names", points=1)
def test_shared_names_empty_when_nothing_is_shared(student, rng):
    """[] when nothing is shared (equal values are not sharing)"""
    cases = zoo.cases(rng, zoo.nested_seq, zoo.custom_lists, zoo.with_buffers, zoo.equal_values)
    shared = zoo.cases(rng, zoo.shared)
    *got_each, got_shared = call_each(student, "shared_names", [*cases, *shared])
    assert got_shared != [], _("shared_names returned [] for a module that shares a parameter: return [] only "
                               "when nothing is shared")
    for case, got in zip(cases, got_each, strict=True):
        _check_groups(got, build(case))
