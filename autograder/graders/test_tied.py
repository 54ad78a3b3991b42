"""Hidden graders for the `tied` assignment (tied parameters), one test per contract rule.

Each test probes the student's answer in the child with random sizes and inputs
drawn from the test's ``rng``, computes the right answer itself (on its own copy
of each net, see tied_helpers.py), and fails with a hint that names the mistake
without showing expected values.

Tolerances. Everything is float32. Values computed by the same formula in a
different order (``F.linear`` or ``x @ W.T + b``, ``p -= lr * g`` or SGD's fused
update, a norm by ``.norm()`` or NumPy) differ by a few units in the last place
(float32's epsilon is 1.2e-7), so single computations are compared with
``checks.close`` (rtol 1e-4, plus 1e-5 of the largest entry: the kit's one
convention, see checks.py). A replayed training run
compounds such differences over its epochs: on 300 probes drawn as the grader
draws them (3 to 8 epochs, lr up to 0.2), the allowed styles (zero_grad, grads
set to None or zeroed in place; manual update or torch.optim.SGD; F.mse_loss,
nn.MSELoss or the mean of squares; norms by torch or NumPy) differed from the
parent's replay by at most 9e-6 relative, so losses and gradient norms are
compared with ``close_values`` (rtol 1e-4, atol 1e-6), final parameters with
``close`` (over 10x margin). The mistakes the hints name change these numbers by percents.

Probabilities. The only random verdict is "not PyTorch's default
initialization": a correct answer fails it with probability below 1e-12 per
grading (see test_build_shared_mlp_default_initialization). Every other check compares
with a deterministic replay.
"""
from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from ..engine.student import Program
from ..engine.values import ModuleRef, Raised, TensorRef
from ..i18n import N_, _
from . import behaviour
from .checks import ATOL, RTOL, close, close_values
from .common import as_number, build, describe
from .tied_helpers import (
    ae_forward,
    ae_parts,
    ae_sizes,
    contributions,
    gen,
    guard_module,
    in_features,
    layers,
    linears,
    mlp_forward,
    mlp_sizes,
    nested_shared_spec,
    out_features,
    replay,
    several_shared_spec,
    shared_mlp_spec,
)

TWO_LAYERS = N_("two separate Linear layers with equal values are not shared: use one Linear object twice "
              "(the same module at both places)")

# ------------------------------------------------------------------ build_shared_mlp


def _need_module(got, what: str) -> None:
    if not isinstance(got, ModuleRef):
        raise AssertionError(_("TiedAutoencoder must be a subclass of nn.Module") if what.startswith("TiedAutoencoder")
                             else _("{what} must return an nn.Module, not {kind}").format(
                                      what=what, kind=describe(got)))


def _mlp_probe(p: Program, args: tuple, kwargs: dict | None = None):
    net = guard_module(p, p.call("build_shared_mlp", *args, **(kwargs or {})))
    return net, p.snapshot(net)


def _no_lazy(snap, what: str) -> None:
    assert not any(t.lazy for _, t in snap.named_params), (
        _("{what} has uninitialized (lazy) parameters: use nn.Linear with known sizes, not "
          "nn.LazyLinear").format(what=what))


def _two_hidden_layers_hint(snap, h: int) -> str | None:
    """The hint for more than one (hidden, hidden) weight: separate layers (equal values or not)."""
    hs = linears(snap, h, h)
    if len(hs) < 2:
        return None
    if all(torch.equal(w.data, hs[0][1].data) for _, w, _ in hs[1:]):
        return _(TWO_LAYERS)
    return (_("S must be one nn.Linear(hidden, hidden) applied twice: there are several "
              "hidden-to-hidden layers with their own weights"))



def _pair(found: list[tuple[str, TensorRef, TensorRef | None]]) -> tuple[Any, Any]:
    """The (weight, bias) values of the first layer ``linears`` found (its callers checked the bias is there)."""
    _prefix, weight, bias = found[0]
    assert bias is not None
    return weight.data, bias.data


@pytest.mark.question("build_shared_mlp", points=1)
def test_build_shared_mlp_six_parameter_tensors(student, rng):
    """exactly six distinct parameter tensors, shaped by in_features, hidden, out_features"""
    a, h, o = mlp_sizes(rng)
    p = Program()
    probes = [((4, 8, 1), _mlp_probe(p, ())),
              ((a, h, o), _mlp_probe(p, (), {"in_features": a, "hidden": h, "out_features": o}))]
    result = student.run(p, "build_shared_mlp(...)")
    for (a, h, o), (net, snap) in probes:
        _need_module(result[net], "build_shared_mlp")
        snap = result[snap]
        _no_lazy(snap, "build_shared_mlp(...)")
        shapes = sorted(t.shape for t in snap.distinct_params().values())
        want = sorted([(h, a), (h,), (h, h), (h,), (o, h), (o,)])
        if shapes == want:
            continue
        two = _two_hidden_layers_hint(snap, h)
        assert two is None, two
        assert len(shapes) == 6, (_("build_shared_mlp(...) must have exactly six distinct parameter "
                                    "tensors (weight and bias of L1, S, L3); it has {n_shapes}").format(
                                      n_shapes=len(shapes)))
        raise AssertionError(_("the parameter shapes must be L1: (hidden, in_features) and (hidden,), "
                               "S: (hidden, hidden) and (hidden,), L3: (out_features, hidden) and "
                               "(out_features,)")
                             + ("" if (a, h, o) != (4, 8, 1) else _(" (check the default sizes 4, 8, 1)")))
    # the snapshot's word on which names are one tensor, confirmed by behaviour (see behaviour.py)
    x = torch.randn(rng.randint(2, 6), a, generator=gen(rng))
    behaviour.confirm_parameters(student, rng, lambda p: p.call("build_shared_mlp", a, h, o), result[probes[1][1][1]],
                                 x, "build_shared_mlp(...)", _(TWO_LAYERS))


