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
from typing import Callable

import numpy as np
import pytest
import torch

from ..engine.snapshot import Names, Snapshot
from ..engine.specs import linear
from ..engine.student import Program, Slot
from ..engine.values import Raised, TensorRef
from ..i18n import N_, _
from . import behaviour, checks, init_stats as st, probes
from .zoo import _name, chimera

ALPHA = st.RULE_ALPHA  # 1e-6 / 7: the false-failure probability a correct answer may spend per statistical rule
STATISTICAL = ("test_init_normal_weight_is_normal_std_001", "test_init_xavier_weight_is_xavier_uniform",
               "test_my_init_weight_law", "test_init_kaiming_relu_weight_is_he_normal_fan_in",
               "test_init_first_last_first_linear_gets_xavier", "test_init_lazy_linears_get_init_normal",
               "test_init_lazy_works_without_lazy_modules")  # the rules that spend ALPHA: 7 × ALPHA = 1e-6


# ------------------------------------------------------------------ the laws of the contract


@dataclass(frozen=True)
class Law:
    """An initializer's law, as the contract states it."""

    kind: str  # "normal", "xavier", "my", "const"
    bias: str  # "zero" or "keep"
    text: str  # for hints
    value: float = 0.0  # the constant of a "const" law
    std: float | None = None  # a normal law's fixed standard deviation (None: He's sqrt(2 / fan_in))

    @property
    def random(self) -> bool:
        """Whether its values are drawn (judged statistically) rather than set."""
        return self.kind != "const"

    def sigma(self, fan_in: int, fan_out: int) -> float:
        """A normal law's standard deviation for a layer of these fans."""
        return self.std if self.std is not None else math.sqrt(2 / fan_in)


LAWS = {
    "init_normal": Law("normal", "zero", "N(0, 0.01²)", std=0.01),
    "init_constant": Law("const", "zero", N_("all ones"), value=1.0),
    "init_xavier": Law("xavier", "keep", "U(−a, a), a = √(6 / (fan_in + fan_out))"),
    "init_42": Law("const", "keep", N_("all 42"), value=42.0),
    "my_init": Law("my", "keep", N_("U(−10, 10) with every |w| < 5 set to 0")),
    "init_kaiming_relu": Law("normal", "zero", "N(0, 2 / fan_in)"),
}


def _seq(*children: dict, names: list[str] | None = None) -> dict:
    names = names or [str(i) for i in range(len(children))]
    return {"k": "seq", "children": [[n, c] for n, c in zip(names, children, strict=True)]}


def _seed(rng: random.Random) -> int:
    return rng.getrandbits(31)


def _by_name(snap: Snapshot) -> dict[str, TensorRef]:
    """Every parameter (weights and biases) under each of its names; a missing name fails the rule."""
    return snap.by_name()


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


def _check_law(name: str, w: TensorRef | None, fan_in: int, fan_out: int, alpha: float, where: str = "") -> None:
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
    if old is None:  # a grader bug (an error, not the student's failure): a kept bias needs its old values
        raise ValueError("_bias_ok: a bias the law keeps needs its values from before")
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
    out = {"weight": torch.rand(n, generator=gen, dtype=dtype) + 0.5,
           "bias": torch.randn(n, generator=gen, dtype=dtype)}
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


def _random_law(student, rng: random.Random, name: str, alpha: float) -> None:
    """The weight of a random initializer follows its law; a correct answer fails with probability <= alpha."""
    p = Program()
    f = p.name(name)
    (i1, o1), (i2, o2), (i3, o3) = _big_shapes(rng)
    net = p.build(_seq(linear(i1, o1), {"k": "relu"}, linear(i2, o2)), _seed(rng))
    p.method(net, "apply", f)
    single = p.build(linear(i3, o3), _seed(rng))
    p.call(f, single)
    s_net, s_single = p.snapshot(net), p.snapshot(single)
    res = student.run(p, f"{name}(m)")
    layers = [(_by_name(res[s_net]).get("0.weight"), i1, o1, _(" (via net.apply)")),
              (_by_name(res[s_net]).get("2.weight"), i2, o2, _(" (via net.apply)")),
              (_by_name(res[s_single]).get("weight"), i3, o3, "")]
    # Three layers of 86k–161k i.i.d. draws, two assertions each (a KS test against the exact law
    # and a moment test: chi-square for normal laws, Hoeffding on w² for Xavier, Hoeffding on the
    # count of zeros for my_init), each at alpha / 6: false failure <= alpha for the rule.
    for w, fi, fo, where in layers:
        _check_law(name, w, fi, fo, alpha / 3, where)


