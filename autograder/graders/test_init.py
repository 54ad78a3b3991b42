"""Hidden graders for the `init` assignment (parameter initialization), one test per contract rule.

The six per-module initializers share five rules each: the weight's law, the bias, "only nn.Linear
(subclasses included)", "in place" and "torch's global generator". ``init_first_last`` and
``init_lazy`` have four rules each.

Laws are checked statistically on large layers (init_stats.py): every statistical rule spends a
false-failure probability of at most ALPHA = 1e-6 / 7 for a correct answer (union bound over its
assertions, stated next to each), and the seven statistical rules (``STATISTICAL``) together at most
1e-6 per submission, while the realistic mistakes (std 0.1, Xavier normal, Kaiming with fan_out,
my_init with another threshold or a sign slip, ...) move the statistics so far that they are missed
with astronomically small probability. Everything else is exact: constants, zero biases, supports,
and "untouched" (bit for bit, against a snapshot taken in the same program before the student's
call: not against a copy built here, since the threads of `grade --jobs N` share this process's
global torch generator, which ``specs.build`` reseeds).

The statistics use NumPy ufuncs, sorts and reductions only, never BLAS (np.dot): OpenBLAS's worker
threads and the engine forking sandboxes from another thread lose partial sums (or deadlock).

Structures are fixed per rule (so a mistake loses the same rules at every seed); the test's ``rng``
draws sizes, names, seeds and perturbations.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from ..engine.snapshot import Names, Snapshot
from ..engine.student import Program, Slot
from ..engine.values import Raised, TensorRef
from ..i18n import N_, _
from . import behaviour
from . import init_stats as st
from .zoo import _name, chimera

ALPHA = st.RULE_ALPHA  # 1e-6 / 7: the false-failure probability a correct answer may spend per statistical rule
STATISTICAL = ("test_init_normal_weight_is_normal_std_001", "test_init_xavier_weight_is_xavier_uniform",
               "test_my_init_weight_law", "test_init_kaiming_relu_weight_is_he_normal_fan_in",
               "test_init_first_last_first_linear_gets_xavier", "test_init_lazy_linears_get_init_normal",
               "test_init_lazy_works_without_lazy_modules")  # the rules that spend ALPHA: 7 × ALPHA = 1e-6


# ------------------------------------------------------------------ the laws of the contract


@dataclass(frozen=True)
class Law:
    kind: str  # "normal", "xavier", "my", "const"
    bias: str  # "zero" or "keep"
    text: str  # for hints
    value: float = 0.0  # the constant of a "const" law
    std: float | None = None  # a normal law's fixed standard deviation (None: He's sqrt(2 / fan_in))

    @property
    def random(self) -> bool:
        return self.kind != "const"

    def sigma(self, fan_in: int, fan_out: int) -> float:
        return self.std if self.std is not None else math.sqrt(2 / fan_in)


LAWS = {
    "init_normal": Law("normal", "zero", "N(0, 0.01²)", std=0.01),
    "init_constant": Law("const", "zero", N_("all ones"), value=1.0),
    "init_xavier": Law("xavier", "keep", "U(−a, a), a = √(6 / (fan_in + fan_out))"),
    "init_42": Law("const", "keep", N_("all 42"), value=42.0),
    "my_init": Law("my", "keep", N_("U(−10, 10) with every |w| < 5 set to 0")),
    "init_kaiming_relu": Law("normal", "zero", "N(0, 2 / fan_in)"),
}


def _lin(n_in: int, n_out: int, bias: bool = True, **extra) -> dict:
    return {"k": "linear", "in": n_in, "out": n_out, "bias": bias, **extra}


def _seq(*children: dict, names: list[str] | None = None) -> dict:
    names = names or [str(i) for i in range(len(children))]
    return {"k": "seq", "children": [[n, c] for n, c in zip(names, children)]}


def _seed(rng: random.Random) -> int:
    return rng.getrandbits(31)


def _weights(snap: Snapshot) -> dict[str, TensorRef]:
    return snap.by_name()  # a missing name fails the rule, never a grader error


def _law_hint(name: str, finding: st.Finding, fan_in: int, fan_out: int, where: str = "") -> str:
    """Name the mistake a failed law check points to, without hidden values."""
    law = LAWS[name]
    what = _("{name}'s weights{where} do not follow {text}").format(name=name, where=where, text=_(law.text))
    r = finding.ratio
    if law.kind == "normal":
        if finding.check == "spread":
            if law.std is None and abs(r - math.sqrt(fan_in / fan_out)) < 0.05 * r:
                return _("{what}: their spread matches fan_out; He initialization for ReLU uses fan_in "
                         "(in_features)").format(what=what)
            if law.std is not None and abs(r - 10) < 1:
                return _("{what}: their standard deviation is about 10× too large (std is 0.01; 0.01 "
                         "is not the variance)").format(what=what)
            return _("{what}: their standard deviation is about {r:.2g}× what it should be").format(what=what, r=r)
        if finding.detail == "uniform":
            return _("{what}: they look uniform, not normal (draw from a normal distribution)").format(what=what)
        return _("{what}: they are not normally distributed around 0").format(what=what)
    if law.kind == "xavier":
        if finding.check == "support":
            if finding.detail == "normal":
                return _("{what}: some exceed the bound a and they look normal (Xavier normal instead "
                         "of uniform?)").format(what=what)
            return _("{what}: some exceed the bound a = √(6 / (fan_in + fan_out))").format(what=what)
        if finding.check == "spread":
            return _("{what}: they stay inside (−a, a) but their spread is about {r:.2g}× that of "
                     "U(−a, a) (check a)").format(what=what, r=r)
        return _("{what}: they are not uniformly spread over (−a, a)").format(what=what)
    if law.kind == "my":
        if finding.check == "support":
            if finding.detail == "large":
                return _("{what}: some |w| exceed 10 (draw from U(−10, 10))").format(what=what)
            return (_("{what}: some nonzero entries have |w| < 5; every entry with |w| < 5 must become "
                      "0 (is the comparison reversed, or the threshold not 5?)").format(what=what))
        if finding.check == "zeros":
            if finding.detail == "no negatives":
                return _("{what}: every negative entry became 0 (compare |w|, not w, with 5)").format(what=what)
            return _("{what}: the share of zeros is about {ratio:.2f}, not ½ (only entries with |w| < "
                     "5 become 0)").format(what=what, ratio=finding.ratio)
        return _("{what}: the nonzero entries are not uniform on [−10, −5] ∪ [5, 10]").format(what=what)
    raise AssertionError(what)  # pragma: no cover


def _check_law(name: str, w: TensorRef, fan_in: int, fan_out: int, alpha: float, where: str = "") -> None:
    """The law of a random initializer on one weight; alpha is what its two assertions spend together."""
    law = LAWS[name]
    assert w is not None and w.data is not None and w.shape == (fan_out, fan_in), \
        _("{name} changed the shape of a weight{where}").format(name=name, where=where)
    if law.kind == "normal":
        finding = st.normal_law(w.data, law.sigma(fan_in, fan_out), alpha)
    elif law.kind == "xavier":
        finding = st.uniform_law(w.data, math.sqrt(6 / (fan_in + fan_out)), alpha)
    else:
        finding = st.my_init_law(w.data, alpha)
    if finding is not None:
        raise AssertionError(_law_hint(name, finding, fan_in, fan_out, where))


def _initialized(name: str, got: TensorRef, old: torch.Tensor, what: str) -> None:
    """A weight the initializer must have set: changed from its old (PyTorch default) values. (Its law,
    the constant included, is the weight rule's business: each rule checks one thing.)"""
    assert not (got.shape == tuple(old.shape) and torch.equal(got.data, old)), \
        _("{name} left {what} unchanged: it must be initialized").format(name=name, what=what)


def _bias_ok(name: str, got: TensorRef, old: torch.Tensor | None, what: str | None = None,
             mode: str | None = None, who: str | None = None) -> None:
    """A Linear's bias after the initializer: all zeros (mode "zero"), or exactly as it was ("keep").
    mode defaults to the law of ``name``; ``old`` is None when the bias was lazy; ``who`` names the
    function for the hint (default ``name``); ``what`` the bias (default: the bias of an nn.Linear)."""
    mode = mode or LAWS[name].bias
    who = who or name
    what = what if what is not None else _("the bias of an nn.Linear")
    if mode == "zero":
        if torch.all(got.data == 0):
            return
        if old is not None and torch.equal(got.data, old):
            raise AssertionError(_("{who} left {what} unchanged: set it to zero").format(who=who, what=what))
        raise AssertionError(_("{who} must set {what} to all zeros").format(who=who, what=what))
    if not torch.equal(got.data, old):
        if torch.all(got.data == 0):
            raise AssertionError(_("{who} zeroed {what}: leave the bias unchanged").format(who=who, what=what))
        raise AssertionError(_("{who} changed {what}: leave the bias unchanged").format(who=who, what=what))


# ------------------------------------------------------------------ shared probes


def _big_shapes(rng: random.Random) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of three large layers, 86k to 161k weights each. fan_in and fan_out differ by a
    factor of about 2, at least 28 (fan_in large) and at least 17 (fan_out large): a law with the
    wrong fan is off in spread by more than 40 % on every layer."""
    return [(rng.randint(224, 288), rng.randint(480, 560)),
            (rng.randint(1800, 2200), rng.randint(48, 64)),
            (rng.randint(64, 80), rng.randint(1400, 1700))]


def _perturb(p: Program, module: Slot, path: str, tensors: dict[str, torch.Tensor]) -> None:
    """Add rng-made values to a module's parameters/buffers in the child (defaults like BatchNorm's
    ones and zeros would hide an initializer that wrongly resets them)."""
    m = module
    for part in path.split(".") if path else []:
        m = p.attr(m, part)
    for attr, delta in tensors.items():
        p.method(p.attr(p.attr(m, attr), "data"), "add_", delta)


def _norm_deltas(gen: torch.Generator, n: int, dtype=torch.float32, buffers: bool = False) -> dict[str, torch.Tensor]:
    out = {"weight": torch.rand(n, generator=gen, dtype=dtype) + 0.5, "bias": torch.randn(n, generator=gen, dtype=dtype)}
    if buffers:
        out["running_mean"] = torch.randn(n, generator=gen, dtype=dtype)
        out["running_var"] = torch.rand(n, generator=gen, dtype=dtype) + 0.5
    return out


def _changed(before: Snapshot, after: Snapshot, skip: set[str]) -> list[str]:
    """Names of parameters and buffers (not in skip) whose values or presence differ."""
    old = {**dict(before.named_params), **{f"buffer {n}": t for n, t in before.buffers}}
    new = {**dict(after.named_params), **{f"buffer {n}": t for n, t in after.buffers}}
    out = []
    for name in dict.fromkeys([*old, *new]):
        if name in skip:
            continue
        a, b = old.get(name), new.get(name)
        if a is None or b is None or a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a.data, b.data):
            out.append(name)
    return out


def _owner(name: str) -> str:
    return name.removeprefix("buffer ").rsplit(".", 1)[0]


def _module_cls(snap: Snapshot, module: str) -> str:
    return dict((n, m.cls) for n, m in snap.modules).get(module, "module")


# ------------------------------------------------------------------ rule 1: the weight's law


def _weights_law(student, rng: random.Random, name: str) -> None:
    law = LAWS[name]
    p = Program()
    f = p.name(name)
    if law.random:
        (i1, o1), (i2, o2), (i3, o3) = _big_shapes(rng)
        net = p.build(_seq(_lin(i1, o1), {"k": "relu"}, _lin(i2, o2)), _seed(rng))
        p.method(net, "apply", f)
        single = p.build(_lin(i3, o3), _seed(rng))
        p.call(f, single)
        s_net, s_single = p.snapshot(net), p.snapshot(single)
        res = student.run(p, f"{name}(m)")
        layers = [(_weights(res[s_net]).get("0.weight"), i1, o1, _(" (via net.apply)")),
                  (_weights(res[s_net]).get("2.weight"), i2, o2, _(" (via net.apply)")),
                  (_weights(res[s_single]).get("weight"), i3, o3, "")]
        # Three layers of 86k–161k i.i.d. draws, two assertions each (a KS test against the exact law
        # and a moment test: chi-square for normal laws, Hoeffding on w² for Xavier, Hoeffding on the
        # count of zeros for my_init), each at ALPHA / 6: false failure <= ALPHA for the rule.
        for w, fi, fo, where in layers:
            _check_law(name, w, fi, fo, ALPHA / 3, where)
        return
    shapes = [(rng.randint(2, 40), rng.randint(2, 40)) for _ in range(3)]
    net = p.build(_seq(_lin(*shapes[0]), {"k": "tanh"}, _lin(*shapes[1], dtype="float64")), _seed(rng))
    p.method(net, "apply", f)
    single = p.build(_lin(*shapes[2]), _seed(rng))
    p.call(f, single)
    s_net, s_single = p.snapshot(net), p.snapshot(single)
    res = student.run(p, f"{name}(m)")
    for w, where in [(_weights(res[s_net]).get("0.weight"), _(" (via net.apply)")),
                     (_weights(res[s_net]).get("2.weight"), _(" (a float64 layer, via net.apply)")),
                     (_weights(res[s_single]).get("weight"), "")]:
        assert w is not None, _("{name} removed a weight").format(name=name)
        if not torch.all(w.data == law.value):  # exact
            if torch.all(w.data == 0):
                raise AssertionError(_("{name} set the weight{where} to zeros: every entry must be "
                                       "{value:g}").format(name=name, where=where, value=law.value))
            raise AssertionError(_("{name} must set every entry of the weight{where} to {value:g}").format(
                                     name=name, where=where, value=law.value))


# ------------------------------------------------------------------ rule 2: the bias


def _bias(student, rng: random.Random, name: str) -> None:
    a, b, c, d, e = (rng.randint(3, 24) for _ in range(5))
    cases = {"seq": (_seq(_lin(a, b), {"k": "relu"}, _lin(b, c)), _seed(rng)),
             "single": (_lin(c, d), _seed(rng)),
             "nobias": (_lin(d, e, bias=False), _seed(rng)),
             "nobias_seq": (_seq(_lin(e, a, bias=False), {"k": "tanh"}), _seed(rng))}
    p = Program()
    f = p.name(name)
    m = {k: p.build(*case) for k, case in cases.items()}
    # "unchanged" is judged against a snapshot taken in the same program before the call (PyTorch's
    # default init gives every bias nonzero values), not a copy built here: the parent's global
    # generator is shared by the threads of `grade --jobs N`.
    befores = {k: p.snapshot(s) for k, s in m.items()}
    p.method(m["seq"], "apply", f)
    p.call(f, m["single"])
    raised = {"nobias": p.ret(p.call(f, m["nobias"], catch=True)),
              "nobias_seq": p.ret(p.call(p.attr(m["nobias_seq"], "apply"), f, catch=True))}
    snaps = {k: p.snapshot(s) for k, s in m.items()}
    res = student.run(p, f"{name}(m)")
    for key, bias_name in [("seq", "0.bias"), ("seq", "2.bias"), ("single", "bias")]:
        got = _weights(res[snaps[key]]).get(bias_name)
        assert got is not None, _("{name} removed the bias of an nn.Linear").format(name=name)
        _bias_ok(name, got, res[befores[key]].param_named(bias_name).data)
    for key, w_name in [("nobias", "weight"), ("nobias_seq", "0.weight")]:
        r = res[raised[key]]
        if isinstance(r, Raised):
            raise AssertionError(_("{name} raised {type} on an nn.Linear without bias (bias=False, so "
                                   "m.bias is None): initialize its weight and skip the bias").format(
                                     name=name, type=r.type))
        got = _weights(res[snaps[key]])
        assert not any(n.endswith("bias") for n in got), _("{name} added a bias to an nn.Linear built "
                                                           "without one").format(name=name)
        _initialized(name, got[w_name], res[befores[key]].param_named(w_name).data,
                     _("the weight of a bias-free nn.Linear"))


# ------------------------------------------------------------------ rule 3: only nn.Linear, subclasses included


def _only_linear(student, rng: random.Random, name: str) -> None:
    gen = torch.Generator().manual_seed(_seed(rng))
    n = rng.randint(3, 8)
    c_in, c_out, h, e = rng.randint(1, 3), rng.randint(1, 4), rng.randint(3, 9), 2 * rng.randint(2, 4)
    names = [_name(rng, i) for i in range(7)]
    main_spec = _seq({"k": "conv2d", "in": c_in, "out": c_out, "ks": rng.choice([1, 3])},
                     {"k": "bn1d", "n": n},
                     _lin(n, h),
                     {"k": "bilinear", "in1": h, "in2": n, "out": rng.randint(2, 5)},
                     {"k": "layernorm", "n": h},
                     {"k": "custom", "children": [["proj", _lin(h, h)]], "params": {"scale": [h], "mix": [h, 2]}},
                     {"k": "relu"}, names=names)
    lazy_spec = {"k": "seq", "children": [["0", {"k": "lazylinear", "out": rng.randint(2, 9)}]],
                 "materialize": rng.randint(2, 9)}
    p = Program()
    f = p.name(name)
    main = p.build(main_spec, _seed(rng))
    lazy = p.build(lazy_spec, _seed(rng))
    sub = p.torch("nn.modules.linear.NonDynamicallyQuantizableLinear", rng.randint(2, 9), rng.randint(2, 9))
    mha = p.torch("nn.MultiheadAttention", e, 2)
    top = p.torch("nn.Sequential", main, lazy, sub, mha)
    _perturb(p, main, names[1], _norm_deltas(gen, n, buffers=True))
    _perturb(p, main, names[4], _norm_deltas(gen, h))
    _perturb(p, mha, "", {"in_proj_bias": torch.randn(3 * e, generator=gen)})
    _perturb(p, mha, "out_proj", {"bias": torch.randn(e, generator=gen)})
    before = p.snapshot(top)
    p.method(top, "apply", f)
    after = p.snapshot(top)
    res = student.run(p, _("{name}(m) via net.apply").format(name=name))
    before, after = res[before], res[after]
    linears = {f"0.{names[2]}": "an nn.Linear", f"0.{names[5]}.proj": "an nn.Linear inside a custom module",
               "1.0": "a materialized nn.LazyLinear", "2": "a subclass of nn.Linear",
               "3.out_proj": "a subclass of nn.Linear (MultiheadAttention.out_proj)"}
    old = dict(before.named_params)
    for module, what in linears.items():
        got = dict(after.named_params).get(f"{module}.weight")
        assert got is not None, _("{name} removed the weight of {what}").format(name=name, what=what)
        if "subclass" in what and torch.equal(got.data, old[f"{module}.weight"].data):
            raise AssertionError(_("{name} left the weight of {what} unchanged: type(m) == nn.Linear "
                                   "misses subclasses, use isinstance(m, nn.Linear)").format(name=name, what=what))
        _initialized(name, got, old[f"{module}.weight"].data, _("the weight of {what}").format(what=what))
    skip = {f"{m}.{k}" for m in linears for k in ("weight", "bias")}
    for changed in _changed(before, after, skip):
        owner = _owner(changed)
        raise AssertionError(_("{name} changed {value} {removeprefix!r} of a {before}: act only on "
                               "nn.Linear modules and leave every other module untouched").format(
                                 name=name, value=_('buffer') if changed.startswith('buffer') else _('parameter'), removeprefix=changed.removeprefix('buffer '), before=_module_cls(before, owner)))


# ------------------------------------------------------------------ rule 4: in place


def _in_place(student, rng: random.Random, name: str) -> None:
    a, b, c, d, e = (rng.randint(3, 20) for _ in range(5))
    cases = [(_seq(_lin(a, b, frozen=["weight"]), {"k": "relu"}, _lin(b, c, dtype="float64"),
                   _lin(c, d, frozen=["weight", "bias"]), _lin(d, e, dtype="float64", frozen=["bias"])), _seed(rng)),
             (_lin(e, a, dtype="float64", frozen=[rng.choice(["weight", "bias"])]), _seed(rng))]
    p = Program()
    f = p.name(name)
    mods = [p.build(*case) for case in cases]
    befores = [p.snapshot(m) for m in mods]
    p.method(mods[0], "apply", f)
    p.call(f, mods[1])
    afters = [p.snapshot(m) for m in mods]
    res = student.run(p, f"{name}(m)")
    for before, after in zip(befores, afters):
        before, after = res[before], res[after]
        new = dict(after.named_params)
        assert list(new) == [n for n, _ in before.named_params], _("{name} added, removed or renamed "
                                                             "parameters: work in place").format(name=name)
        for pname, old in before.named_params:
            got = new[pname]
            assert got.oid == old.oid, (_("{name} registered a new object as {pname!r}: keep the same "
                                          "Parameter and change its values in place (nn.init.*_, or "
                                          "under torch.no_grad())").format(name=name, pname=pname))
            assert got.is_parameter, _("{name} replaced the Parameter {pname!r} by a plain tensor").format(
                                         name=name, pname=pname)
            assert got.dtype == old.dtype, (_("{name} turned the {dtype} parameter {pname!r} into "
                                              "{dtype2}: keep its dtype (a new tensor like "
                                              "torch.ones(shape) is float32)").format(
                                                name=name, dtype=old.dtype, pname=pname, dtype2=got.dtype))
            assert got.requires_grad == old.requires_grad, (
                _("{name} changed requires_grad of {pname!r} (frozen parameters stay frozen, trainable "
                  "ones trainable)").format(name=name, pname=pname))
            assert got.is_leaf and got.grad_fn is None, (
                _("{name} left autograd history on {pname!r} ({grad_fn}): change values under "
                  "torch.no_grad()").format(name=name, pname=pname, grad_fn=got.grad_fn))
            assert got.grad is None, _("{name} created a .grad for {pname!r}").format(name=name, pname=pname)
            if pname.endswith("weight"):
                _initialized(name, got, old.data, _("the weight {pname!r} (a frozen or float64 nn.Linear)").format(pname=pname))
    # oids are the child's word: the Parameters held before the call must still be the ones registered after it
    behaviour.confirm_same_objects(student, rng, [(case, None) for case in cases],
                                   lambda p, net, case: p.method(net, "apply", p.name(name), catch=True), f"{name}(m)",
                                   _("{name} registered new objects: keep the same Parameters and "
                                     "change their values in place (nn.init.*_, or under "
                                     "torch.no_grad())").format(name=name))
    # is_leaf, grad_fn, .grad, requires_grad and dtype are the child's word: confirm by gradients and a step
    f, g, h = (rng.randint(3, 12) for _ in range(3))
    behaviour.confirm_trains(student, rng, [(_lin(f, g), _seed(rng)),
                                            (_lin(g, h, dtype="float64", frozen=[rng.choice(["weight", "bias"])]),
                                             _seed(rng)),
                                            (_lin(h, f, bias=False, dtype="float64"), _seed(rng))],
                             lambda p, m, case: p.call(name, m, catch=True), f"{name}(m)")


# ------------------------------------------------------------------ rule 5: torch's global generator


def _generator(student, rng: random.Random, name: str) -> None:
    law = LAWS[name]
    spec = _lin(rng.randint(12, 40), rng.randint(12, 40))
    s1 = _seed(rng)
    s2 = s1 ^ (1 + rng.getrandbits(30))  # a different seed
    p = Program()
    f = p.name(name)
    runs = []
    for how in ("call", "apply"):  # seed s1, build, initialize, then draw: twice, to the same result
        p.seed(s1)
        m = p.build(spec)
        p.call(f, m) if how == "call" else p.method(m, "apply", f)
        runs.append((p.snapshot(m), p.ret(p.torch("rand", 8))))
    p.seed(s2)  # another seed: two layers initialized one after the other, then a draw
    net = p.build(_seq(spec, spec))
    p.method(net, "apply", f)
    pair, after = p.snapshot(net), p.ret(p.torch("rand", 8))
    res = student.run(p, f"{name}(m)")
    (a, ra), (b, rb) = [(res[s], res[r]) for s, r in runs]
    pair, after = res[pair], res[after]
    if law.random:
        w0, w1 = _weights(pair)["0.weight"], _weights(pair)["1.weight"]
        assert not torch.equal(w0.data, w1.data), (
            _("{name} gave two layers initialized one after the other the same weights: it reseeds "
              "torch's generator (torch.manual_seed inside the initializer?); never reseed it").format(name=name))
    same = all(torch.equal(x.data, y.data) for (_, x), (_, y) in zip(a.named_params, b.named_params))
    assert same and len(a.named_params) == len(b.named_params), (
        _("torch.manual_seed(s) before {name}(m) does not reproduce its weights: draw from torch's "
          "global generator (nn.init.*_, tensor.normal_/uniform_, torch.randn), not NumPy, random or a "
          "torch.Generator of your own, and don't reseed it").format(name=name))
    assert torch.equal(ra.data, rb.data), (
        _("torch.manual_seed(s) before {name}(m) does not reproduce what torch draws next: the "
          "initializer must not reseed torch's generator nondeterministically (torch.seed()?)").format(name=name))
    assert not torch.equal(ra.data, after.data), (
        _("{name} reseeds torch's global generator (torch.manual_seed inside it?): after it, torch "
          "drew the same numbers whatever the caller's seed; never reseed the generator").format(name=name))


# ------------------------------------------------------------------ the six initializers: five rules each

# The rules that check an initializer does its job; "never reseeds" (a no-harm rule) counts once one passes.
_JOB = {name: tuple(f"test_{name}_{rule}" for rule in rules) for name, rules in {
    "init_normal": ("weight_is_normal_std_001", "bias_is_zero", "acts_only_on_linear", "works_in_place"),
    "init_constant": ("weight_is_all_ones", "bias_is_zero", "acts_only_on_linear", "works_in_place"),
    "init_xavier": ("weight_is_xavier_uniform", "bias_unchanged", "acts_only_on_linear", "works_in_place"),
    "init_42": ("weight_is_all_42", "bias_unchanged", "acts_only_on_linear", "works_in_place"),
    "my_init": ("weight_law", "bias_unchanged", "acts_only_on_linear", "works_in_place"),
    "init_kaiming_relu": ("weight_is_he_normal_fan_in", "bias_is_zero", "acts_only_on_linear", "works_in_place"),
}.items()}


@pytest.mark.question("init_normal", points=1)
def test_init_normal_weight_is_normal_std_001(student, rng):
    """weight i.i.d. N(0, 0.01²) on three large layers (KS + chi-square; false failure ≤ 1e-6 / 7)"""
    _weights_law(student, rng, "init_normal")


@pytest.mark.question("init_normal", points=1)
def test_init_normal_bias_is_zero(student, rng):
    """bias all zeros; a Linear without bias works"""
    _bias(student, rng, "init_normal")


@pytest.mark.question("init_normal", points=1)
def test_init_normal_acts_only_on_linear(student, rng):
    """every nn.Linear (subclasses included) initialized; other modules left untouched"""
    _only_linear(student, rng, "init_normal")


@pytest.mark.question("init_normal", points=1)
def test_init_normal_works_in_place(student, rng):
    """same Parameter objects, leaves, requires_grad and dtype kept"""
    _in_place(student, rng, "init_normal")


@pytest.mark.question("init_normal", points=1, needs=_JOB["init_normal"])
def test_init_normal_uses_global_generator(student, rng):
    """torch.manual_seed reproduces it; it never reseeds the generator"""
    _generator(student, rng, "init_normal")


@pytest.mark.question("init_constant", points=1)
def test_init_constant_weight_is_all_ones(student, rng):
    """weight all ones (float32 and float64, via net.apply and direct)"""
    _weights_law(student, rng, "init_constant")


@pytest.mark.question("init_constant", points=1)
def test_init_constant_bias_is_zero(student, rng):
    """bias all zeros; a Linear without bias works"""
    _bias(student, rng, "init_constant")


@pytest.mark.question("init_constant", points=1)
def test_init_constant_acts_only_on_linear(student, rng):
    """every nn.Linear (subclasses included) initialized; other modules left untouched"""
    _only_linear(student, rng, "init_constant")


@pytest.mark.question("init_constant", points=1)
def test_init_constant_works_in_place(student, rng):
    """same Parameter objects, leaves, requires_grad and dtype kept"""
    _in_place(student, rng, "init_constant")


@pytest.mark.question("init_constant", points=1, needs=_JOB["init_constant"])
def test_init_constant_never_reseeds(student, rng):
    """it never reseeds torch's global generator"""
    _generator(student, rng, "init_constant")