def _layer_names(snap, a: int, h: int, o: int):
    """(L1, S, L3) as (prefix, weight, bias) when each is found once by its weight's shape, else None."""
    found = [linears(snap, a, h), linears(snap, h, h), linears(snap, h, o)]
    if any(len(f) != 1 for f in found) or any(b is None for f in found for _, _, b in f):
        return None
    return [f[0] for f in found]


@pytest.mark.question("build_shared_mlp", points=1)
def test_build_shared_mlp_shared_linear_runs_twice(student, rng):
    """one forward runs the shared Linear twice, L1 and L3 once each"""
    a, h, o = mlp_sizes(rng)
    x = torch.randn(rng.randint(2, 6), a, generator=gen(rng))
    p = Program()
    net, snap = _mlp_probe(p, (a, h, o))
    counted, _unused = p.count_calls(net, x)
    result = student.run(p, "build_shared_mlp(...)")
    _need_module(result[net], "build_shared_mlp")
    snap, counts = result[snap], dict(result[counted])
    two = _two_hidden_layers_hint(snap, h)
    assert two is None, two
    found = _layer_names(snap, a, h, o)
    assert found is not None, (_("build_shared_mlp must be made of L1 = nn.Linear(in_features, "
                                 "hidden), S = nn.Linear(hidden, hidden) and L3 = nn.Linear(hidden, "
                                 "out_features)"))
    modules = dict(snap.modules)
    holders: dict[int, set[int]] = {t.oid: set() for _, t, _ in found}
    for name, t in snap.named_params:  # every module holding each weight (a weight may be tied into two modules)
        if t.oid in holders:
            holders[t.oid].add(modules[name.rpartition(".")[0]].oid)
    runs = [sum(counts.get(m, 0) for m in holders[t.oid]) for _, t, _ in found]
    assert runs[1] == 2, (_("in one forward the shared Linear S ran {runs} time(s): it must run twice "
                            "(call the module itself, S(x), at both places)").format(runs=runs[1]))
    assert runs[0] == 1 and runs[2] == 1, (_("in one forward L1 and L3 must each run once (L1 ran "
                                             "{runs} time(s), L3 {runs2})").format(runs=runs[0], runs2=runs[2]))
    # call counts are the child's word: count the uses again from values (see behaviour.confirm_uses)
    def weight(prefix: str) -> str:
        return f"{prefix}.weight" if prefix else "weight"

    uses = {"L1": (weight(found[0][0]), 1), "S": (weight(found[1][0]), 2), "L3": (weight(found[2][0]), 1)}
    x = torch.randn(16, a, generator=gen(rng))
    measured = behaviour.confirm_uses(student, rng, lambda p: p.call("build_shared_mlp", a, h, o), snap, x, uses,
                                      "build_shared_mlp(...)")
    if measured is not None:
        acts = [measured[k] for k in ("L1", "S", "L3")]
        assert abs(acts[1] - 2) < 0.25, (_("in one forward the shared Linear S acts {runs:.3g} time(s) "
                                           "(doubling its weight should multiply the output by 4 when "
                                           "biases are zero): it must run twice, as one module called "
                                           "at both places").format(runs=acts[1]))
        assert abs(acts[0] - 1) < 0.25 and abs(acts[2] - 1) < 0.25, (
            _("in one forward L1 and L3 must each run once (doubling their weights should double the "
              "output when biases are zero; L1 acts {runs:.3g} time(s), L3 {runs2:.3g})").format(
                runs=acts[0], runs2=acts[2]))


@pytest.mark.question("build_shared_mlp", points=1)
def test_build_shared_mlp_computes_the_formula(student, rng):
    """the output is L3(relu(S(relu(S(relu(L1(x)))))))"""
    a, h, o = mlp_sizes(rng)
    x = torch.randn(rng.randint(2, 8), a, generator=gen(rng))
    p = Program()
    net, snap = _mlp_probe(p, (a, h, o))
    out = p.ret(p.call(net, x, no_grad=True))
    result = student.run(p, "build_shared_mlp(...)")
    _need_module(result[net], "build_shared_mlp")
    snap, out = result[snap], result[out]
    assert isinstance(out, TensorRef) and out.shape == (x.shape[0], o), \
        _("net(X) must return a tensor of shape (n, out_features) for X of shape (n, in_features)")
    l1, s, l3 = (linears(snap, a, h), linears(snap, h, h), linears(snap, h, o))
    assert l1 and s and l3 and all(b is not None for _, _, b in l1 + s + l3), (
        _("build_shared_mlp must be made of L1 = nn.Linear(in_features, hidden), S = nn.Linear(hidden, "
          "hidden) and L3 = nn.Linear(hidden, out_features), with biases"))
    assert close(out.data, mlp_forward(x, _pair(l1), _pair(s), _pair(l3))), (
        _("net(x) must be L3(relu(S(relu(S(relu(L1(x))))))) (a ReLU after L1 and after each use of S, "
          "none after L3)")
        + (_(": S must be one layer applied twice") if len(s) > 1 else ""))