def _constant_law(student, rng: random.Random, name: str) -> None:
    """The weight of a constant initializer holds exactly its constant (float32 and float64 layers)."""
    law = LAWS[name]
    p = Program()
    f = p.name(name)
    shapes = [(rng.randint(2, 40), rng.randint(2, 40)) for _ in range(3)]
    net = p.build(_seq(linear(*shapes[0]), {"k": "tanh"}, linear(*shapes[1], dtype="float64")), _seed(rng))
    p.method(net, "apply", f)
    single = p.build(linear(*shapes[2]), _seed(rng))
    p.call(f, single)
    s_net, s_single = p.snapshot(net), p.snapshot(single)
    res = student.run(p, f"{name}(m)")
    for w, where in [(_by_name(res[s_net]).get("0.weight"), _(" (via net.apply)")),
                     (_by_name(res[s_net]).get("2.weight"), _(" (a float64 layer, via net.apply)")),
                     (_by_name(res[s_single]).get("weight"), "")]:
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
    cases = {"seq": (_seq(linear(a, b), {"k": "relu"}, linear(b, c)), _seed(rng)),
             "single": (linear(c, d), _seed(rng)),
             "nobias": (linear(d, e, bias=False), _seed(rng)),
             "nobias_seq": (_seq(linear(e, a, bias=False), {"k": "tanh"}), _seed(rng))}
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
        got = _by_name(res[snaps[key]]).get(bias_name)
        assert got is not None, _("{name} removed the bias of an nn.Linear").format(name=name)
        _bias_ok(name, got, res[befores[key]].param_named(bias_name).data)
    for key, w_name in [("nobias", "weight"), ("nobias_seq", "0.weight")]:
        r = res[raised[key]]
        if isinstance(r, Raised):
            raise AssertionError(_("{name} raised {type} on an nn.Linear without bias (bias=False, so "
                                   "m.bias is None): initialize its weight and skip the bias").format(
                                     name=name, type=r.type))
        params = _by_name(res[snaps[key]])
        assert not any(n.endswith("bias") for n in params), _("{name} added a bias to an nn.Linear built "
                                                              "without one").format(name=name)
        _initialized(name, params[w_name], res[befores[key]].param_named(w_name).data,
                     _("the weight of a bias-free nn.Linear"))


# ------------------------------------------------------------------ rule 3: only nn.Linear, subclasses included


