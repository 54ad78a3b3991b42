"""Snapshots of a module: what the graders may know of a student's module, as plain data.

The child takes the snapshot (``take``); the parent reads it (``Snapshot``):
names, shapes, which names share one tensor, values, grads, ``requires_grad``,
whether a ``grad_fn`` is present, buffers, ``state_dict`` keys and submodules.
The codec decodes a snapshot node with ``Snapshot.decode`` once it is registered
(``student.py`` does that): the codec itself knows nothing of snapshots.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .codec import Encoder, decode_tensor
from .values import ModuleRef, Refusal, TensorRef


def take(module: Any, enc: Encoder) -> dict[str, Any]:
    """Child side: encode a module's parameters, buffers and submodules (names with duplicates)."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise Refusal("not_module", type="None" if module is None else type(module).__name__)
    tensor = enc.tensor
    return {
        "t": "snapshot", "oid": enc.ids.of(module), "cls": type(module).__qualname__,
        "params": [[n, tensor(p)] for n, p in module.named_parameters(remove_duplicate=False)],
        "buffers": [[n, tensor(b)] for n, b in module.named_buffers(remove_duplicate=False)],
        "state_dict": list(module.state_dict().keys()),
        "modules": [[n, enc.ids.of(m), type(m).__qualname__] for n, m in module.named_modules(remove_duplicate=False)],
        "training": bool(module.training),
    }


class MissingName(AssertionError, KeyError):
    """A name the grader needs is not in the student's module: the student's answer fails the rule.

    (A ``KeyError`` as well, for code that catches that; an ``AssertionError`` so that a module
    which reports fewer names than it has, honestly or forged, never turns into a grader error.)
    Its message is English: the runner gives the student the same sentence in their language
    (``runner.MISSING_NAME_HINT``), since this file is bound into the sandbox, which has no i18n."""

    def __init__(self, name: str) -> None:
        super().__init__(f"the module has no parameter named {name!r}")
        self.name = name

    def __str__(self) -> str:
        return str(self.args[0])


class Names(dict[str, Any]):
    """A dict by parameter name (of parameters, or what the graders read of them) whose missing keys
    raise ``MissingName``."""

    def __missing__(self, name: str) -> Any:
        """A name the module does not have fails the rule."""
        raise MissingName(name)


@dataclass
class Snapshot:
    """Parent side: a module as the child saw it."""

    oid: int
    cls: str
    # every (name, parameter) of named_parameters(remove_duplicate=False), in its order: a shared
    # parameter appears under each of its names (with equal oids)
    named_params: list[tuple[str, TensorRef]]
    buffers: list[tuple[str, TensorRef]]
    state_dict: list[str]
    modules: list[tuple[str, ModuleRef]]
    training: bool

    @classmethod
    def decode(cls, node: dict[str, Any], blobs: list[bytes]) -> Snapshot:
        """Parent side: the snapshot node ``take`` made (the codec's decoder for the "snapshot" tag)."""
        return cls(
            oid=int(node["oid"]), cls=str(node["cls"]),
            named_params=[(str(n), decode_tensor(t, blobs)) for n, t in node["params"]],
            buffers=[(str(n), decode_tensor(t, blobs)) for n, t in node["buffers"]],
            state_dict=[str(k) for k in node["state_dict"]],
            modules=[(str(n), ModuleRef(oid=int(o), cls=str(c))) for n, o, c in node["modules"]],
            training=bool(node["training"]),
        )

    def distinct_params(self) -> Names:
        """Each parameter once, under its first name, in order (what ``named_parameters()`` yields)."""
        seen, out = set(), Names()
        for name, t in self.named_params:
            if t.oid not in seen:
                seen.add(t.oid)
                out[name] = t
        return out

    def param_named(self, name: str) -> TensorRef:
        """The parameter under ``name``; a name that is not there fails the rule (``MissingName``)."""
        for n, t in self.named_params:
            if n == name:
                return t
        raise MissingName(name)

    def by_name(self) -> Names:
        """Every parameter by each of its names; a name that is not there fails the rule (``MissingName``)."""
        return Names((n, t) for n, t in self.named_params)

    def shared_groups(self) -> list[list[str]]:
        """Names that reach one tensor, for tensors reachable under two or more names."""
        groups: dict[int, list[str]] = {}
        for name, t in self.named_params:
            groups.setdefault(t.oid, []).append(name)
        return [names for names in groups.values() if len(names) > 1]

    def module_groups(self) -> list[list[str]]:
        """Names that reach one submodule, for submodules registered under two or more names."""
        groups: dict[int, list[str]] = {}
        for name, m in self.modules:
            groups.setdefault(m.oid, []).append(name)
        return [names for names in groups.values() if len(names) > 1]
