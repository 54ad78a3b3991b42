"""What the `tied` graders share: the nets they probe with, the parent's own computations, readers.

Everything here runs in the parent (trusted) process. The graders describe the
nets they hand to the student with module specs (engine/specs.py) and build the
same spec with the same seed here, so the parent knows the right answer without
asking the student's code anything.
"""
from __future__ import annotations

import random
from typing import Any, cast

import torch
from torch.nn import functional as F

from ..engine.snapshot import Snapshot
from ..engine.specs import linear
from ..engine.student import Program, Slot
from ..engine.values import TensorRef
from .common import Case, build

# ------------------------------------------------------------------ sizes and nets


def mlp_sizes(rng: random.Random) -> tuple[int, int, int]:
    """(in_features, hidden, out_features) with the three weight shapes all different."""
    hidden = rng.randint(4, 10)
    n_in = rng.choice([k for k in range(2, 9) if k != hidden])
    n_out = rng.randint(1, 3)
    return n_in, hidden, n_out


def shared_mlp_spec(rng: random.Random, names: bool = False) -> dict:
    """The contract's shared MLP as a Sequential, S at indices 2 and 4; with ``names``, other child names."""
    a, h, o = mlp_sizes(rng)
    keys = [str(i) for i in range(7)]
    if names:  # the same structure under other names: answers must read the names, not assume them
        keys = [rng.choice([str(i), f"layer_{i}", f"block {i}"]) for i in range(7)]
    kids = [linear(a, h), {"k": "relu"}, linear(h, h, id="S"), {"k": "relu"}, {"k": "ref", "id": "S"},
            {"k": "relu"}, linear(h, o)]
    return {"k": "seq", "children": [[k, c] for k, c in zip(keys, kids, strict=True)]}


def several_shared_spec(rng: random.Random) -> dict:
    """A custom module: a Linear under two names (a child and a ModuleList entry) and a block under two
    names (a ModuleList entry and a ModuleDict entry)."""
    a, h, o = mlp_sizes(rng)
    blk = {"k": "seq", "id": "B", "children": [["0", linear(h, h)], ["1", {"k": "tanh"}]]}
    return {"k": "custom",
            "children": [["inp", linear(a, h)], ["act", {"k": "relu"}], ["mid", linear(h, h, id="S")]],
            "lists": {"layers": [{"k": "ref", "id": "S"}, {"k": "tanh"}, blk]},
            "dicts": {"heads": [["again", {"k": "ref", "id": "B"}], ["out", linear(h, o)]]}}


def nested_shared_spec(rng: random.Random) -> dict:
    """A shared block that itself holds a shared Linear: Sequential(L, B, tanh, B, out), B = (S, relu, S)."""
    a, h, o = mlp_sizes(rng)
    blk = {"k": "seq", "id": "B", "children": [["0", linear(h, h, id="S")], ["1", {"k": "relu"}],
                                               ["2", {"k": "ref", "id": "S"}]]}
    return {"k": "seq", "children": [["0", linear(a, h)], ["1", blk], ["2", {"k": "tanh"}],
                                     ["3", {"k": "ref", "id": "B"}], ["4", linear(h, o)]]}


def in_features(spec: dict) -> int:
    """The input width of a spec built by this file (its first Linear's)."""
    first = spec["children"][0][1]
    return first["in"]


def out_features(spec: dict) -> int:
    """The output size of a spec's last layer (a Sequential's last child, or the last head)."""
    last = spec["children"][-1][1] if spec["k"] == "seq" else spec["dicts"]["heads"][-1][1]
    return last["out"]


def gen(rng: random.Random) -> torch.Generator:
    """A torch generator seeded from the rule's ``rng``."""
    return torch.Generator().manual_seed(rng.getrandbits(31))


# ------------------------------------------------------------------ reading answers


def guard_module(p: Program, slot: Slot) -> Slot:
    """Return ``slot``; then stop the program (as a raise) if it is not a module, so that no later
    step runs on it. The returned value lets the parent say what it was instead."""
    p.ret(slot)
    p.method(slot, "named_parameters")  # AttributeError for anything that is not a module
    return slot


def layers(snap: Snapshot) -> dict[str, dict[str, TensorRef]]:
    """Distinct parameters grouped by the module that holds them (first names): prefix -> {'weight', 'bias'}."""
    out: dict[str, dict[str, TensorRef]] = {}
    for name, t in snap.distinct_params().items():
        prefix, _, attr = name.rpartition(".")
        out.setdefault(prefix, {})[attr] = t
    return out


def linears(snap: Snapshot, n_in: int, n_out: int) -> list[tuple[str, TensorRef, TensorRef | None]]:
    """(module prefix, weight, bias) of every weight of shape (n_out, n_in), in named_parameters order."""
    found = []
    for prefix, ps in layers(snap).items():
        w = ps.get("weight")
        if w is not None and w.shape == (n_out, n_in):
            found.append((prefix, w, ps.get("bias")))
    return found