def _only_linear(student, rng: random.Random, name: str) -> None:
    gen = torch.Generator().manual_seed(_seed(rng))
    n = rng.randint(3, 8)
    c_in, c_out, h, e = rng.randint(1, 3), rng.randint(1, 4), rng.randint(3, 9), 2 * rng.randint(2, 4)
    names = [_name(rng, i) for i in range(7)]
    main_spec = _seq({"k": "conv2d", "in": c_in, "out": c_out, "ks": rng.choice([1, 3])},
                     {"k": "bn1d", "n": n},
                     linear(n, h),
                     {"k": "bilinear", "in1": h, "in2": n, "out": rng.randint(2, 5)},
                     {"k": "layernorm", "n": h},
                     {"k": "custom", "children": [["proj", linear(h, h)]], "params": {"scale": [h], "mix": [h, 2]}},
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
    subclass = N_("a subclass of nn.Linear")
    linears = {f"0.{names[2]}": N_("an nn.Linear"), f"0.{names[5]}.proj": N_("an nn.Linear inside a custom module"),
               "1.0": N_("a materialized nn.LazyLinear"), "2": subclass,
               "3.out_proj": N_("a subclass of nn.Linear (MultiheadAttention.out_proj)")}
    old = dict(before.named_params)
    for module, kind in linears.items():
        what = _(kind)  # said in the student's language
        got = dict(after.named_params).get(f"{module}.weight")
        assert got is not None, _("{name} removed the weight of {what}").format(name=name, what=what)
        if kind.startswith(subclass) and torch.equal(got.data, old[f"{module}.weight"].data):
            raise AssertionError(_("{name} left the weight of {what} unchanged: type(m) == nn.Linear "
                                   "misses subclasses, use isinstance(m, nn.Linear)").format(name=name, what=what))
        _initialized(name, got, old[f"{module}.weight"].data, _("the weight of {what}").format(what=what))
    skip = {f"{m}.{k}" for m in linears for k in ("weight", "bias")}
    for changed in _changed(before, after, skip):
        owner = _owner(changed)
        raise AssertionError(_("{name} changed {value} {removeprefix!r} of a {before}: act only on "
                               "nn.Linear modules and leave every other module untouched").format(
                                 name=name, value=_('buffer') if changed.startswith('buffer') else _('parameter'),
                                 removeprefix=changed.removeprefix('buffer '), before=_module_cls(before, owner)))


# ------------------------------------------------------------------ rule 4: in place

IN_PLACE = checks.InPlaceHints(
    renamed=N_("{name} added, removed or renamed parameters: work in place"),
    new_object=N_("{name} registered a new object as {pname!r}: keep the same Parameter and change its values "
                  "in place (nn.init.*_, or under torch.no_grad())"),
    plain_tensor=N_("{name} replaced the Parameter {pname!r} by a plain tensor"),
    dtype=N_("{name} turned the {dtype} parameter {pname!r} into {dtype2}: keep its dtype (a new tensor like "
             "torch.ones(shape) is float32)"),
    requires_grad=N_("{name} changed requires_grad of {pname!r} (frozen parameters stay frozen, trainable ones "
                     "trainable)"),
    history=N_("{name} left autograd history on {pname!r} ({grad_fn}): change values under torch.no_grad()"),
    grad=N_("{name} created a .grad for {pname!r}"))


def _initialized_weight(name: str, pname: str, got: TensorRef, old: TensorRef) -> None:
    if pname.endswith("weight"):
        _initialized(name, got, old.data,
                     _("the weight {pname!r} (a frozen or float64 nn.Linear)").format(pname=pname))


def _in_place(student, rng: random.Random, name: str) -> None:
    a, b, c, d, e = (rng.randint(3, 20) for _ in range(5))
    cases = [(_seq(linear(a, b, frozen=["weight"]), {"k": "relu"}, linear(b, c, dtype="float64"),
                   linear(c, d, frozen=["weight", "bias"]), linear(d, e, dtype="float64", frozen=["bias"])),
              _seed(rng)),
             (linear(e, a, dtype="float64", frozen=[rng.choice(["weight", "bias"])]), _seed(rng))]
    p = Program()
    f = p.name(name)
    mods = [p.build(*case) for case in cases]
    befores = [p.snapshot(m) for m in mods]
    p.method(mods[0], "apply", f)
    p.call(f, mods[1])
    afters = [p.snapshot(m) for m in mods]
    res = student.run(p, f"{name}(m)")
    for before, after in zip(befores, afters, strict=True):
        checks.in_place(name, res[before], res[after], IN_PLACE,
                        lambda pname, got, old: _initialized_weight(name, pname, got, old))
    # oids are the child's word: the Parameters held before the call must still be the ones registered after it
    behaviour.confirm_same_objects(student, rng, [(case, None) for case in cases],
                                   lambda p, net, case: p.method(net, "apply", p.name(name), catch=True), f"{name}(m)",
                                   _("{name} registered new objects: keep the same Parameters and "
                                     "change their values in place (nn.init.*_, or under "
                                     "torch.no_grad())").format(name=name))
    # is_leaf, grad_fn, .grad, requires_grad and dtype are the child's word: confirm by gradients and a step
    n1, n2, n3 = (rng.randint(3, 12) for _ in range(3))
    behaviour.confirm_trains(student, rng, [(linear(n1, n2), _seed(rng)),
                                            (linear(n2, n3, dtype="float64", frozen=[rng.choice(["weight", "bias"])]),
                                             _seed(rng)),
                                            (linear(n3, n1, bias=False, dtype="float64"), _seed(rng))],
                             lambda p, m, case: p.call(name, m, catch=True), f"{name}(m)")


# ------------------------------------------------------------------ rule 5: torch's global generator


def _generator(student, rng: random.Random, name: str) -> None:
    law = LAWS[name]
    spec = linear(rng.randint(12, 40), rng.randint(12, 40))
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
        w0, w1 = _by_name(pair)["0.weight"], _by_name(pair)["1.weight"]
        assert not torch.equal(w0.data, w1.data), (
            _("{name} gave two layers initialized one after the other the same weights: it reseeds "
              "torch's generator (torch.manual_seed inside the initializer?); never reseed it").format(name=name))
    same = all(torch.equal(x.data, y.data) for (_, x), (_, y) in zip(a.named_params, b.named_params, strict=True))
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

# Written once, defined six times: ``test_<initializer>_<rule>`` for each initializer, in this order, as if
# written out by hand (pytest and the runner collect them alike). The weight rule's name and check name are
# the initializer's own; the others follow from its law.
WEIGHT_RULES = {
    "init_normal": ("weight_is_normal_std_001",
                    N_("weight i.i.d. N(0, 0.01²) on three large layers (KS + chi-square; false failure ≤ 1e-6 "
                       "/ 7)")),
    "init_constant": ("weight_is_all_ones", N_("weight all ones (float32 and float64, via net.apply and direct)")),
    "init_xavier": ("weight_is_xavier_uniform",
                    N_("weight i.i.d. U(−a, a), a = √(6/(fan_in+fan_out)), on three large layers (support + KS + "
                       "moment; false failure ≤ 1e-6 / 7)")),
    "init_42": ("weight_is_all_42", N_("weight all 42 (float32 and float64, via net.apply and direct)")),
    "my_init": ("weight_law", N_("weight: 0 with probability ½, else uniform on [−10, −5] ∪ [5, 10] (support + "
                                 "zero count + KS; false failure ≤ 1e-6 / 7)")),
    "init_kaiming_relu": ("weight_is_he_normal_fan_in",
                          N_("weight i.i.d. N(0, 2/fan_in) on three large layers, fan_in ≠ fan_out (KS + chi-square; "
                             "false failure ≤ 1e-6 / 7)")),
}
BIAS_RULES = {"zero": ("bias_is_zero", N_("bias all zeros; a Linear without bias works")),
              "keep": ("bias_unchanged", N_("bias left unchanged; a Linear without bias works"))}
ONLY_LINEAR_DOC = N_("every nn.Linear (subclasses included) initialized; other modules left untouched")
IN_PLACE_DOC = N_("same Parameter objects, leaves, requires_grad and dtype kept")
GENERATOR_RULES = {  # by law.random
    True: ("uses_global_generator", N_("torch.manual_seed reproduces it; it never reseeds the generator")),
    False: ("never_reseeds", N_("it never reseeds torch's global generator"))}


def _weight_test(name: str) -> Callable[..., None]:
    """The weight rule of ``name``: statistical for a random law (one of STATISTICAL: it spends ALPHA), exact
    for a constant."""
    if LAWS[name].random:
        def random_test(student, rng):
            _random_law(student, rng, name, ALPHA)
        return random_test

    def constant_test(student, rng):
        _constant_law(student, rng, name)
    return constant_test


def _test(check: Callable[[object, random.Random, str], None], name: str) -> Callable[..., None]:
    """A rule that runs ``check`` on the initializer ``name``."""
    def test(student, rng):
        check(student, rng, name)
    return test


def _define(question: str, rule: str, doc: str, test: Callable[..., None], needs: tuple[str, ...] = ()) -> str:
    """Define ``test_<question>_<rule>`` in this module, one point, ``doc`` its check name; return its name."""
    name = f"test_{question}_{rule}"
    test.__name__ = test.__qualname__ = name
    test.__doc__ = doc
    globals()[name] = pytest.mark.question(question, points=1, needs=needs)(test)
    return name


def _define_initializer_rules(name: str) -> None:
    """The five rules of one initializer; "never reseeds" (a no-harm rule) counts once one of the others passes."""
    law = LAWS[name]
    weight, weight_doc = WEIGHT_RULES[name]
    job = (_define(name, weight, weight_doc, _weight_test(name)),
           _define(name, *BIAS_RULES[law.bias], _test(_bias, name)),
           _define(name, "acts_only_on_linear", ONLY_LINEAR_DOC, _test(_only_linear, name)),
           _define(name, "works_in_place", IN_PLACE_DOC, _test(_in_place, name)))
    _define(name, *GENERATOR_RULES[law.random], _test(_generator, name), needs=job)


for _initializer in WEIGHT_RULES:
    _define_initializer_rules(_initializer)


# ------------------------------------------------------------------ init_first_last

# the rules that check init_first_last does its job: "returns net in place" counts once one of them passes
# (an answer that only returns net earns nothing)
FIRST_LAST_JOB = ("test_init_first_last_first_linear_gets_xavier",
                  "test_init_first_last_last_linear_gets_42_rest_untouched")


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
                _seq(linear(n0, h1), {"k": "relu"}),
                linear(h1, h2), {"k": "bn1d", "n": h2},
                {"k": "custom", "children": [["proj", linear(h2, h3)]], "params": {"scale": [h3]}},
                linear(h3, o, bias=rng.random() < 0.5), names=names)
    return Net(spec, _seed(rng), f"{names[1]}.0", names[5], [(names[0], n0, False), (names[3], h2, True)], (n0, h1))


