"""Build modules from small JSON specs, identically in the parent and in the child.

The graders describe the modules they probe with a spec; the child builds it to
hand to the student's code, and the parent builds the same spec (same seed, same
code) to know what a correct answer is. A spec is plain data:

    {"k": "linear", "in": 4, "out": 8, "bias": true, "dtype": "float64", "frozen": ["bias"]}
    {"k": "lazylinear", "out": 8}           {"k": "relu"}   {"k": "tanh"}
    {"k": "bn1d", "n": 8}    {"k": "layernorm", "n": 8}    {"k": "conv2d", "in": 2, "out": 3, "ks": 3}
    {"k": "bilinear", "in1": 3, "in2": 4, "out": 5}
    {"k": "seq", "children": [[name, spec], ...]}
    {"k": "custom", "children": [[name, spec], ...], "lists": {name: [spec, ...]},
     "dicts": {name: [[key, spec], ...]}, "params": {name: shape}, "buffers": {name: shape},
     "tensors": {name: shape}}
    any spec may carry "id": "tag"; {"k": "ref", "id": "tag"} registers that same module again.
    {"k": "fixed_hidden_mlp"}  d2l's FixedHiddenMLP (rand_weight a plain attribute).
    {"k": "spy"}  the identity, recording ``torch.is_grad_enabled()`` at each call in ``grad_enabled``
                  (a list of bools): how many forward passes ran, and whether they recorded history.
    a top-level "materialize": n runs one no-grad forward of zeros(2, n) after building.
"""
from __future__ import annotations

from typing import Any


def _torch():
    import torch
    return torch


def make_classes():
    """Module classes used by specs, created once torch is imported."""
    torch = _torch()
    nn = torch.nn

    class Custom(nn.Module):
        """A custom module: children, ModuleList/ModuleDict, own parameters, buffers, plain tensors.

        forward applies the children in order, then each ModuleList entry, then each
        ModuleDict entry, then adds its own 1-D parameters where the width matches.
        """

        def __init__(self) -> None:
            super().__init__()
            self._order: list[str] = []

        def forward(self, x):
            for name in self._order:
                child = getattr(self, name)
                if isinstance(child, nn.ModuleList):
                    for m in child:
                        x = m(x)
                elif isinstance(child, nn.ModuleDict):
                    for m in child.values():
                        x = m(x)
                else:
                    x = child(x)
            return x

    class FixedHiddenMLP(nn.Module):
        """d2l's FixedHiddenMLP, as the contract gives it to students."""

        def __init__(self) -> None:
            super().__init__()
            self.rand_weight = torch.rand((20, 20))
            self.linear = nn.LazyLinear(20)

        def forward(self, X):
            X = self.linear(X)
            X = torch.relu(X @ self.rand_weight + 1)
            X = self.linear(X)
            while X.abs().sum() > 1:
                X /= 2
            return X.sum()

    class Spy(nn.Module):
        """The identity; ``grad_enabled`` holds ``torch.is_grad_enabled()`` of every call, in order."""

        def __init__(self) -> None:
            super().__init__()
            self.grad_enabled: list[bool] = []

        def forward(self, x):
            self.grad_enabled.append(bool(torch.is_grad_enabled()))
            return x

    return Custom, FixedHiddenMLP, Spy


_CLASSES = None


def classes():
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = make_classes()
    return _CLASSES


def build(spec: dict, seed: int | None = None) -> Any:
    """Build the module a spec describes; with a seed, its values are reproducible."""
    torch = _torch()
    if seed is not None:
        torch.default_generator.manual_seed(seed)  # the CPU generator nn.init draws from (torch.manual_seed is slower)
    module = _build(spec, {})
    if "materialize" in spec:  # one forward, so that lazy modules get their shapes
        with torch.no_grad():
            module(torch.zeros(2, spec["materialize"], dtype=getattr(torch, spec.get("dtype", "float32"))))
    return module


def _build(spec: dict, registry: dict) -> Any:
    torch = _torch()
    nn = torch.nn
    Custom, FixedHiddenMLP, Spy = classes()
    k = spec["k"]
    if k == "ref":
        return registry[spec["id"]]
    dtype = getattr(torch, spec.get("dtype", "float32"))
    if k == "linear":
        m = nn.Linear(spec["in"], spec["out"], bias=spec.get("bias", True), dtype=dtype)
    elif k == "lazylinear":
        m = nn.LazyLinear(spec["out"], bias=spec.get("bias", True), dtype=dtype)
    elif k == "relu":
        m = nn.ReLU()
    elif k == "tanh":
        m = nn.Tanh()
    elif k == "bn1d":
        m = nn.BatchNorm1d(spec["n"], dtype=dtype)
    elif k == "layernorm":
        m = nn.LayerNorm(spec["n"], dtype=dtype)
    elif k == "conv2d":
        m = nn.Conv2d(spec["in"], spec["out"], spec["ks"], dtype=dtype)
    elif k == "bilinear":
        m = nn.Bilinear(spec["in1"], spec["in2"], spec["out"], dtype=dtype)
    elif k == "fixed_hidden_mlp":
        m = FixedHiddenMLP()
    elif k == "spy":
        m = Spy()
    elif k == "seq":
        m = nn.Sequential()
        for name, child in spec.get("children", []):
            m.add_module(name, _build(child, registry))
    elif k == "custom":
        m = Custom()
        for name, child in spec.get("children", []):
            m.add_module(name, _build(child, registry))
            m._order.append(name)
        for name, items in spec.get("lists", {}).items():
            m.add_module(name, nn.ModuleList([_build(c, registry) for c in items]))
            m._order.append(name)
        for name, items in spec.get("dicts", {}).items():
            m.add_module(name, nn.ModuleDict({key: _build(c, registry) for key, c in items}))
            m._order.append(name)
        for name, shape in spec.get("params", {}).items():
            m.register_parameter(name, nn.Parameter(torch.randn(*shape, dtype=dtype)))
        for name, shape in spec.get("buffers", {}).items():
            m.register_buffer(name, torch.randn(*shape, dtype=dtype))
        for name, shape in spec.get("tensors", {}).items():
            setattr(m, name, torch.randn(*shape, dtype=dtype))  # a plain attribute: neither parameter nor buffer
    else:
        raise ValueError(f"unknown module kind {k!r}")
    for name in spec.get("frozen", []):
        getattr(m, name).requires_grad_(False)
    if "id" in spec:
        registry[spec["id"]] = m
    return m
