"""What the parent holds of the child's values: plain stand-ins, never the student's objects.

The codec (``codec.py``) rebuilds these from the child's answers. They carry what the graders
may judge: a NumPy integer is an ``int`` that remembers its dtype, a ``torch.Size`` is a tuple,
a tensor or module is known by identity (``oid``, equal within one program) and metadata, and
anything else is its class name and a truncated repr.

This module imports nothing of the engine, so that every other module may import it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class NumpyInt(int):
    """A NumPy integer the student returned: an int that remembers its dtype."""

    dtype: str = "int64"


class NumpyFloat(float):
    """A NumPy float the student returned."""

    dtype: str = "float64"


class TorchSize(tuple[int, ...]):
    """A ``torch.Size`` the student returned: it is a tuple, as the contract says."""


@dataclass(eq=False)
class TensorRef:
    """What the parent knows of one tensor in the child: identity, metadata and values."""

    oid: int  # identity within one program: equal oids are the same object in the child
    cls: str
    dtype: str
    shape: tuple[int, ...] | None  # None for an uninitialized (lazy) parameter
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None
    is_parameter: bool
    lazy: bool
    data: Any = None  # torch.Tensor in the parent, or None if lazy
    grad: TensorRef | None = None


@dataclass(eq=False)
class ModuleRef:
    """An ``nn.Module`` in the child, known by identity and class name."""

    oid: int
    cls: str


@dataclass(eq=False)
class Opaque:
    """Any other object: its class and a (truncated) repr, never the object itself."""

    cls: str
    repr: str


class Refusal(Exception):
    """Child side: the kit itself cannot take a value the student's code gave it (not a module where one is
    needed, a result too large or too deeply nested to send). Not the student's exception, so no English
    sentence travels with it: ``code`` names the message, which the parent says in the student's language
    (``student.REFUSALS``), and ``params`` are its values, plain strings."""

    def __init__(self, code: str, **params: str) -> None:
        super().__init__(code)
        self.code, self.params = code, params


@dataclass
class Raised:
    """An exception raised by the student's code in the child, or the kit's ``Refusal`` of a value (``code``
    set, with its ``params``)."""

    type: str
    message: str
    bases: list[str] = field(default_factory=list)  # the exception's class hierarchy, by name
    code: str = ""  # a Refusal's code: the parent says its message (``student.REFUSALS``); "" for the student's own
    params: dict[str, str] = field(default_factory=dict)

    def is_a(self, name: str) -> bool:
        """Whether the exception is of the class called ``name`` or of a subclass of it."""
        return name == self.type or name in self.bases