@pytest.mark.question("build_shared_mlp", points=1, needs=("test_build_shared_mlp_six_parameter_tensors",
                                                          "test_build_shared_mlp_shared_linear_runs_twice",
                                                          "test_build_shared_mlp_computes_the_formula"))
def test_build_shared_mlp_default_initialization(student, rng):
    """PyTorch's default nn.Linear initialization"""
    a, h, o = mlp_sizes(rng)
    p = Program()
    probes = [_mlp_probe(p, ()), _mlp_probe(p, (a, h, o))]
    result = student.run(p, "build_shared_mlp(...)")
    for net, snap in probes:
        _need_module(result[net], "build_shared_mlp")
        _no_lazy(result[snap], "build_shared_mlp(...)")
        spread = []
        for ps in layers(result[snap]).values():
            w, b = ps.get("weight"), ps.get("bias")
            if w is None or w.shape is None or len(w.shape) != 2:
                continue
            bound = 1 / math.sqrt(w.shape[1])  # nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            for t in (w, b):
                if t is None:
                    continue
                assert float(t.data.abs().max()) <= bound * (1 + 1e-5), (
                    _("keep PyTorch's default nn.Linear initialization: weights and biases lie within "
                      "±1/sqrt(in_features) (do not re-initialize)"))
                # nn.Linear draws U(-b, b) on a grid of 2**24 points, so one float value has probability at
                # most 2**-23: n >= 3 values are all equal with probability <= 2**-46 (n = 3 only for L3's
                # bias; weights have >= 4 values). Over the <= 12 tensors checked: below 1e-13.
                if t.data.numel() >= 3:
                    assert float(t.data.max() - t.data.min()) > 0, (
                        _("keep PyTorch's default nn.Linear initialization: a constant (or zero) "
                          "{value} is not a random default draw").format(value='weight' if t is w else 'bias'))
            spread.append(w.data.abs().flatten() / bound)
        # Default weights are U(-bound, bound): all N >= 28 of them below bound/4 has probability 4**-N < 2e-17.
        assert spread and float(torch.cat(spread).max()) >= 0.25, (
            _("keep PyTorch's default nn.Linear initialization: the weights are far smaller than its "
              "U(-1/sqrt(in_features), 1/sqrt(in_features)) draw (do not re-initialize, e.g. with "
              "normal(0, 0.01))"))


@pytest.mark.question("build_shared_mlp", points=1)
def test_build_shared_mlp_stays_tied_after_an_optimizer_step(student, rng):
    """after one torch.optim.SGD step both uses of S are still one tensor"""
    a, h, o = mlp_sizes(rng)
    g = gen(rng)
    n = rng.randint(4, 10)
    x, y = torch.randn(n, a, generator=g), torch.randn(n, o, generator=g)
    p = Program()
    net, before = _mlp_probe(p, (a, h, o))
    first = p.ret(p.call(net, x, no_grad=True, catch=True))  # the formula before the step: its own rule's business
    opt = p.sgd(p.method(net, "parameters"), rng.uniform(0.05, 0.5))
    p.method(opt, "zero_grad")
    loss = p.torch("nn.functional.mse_loss", p.call(net, x), y)
    p.method(loss, "backward")
    p.method(opt, "step")
    after = p.snapshot(net)
    out = p.ret(p.call(net, x, no_grad=True))
    result = student.run(p, _("build_shared_mlp(...) trained one step"))
    _need_module(result[net], "build_shared_mlp")
    before, after, out, first = result[before], result[after], result[out], result[first]
    two = _two_hidden_layers_hint(before, h)
    assert two is None, two
    assert len(after.distinct_params()) == 6 and len(linears(after, h, h)) == 1, (
        _("after an optimizer step S must still be one Linear used twice (six distinct parameter "
          "tensors)"))
    def formula(snap, y) -> bool | None:
        """Whether y is the formula on snap's parameters (None when the layers cannot be told apart)."""
        l1, s, l3 = (linears(snap, a, h), linears(snap, h, h), linears(snap, h, o))
        if not (l1 and s and l3 and isinstance(y, TensorRef) and all(b is not None for _, _, b in l1 + s + l3)):
            return None
        return close(y.data, mlp_forward(x, _pair(l1), _pair(s), _pair(l3)))

    if formula(before, first):  # a wrong formula is judged by its own rule, not here again
        assert formula(after, out) is not False, (
            _("after an optimizer step the net no longer computes L3(relu(S(relu(S(relu(L1(x))))))) "
              "with its own parameters: both uses of S must be the same module"))
    behaviour.confirm_stays_tied(student, rng, lambda p: p.call("build_shared_mlp", a, h, o), before, x, y,
                                 rng.uniform(0.05, 0.5), "build_shared_mlp(...)", _(TWO_LAYERS))


# ------------------------------------------------------------------ train_shared_mlp


MISTAKE_RUNS: dict[str, dict[str, Any]] = {"no_zero": dict(zero=False), "per_use": dict(per_use=True),
                                           "half": dict(loss="half"), "sum": dict(loss="sum")}