@pytest.mark.question("init_xavier", points=1)
def test_init_xavier_weight_is_xavier_uniform(student, rng):
    """weight i.i.d. U(−a, a), a = √(6/(fan_in+fan_out)), on three large layers (support + KS + moment; false failure ≤ 1e-6 / 7)"""
    _weights_law(student, rng, "init_xavier")


@pytest.mark.question("init_xavier", points=1)
def test_init_xavier_bias_unchanged(student, rng):
    """bias left unchanged; a Linear without bias works"""
    _bias(student, rng, "init_xavier")


@pytest.mark.question("init_xavier", points=1)
def test_init_xavier_acts_only_on_linear(student, rng):
    """every nn.Linear (subclasses included) initialized; other modules left untouched"""
    _only_linear(student, rng, "init_xavier")


@pytest.mark.question("init_xavier", points=1)
def test_init_xavier_works_in_place(student, rng):
    """same Parameter objects, leaves, requires_grad and dtype kept"""
    _in_place(student, rng, "init_xavier")


@pytest.mark.question("init_xavier", points=1, needs=_JOB["init_xavier"])
def test_init_xavier_uses_global_generator(student, rng):
    """torch.manual_seed reproduces it; it never reseeds the generator"""
    _generator(student, rng, "init_xavier")


@pytest.mark.question("init_42", points=1)
def test_init_42_weight_is_all_42(student, rng):
    """weight all 42 (float32 and float64, via net.apply and direct)"""
    _weights_law(student, rng, "init_42")