def mlp_forward(x: torch.Tensor, l1, s, l3) -> torch.Tensor:
    """The contract's L3(relu(S(relu(S(relu(L1(x))))))) from (weight, bias) value pairs."""
    h = torch.relu(F.linear(x, *l1))
    h = torch.relu(F.linear(h, *s))
    h = torch.relu(F.linear(h, *s))
    return F.linear(h, *l3)


# ------------------------------------------------------------------ train_shared_mlp: the parent's replays


def replay(case: Case, X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, *, zero: bool = True,
           per_use: bool = False, loss: str = "mse", extra: int = 0) -> dict:
    """Train the parent's own copy of ``case`` as the contract says (or as a typical mistake does).

    ``zero=False``: gradients never zeroed; ``per_use``: a shared parameter updated once per name;
    ``loss``: "mse", "half" (d2l's squared_loss, halved) or "sum"; ``extra`` more epochs recorded
    (without changing ``final``, the parameters after ``epochs`` epochs).
    Returns loss, grad_norm and param_norm (lists by first name) and final (values by every name).
    """
    net = build(case)
    names = [n for n, _ in net.named_parameters()]
    out: dict[str, Any] = {"loss": [], "grad_norm": {n: [] for n in names}, "param_norm": {n: [] for n in names}}
    updates = [p for _, p in net.named_parameters(remove_duplicate=not per_use)]
    final = None
    for epoch in range(epochs + extra):
        if epoch == epochs:
            final = {n: p.detach().clone() for n, p in net.named_parameters(remove_duplicate=False)}
        if zero:
            net.zero_grad()
        diff = net(X) - y
        value = {"mse": diff.pow(2).mean(), "half": diff.pow(2).mean() / 2, "sum": diff.pow(2).sum()}[loss]
        value.backward()
        out["loss"].append(value.item())
        for n, p in net.named_parameters():
            out["grad_norm"][n].append(_grad(p).norm().item())
            out["param_norm"][n].append(p.detach().norm().item())
        with torch.no_grad():
            for p in updates:
                p.sub_(lr * _grad(p))
    if final is None:
        final = {n: p.detach().clone() for n, p in net.named_parameters(remove_duplicate=False)}
    out["final"] = final
    return out


def _grad(p: torch.Tensor) -> torch.Tensor:
    """``p.grad``, which the backward pass just before gave it (without one, a grader bug: not an AssertionError,
    which would fail the student)."""
    if p.grad is None:
        raise RuntimeError("a parameter of the parent's copy got no gradient from backward()")
    return p.grad


# ------------------------------------------------------------------ grad_contributions: the parent's parts


def contributions(case: Case, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(part through index 2, part through index 4, S.weight.grad after backward) on the parent's copy."""
    net = cast(torch.nn.Sequential, build(case))  # the shared MLP's spec: a Sequential, S at indices 2 and 4
    S = cast(torch.nn.Linear, net[2])
    W1 = S.weight.detach().clone().requires_grad_()
    W2 = S.weight.detach().clone().requires_grad_()
    h = X
    for i, layer in enumerate(net):
        h = F.linear(h, W1, S.bias) if i == 2 else F.linear(h, W2, S.bias) if i == 4 else layer(h)
    g1, g2 = torch.autograd.grad(F.mse_loss(h, y), [W1, W2])
    net.zero_grad()
    F.mse_loss(net(X), y).backward()
    return g1, g2, _grad(S.weight).detach().clone()


# ------------------------------------------------------------------ TiedAutoencoder


def ae_sizes(rng: random.Random) -> tuple[int, int]:
    """(d_in, d_hidden) of a tied autoencoder to build, never equal (so that W's orientation shows)."""
    d_in = rng.randint(3, 12)
    d_hidden = rng.choice([k for k in range(3, 10) if k != d_in])
    return d_in, d_hidden


def ae_parts(snap: Snapshot, d_in: int, d_hidden: int) -> dict[str, TensorRef] | None:
    """W, b_enc, b_dec found by their shapes among the distinct parameters (None if any is missing or doubled)."""
    want = {"W": (d_hidden, d_in), "b_enc": (d_hidden,), "b_dec": (d_in,)}
    params = list(snap.distinct_params().values())
    out = {}
    for key, shape in want.items():
        hits = [t for t in params if t.shape == shape]
        if len(hits) != 1:
            return None
        out[key] = hits[0]
    return out


def ae_forward(x: torch.Tensor, W: torch.Tensor, b_enc: torch.Tensor, b_dec: torch.Tensor) -> torch.Tensor:
    """The tied autoencoder's output: ``relu(x Wᵀ + b_enc) W + b_dec``."""
    return torch.relu(x @ W.T + b_enc) @ W + b_dec
