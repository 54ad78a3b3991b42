"""Probe harnesses the grader files share: programs that run one student function on many modules.

A harness builds the probe program (see ``engine/student.py``), runs it once, and hands back plain
data for the rule to judge; it never decides a verdict itself, so that each rule keeps its own hints.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, NamedTuple

from ..engine.snapshot import Snapshot
from ..engine.student import Program, Slot, Student
from ..engine.values import Raised

Setup = Callable[[Program], tuple[Slot, tuple]]  # adds the steps that make a module; returns it and fn's other args
Extra = Callable[[Program, Slot], Slot]  # adds steps after the call; returns a slot whose value is wanted too


class InPlaceCall(NamedTuple):
    """What ``call_in_place`` saw of one module."""

    before: Snapshot  # the module just before the call
    after: Snapshot  # the module just after it
    same: bool  # the result is the module it was given (the child's word: confirm by behaviour)
    out: Any  # the result (a ``Raised`` when the call raised)
    extra: Any = None  # the value of ``extra``'s slot


def call_in_place(student: Student, fn: str, what: str, setups: Iterable[Setup],
                  extra: Extra | None = None) -> list[InPlaceCall]:
    """Call the student's ``fn(module, *args)`` (exceptions caught) on each module a setup makes, in one
    program, with a snapshot of the module before and after the call. Setups run in order as the program
    is built, so whatever they draw from a generator is drawn in that order."""
    p = Program()
    plan = []
    for setup in setups:
        m, args = setup(p)
        before = p.snapshot(m)
        out = p.call(fn, m, *args, catch=True)
        slots = (before, p.snapshot(m), p.same(out, m), p.ret(out))
        plan.append(slots + ((extra(p, m),) if extra else ()))
    result = student.run(p, what)
    return [InPlaceCall(*(result[s] for s in slots)) for slots in plan]


def first_raised(calls: Iterable[InPlaceCall]) -> Raised | None:
    """The first exception among the calls' results, if any."""
    return next((c.out for c in calls if isinstance(c.out, Raised)), None)