@pytest.mark.question("init_42", points=1)
def test_init_42_bias_unchanged(student, rng):
    """bias left unchanged; a Linear without bias works"""
    _bias(student, rng, "init_42")


@pytest.mark.question("init_42", points=1)
def test_init_42_acts_only_on_linear(student, rng):
    """every nn.Linear (subclasses included) initialized; other modules left untouched"""
    _only_linear(student, rng, "init_42")


@pytest.mark.question("init_42", points=1)
def test_init_42_works_in_place(student, rng):
    """same Parameter objects, leaves, requires_grad and dtype kept"""
    _in_place(student, rng, "init_42")


@pytest.mark.question("init_42", points=1, needs=_JOB["init_42"])
def test_init_42_never_reseeds(student, rng):
    """it never reseeds torch's global generator"""
    _generator(student, rng, "init_42")


@pytest.mark.question("my_init", points=1)
def test_my_init_weight_law(student, rng):
    """weight: 0 with probability ½, else uniform on [−10, −5] ∪ [5, 10] (support + zero count + KS; false failure ≤ 1e-6 / 7)"""
    _weights_law(student, rng, "my_init")


@pytest.mark.question("my_init", points=1)
def test_my_init_bias_unchanged(student, rng):
    """bias left unchanged; a Linear without bias works"""
    _bias(student, rng, "my_init")


