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
    any module kind but ref may carry "frozen": [attribute, ...] (requires_grad=False).
    {"k": "fixed_hidden_mlp"}  d2l's FixedHiddenMLP (rand_weight a plain attribute).
    {"k": "spy"}  the identity, recording ``torch.is_grad_enabled()`` at each call in ``grad_enabled``
                  (a list of bools): how many forward passes ran, and whether they recorded history.

Keys of the top-level spec only, applied in this order after building:

    "materialize": n   one no-grad forward of zeros(2, n) (in the top spec's dtype), so that lazy
                       modules get their shapes;
    "ties": [[module path, attribute, source path], ...]   ``module.attribute = source`` (paths are
                       lists of child names): one Parameter in two modules, which module
                       references (``ref``) cannot say;
    "zero": true       every parameter set to zero, so that distinct parameters hold equal values.

The language is checked (``check``, called by ``build``): a key a kind does not know, a missing
required key or a top-level key inside a nested spec raises ``SpecError``. A malformed spec is a
bug in a grader, never the student's failure: ``Program.build`` checks it in the parent before the
child sees it. ``linear`` is the one way graders write a Linear's spec.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported on first use, never by importing this module
    import torch


class SpecError(ValueError):
    """A module spec the language does not define (a bug in a grader, not the student's failure)."""


# Per kind: (required keys, optional keys). Every kind but "ref" may also carry "id" and "frozen".
_KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "linear": (frozenset({"in", "out"}), frozenset({"bias", "dtype"})),
    "lazylinear": (frozenset({"out"}), frozenset({"bias", "dtype"})),
    "relu": (frozenset(), frozenset()),
    "tanh": (frozenset(), frozenset()),
    "bn1d": (frozenset({"n"}), frozenset({"dtype"})),
    "layernorm": (frozenset({"n"}), frozenset({"dtype"})),
    "conv2d": (frozenset({"in", "out", "ks"}), frozenset({"dtype"})),
    "bilinear": (frozenset({"in1", "in2", "out"}), frozenset({"dtype"})),
    "fixed_hidden_mlp": (frozenset(), frozenset()),
    "spy": (frozenset(), frozenset()),
    "seq": (frozenset(), frozenset({"children"})),
    "custom": (frozenset(), frozenset({"children", "lists", "dicts", "params", "buffers", "tensors", "dtype"})),
}
_EVERY_KIND = frozenset({"k", "id", "frozen"})
TOP_LEVEL = frozenset({"materialize", "ties", "zero"})  # keys of the spec handed to build, applied after building


def check(spec: Any) -> None:
    """Raise ``SpecError`` unless ``spec`` is a spec of this language: a known kind with its required keys,
    no key it does not know, top-level keys (``TOP_LEVEL``) only at the top, and every ``ref`` naming an
    ``id`` built before it."""
    _check(spec, True, "spec", set())


# Per (kind, top level or not): (required keys, allowed keys), made once: a parent builds dozens of
# reference modules per submission, each checked, and the sets are the same every time.
_RULES: dict[tuple[str, bool], tuple[frozenset[str], frozenset[str]]] = {
    ("ref", top): (frozenset({"id"}), frozenset({"k", "id"})) for top in (False, True)}
_RULES.update({(k, top): (required, _EVERY_KIND | required | optional | (TOP_LEVEL if top else frozenset()))
               for k, (required, optional) in _KINDS.items() for top in (False, True)})


def _check(spec: Any, top: bool, where: str, ids: set[str]) -> None:
    if not isinstance(spec, dict):
        raise SpecError(f"{where}: a spec is a dict, not {type(spec).__name__}")
    k = spec.get("k")
    rule = _RULES.get((k, top)) if isinstance(k, str) else None
    if rule is None:
        raise SpecError(f"{where}: unknown module kind {k!r} (one of {', '.join(sorted([*_KINDS, 'ref']))})")
    required, allowed = rule
    if not spec.keys() <= allowed:
        unknown = sorted(set(spec) - allowed)
        why = (f"{unknown[0]!r} belongs to the top-level spec only" if unknown[0] in TOP_LEVEL and k != "ref"
               else f"a {k!r} spec takes only {', '.join(sorted(allowed - {'k'}))}")
        raise SpecError(f"{where}: unknown key {unknown[0]!r} ({why})")
    if not required <= spec.keys():
        missing = sorted(required - set(spec))
        raise SpecError(f"{where}: a {k!r} spec needs {', '.join(repr(m) for m in missing)}")
    if k == "ref":
        if spec["id"] not in ids:
            raise SpecError(f"{where}: ref {spec['id']!r} names no module built before it")
        return
    ties = spec.get("ties", [])
    if not isinstance(ties, list) or not all(isinstance(t, (list, tuple)) and len(t) == 3 for t in ties):
        raise SpecError(f"{where}: 'ties' is a list of [module path, attribute, source path]")
    for name, child in spec.get("children", []):
        _check(child, False, f"{where} > {name}", ids)
    for name, items in spec.get("lists", {}).items():
        for i, child in enumerate(items):
            _check(child, False, f"{where} > {name}[{i}]", ids)
    for name, items in spec.get("dicts", {}).items():
        for key, child in items:
            _check(child, False, f"{where} > {name}[{key!r}]", ids)
    if "id" in spec:  # registered after its children, as _build does
        ids.add(spec["id"])