def _custom_lists(rng: random.Random, big: bool) -> Net:
    """A custom module: stem Sequential(first Linear, Tanh), a ModuleList of two Linears, a ModuleDict
    whose 'out' Linear is the last, and a parameter of its own."""
    n0, h1 = (rng.randint(384, 512), rng.randint(224, 288)) if big else (rng.randint(3, 10), rng.randint(4, 12))
    h2, o = rng.randint(3, 10), rng.randint(1, 6)
    spec = {"k": "custom", "children": [["stem", _seq(linear(n0, h1), {"k": "tanh"})]],
            "lists": {"blocks": [linear(h1, h2), {"k": "relu"}, linear(h2, h2)]},
            "dicts": {"heads": [["out", linear(h2, o)], ["act", {"k": "tanh"}]]},
            "params": {"gain": [o]}}
    return Net(spec, _seed(rng), "stem.0", "heads.out", [], (n0, h1))


def _two_linears(rng: random.Random) -> Net:
    """Exactly two Linears, with an nn.Bilinear (not a Linear) after the first."""
    a, b, c, d = (rng.randint(2, 9) for _ in range(4))
    spec = _seq(linear(a, b), {"k": "relu"}, {"k": "bilinear", "in1": b, "in2": b, "out": c}, linear(c, d))
    return Net(spec, _seed(rng), "0", "3", [], (a, b))