@pytest.mark.question("my_init", points=1)
def test_my_init_acts_only_on_linear(student, rng):
    """every nn.Linear (subclasses included) initialized; other modules left untouched"""
    _only_linear(student, rng, "my_init")


@pytest.mark.question("my_init", points=1)
def test_my_init_works_in_place(student, rng):
    """same Parameter objects, leaves, requires_grad and dtype kept"""
    _in_place(student, rng, "my_init")


@pytest.mark.question("my_init", points=1, needs=_JOB["my_init"])
def test_my_init_uses_global_generator(student, rng):
    """torch.manual_seed reproduces it; it never reseeds the generator"""
    _generator(student, rng, "my_init")


@pytest.mark.question("init_kaiming_relu", points=1)
def test_init_kaiming_relu_weight_is_he_normal_fan_in(student, rng):
    """weight i.i.d. N(0, 2/fan_in) on three large layers, fan_in ≠ fan_out (KS + chi-square; false failure ≤ 1e-6 / 7)"""
    _weights_law(student, rng, "init_kaiming_relu")


@pytest.mark.question("init_kaiming_relu", points=1)
def test_init_kaiming_relu_bias_is_zero(student, rng):
    """bias all zeros; a Linear without bias works"""
    _bias(student, rng, "init_kaiming_relu")