def _train_case(rng) -> dict:
    """A probe for train_shared_mlp and the parent's replays of it (the right run, one epoch longer, and
    the typical mistakes). Probes on which a mistake would change the losses, the gradient norms or the
    final values by less than 10x the tolerance (a net whose ReLUs are all dead learns only L3's bias,
    and then updating S twice changes nothing) are drawn again, so each mistake shows in each rule."""
    for _unused in range(20):
        spec = shared_mlp_spec(rng, names=rng.random() < 0.5)
        case = (spec, rng.getrandbits(31))
        g = gen(rng)
        n = rng.randint(8, 24)
        X = torch.randn(n, in_features(spec), generator=g)
        y = torch.randn(n, out_features(spec), generator=g)
        epochs, lr = rng.randint(3, 8), round(rng.uniform(0.02, 0.2), 4)
        runs = {"right": replay(case, X, y, epochs, lr, extra=1)}
        runs.update({k: replay(case, X, y, epochs, lr, **kw) for k, kw in MISTAKE_RUNS.items()})
        if all(_apart(runs["right"], runs[k], epochs) for k in MISTAKE_RUNS):
            break
    return dict(case=case, X=X, y=y, epochs=epochs, lr=lr, runs=runs)


def _apart(right: dict, wrong: dict, epochs: int) -> bool:
    """Whether ``wrong`` differs from ``right`` by 10x the tolerance in losses, in norms and in final values."""
    def far(a, b):
        return any(not close_values([u], [v], 10 * RTOL, 10 * ATOL) for u, v in zip(a, b, strict=True))
    return (far(wrong["loss"], right["loss"][:epochs])
            and any(far(wrong["grad_norm"][k], right["grad_norm"][k][:epochs]) for k in right["grad_norm"])
            and any(not close(wrong["final"][k], right["final"][k], rtol=1e-3) for k in right["final"]))


def _train(student, rng):
    """Run train_shared_mlp on a spec-built shared net; return everything the three rules look at."""
    t = _train_case(rng)
    p = Program()
    net = p.build(*t["case"])
    before = p.snapshot(net)
    hist = p.ret(p.call("train_shared_mlp", net, t["X"], t["y"], t["epochs"], t["lr"]))
    after = p.snapshot(net)
    result = student.run(p, "train_shared_mlp(...)")
    return dict(t, hist=result[hist], before=result[before], after=result[after])


def _numbers(values, what: str, epochs: int) -> list[float]:
    assert isinstance(values, (list, tuple)), _("{what} must be a list of numbers, not {kind}").format(
                                                  what=what, kind=describe(values))
    assert len(values) == epochs, _("{what} must hold one number per epoch (epochs of them)").format(what=what)
    out = [as_number(v) for v in values]
    bad = [v for v, f in zip(values, out, strict=True) if f is None]
    assert not bad, (_("{what} must hold numbers (Python or NumPy floats, or 0-dimensional tensors), "
                       "not {kind}").format(what=what, kind=describe(bad[0])))
    return [f for f in out if f is not None]  # every one: checked just above


MISTAKES = {
    "no_zero": N_("the gradients accumulate across epochs: zero them at the start of every epoch (net.zero_grad())"),
    "per_use": N_("a shared parameter was updated once per use: update every parameter once per epoch "
                  "(loop over net.parameters(), which lists a shared one once)"),
    "half": N_("the loss must be the mean squared error, F.mse_loss (not half of it, as d2l's squared_loss)"),
    "sum": N_("the loss must be the mean squared error, F.mse_loss (the mean, not the sum)"),
}


def _which_mistake(runs, matches) -> str | None:
    """The hint of the first replayed mistake whose run ``matches``."""
    for label, hint in MISTAKES.items():
        if matches(runs[label]):
            return _(hint)
    return None


@pytest.mark.question("train_shared_mlp", points=1)
def test_train_shared_mlp_records_each_epochs_loss(student, rng):
    """the recorded losses are those of plain gradient descent on the MSE, one per epoch"""
    t = _train(student, rng)
    hist = t["hist"]
    assert isinstance(hist, dict) and "loss" in hist, \
        _("train_shared_mlp must return a dict {{'loss': [...], 'grad_norm': {{...}}}}, not {kind}").format(
            kind=describe(hist))
    got = _numbers(hist["loss"], "history['loss']", t["epochs"])
    runs = t["runs"]
    right = runs["right"]
    if close_values(got, right["loss"][:t["epochs"]]):
        return
    if close_values(got, right["loss"][1:]):
        raise AssertionError(_("the losses were recorded after the update: record each epoch's "
                               "loss.item() from the forward pass its gradient comes from"))
    hint = _which_mistake(runs, lambda run: close_values(got, run["loss"]))
    assert hint is None, hint
    if close_values(got[:1], right["loss"][:1]):
        raise AssertionError(_("the first epoch's loss is right but the later ones are not: zero the "
                               "gradients every epoch and update each parameter once with p -= lr * "
                               "p.grad"))
    raise AssertionError(_("the recorded losses are not those of full-batch gradient descent on the "
                           "mean squared error (loss = F.mse_loss(net(X), y), recorded with "
                           "loss.item() before the update)"))