def _first_last(student, nets: list[Net], rng: random.Random) -> list[probes.InPlaceCall]:
    """Run init_first_last on each net (its norms perturbed first). An exception is a failure with a hint
    (every net here holds two nn.Linear modules or more)."""
    gen = torch.Generator().manual_seed(_seed(rng))

    def setup(net: Net) -> probes.Setup:
        def make(p: Program) -> tuple[Slot, tuple]:
            m = p.build(net.spec, net.seed)
            for path, width, buffers in net.norms:
                _perturb(p, m, path, _norm_deltas(gen, width, net.dtype, buffers))
            return m, ()
        return make

    found = probes.call_in_place(student, "init_first_last", "init_first_last(net)", [setup(net) for net in nets])
    out = probes.first_raised(found)
    if out is not None:
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
    for net, (before, after, *_unused) in zip(nets, _first_last(student, nets, rng), strict=True):
        w = _by_name(after).get(f"{net.first}.weight")
        assert w is not None, _("init_first_last removed the first nn.Linear's weight")
        assert not torch.equal(w.data, _by_name(before)[f"{net.first}.weight"].data), (
            _("init_first_last left the first nn.Linear unchanged: the first one in net.modules() "
              "order (it may be nested inside a block) gets init_xavier"))
        # Two first layers of 86k–147k weights, each: exact support, then a Hoeffding moment test and a
        # KS test at ALPHA / 4 each (uniform_law splits its alpha in two): false failure <= ALPHA.
        fan_in, fan_out = net.fan
        finding = st.uniform_law(w.data, math.sqrt(6 / (fan_in + fan_out)), ALPHA / 2)
        if finding is not None:
            raise AssertionError("init_first_last: " + _law_hint("init_xavier", finding, fan_in, fan_out,
                                                                  _(" on the first nn.Linear")))
        _bias_ok("init_xavier", _by_name(after)[f"{net.first}.bias"], _by_name(before)[f"{net.first}.bias"].data,
                 _("the bias of the first nn.Linear"), who="init_first_last")