@pytest.mark.question("init_kaiming_relu", points=1)
def test_init_kaiming_relu_acts_only_on_linear(student, rng):
    """every nn.Linear (subclasses included) initialized; other modules left untouched"""
    _only_linear(student, rng, "init_kaiming_relu")


@pytest.mark.question("init_kaiming_relu", points=1)
def test_init_kaiming_relu_works_in_place(student, rng):
    """same Parameter objects, leaves, requires_grad and dtype kept"""
    _in_place(student, rng, "init_kaiming_relu")


@pytest.mark.question("init_kaiming_relu", points=1, needs=_JOB["init_kaiming_relu"])
def test_init_kaiming_relu_uses_global_generator(student, rng):
    """torch.manual_seed reproduces it; it never reseeds the generator"""
    _generator(student, rng, "init_kaiming_relu")


# ------------------------------------------------------------------ init_first_last


def _with(spec: dict, **extra) -> dict:
    """The spec with keys added to every module that has parameters (e.g. dtype)."""
    out = dict(spec)
    if out["k"] in ("linear", "bn1d", "layernorm", "conv2d", "bilinear", "custom"):
        out.update(extra)
    if "children" in out:
        out["children"] = [[n, _with(c, **extra)] for n, c in out["children"]]
    if "lists" in out:
        out["lists"] = {k: [_with(c, **extra) for c in v] for k, v in out["lists"].items()}
    if "dicts" in out:
        out["dicts"] = {k: [[n, _with(c, **extra)] for n, c in v] for k, v in out["dicts"].items()}
    return out


@dataclass
class Net:
    """A probe net for init_first_last: its spec, seed, the first and last Linear, norms to perturb."""

    spec: dict
    seed: int
    first: str
    last: str
    norms: list[tuple[str, int, bool]]  # (module path, width, has running buffers)
    fan: tuple[int, int]  # the first Linear's (fan_in, fan_out)
    dtype: torch.dtype = torch.float32


def _nested_seq(rng: random.Random, big: bool) -> Net:
    """LayerNorm, then Sequential(first Linear, ReLU), a Linear, BatchNorm1d, a custom module with its own
    parameter around a Linear, the last Linear (with or without bias). The first Linear is nested."""
    n0, h1 = (rng.randint(224, 288), rng.randint(384, 512)) if big else (rng.randint(3, 10), rng.randint(4, 12))
    h2, h3, o = rng.randint(3, 10), rng.randint(3, 10), rng.randint(1, 6)
    names = [_name(rng, i) for i in range(6)]
    spec = _seq({"k": "layernorm", "n": n0},
                _seq(_lin(n0, h1), {"k": "relu"}),
                _lin(h1, h2), {"k": "bn1d", "n": h2},
                {"k": "custom", "children": [["proj", _lin(h2, h3)]], "params": {"scale": [h3]}},
                _lin(h3, o, bias=rng.random() < 0.5), names=names)
    return Net(spec, _seed(rng), f"{names[1]}.0", names[5], [(names[0], n0, False), (names[3], h2, True)], (n0, h1))


def _custom_lists(rng: random.Random, big: bool) -> Net:
    """A custom module: stem Sequential(first Linear, Tanh), a ModuleList of two Linears, a ModuleDict
    whose 'out' Linear is the last, and a parameter of its own."""
    n0, h1 = (rng.randint(384, 512), rng.randint(224, 288)) if big else (rng.randint(3, 10), rng.randint(4, 12))
    h2, o = rng.randint(3, 10), rng.randint(1, 6)
    spec = {"k": "custom", "children": [["stem", _seq(_lin(n0, h1), {"k": "tanh"})]],
            "lists": {"blocks": [_lin(h1, h2), {"k": "relu"}, _lin(h2, h2)]},
            "dicts": {"heads": [["out", _lin(h2, o)], ["act", {"k": "tanh"}]]},
            "params": {"gain": [o]}}
    return Net(spec, _seed(rng), "stem.0", "heads.out", [], (n0, h1))