@pytest.mark.question("train_shared_mlp", points=1)
def test_train_shared_mlp_records_each_parameters_gradient_norm(student, rng):
    """grad_norm has exactly the names of named_parameters(), each with its gradient's norm per epoch"""
    t = _train(student, rng)
    hist = t["hist"]
    assert isinstance(hist, dict) and isinstance(hist.get("grad_norm"), dict), \
        _("train_shared_mlp must return a dict whose 'grad_norm' is a dict {name: [norms]}")
    norms = hist["grad_norm"]
    ref = build(t["case"])  # names from the parent's own copy of net, not from the child's report
    want_names = [n for n, _ in ref.named_parameters()]
    all_names = [n for n, _ in ref.named_parameters(remove_duplicate=False)]
    module_names = {n for n, _ in ref.named_modules(remove_duplicate=False)}
    keys = list(norms)
    if set(keys) != set(want_names):
        if set(want_names) < set(keys) and set(keys) <= set(all_names):
            raise AssertionError(_("grad_norm lists the shared layer under each of its names: "
                                   "named_parameters() lists a shared parameter once, under its first "
                                   "name; use exactly those names"))
        if any(k in module_names for k in keys):
            raise AssertionError(_("grad_norm's keys must be parameter names as net.named_parameters() "
                                   "gives them (like '0.weight'), not module names"))
        raise AssertionError(_("grad_norm's keys must be exactly the names of net.named_parameters() "
                               "(the shared layer once, under its first name)"))
    got = {k: _numbers(v, f"history['grad_norm'][{k!r}]", t["epochs"]) for k, v in norms.items()}
    runs = t["runs"]
    right = runs["right"]
    wrong = [n for n in want_names if not close_values(got[n], right["grad_norm"][n][:t["epochs"]])]
    if not wrong:
        return
    n = wrong[0]
    if all(v == 0 for k in want_names for v in got[k]):
        raise AssertionError(_("every gradient norm is 0: they were recorded after the gradients were "
                               "zeroed (record them right after backward(), before the update and "
                               "before zeroing)"))
    if all(close_values(got[k], right["grad_norm"][k][1:]) for k in want_names):
        raise AssertionError(_("the gradient norms were recorded after the update: record the norms of "
                               "the gradients this epoch's update uses"))
    if all(close_values(got[k], right["param_norm"][k][:t["epochs"]]) for k in want_names):
        raise AssertionError(_("grad_norm holds the norms of the parameters: record the norm of each "
                               "p.grad"))
    hint = _which_mistake(runs, lambda run: all(close_values(got[k], run["grad_norm"][k]) for k in want_names))
    assert hint is None, hint
    raise AssertionError(_("wrong gradient norms for {n!r}: record p.grad.norm() for every (name, p) "
                           "of net.named_parameters() after backward(), before the update").format(n=n))


@pytest.mark.question("train_shared_mlp", points=1)
def test_train_shared_mlp_trains_net_in_place(student, rng):
    """net ends with the parameters of plain gradient descent, the same (still tied) tensors"""
    t = _train(student, rng)
    before, after = t["before"], t["after"]
    in_place = _("train net in place: the same parameter tensors must stay registered under the same names "
                "(update them with p -= lr * p.grad under torch.no_grad(), or torch.optim.SGD)")
    assert [(n, p.oid) for n, p in after.named_params] == [(n, p.oid) for n, p in before.named_params], in_place
    behaviour.confirm_same_objects(  # the snapshots' word on identity, confirmed by behaviour
        student, rng, [(t["case"], t["X"])],
        lambda p, net, case: p.call("train_shared_mlp", net, t["X"], t["y"], t["epochs"], t["lr"], catch=True),
        "train_shared_mlp(...)", in_place)
    runs = t["runs"]
    final = runs["right"]["final"]
    values = dict(after.named_params)
    assert all(n in values for n in final), in_place  # a name net had is no longer a parameter of it
    if all(close(values[n].data, final[n]) for n in final):
        return
    if all(torch.equal(values[n].data, p.data) for n, p in before.named_params):
        raise AssertionError(_("net's parameters did not change: train_shared_mlp must train net "
                               "itself, in place"))
    hint = _which_mistake(runs, lambda run: all(close(values[n].data, run["final"][n]) for n in final))
    assert hint is None, hint
    raise AssertionError(_("after training, net's parameters are not those of `epochs` steps of p -= "
                           "lr * p.grad on the mean squared error"))


# ------------------------------------------------------------------ untie


def _untie(student, rng):
    """untie on a nested, a several-shared and a shared-MLP net; one program."""
    families = [nested_shared_spec, several_shared_spec, shared_mlp_spec]
    p = Program()
    plan = []
    for fam in families:
        case = (fam(rng), rng.getrandbits(31))
        x = torch.randn(rng.randint(2, 6), in_features(case[0]), generator=gen(rng))
        net = p.build(*case)
        before = p.snapshot(net)
        new = guard_module(p, p.call("untie", net))
        out = p.ret(p.call(new, x, no_grad=True, catch=True))  # a failing forward costs only its own rule
        plan.append((case, x, before, new, out, p.snapshot(new), p.snapshot(net)))
    result = student.run(p, "untie(net)")
    answers = []
    for case, x, before, new, y, snap_new, after in plan:
        _need_module(result[new], "untie")
        answers.append(dict(case=case, x=x, before=result[before], new=result[new], out=result[y],
                            snap_new=result[snap_new], after=result[after]))
    return answers


@pytest.mark.question("untie", points=1)
def test_untie_computes_the_same_function(student, rng):
    """the result computes the same function with the same current values"""
    for t in _untie(student, rng):
        net = build(t["case"])
        with torch.no_grad():
            want = net(t["x"])
        out = t["out"]
        assert t["new"].oid != t["before"].oid, _("untie returned net itself: it computes the same function, "
                                                   "but untie must return a new module (its own copy of net)")
        assert not isinstance(out, Raised), _("untie(net)(x) raised {type}: {message}").format(
                                                type=out.type, message=out.message[:200])
        assert isinstance(out, TensorRef) and out.shape == tuple(want.shape), (
            _("untie(net)(x) must return a tensor of the shape net(x) has"))
        values = dict(t["snap_new"].named_params)
        same_values = all(n in values and torch.equal(values[n].data, p.detach())
                          for n, p in net.named_parameters(remove_duplicate=False))
        assert close(out.data, want), (_("untie(net) must compute the same function as net")
                                       + ("" if same_values
                                          else _(": every copy keeps the current values of the module it "
                                                 "copies (copy.deepcopy does)")))