@pytest.mark.question("init_first_last", points=1)
def test_init_first_last_last_linear_gets_42_rest_untouched(student, rng):
    """the last nn.Linear gets 42 (bias unchanged); every other module is left untouched"""
    nets = [_nested_seq(rng, False), _custom_lists(rng, False), _two_linears(rng)]
    for net, (before, after, *_unused) in zip(nets, _first_last(student, nets, rng), strict=True):
        w = _by_name(after).get(f"{net.last}.weight")
        assert w is not None, _("init_first_last removed the last nn.Linear's weight")
        if not torch.all(w.data == 42):
            raise AssertionError(_("init_first_last must give the last nn.Linear in net.modules() "
                                   "order (it may sit in a ModuleDict, after other Linears) all-42 "
                                   "weights (init_42)"))
        b = _by_name(after).get(f"{net.last}.bias")
        if b is not None:
            _bias_ok("init_42", b, _by_name(before)[f"{net.last}.bias"].data, _("the bias of the last nn.Linear"),
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
        (_seq(linear(n, h), {"k": "tanh"}, {"k": "bilinear", "in1": h, "in2": h, "out": n}),
         N_("one nn.Linear and an nn.Bilinear (which is not an nn.Linear)")),
        (linear(n, h), N_("a single nn.Linear")),
        ({"k": "custom", "lists": {"layers": [linear(n, h), {"k": "relu"}]}, "params": {"w": [h]}},
         N_("one nn.Linear inside a ModuleList")),
    ]
    two = _seq(linear(n, h), {"k": "relu"}, linear(h, n))  # where it must not raise (raising alone earns nothing)
    p = Program()
    outs = [p.ret(p.call("init_first_last", p.build(spec, _seed(rng)), catch=True)) for spec, _ in cases]
    fine = p.ret(p.call("init_first_last", p.build(two, _seed(rng)), catch=True))
    res = student.run(p, "init_first_last(net)")
    assert not (isinstance(res[fine], Raised) and res[fine].is_a("ValueError")), (
        _("init_first_last raised ValueError for a net with two nn.Linear modules: raise it only when there are "
          "fewer than two"))
    for (_unused, what), out in zip(cases, outs, strict=True):
        got = res[out]
        assert isinstance(got, Raised), _("init_first_last must raise ValueError for a net with {what}").format(
                                            what=_(what))
        assert got.is_a("ValueError"), (_("init_first_last raised {type} for a net with {what}: check "
                                          "the count first and raise ValueError").format(type=got.type, what=_(what)))


FIRST_LAST_IN_PLACE = checks.InPlaceHints(
    renamed=N_("init_first_last added, removed or renamed parameters"),
    new_object=N_("init_first_last registered a new object as {pname!r}: keep the same Parameter and change its "
                  "values in place"),
    dtype=N_("init_first_last turned the {dtype} parameter {pname!r} into {dtype2}"),
    requires_grad=N_("init_first_last changed requires_grad of {pname!r}"),
    history=N_("init_first_last left autograd history or a .grad on {pname!r}: change values under "
               "torch.no_grad()"))