def _two_linears(rng: random.Random) -> Net:
    """Exactly two Linears, with an nn.Bilinear (not a Linear) after the first."""
    a, b, c, d = (rng.randint(2, 9) for _ in range(4))
    spec = _seq(_lin(a, b), {"k": "relu"}, {"k": "bilinear", "in1": b, "in2": b, "out": c}, _lin(c, d))
    return Net(spec, _seed(rng), "0", "3", [], (a, b))


def _first_last(student, nets: list[Net], rng: random.Random):
    """Run init_first_last on each net: (snapshot before, snapshot after, returned net is net, returned) per net.
    An exception is a failure with a hint (every net here holds two nn.Linear modules or more)."""
    gen = torch.Generator().manual_seed(_seed(rng))
    p = Program()
    plan = []
    for net in nets:
        m = p.build(net.spec, net.seed)
        for path, width, buffers in net.norms:
            _perturb(p, m, path, _norm_deltas(gen, width, net.dtype, buffers))
        before = p.snapshot(m)
        out = p.call("init_first_last", m, catch=True)
        plan.append((before, p.snapshot(m), p.same(out, m), p.ret(out)))
    res = student.run(p, "init_first_last(net)")
    found = [tuple(res[s] for s in slots) for slots in plan]
    for _unused, _unused, _unused, out in found:
        if isinstance(out, Raised):
            hint = _("init_first_last raised {type} for a net with several nn.Linear modules").format(type=out.type)
            if out.is_a("ValueError"):
                hint += _(" (some nested in blocks, a ModuleList or a ModuleDict): count every nn.Linear "
                          "in net.modules(), not only the top-level children")
            raise AssertionError(hint + (f": {out.message[:200]}" if not out.is_a("ValueError") else ""))
    return found


@pytest.mark.question("init_first_last", points=1)
def test_init_first_last_first_linear_gets_xavier(student, rng):
    """the first nn.Linear in net.modules() order (nested) gets Xavier uniform; its bias is unchanged"""
    nets = [_nested_seq(rng, True), _custom_lists(rng, True)]
    for net, (before, after, _unused, _unused) in zip(nets, _first_last(student, nets, rng)):
        w = _weights(after).get(f"{net.first}.weight")
        assert w is not None, _("init_first_last removed the first nn.Linear's weight")
        assert not torch.equal(w.data, _weights(before)[f"{net.first}.weight"].data), (
            _("init_first_last left the first nn.Linear unchanged: the first one in net.modules() "
              "order (it may be nested inside a block) gets init_xavier"))
        # Two first layers of 86k–147k weights, each: exact support, then a Hoeffding moment test and a
        # KS test at ALPHA / 4 each (uniform_law splits its alpha in two): false failure <= ALPHA.
        fan_in, fan_out = net.fan
        finding = st.uniform_law(w.data, math.sqrt(6 / (fan_in + fan_out)), ALPHA / 2)
        if finding is not None:
            raise AssertionError("init_first_last: " + _law_hint("init_xavier", finding, fan_in, fan_out,
                                                                  _(" on the first nn.Linear")))
        _bias_ok("init_xavier", _weights(after)[f"{net.first}.bias"], _weights(before)[f"{net.first}.bias"].data,
                 _("the bias of the first nn.Linear"), who="init_first_last")


@pytest.mark.question("init_first_last", points=1)
def test_init_first_last_last_linear_gets_42_rest_untouched(student, rng):
    """the last nn.Linear gets 42 (bias unchanged); every other module is left untouched"""
    nets = [_nested_seq(rng, False), _custom_lists(rng, False), _two_linears(rng)]
    for net, (before, after, _unused, _unused) in zip(nets, _first_last(student, nets, rng)):
        w = _weights(after).get(f"{net.last}.weight")
        assert w is not None, _("init_first_last removed the last nn.Linear's weight")
        if not torch.all(w.data == 42):
            raise AssertionError(_("init_first_last must give the last nn.Linear in net.modules() "
                                   "order (it may sit in a ModuleDict, after other Linears) all-42 "
                                   "weights (init_42)"))
        b = _weights(after).get(f"{net.last}.bias")
        if b is not None:
            _bias_ok("init_42", b, _weights(before)[f"{net.last}.bias"].data, _("the bias of the last nn.Linear"),
                     who="init_first_last")
        skip = {f"{net.first}.weight", f"{net.first}.bias", f"{net.last}.weight", f"{net.last}.bias"}
        for changed in _changed(before, after, skip):
            owner = _owner(changed)
            raise AssertionError(_("init_first_last changed {removeprefix!r} of a {before} that is "
                                   "neither the first nor the last nn.Linear: leave every other module "
                                   "untouched").format(
                                     removeprefix=changed.removeprefix('buffer '), before=_module_cls(before, owner)))


@pytest.mark.question("init_first_last", points=1)
def test_init_first_last_value_error_with_fewer_than_two_linears(student, rng):
    """ValueError when the net holds fewer than two nn.Linear modules"""
    n, h = rng.randint(2, 6), rng.randint(2, 6)
    cases = [
        (_seq({"k": "conv2d", "in": 1, "out": 2, "ks": 3}, {"k": "relu"}, {"k": "bn1d", "n": n}), N_("no nn.Linear")),
        (_seq(_lin(n, h), {"k": "tanh"}, {"k": "bilinear", "in1": h, "in2": h, "out": n}),
         N_("one nn.Linear and an nn.Bilinear (which is not an nn.Linear)")),
        (_lin(n, h), N_("a single nn.Linear")),
        ({"k": "custom", "lists": {"layers": [_lin(n, h), {"k": "relu"}]}, "params": {"w": [h]}},
         N_("one nn.Linear inside a ModuleList")),
    ]
    p = Program()
    outs = [p.ret(p.call("init_first_last", p.build(spec, _seed(rng)), catch=True)) for spec, _ in cases]
    res = student.run(p, "init_first_last(net)")
    for (_unused, what), out in zip(cases, outs):
        got = res[out]
        assert isinstance(got, Raised), _("init_first_last must raise ValueError for a net with {what}").format(
                                            what=_(what))
        assert got.is_a("ValueError"), (_("init_first_last raised {type} for a net with {what}: check "
                                          "the count first and raise ValueError").format(type=got.type, what=_(what)))