def _first_component(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.question("untie", points=1)
def test_untie_shares_nothing(student, rng):
    """no parameter shared inside the result, nor with net; every name its own copy"""
    cases = _untie(student, rng)
    for t in cases:
        new, before, after = t["snap_new"], t["before"], t["after"]
        assert t["new"].oid != before.oid, _("untie must return a new module, not net itself")
        theirs = {p.oid for _, p in before.named_params} | {p.oid for _, p in after.named_params}
        mine = {p.oid for _, p in new.named_params}
        assert not mine & theirs, (_("untie's result shares parameters with net: it must hold its own "
                                     "copies (copy.deepcopy of the modules), not net's modules"))
        names = [n for n, _ in before.named_params]
        assert sorted(n for n, _ in new.named_params) == sorted(names), (
            _("untie must keep net's structure: the result has the same submodules under the same "
              "names (so the same parameter names), each with its own copy"))
        groups = new.shared_groups() or new.module_groups()
        if not groups:
            continue
        if sorted(map(sorted, new.shared_groups())) == sorted(map(sorted, before.shared_groups())):
            raise AssertionError(_("copy.deepcopy keeps the sharing: its memo copies a shared module "
                                   "once, so the copy's names still reach one module; give every later "
                                   "name its own copy"))
        if all(_first_component(g[0]) == _first_component(n) for g in groups for n in g):
            raise AssertionError(_("{groups!r} and {groups2!r} still share: untie the nested sharing "
                                   "too (a shared block's own shared layer), recursing into every child").format(
                                     groups=groups[0][0], groups2=groups[0][1]))
        raise AssertionError(_("{groups!r} and {groups2!r} are still one object in untie's result: "
                               "every name must get its own copy").format(groups=groups[0][0], groups2=groups[0][1]))
    # the snapshots' word on identity, confirmed by behaviour (see behaviour.py)
    behaviour.confirm_untied(student, rng, [(t["case"], t["x"]) for t in cases])


@pytest.mark.question("untie", points=1, needs=("test_untie_computes_the_same_function", "test_untie_shares_nothing"))
def test_untie_leaves_net_unchanged_and_tied(student, rng):
    """net keeps its modules, values and sharing"""
    cases = _untie(student, rng)
    for t in cases:
        before, after = t["before"], t["after"]
        ref = build(t["case"])
        assert [(n, m.oid) for n, m in after.modules] == [(n, m.oid) for n, m in before.modules] and \
            [(n, p.oid) for n, p in after.named_params] == [(n, p.oid) for n, p in before.named_params], (
            _("untie changed net: net must be left unchanged and still tied (work on a copy; do not "
              "replace net's own submodules)"))
        values = dict(after.named_params)
        assert all(n in values and torch.equal(values[n].data, p.detach())
                   for n, p in ref.named_parameters(remove_duplicate=False)), \
            _("untie changed the values of net's parameters: net must be left unchanged")
    behaviour.confirm_unchanged(  # the snapshots' word on values, confirmed by a forward pass
        student, rng, [(t["case"], t["x"]) for t in cases], lambda p, net, case: p.call("untie", net, catch=True),
        "untie(net)", _("untie changed net: net must be left unchanged (its output changed)"))
    behaviour.confirm_same_objects(
        student, rng, [(t["case"], t["x"]) for t in cases], lambda p, net, case: p.call("untie", net, catch=True),
        "untie(net)", _("untie changed net: net must be left unchanged and still tied (work on a copy; "
                        "do not replace net's own submodules)"))


# ------------------------------------------------------------------ grad_contributions


def _contrib_case(rng):
    """A shared MLP, X and y, and the parent's (part through index 2, part through index 4, total). Probes
    where the two parts are within 10x the tolerance of each other or of the total (dead ReLUs) are drawn
    again, so swapped parts, halves and the whole gradient twice all show."""
    for _unused in range(20):
        spec = shared_mlp_spec(rng)
        case = (spec, rng.getrandbits(31))
        g = gen(rng)
        n = rng.randint(6, 16)
        X, y = torch.randn(n, in_features(spec), generator=g), torch.randn(n, out_features(spec), generator=g)
        w1, w2, total = contributions(case, X, y)
        if not (close(w1, w2, 1e-3) or close(w1, total, 1e-3) or close(w2, total, 1e-3)):
            break
    return dict(case=case, X=X, y=y, want=(w1, w2, total))


def _contrib(student, rng):
    cases = [_contrib_case(rng) for _ in range(2)]
    p = Program()
    plan = []
    for t in cases:
        net = p.build(*t["case"])
        plan.append((p.ret(p.call("grad_contributions", net, t["X"], t["y"])), p.snapshot(net)))
    result = student.run(p, "grad_contributions(net, X, y)")
    return [dict(t, out=result[out], after=result[snap]) for t, (out, snap) in zip(cases, plan, strict=True)]


def _parts(t: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The student's (g_first, g_second) as tensors, after checking their types and shapes."""
    got = t["out"]
    assert isinstance(got, (tuple, list)) and len(got) == 2, \
        _("grad_contributions must return a pair (g_first, g_second), not {kind}").format(kind=describe(got))
    h = t["case"][0]["children"][2][1]["out"]
    for g in got:
        assert isinstance(g, TensorRef), _("g_first and g_second must be tensors, not {kind}").format(
                                             kind=describe(g))
        assert g.shape == (h, h), _("g_first and g_second must have the shape of S.weight")
    return got[0].data, got[1].data


@pytest.mark.question("grad_contributions", points=1)
def test_grad_contributions_parts_through_each_use(student, rng):
    """g_first flows through the use at index 2, g_second through the use at index 4"""
    for t in _contrib(student, rng):
        (g1, g2), (w1, w2, total) = _parts(t), t["want"]
        if close(g1, w1) and close(g2, w2):
            continue
        assert not (close(g1, w2) and close(g2, w1)), (
            _("the parts are swapped: g_first is the part through the use at index 2 (the first use), "
              "g_second through index 4"))
        assert not (close(g1, total) and close(g2, total)), (
            _("each part equals the whole gradient S.weight.grad: net[2] and net[4] are one layer with "
              "one .grad; give each use its own leaf copy of the weight and differentiate with respect "
              "to each"))
        assert not (close(g1, total / 2) and close(g2, total / 2)), (
            _("each part is half of S.weight.grad: the two uses do not contribute equally; give each "
              "use its own leaf copy of the weight and differentiate with respect to each"))
        raise AssertionError(("g_first" if not close(g1, w1) else "g_second")
                             + _(" is not the gradient through its use (index 2 for g_first, index 4 "
                                 "for g_second) of F.mse_loss(net(X), y)"))


@pytest.mark.question("grad_contributions", points=1)
def test_grad_contributions_add_up_to_the_shared_gradient(student, rng):
    """g_first + g_second equals S.weight.grad after backward()"""
    for t in _contrib(student, rng):
        (g1, g2), (_unused, _unused, total) = _parts(t), t["want"]
        if close(g1 + g2, total):
            continue
        assert not (close(g1, total) and close(g2, total)), (
            _("both parts equal the whole gradient S.weight.grad, so they add up to twice it: split "
              "the total into the part through each use"))
        raise AssertionError(_("g_first + g_second must equal S.weight.grad after F.mse_loss(net(X), "
                               "y).backward()"))


@pytest.mark.question("grad_contributions", points=1, needs=("test_grad_contributions_parts_through_each_use",
                                                           "test_grad_contributions_add_up_to_the_shared_gradient"))
def test_grad_contributions_leaves_values_unchanged(student, rng):
    """the values of net's parameters are left unchanged"""
    cases = _contrib(student, rng)
    for t in cases:
        values = dict(t["after"].named_params)
        ref = build(t["case"])
        for n, p in ref.named_parameters(remove_duplicate=False):
            assert n in values and torch.equal(values[n].data, p.detach()), (
                _("grad_contributions changed the values of net's parameters ({n!r}): they must be "
                  "left unchanged (compute gradients, do not update or overwrite the weights)").format(n=n))
    data = {id(t["case"]): t for t in cases}  # the snapshots' word on values, confirmed by a forward pass
    behaviour.confirm_unchanged(
        student, rng, [(t["case"], t["X"]) for t in cases],
        lambda p, net, case: p.call("grad_contributions", net, data[id(case)]["X"], data[id(case)]["y"], catch=True),
        "grad_contributions(net, X, y)", _("grad_contributions changed the values of net's parameters "
                                           "(net's output changed): they must be left unchanged "
                                           "(compute gradients, do not update or overwrite the weights)"))


# ------------------------------------------------------------------ TiedAutoencoder


def _ae_probe(p: Program, rng, d_in: int, d_hidden: int, values: bool):
    """Construct the student's TiedAutoencoder; with ``values``, give its parameters random values."""
    p.seed(rng.getrandbits(31))
    model = guard_module(p, p.call("TiedAutoencoder", d_in, d_hidden))
    if values:  # random values for every parameter (the reference's decoder bias starts at zero)
        vec = torch.randn(d_hidden * d_in + d_hidden + d_in, generator=gen(rng)) * 0.5
        params = p.method(model, "parameters")
        # a wrong number of parameters leaves the values as they were
        p.torch("nn.utils.vector_to_parameters", vec, params, catch=True)
    return model


def _extra_weight_hint(snap, d_in: int, d_hidden: int) -> str | None:
    weights = [t for t in snap.distinct_params().values() if t.shape in ((d_in, d_hidden), (d_hidden, d_in))]
    if len(weights) > 1:
        return (_("the decoder has a separate weight: it must reuse the encoder's weight W, transposed "
                  "(relu(x @ W.T + b_enc) @ W + b_dec), so there is no decoder weight"))
    return None


@pytest.mark.question("TiedAutoencoder", points=1)
def test_tied_autoencoder_three_parameter_tensors(student, rng):
    """exactly three parameter tensors: W (d_hidden, d_in), encoder bias, decoder bias"""
    p = Program()
    probes = []
    for _unused in range(2):
        d_in, d_hidden = ae_sizes(rng)
        model = _ae_probe(p, rng, d_in, d_hidden, values=False)
        probes.append((d_in, d_hidden, model, p.snapshot(model)))
    result = student.run(p, "TiedAutoencoder(d_in, d_hidden)")
    for d_in, d_hidden, model, snap in probes:
        _need_module(result[model], "TiedAutoencoder(d_in, d_hidden)")
        snap = result[snap]
        _no_lazy(snap, "TiedAutoencoder(d_in, d_hidden)")
        shapes = sorted(t.shape for t in snap.distinct_params().values())
        if shapes == sorted([(d_hidden, d_in), (d_hidden,), (d_in,)]):
            continue
        extra = _extra_weight_hint(snap, d_in, d_hidden)
        assert extra is None, extra
        raise AssertionError(_("TiedAutoencoder must have exactly three parameter tensors, W of shape "
                               "(d_hidden, d_in), the encoder bias (d_hidden,) and the decoder bias "
                               "(d_in,); it has {n_shapes}").format(n_shapes=len(shapes))
                             + (_(" with other shapes") if len(shapes) == 3 else ""))
    # the snapshot's word on the parameters, confirmed by behaviour (see behaviour.py)
    d_in, d_hidden, _unused, snap = probes[-1]
    x = torch.randn(rng.randint(2, 6), d_in, generator=gen(rng))
    behaviour.confirm_parameters(student, rng, lambda p: p.call("TiedAutoencoder", d_in, d_hidden), result[snap], x,
                                 "TiedAutoencoder(d_in, d_hidden)",
                                 _("The decoder must reuse the encoder's weight W itself, transposed "
                                   "(relu(x @ W.T + b_enc) @ W + b_dec): no weight of its own, not a "
                                   "copy of W"))


def _ae_runs(student, rng, backward: bool) -> list[dict]:
    """Three models with random values, each run on a batch (and, with ``backward``, backpropagated from a
    random weighted sum of its output). Three, with 8 to 16 rows: that every hidden unit of all three is
    dead (then no gradient flows through the decoder's use of W) is all but impossible."""
    p = Program()
    plan = []
    for _unused in range(3):
        d_in, d_hidden = ae_sizes(rng)
        g = gen(rng)
        n = rng.randint(8, 16)
        x, weights = torch.randn(n, d_in, generator=g), torch.randn(n, d_in, generator=g)
        model = _ae_probe(p, rng, d_in, d_hidden, values=True)
        if backward:
            out = p.call(model, x)
            p.method(p.torch("sum", p.torch("mul", out, weights)), "backward")
        else:
            out = p.ret(p.call(model, x, no_grad=True))
        plan.append(dict(d_in=d_in, d_hidden=d_hidden, x=x, weights=weights, model=model, out=out,
                         snap=p.snapshot(model)))
    result = student.run(p, "TiedAutoencoder(d_in, d_hidden)(x)" + (_(" and backward") if backward else ""))
    runs = []
    for t in plan:
        _need_module(result[t["model"]], "TiedAutoencoder(d_in, d_hidden)")
        snap = result[t["snap"]]
        parts = ae_parts(snap, t["d_in"], t["d_hidden"])
        assert parts is not None, (_("TiedAutoencoder needs one W (d_hidden, d_in), one encoder bias "
                                     "(d_hidden,) and one decoder bias (d_in,)"))
        runs.append(dict(t, snap=snap, parts=parts, out=None if backward else result[t["out"]]))
    return runs


@pytest.mark.question("TiedAutoencoder", points=1)
def test_tied_autoencoder_computes_the_formula(student, rng):
    """forward(x) is relu(x @ W.T + b_enc) @ W + b_dec"""
    for t in _ae_runs(student, rng, backward=False):
        x, out, parts = t["x"], t["out"], t["parts"]
        assert isinstance(out, TensorRef) and out.shape == (x.shape[0], t["d_in"]), \
            _("forward(x) must return a tensor of shape (n, d_in) for x of shape (n, d_in)")
        want = ae_forward(x, parts["W"].data, parts["b_enc"].data, parts["b_dec"].data)
        extra = _extra_weight_hint(t["snap"], t["d_in"], t["d_hidden"])
        assert close(out.data, want), (_("forward(x) must be relu(x @ W.T + b_enc) @ W + b_dec")
                                       + (f" ({extra})" if extra else ""))


@pytest.mark.question("TiedAutoencoder", points=1)
def test_tied_autoencoder_gradient_reaches_w_through_both_uses(student, rng):
    """backward reaches W through the encoder and through the decoder"""
    for t in _ae_runs(student, rng, backward=True):
        x, weights, parts = t["x"], t["weights"], t["parts"]
        W, b_enc, b_dec = (parts[k].data for k in ("W", "b_enc", "b_dec"))
        grads = {}
        for label, (enc, dec) in {"both": (True, True), "encoder": (True, False), "decoder": (False, True)}.items():
            Wg = W.clone().requires_grad_()
            We, Wd = (Wg if enc else W), (Wg if dec else W)
            (torch.relu(x @ We.T + b_enc) @ Wd + b_dec).mul(weights).sum().backward()
            grads[label] = Wg.grad
        got = parts["W"].grad
        assert got is not None, _("no gradient reached W: forward must use W itself (a Parameter), not "
                                  "a copy")
        if close(got.data, grads["both"]):
            continue
        assert not close(got.data, grads["encoder"]), (
            _("the gradient reaches W only through the encoder: the decoder must use W itself, not "
              "W.detach() or a separate copy"))
        assert not close(got.data, grads["decoder"]), (
            _("the gradient reaches W only through the decoder: the encoder must use W itself, not "
              "W.detach()"))
        raise AssertionError(_("W's gradient is not that of relu(x @ W.T + b_enc) @ W + b_dec through "
                               "both uses of W"))