@pytest.mark.question("init_first_last", points=1, needs=FIRST_LAST_JOB)
def test_init_first_last_returns_net_in_place(student, rng):
    """returns net itself; same Parameter objects, leaves, requires_grad and dtype kept"""
    nested = _nested_seq(rng, False)
    spec = _with(nested.spec, dtype="float64")  # every module float64
    first_block = spec["children"][1][1]  # Sequential(first Linear, ReLU): freeze the first Linear's weight
    first_block["children"][0][1] = {**first_block["children"][0][1], "frozen": ["weight"]}
    nets = [Net(spec, nested.seed, nested.first, nested.last, nested.norms, nested.fan, torch.float64),
            _two_linears(rng)]
    for call in _first_last(student, nets, rng):
        checks.returns_net(call.same, call.out, N_("init_first_last must return the net it was given"),
                           N_("init_first_last returned None: end with `return net`"))
        checks.in_place("init_first_last", call.before, call.after, FIRST_LAST_IN_PLACE)
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
    chain = _seq(linear(a, b, dtype="float64", frozen=["weight"]), {"k": "relu"}, linear(b, c, dtype="float64"),
                 {"k": "tanh"}, linear(c, d, dtype="float64", frozen=[rng.choice(["bias", "weight"])]))
    plain = _seq(linear(b, c), {"k": "relu"}, linear(c, d))
    behaviour.confirm_trains_net(student, rng, [(chain, _seed(rng), a), (plain, _seed(rng), b)],
                                 lambda p, m, x: p.call("init_first_last", m, catch=True), "init_first_last(net)")


# ------------------------------------------------------------------ init_lazy


LAZY_WRONG_NET = N_("init_lazy must return the net it was given")
LAZY_NONE = N_("init_lazy returned None: end with `return net`")


def _lazy_mlp(rng: random.Random) -> tuple[dict, int]:
    """LazyLinear, ReLU, LazyLinear, Tanh, then a non-lazy Linear with a frozen weight."""
    n, h1, h2, o = rng.randint(2, 12), rng.randint(4, 16), rng.randint(4, 16), rng.randint(1, 5)
    spec = _seq({"k": "lazylinear", "out": h1}, {"k": "relu"}, {"k": "lazylinear", "out": h2}, {"k": "tanh"},
                linear(h2, o, frozen=["weight"]))
    return spec, n


def _spied(spec: dict) -> dict:
    """The net behind a spy module (``specs``' "spy": the identity, recording torch.is_grad_enabled() at
    each call), so that the grader sees every forward pass init_lazy runs and whether it records history."""
    return {"k": "seq", "children": [["spy", {"k": "spy"}], ["net", spec]]}


def _lazy_run(student, rng: random.Random, nets: list[tuple[dict, int]],
              perturb: Callable[[Program, Slot, torch.Generator], None] | None = None,
              spy: bool = False) -> list[probes.InPlaceCall]:
    """init_lazy(net, x) on each (spec, n_features); with ``spy`` (the spec behind a spy module) each call's
    ``extra`` is the spy's record of forward passes. An exception is a failure with a hint."""
    gen = torch.Generator().manual_seed(_seed(rng))

    def setup(spec: dict, n: int) -> probes.Setup:
        def make(p: Program) -> tuple[Slot, tuple]:
            m = p.build(_spied(spec) if spy else spec, _seed(rng))
            if perturb:
                perturb(p, m, gen)
            return m, (torch.randn(rng.randint(2, 5), n, generator=gen),)
        return make

    record = (lambda p, m: p.ret(p.attr(p.attr(m, "spy"), "grad_enabled"))) if spy else None
    found = probes.call_in_place(student, "init_lazy", "init_lazy(net, example_input)",
                                 [setup(spec, n) for spec, n in nets], record)
    out = probes.first_raised(found)
    if out is not None:
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
    for (_spec, n), (_before, after, same, out, _unused) in zip(nets, _lazy_run(student, rng, nets), strict=True):
        checks.returns_net(same, out, LAZY_WRONG_NET, LAZY_NONE)
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
        _init_lazy_on,
        "init_lazy(net, example_input)",
        _("init_lazy must return the net it was given (a change made through the result does not reach "
          "net)"))