@pytest.mark.question("init_first_last", points=1)
def test_init_first_last_returns_net_in_place(student, rng):
    """returns net itself; same Parameter objects, leaves, requires_grad and dtype kept"""
    nested = _nested_seq(rng, False)
    spec = _with(nested.spec, dtype="float64")  # every module float64
    first_block = spec["children"][1][1]  # Sequential(first Linear, ReLU): freeze the first Linear's weight
    first_block["children"][0][1] = {**first_block["children"][0][1], "frozen": ["weight"]}
    nets = [Net(spec, nested.seed, nested.first, nested.last, nested.norms, nested.fan, torch.float64),
            _two_linears(rng)]
    for before, after, same, out in _first_last(student, nets, rng):
        assert same, (_("init_first_last must return the net it was given") if out is not None else
                      _("init_first_last returned None: end with `return net`"))
        new = dict(after.named_params)
        assert list(new) == [n for n, _ in before.named_params], _("init_first_last added, removed or "
                                                             "renamed parameters")
        for pname, old in before.named_params:
            got = new[pname]
            assert got.oid == old.oid, (_("init_first_last registered a new object as {pname!r}: keep "
                                          "the same Parameter and change its values in place").format(pname=pname))
            assert got.dtype == old.dtype, _("init_first_last turned the {dtype} parameter {pname!r} "
                                             "into {dtype2}").format(dtype=old.dtype, pname=pname, dtype2=got.dtype)
            assert got.requires_grad == old.requires_grad, _("init_first_last changed requires_grad of "
                                                             "{pname!r}").format(pname=pname)
            assert got.is_leaf and got.grad_fn is None and got.grad is None, (
                _("init_first_last left autograd history or a .grad on {pname!r}: change values under "
                  "torch.no_grad()").format(pname=pname))
    # oids are the child's word: the Parameters held before the call must still be the ones registered after it
    behaviour.confirm_same_objects(student, rng, [((net.spec, net.seed), None) for net in nets],
                                   lambda p, m, case: p.call("init_first_last", m, catch=True), "init_first_last(net)",
                                   _("init_first_last registered new objects: keep the same Parameters "
                                     "and change their values in place"))
    behaviour.confirm_returns_net(
        student, rng, [((net.spec, net.seed), None) for net in nets],
        lambda p, m, n: p.call("init_first_last", m, catch=True), "init_first_last(net)",
        _("init_first_last must return the net it was given (a change made through the result does not "
          "reach net)"))
    # is_leaf, grad_fn, .grad, requires_grad and dtype are the child's word: confirm by gradients and a step
    a, b, c, d = (rng.randint(3, 10) for _ in range(4))
    chain = _seq(_lin(a, b, dtype="float64", frozen=["weight"]), {"k": "relu"}, _lin(b, c, dtype="float64"),
                 {"k": "tanh"}, _lin(c, d, dtype="float64", frozen=[rng.choice(["bias", "weight"])]))
    behaviour.confirm_trains_net(student, rng, [(chain, _seed(rng), a), (_seq(_lin(b, c), {"k": "relu"}, _lin(c, d)),
                                                                          _seed(rng), b)],
                                 lambda p, m, x: p.call("init_first_last", m, catch=True), "init_first_last(net)")


# ------------------------------------------------------------------ init_lazy


def _lazy_mlp(rng: random.Random) -> tuple[dict, int]:
    """LazyLinear, ReLU, LazyLinear, Tanh, then a non-lazy Linear with a frozen weight."""
    n, h1, h2, o = rng.randint(2, 12), rng.randint(4, 16), rng.randint(4, 16), rng.randint(1, 5)
    spec = _seq({"k": "lazylinear", "out": h1}, {"k": "relu"}, {"k": "lazylinear", "out": h2}, {"k": "tanh"},
                _lin(h2, o, frozen=["weight"]))
    return spec, n


def _spied(spec: dict) -> dict:
    """The net behind a spy module (``specs``' "spy": the identity, recording torch.is_grad_enabled() at
    each call), so that the grader sees every forward pass init_lazy runs and whether it records history."""
    return {"k": "seq", "children": [["spy", {"k": "spy"}], ["net", spec]]}


def _lazy_run(student, rng: random.Random, nets: list[tuple[dict, int]], perturb=None, spy: bool = False):
    """init_lazy(net, x) on each (spec, n_features): (snapshot before, snapshot after, returned net is net,
    returned) per net, and with ``spy`` (the spec behind a spy module) the spy's record of forward passes
    last. An exception is a failure with a hint."""
    gen = torch.Generator().manual_seed(_seed(rng))
    p = Program()
    plan = []
    for spec, n in nets:
        m = p.build(_spied(spec) if spy else spec, _seed(rng))
        if perturb:
            perturb(p, m, gen)
        x = torch.randn(rng.randint(2, 5), n, generator=gen)
        before = p.snapshot(m)
        out = p.call("init_lazy", m, x, catch=True)
        slots = (before, p.snapshot(m), p.same(out, m), p.ret(out))
        plan.append(slots + ((p.ret(p.attr(p.attr(m, "spy"), "grad_enabled")),) if spy else ()))
    res = student.run(p, "init_lazy(net, example_input)")
    found = [tuple(res[s] for s in slots) for slots in plan]
    for out in (f[3] for f in found):
        if isinstance(out, Raised):
            hint = _("init_lazy(net, example_input) raised {type}: {message}").format(
                       type=out.type, message=out.message[:160])
            if "uninitialized parameter" in out.message:
                hint = (_("init_lazy raised {type} on an uninitialized (lazy) parameter: run the "
                          "forward pass net(example_input) first, then initialize").format(type=out.type))
            raise AssertionError(hint)
    return found


@pytest.mark.question("init_lazy", points=1)
def test_init_lazy_materializes_and_returns_net(student, rng):
    """every lazy module materialized (an MLP, d2l's chimera); returns net itself"""
    nets = [_lazy_mlp(rng), (chimera(materialized=False), rng.randint(4, 24))]
    for (spec, n), (before, after, same, out) in zip(nets, _lazy_run(student, rng, nets)):
        assert same, (_("init_lazy must return the net it was given") if out is not None else
                      _("init_lazy returned None: end with `return net`"))
        for pname, t in after.named_params:
            assert not t.lazy and t.shape is not None, (
                _("init_lazy left {pname!r} uninitialized: run one forward pass net(example_input) to "
                  "materialize the lazy modules").format(pname=pname))
        lazy_left = [m for _, m in after.modules if m.cls.startswith("Lazy")]
        assert not lazy_left, _("init_lazy left a lazy module unmaterialized: run one forward pass "
                                "first")
        first = after.named_params[0][1]
        assert first.shape is not None and first.shape[-1] == n, \
            _("init_lazy must materialize the lazy modules with example_input (its feature size)")
    behaviour.confirm_returns_net(  # `same` is the child's word: a change through the result must reach net
        student, rng, [((spec, _seed(rng)), n) for spec, n in nets],
        lambda p, m, n: p.call("init_lazy", m, torch.randn(3, n, generator=torch.Generator().manual_seed(n)), catch=True),
        "init_lazy(net, example_input)",
        _("init_lazy must return the net it was given (a change made through the result does not reach "
          "net)"))