def linear(n_in: int, n_out: int, bias: bool = True, **extra: Any) -> dict[str, Any]:
    """The spec of an ``nn.Linear(n_in, n_out, bias)``; ``extra`` adds keys (``dtype``, ``frozen``, ``id``)."""
    return {"k": "linear", "in": n_in, "out": n_out, "bias": bias, **extra}


def _torch() -> Any:  # Any: the modules a spec builds are known only when it is read
    import torch
    return torch


def make_classes() -> tuple[type[torch.nn.Module], type[torch.nn.Module], type[torch.nn.Module]]:
    """Module classes used by specs, created once torch is imported."""
    import torch
    from torch import nn

    class Custom(nn.Module):
        """A custom module: children, ModuleList/ModuleDict, own parameters, buffers, plain tensors.

        forward applies the children, ModuleList entries and ModuleDict entries in the order they were
        added; its own parameters, buffers and plain tensors take no part in it.
        """

        def __init__(self) -> None:
            super().__init__()
            self._order: list[str] = []

        def forward(self, x: torch.Tensor) -> torch.Tensor:
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

        def forward(self, X: torch.Tensor) -> torch.Tensor:
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

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.grad_enabled.append(bool(torch.is_grad_enabled()))
            return x

    return Custom, FixedHiddenMLP, Spy


_CLASSES: tuple[type[torch.nn.Module], type[torch.nn.Module], type[torch.nn.Module]] | None = None


def classes() -> tuple[type[torch.nn.Module], type[torch.nn.Module], type[torch.nn.Module]]:
    """``make_classes()``, made once: (Custom, FixedHiddenMLP, Spy)."""
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = make_classes()
    return _CLASSES


def build(spec: dict[str, Any], seed: int | None = None) -> Any:
    """Build the module a spec describes (``SpecError`` for a malformed one); with a seed, its values are
    reproducible. Then the top-level keys: ``materialize``, ``ties``, ``zero``, in that order."""
    check(spec)
    torch = _torch()
    if seed is not None:
        torch.default_generator.manual_seed(seed)  # the CPU generator nn.init draws from (torch.manual_seed is slower)
    module = _build(spec, {})
    if "materialize" in spec:  # one forward, so that lazy modules get their shapes
        with torch.no_grad():
            module(torch.zeros(2, spec["materialize"], dtype=getattr(torch, spec.get("dtype", "float32"))))
    for path, attr, src in spec.get("ties", []):  # after materialize: a tie may take a lazy layer's weight
        setattr(_walk(module, path), attr, _walk(module, src))
    if spec.get("zero"):
        with torch.no_grad():
            for q in module.parameters():
                q.zero_()
    return module


_KAIMING_GAIN = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))  # nn.init.calculate_gain("leaky_relu", math.sqrt(5))


def _linear(n_in: int, n_out: int, bias: bool, dtype: Any) -> Any:
    """``nn.Linear(n_in, n_out, bias, dtype=dtype)``: the same object, its values drawn in the same order from
    the same bounds as its ``reset_parameters`` (``kaiming_uniform_(a=sqrt(5))``, then the bias), without the
    constructor's generic steps (``Module.__setattr__``'s checks, ``nn.init``'s dispatch): 14 µs instead of 34.
    A parent and its child each build a few hundred per submission. ``tests/unit/test_specs.py`` holds it to
    ``nn.Linear``, attribute for attribute and bit for bit."""
    torch = _torch()
    nn = torch.nn
    if n_in <= 0 or n_out <= 0 or type(n_in) is not int or type(n_out) is not int:
        return nn.Linear(n_in, n_out, bias=bias, dtype=dtype)  # its warnings and errors, as they are
    m = nn.Linear.__new__(nn.Linear)
    nn.Module.__init__(m)
    m.__dict__["in_features"] = n_in  # what Module.__setattr__ does with a plain value
    m.__dict__["out_features"] = n_out
    bound = math.sqrt(3.0) * (_KAIMING_GAIN / math.sqrt(n_in))  # kaiming_uniform_'s own arithmetic
    m._parameters["weight"] = nn.Parameter(torch.empty((n_out, n_in), dtype=dtype).uniform_(-bound, bound))
    if bias:
        bound = 1 / math.sqrt(n_in)
        m._parameters["bias"] = nn.Parameter(torch.empty(n_out, dtype=dtype).uniform_(-bound, bound))
    else:
        m._parameters["bias"] = None
    return m


def _walk(module: Any, path: list[str]) -> Any:
    for part in path:
        module = getattr(module, part)
    return module


def _build(spec: dict[str, Any], registry: dict[str, Any]) -> Any:
    torch = _torch()
    nn = torch.nn
    Custom, FixedHiddenMLP, Spy = classes()
    k = spec["k"]
    if k == "ref":
        return registry[spec["id"]]
    dtype = getattr(torch, spec.get("dtype", "float32"))
    m: Any  # a module of the spec's kind: its attributes are known only at run time
    if k == "linear":
        m = _linear(spec["in"], spec["out"], spec.get("bias", True), dtype)
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