@pytest.mark.question("init_lazy", points=1)
def test_init_lazy_linears_get_init_normal(student, rng):
    """every nn.Linear, lazy or not, gets N(0, 0.01²) weights (large layers: KS + chi-square) and zero bias"""
    n_in, o1, o2, o3 = rng.randint(224, 288), rng.randint(448, 576), rng.randint(160, 220), rng.randint(4, 12)
    spec = _seq({"k": "lazylinear", "out": o1}, {"k": "relu"}, linear(o1, o2), {"k": "bn1d", "n": o2},
                {"k": "lazylinear", "out": o3})
    def perturb(p: Program, m: Slot, gen: torch.Generator) -> None:
        _perturb(p, m, "3", _norm_deltas(gen, o2))

    ((before, after, *_unused),) = _lazy_run(student, rng, [(spec, n_in)], perturb)
    w = _by_name(after)
    layers = [("0", n_in, o1), ("2", o1, o2), ("4", o2, o3)]
    for name, fi, fo in layers:
        assert w.get(f"{name}.weight") is not None and w[f"{name}.weight"].shape == (fo, fi), \
            _("init_lazy must materialize every lazy nn.Linear with example_input")
    assert not torch.equal(w["2.weight"].data, before.param_named("2.weight").data), (
        _("init_lazy left an nn.Linear that was not lazy uninitialized: every nn.Linear gets "
          "init_normal"))
    for name, _fan_in, _fan_out in layers:
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
    for changed in _changed(before, after, {f"{n}.{k}" for n, *_fans in layers for k in ("weight", "bias")}):
        if not changed.startswith("buffer"):  # the forward pass updates BatchNorm's running statistics
            raise AssertionError(_("init_lazy changed {changed!r} of a BatchNorm1d: only nn.Linear "
                                   "modules are initialized").format(changed=changed))


def _init_lazy_on(p: Program, m: Slot, width: int | None) -> Slot:
    """``init_lazy(m, x)`` with x of shape (3, width), drawn from a generator seeded with ``width``."""
    if width is None:  # a grader bug: every lazy net here comes with its input's width
        raise ValueError("_init_lazy_on: a lazy net needs the width of its example input")
    return p.call("init_lazy", m, torch.randn(3, width, generator=torch.Generator().manual_seed(width)), catch=True)


@pytest.mark.question("init_lazy", points=1)
def test_init_lazy_works_without_lazy_modules(student, rng):
    """a net with no lazy module: every nn.Linear gets init_normal's values, others untouched, returns net"""
    a, b, c, d = rng.randint(40, 64), rng.randint(48, 80), rng.randint(24, 40), rng.randint(4, 10)
    spec = _seq(linear(a, b), {"k": "relu"}, linear(b, c, bias=False), {"k": "layernorm", "n": c}, linear(c, d))
    def perturb(p: Program, m: Slot, gen: torch.Generator) -> None:
        _perturb(p, m, "3", _norm_deltas(gen, c))

    ((before, after, same, out, _unused),) = _lazy_run(student, rng, [(spec, a)], perturb)
    checks.returns_net(same, out, LAZY_WRONG_NET, LAZY_NONE)
    behaviour.confirm_returns_net(  # `same` is the child's word: a change through the result must reach net
        student, rng, [((spec, _seed(rng)), None)],
        lambda p, m, n: p.call("init_lazy", m, torch.randn(3, a, generator=torch.Generator().manual_seed(a)),
                               catch=True),
        "init_lazy(net, example_input)",
        _("init_lazy must return the net it was given (a change made through the result does not reach "
          "net)"))
    w = _by_name(after)
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


@pytest.mark.question("init_lazy", points=1, needs=("test_init_lazy_materializes_and_returns_net",
                                                  "test_init_lazy_linears_get_init_normal",
                                                  "test_init_lazy_works_without_lazy_modules"))
def test_init_lazy_records_no_history_and_no_grads(student, rng):
    """one forward pass that records no history; parameters stay leaves, requires_grad as it was, no .grad"""
    nets = [_lazy_mlp(rng), (chimera(materialized=False), rng.randint(4, 24))]
    runs = _lazy_run(student, rng, nets, spy=True)
    for _net, (before, after, _unused, _unused, passes) in zip(nets, runs, strict=True):
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