@pytest.mark.question("init_lazy", points=1)
def test_init_lazy_linears_get_init_normal(student, rng):
    """every nn.Linear, lazy or not, gets N(0, 0.01²) weights (large layers: KS + chi-square) and zero bias"""
    n_in, o1, o2, o3 = rng.randint(224, 288), rng.randint(448, 576), rng.randint(160, 220), rng.randint(4, 12)
    spec = _seq({"k": "lazylinear", "out": o1}, {"k": "relu"}, _lin(o1, o2), {"k": "bn1d", "n": o2},
                {"k": "lazylinear", "out": o3})
    perturb = lambda p, m, gen: _perturb(p, m, "3", _norm_deltas(gen, o2))
    ((before, after, _unused, _unused),) = _lazy_run(student, rng, [(spec, n_in)], perturb)
    w = _weights(after)
    layers = [("0", n_in, o1), ("2", o1, o2), ("4", o2, o3)]
    for name, fi, fo in layers:
        assert w.get(f"{name}.weight") is not None and w[f"{name}.weight"].shape == (fo, fi), \
            _("init_lazy must materialize every lazy nn.Linear with example_input")
    assert not torch.equal(w["2.weight"].data, before.param_named("2.weight").data), (
        _("init_lazy left an nn.Linear that was not lazy uninitialized: every nn.Linear gets "
          "init_normal"))
    for name, fi, fo in layers:
        _bias_ok("init_normal", w[f"{name}.bias"], before.param_named(f"{name}.bias").data,
                 _("the bias of an nn.Linear (init_normal's values: zeros)"), who="init_lazy")
    # Five assertions at ALPHA / 5 each: KS and chi-square on the two large layers (101k–165k and
    # 72k–127k weights, normal_law splits its alpha in two), and max |w| / 0.01 below the union-bound
    # threshold over every Linear weight. False failure <= ALPHA.
    for name, fi, fo in layers[:2]:
        finding = st.normal_law(w[f"{name}.weight"].data, 0.01, 2 * ALPHA / 5)
        if finding is not None:
            kind = _("a materialized lazy nn.Linear") if name == "0" else _("an nn.Linear that was not lazy")
            raise AssertionError("init_lazy: " + _law_hint("init_normal", finding, fi, fo,
                                                                            _(" on {kind}").format(kind=kind)))
    everything = np.concatenate([st.flat(w[f"{name}.weight"].data) for name, _, _ in layers])
    t = st.normal_max_bound(everything.size, ALPHA / 5)
    assert float(np.abs(everything).max()) <= 0.01 * t, _("init_lazy: some nn.Linear weights are far "
                                                          "too large for N(0, 0.01²)")
    for changed in _changed(before, after, {f"{n}.{k}" for n, _, _ in layers for k in ("weight", "bias")}):
        if not changed.startswith("buffer"):  # the forward pass updates BatchNorm's running statistics
            raise AssertionError(_("init_lazy changed {changed!r} of a BatchNorm1d: only nn.Linear "
                                   "modules are initialized").format(changed=changed))


@pytest.mark.question("init_lazy", points=1)
def test_init_lazy_works_without_lazy_modules(student, rng):
    """a net with no lazy module: every nn.Linear gets init_normal's values, others untouched, returns net"""
    a, b, c, d = rng.randint(40, 64), rng.randint(48, 80), rng.randint(24, 40), rng.randint(4, 10)
    spec = _seq(_lin(a, b), {"k": "relu"}, _lin(b, c, bias=False), {"k": "layernorm", "n": c}, _lin(c, d))
    perturb = lambda p, m, gen: _perturb(p, m, "3", _norm_deltas(gen, c))
    ((before, after, same, out),) = _lazy_run(student, rng, [(spec, a)], perturb)
    assert same, (_("init_lazy must return the net it was given") if out is not None else
                  _("init_lazy returned None: end with `return net`"))
    behaviour.confirm_returns_net(  # `same` is the child's word: a change through the result must reach net
        student, rng, [((spec, _seed(rng)), None)],
        lambda p, m, n: p.call("init_lazy", m, torch.randn(3, a, generator=torch.Generator().manual_seed(a)), catch=True),
        "init_lazy(net, example_input)",
        _("init_lazy must return the net it was given (a change made through the result does not reach "
          "net)"))
    w = _weights(after)
    for name in ("0", "2", "4"):
        assert not torch.equal(w[f"{name}.weight"].data, before.param_named(f"{name}.weight").data), (
            _("init_lazy left an nn.Linear that was not lazy uninitialized: every nn.Linear gets "
              "init_normal"))
    for name in ("0", "4"):
        _bias_ok("init_normal", w[f"{name}.bias"], before.param_named(f"{name}.bias").data,
                 _("the bias of an nn.Linear (init_normal's values: zeros)"), who="init_lazy")
    # Two assertions at ALPHA / 2 each on the 3k–8k weights of the three Linears: the chi-square
    # interval for sum (w / 0.01)², and max |w| / 0.01 below the union-bound threshold. False failure <= ALPHA.
    z = np.concatenate([st.flat(w[f"{name}.weight"].data) for name in ("0", "2", "4")]) / 0.01
    lo, hi = st.chi2_interval(z.size, ALPHA / 2)
    s = float(np.sum(z * z))  # not np.dot: BLAS threads + the engine forking sandboxes = lost partial sums
    assert lo <= s <= hi, (_("init_lazy: the nn.Linear weights do not follow N(0, 0.01²): their "
                             "standard deviation is about {sqrt:.2g}× what it should be (0.01)").format(
                               sqrt=math.sqrt(s / z.size)))
    assert float(np.abs(z).max()) <= st.normal_max_bound(z.size, ALPHA / 2), \
        _("init_lazy: some nn.Linear weights are far too large for N(0, 0.01²)")
    for changed in _changed(before, after, {f"{n}.{k}" for n in ("0", "2", "4") for k in ("weight", "bias")}):
        raise AssertionError(_("init_lazy changed {changed!r} of a LayerNorm: only nn.Linear modules "
                               "are initialized").format(changed=changed))


@pytest.mark.question("init_lazy", points=1, needs=("test_init_lazy_materializes_and_returns_net", "test_init_lazy_linears_get_init_normal",
                                                  "test_init_lazy_works_without_lazy_modules"))
def test_init_lazy_records_no_history_and_no_grads(student, rng):
    """one forward pass that records no history; parameters stay leaves, requires_grad as it was, no .grad"""
    nets = [_lazy_mlp(rng), (chimera(materialized=False), rng.randint(4, 24))]
    for (spec, n), (before, after, _unused, _unused, passes) in zip(nets, _lazy_run(student, rng, nets, spy=True)):
        was = Names((n, t.requires_grad) for n, t in before.named_params)  # a missing name fails the rule
        for pname, t in after.named_params:
            assert t.grad is None, (_("init_lazy left a .grad on {pname!r}: materialize with one "
                                      "forward pass under torch.no_grad(), without backward()").format(pname=pname))
            assert t.is_leaf and t.grad_fn is None, _("init_lazy left autograd history on {pname!r}").format(
                                                        pname=pname)
            assert t.requires_grad == was.get(pname, True), _("init_lazy changed requires_grad of {pname!r}").format(
                                                                pname=pname)
        assert isinstance(passes, list) and passes, _("init_lazy ran no forward pass: run "
                                                      "net(example_input) once")
        assert len(passes) == 1, (_("init_lazy ran {n_passes} forward passes: one forward pass of "
                                    "example_input materializes every lazy module").format(n_passes=len(passes)))
        assert not passes[0], (_("init_lazy's forward pass recorded autograd history: run "
                                 "net(example_input) under torch.no_grad()"))
    # .grad, is_leaf, grad_fn and requires_grad are the child's word: confirm by gradients and a step
    behaviour.confirm_trains_net(student, rng, [(spec, _seed(rng), n) for spec, n in [_lazy_mlp(rng)]],
                                 lambda p, m, x: p.call("init_lazy", m, x, catch=True), "init_lazy(net, example_input)")
