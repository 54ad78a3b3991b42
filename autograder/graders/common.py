"""Helpers the grader files share: building what the child builds, calling the student on many cases."""
from __future__ import annotations

from typing import Any, Iterable

import torch

from ..engine import specs
from ..engine.student import Program, Student
from ..engine.values import NumpyFloat, NumpyInt, Opaque, Raised, TensorRef
from ..i18n import _

Case = tuple[dict, int]  # a module spec and the seed its values come from


def build(case: Case) -> torch.nn.Module:
    """The parent's own copy of a case's module: same spec, same seed, same values as the child's."""
    spec, seed = case
    return specs.build(spec, seed)


def call_each(student: Student, fn: str, cases: Iterable[Case], *args: Any, **kwargs: Any) -> list[Any]:
    """Call the student's ``fn(module, *args, **kwargs)`` on each case's module, in one program."""
    p = Program()
    outs = [p.ret(p.call(fn, p.build(spec, seed), *args, **kwargs)) for spec, seed in cases]
    result = student.run(p, f"{fn}(...)")
    return [result[o] for o in outs]


def raises_each(student: Student, fn: str, cases: Iterable[Case], *args: Any) -> list[Any]:
    """Like ``call_each`` but an exception is a result (a ``Raised``), not a failure."""
    p = Program()
    outs = [p.ret(p.call(fn, p.build(spec, seed), *args, catch=True)) for spec, seed in cases]
    result = student.run(p, f"{fn}(...)")
    return [result[o] for o in outs]


def raises_where_due(student: Student, fn: str, due: list[Case], fine: list[Case], *args: Any
                     ) -> tuple[list[Any], list[Any]]:
    """``raises_each`` on the ``due`` cases (where the contract wants an exception) and the ``fine`` ones (where
    it wants none), in one program: the results of each. A rule on an edge case checks both, so that an answer
    that does nothing but raise does not earn it."""
    got = raises_each(student, fn, [*due, *fine], *args)
    return got[:len(due)], got[len(due):]


def raised(got: Any, exc: str) -> bool:
    """Whether a result is an exception of type ``exc`` (or a subclass)."""
    return isinstance(got, Raised) and got.is_a(exc)


def is_int(x: Any) -> bool:
    """A Python or NumPy integer (not a bool, not a float that happens to be whole)."""
    return type(x) in (int, NumpyInt)


def as_number(x: Any) -> float | None:
    """A Python or NumPy float or a 0-dimensional floating tensor, as a float; None otherwise."""
    if type(x) is float or isinstance(x, NumpyFloat):
        return float(x)
    if isinstance(x, TensorRef) and x.shape == () and x.data is not None and x.data.is_floating_point():
        return float(x.data)
    return None


def describe(x: Any) -> str:
    """A short name for the type of a student's value, for hints."""
    if isinstance(x, Raised):
        return _("an exception ({type})").format(type=x.type)
    if isinstance(x, TensorRef):
        return _("a Parameter") if x.is_parameter else _("a tensor")
    if isinstance(x, Opaque):
        return _("a {type}").format(type=x.cls)
    if isinstance(x, (NumpyInt, NumpyFloat)):
        return _("a NumPy {dtype}").format(dtype=x.dtype)
    return _("a {type}").format(type=type(x).__name__)
