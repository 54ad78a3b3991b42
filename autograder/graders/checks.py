"""Assertion helpers the grader files share: one tolerance convention, and checks written once.

Tolerances (docs/writing-graders.md, "Comparing numbers"). The parent recomputes what a right answer
gives; the student's code may compute the same formula in another order (``F.linear`` or
``x @ W.T + b``, SGD's fused update or ``p -= lr * g``), which moves float32 results by a few units in
the last place (float32's epsilon is 1.2e-7). So values are never compared with ``==`` unless the rule
is exact (a constant, an untouched tensor: ``torch.equal``), and otherwise always through:

- ``close(got, want, rtol, atol)`` for tensors: same shape, floating point, and entry-wise
  ``|got - want| <= atol + rtol * |want|`` in float64. ``rtol`` defaults to ``RTOL`` (1e-4: float32
  rounding with a wide margin; a float64 computation may pass 1e-6, a compounded one 1e-3).
  ``atol`` defaults to ``rtol / 10`` of ``want``'s largest entry (plus 1e-9, so that zeros compare):
  an entry near zero is judged on the scale of the tensor whose rounding produced it. Pass ``atol``
  only when that scale is not the tensor's own (a scalar that is a sum of larger terms).
- ``close_values(got, want, rtol, atol)`` for sequences of numbers that are each their own scale
  (losses, norms per epoch): entry-wise ``|g - w| <= atol + rtol * |w|``, ``atol`` defaulting to
  ``ATOL`` (1e-6, absolute).

The mistakes a hint names change results by percents, far outside every tolerance here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch

from ..engine.snapshot import Snapshot
from ..engine.values import TensorRef
from ..i18n import _

RTOL = 1e-4  # relative tolerance for float32 results computed in another order
ATOL = 1e-6  # absolute floor for sequences of numbers (close_values)


def tensor_of(x: Any) -> torch.Tensor | None:
    """The values of a tensor or of a ``TensorRef`` (None for anything else, or a lazy tensor's missing values)."""
    if isinstance(x, torch.Tensor):
        return x
    return x.data if isinstance(x, TensorRef) and isinstance(x.data, torch.Tensor) else None


def close(got: Any, want: torch.Tensor, rtol: float = RTOL, atol: float | None = None) -> bool:
    """``got`` (a tensor or a ``TensorRef``) has ``want``'s shape, is floating point, and
    ``|got - want| <= atol + rtol * |want|`` entry-wise, in float64; ``atol`` defaults to ``rtol / 10`` of
    ``want``'s largest entry (plus 1e-9). False for anything else (a student's value of another kind)."""
    values = tensor_of(got)
    if values is None or values.shape != want.shape or not values.is_floating_point():
        return False
    values, want = values.double(), want.double()
    if atol is None:
        atol = rtol * 0.1 * (float(want.abs().max()) if want.numel() else 0.0) + 1e-9
    return bool(torch.allclose(values, want, rtol=rtol, atol=atol))


def close_values(got: Sequence[float], want: Sequence[float], rtol: float = RTOL, atol: float = ATOL) -> bool:
    """As many numbers as ``want``, each within ``atol + rtol * |w|`` of its counterpart ``w``."""
    return len(got) == len(want) and all(abs(g - w) <= atol + rtol * abs(w) for g, w in zip(got, want, strict=True))


def returns_net(same: bool, out: Any, wrong: str, none: str) -> None:
    """A function that must return the net it was given did (``same``, from ``probes.call_in_place``); the hint
    is ``none`` when it returned None, else ``wrong`` (both messages marked with ``N_``, translated here)."""
    assert same, _(none) if out is None else _(wrong)


@dataclass(frozen=True)
class InPlaceHints:
    """The hints of ``in_place``, as ``N_`` messages with the fields {name}, {pname}, {dtype}, {dtype2},
    {grad_fn}. ``grad`` None: ``history`` covers a ``.grad`` too; ``plain_tensor`` None: not checked."""

    renamed: str
    new_object: str
    dtype: str
    requires_grad: str
    history: str
    grad: str | None = None
    plain_tensor: str | None = None


def in_place(name: str, before: Snapshot, after: Snapshot, hints: InPlaceHints,
             each: Callable[[str, TensorRef, TensorRef], None] | None = None) -> None:
    """``name`` worked in place, as the snapshots before and after its call say: the same names in the same
    order, each the same Parameter object (by the child's oid: confirm by behaviour) with its dtype and
    requires_grad, still a leaf without history or ``.grad``. ``each(pname, got, old)`` adds a check per
    parameter, after that parameter's own."""
    new = dict(after.named_params)
    assert list(new) == [n for n, _t in before.named_params], _(hints.renamed).format(name=name)
    for pname, old in before.named_params:
        got = new[pname]
        fields = dict(name=name, pname=pname, dtype=old.dtype, dtype2=got.dtype, grad_fn=got.grad_fn)
        assert got.oid == old.oid, _(hints.new_object).format(**fields)
        if hints.plain_tensor is not None:
            assert got.is_parameter, _(hints.plain_tensor).format(**fields)
        assert got.dtype == old.dtype, _(hints.dtype).format(**fields)
        assert got.requires_grad == old.requires_grad, _(hints.requires_grad).format(**fields)
        if hints.grad is None:
            assert got.is_leaf and got.grad_fn is None and got.grad is None, _(hints.history).format(**fields)
        else:
            assert got.is_leaf and got.grad_fn is None, _(hints.history).format(**fields)
            assert got.grad is None, _(hints.grad).format(**fields)
        if each is not None:
            each(pname, got, old)
