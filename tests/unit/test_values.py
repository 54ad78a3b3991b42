"""The parent's stand-ins for the child's values: the contract's types, never the student's objects."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from autograder.engine import values
from autograder.engine.values import ModuleRef, NumpyFloat, NumpyInt, Raised, TensorRef, TorchSize


def test_numpy_scalars_are_numbers_that_remember_their_dtype() -> None:
    n = NumpyInt(3)
    n.dtype = "int32"
    assert isinstance(n, int) and n == 3 and n + 1 == 4 and n.dtype == "int32"
    assert NumpyInt(1).dtype == "int64" and NumpyFloat(0.5).dtype == "float64"
    assert isinstance(NumpyFloat(0.5), float)


def test_a_torch_size_is_a_tuple() -> None:
    size = TorchSize((2, 3))
    assert isinstance(size, tuple) and size == (2, 3)


def test_raised_is_a_by_its_class_or_a_base() -> None:
    error = Raised(type="ZeroDivisionError", message="division by zero",
                   bases=["ArithmeticError", "Exception", "BaseException", "object"])
    assert error.is_a("ZeroDivisionError") and error.is_a("ArithmeticError")
    assert not error.is_a("ValueError")
    assert not Raised(type="KeyError", message="").is_a("LookupError")  # no bases given: only its own class


def test_refs_compare_by_identity_not_by_fields() -> None:
    # two refs with equal fields may stand for two objects of two programs: only ``oid`` says "same"
    assert ModuleRef(oid=1, cls="Linear") != ModuleRef(oid=1, cls="Linear")
    fields: dict[str, Any] = dict(oid=0, cls="Parameter", dtype="float32", shape=(1,), requires_grad=True, is_leaf=True,
                  grad_fn=None, is_parameter=True, lazy=False)
    assert TensorRef(**fields) != TensorRef(**fields)


def test_the_value_types_import_nothing_of_the_engine() -> None:
    tree = ast.parse(Path(values.__file__).read_text())
    imported = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert imported == ["__future__", "dataclasses", "typing"], imported
