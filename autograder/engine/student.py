"""What the graders hold: a handle on the student's code, reached only through probe programs.

Graders build a ``Program`` (steps over named slots, see ``child.py``), run it
with ``Student.run`` and get plain data back in a ``RunResult``: Python values, ``TensorRef``s,
``ModuleRef``s, ``Snapshot``s. The student's code never runs in this process.

Every hint made here is for the student, in the active language (``i18n.using``); a sandbox's
reasons for a child's death are translated where they reach a hint (``reason``).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn, Protocol, Sequence, TypeVar, cast

from .. import i18n
from ..i18n import N_, _
from . import codec, framing, specs
from .framing import ChannelError
from .loader import Submission
from .sandbox import ChildGone, ChildTimeout, Limits, Sandbox
from .snapshot import Snapshot
from .values import Raised

# The parent decodes the child's snapshots; the codec knows nothing of them (no import cycle).
codec.register_decoder("snapshot", Snapshot.decode)

T = TypeVar("T")

MAX_RESTARTS = 3  # new processes for one submission after its first; then its remaining checks fail
FIRST_FRAME = 60.0  # seconds for a fresh child's first frame (it imports torch first)
PIPE_ROOM = 60 * 1024  # bytes a pipe takes without a reader (Linux's default holds 64 KiB)
STATUSES = ("ok", "raised", "timeout", "bad_step")  # a program_done frame's possible statuses
NONSENSE = N_("your code wrote something into the grader's channel that makes no sense")
MALFORMED = N_("the answer sent back was malformed")
# What the sandbox says when a child dies (``ChildGone.reason``), for translation where it reaches a hint.
N_("the process running your code exited or was killed")
N_("your code wrote garbage into the grader's channel")
N_("did not finish in time")
_DEATHS = (  # the sandbox's reasons that carry a value: (English pattern, msgid with the value as {value})
    (re.compile(r"used more than the memory limit \((.+) GiB\)"), N_("used more than the memory limit ({value} GiB)")),
    (re.compile(r"the process running your code was killed by signal (\S+)"),
     N_("the process running your code was killed by signal {value}")),
    (re.compile(r"the process running your code exited \(exit status (.+)\)"),
     N_("the process running your code exited (exit status {value})")),
    (re.compile(r"your code wrote garbage into the grader's channel \(a frame over its (\d+) MiB limit\)"),
     N_("your code wrote garbage into the grader's channel (a frame over its {value} MiB limit)")),
    (re.compile(r"the grading process could not start \((.*)\)", re.S),
     N_("the grading process could not start ({value})")),
)


def reason(text: str) -> str:
    """A sandbox's reason for a child's death (English, from ``sandbox.py``) in the active language."""
    if i18n.current() == i18n.DEFAULT:
        return text
    for pattern, msgid in _DEATHS:
        m = pattern.fullmatch(text)
        if m:
            return _(msgid).format(value=m[1])
    return _(text)


# What the kit says when it cannot take a value the student's code gave it (``values.Refusal``, raised child-side
# with a code and plain values, no words): the student's mistake, but not an exception their code raised.
REFUSALS = {
    "not_module": N_("{what}: an nn.Module is needed here, but the value is {type}"),
    "too_large": N_("{what}: the result is too large or too deeply nested to be graded"),
    "unsendable": N_("{what}: the result cannot be sent back to the grader ({error})"),
}


def refusal_hint(what: str, error: Raised) -> str | None:
    """The hint for the kit's ``Refusal`` of a value (``error.code``), in the active language; None when
    ``error`` is the student's own exception, or names a refusal this kit does not know."""
    msgid = REFUSALS.get(error.code)
    if msgid is None:
        return None
    params = {"type": "?", "error": "?", **error.params, "what": what}
    return _(msgid).format(**params)


class StudentProblem(AssertionError):
    """The student's code could not answer (raised, hung, died); ``hint`` is for the student."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


class StudentRaised(StudentProblem):
    """The student's code raised ``error`` while ``what`` ran."""

    def __init__(self, what: str, error: Raised) -> None:
        self.error = error
        message = error.message if len(error.message) < 300 else error.message[:300] + "…"
        refused = refusal_hint(what, error)
        if refused is not None:
            hint = refused
        elif error.is_a("MemoryError") or any(s in error.message
                                              for s in ("can't allocate memory", "not enough memory")):
            hint = _("{what} ran out of memory (the limit is per question)").format(what=what)
        elif error.type == "NameError" and "is not defined" in error.message and what.split("(")[0] in error.message:
            hint = _("{name} is not defined: write it in a code cell (check its spelling)").format(
                name=what.split("(")[0])
        else:
            hint = _("{what} raised {error}: {message}").format(what=what, error=error.type, message=message)
        super().__init__(hint)


class GraderError(Exception):
    """A grader (or the engine under it) failed: not the student's mistake. The rule's outcome is
    *error*: the student keeps its points (``keeps_points``) and the instructor is told."""

    keeps_points = True


class ProtocolMismatch(GraderError):
    """The child's answers do not match the program's requests, slot by slot. An engine bug, or a
    submission writing into the grading channel: the instructor is told and decides, so the rule's
    points are withheld rather than given."""

    keeps_points = False


class StudentTimeout(StudentProblem):
    """The student's code did not finish in time: the question's remaining checks cannot run."""


class StudentCrashed(StudentProblem):
    """The process running the student's code died (or the submission gave up): nothing more of the
    question runs."""


@dataclass(frozen=True)
class Slot:
    """A named value living in the child during one program."""

    name: str

    def ref(self) -> dict[str, Any]:
        """The slot as a probe argument: the child passes the slot's value."""
        return {"slot": self.name}


@dataclass
class Program:
    """A probe program: a list of steps; helper methods return the slots they fill."""

    steps: list[dict[str, Any]] = field(default_factory=list)
    blobs: list[bytes] = field(default_factory=list)
    returns: list[Slot] = field(default_factory=list)  # the slots answered, matched by name
    _n: int = 0
    _enc: codec.Encoder | None = field(default=None, repr=False)  # the arguments', writing into ``blobs``

    def _slot(self) -> Slot:
        self._n += 1
        return Slot(f"s{self._n}")

    def _arg(self, value: Any) -> dict[str, Any]:
        if isinstance(value, Slot):
            return value.ref()
        if self._enc is None:
            self._enc = codec.Encoder(blobs=self.blobs)
        enc, opaques = self._enc, self._enc.opaques
        enc.items = 0  # the size limit is per argument
        node = enc.encode(value)
        if enc.opaques != opaques:  # a grader bug: never hand the student's code a stand-in for a value
            raise GraderError(f"a probe argument of type {type(value).__name__} cannot be sent to the child")
        return node

    def add(self, op: str, returns: bool = False, **fields: Any) -> Slot:
        """Append an ``op`` step with ``fields`` whose value fills a new slot (answered if ``returns``)."""
        out = self._slot()
        self.steps.append({"op": op, "out": out.name, **fields})
        if returns:
            self._answer(out)
        return out

    def _answer(self, slot: Slot) -> None:
        """Mark the last step as answered under ``slot``'s name (the child answers exactly these)."""
        if slot in self.returns:
            raise GraderError(f"probe program: slot {slot.name} is returned twice")
        self.steps[-1]["ret"] = True
        self.returns.append(slot)

    def seed(self, seed: int) -> None:
        """Seed torch's generator in the child."""
        self.steps.append({"op": "seed", "seed": int(seed)})

    def build(self, spec: dict[str, Any], seed: int | None = None) -> Slot:
        """Build a module from a spec in the child; a malformed spec is a grader bug, raised here (``SpecError``)."""
        specs.check(spec)
        return self.add("build", spec=spec, seed=seed)

    def value(self, value: Any) -> Slot:
        """A plain value (tensors included) sent to the child."""
        return self.add("value", value=self._arg(value))

    def name(self, name: str) -> Slot:
        """What the student's code bound to ``name`` (a ``NameError`` when nothing)."""
        return self.add("name", name=name)

    def call(self, fn: str | Slot, *args: Any, catch: bool = False, no_grad: bool = False, **kwargs: Any) -> Slot:
        """Call a student's top-level name (or a slot) with arguments (slots or plain values)."""
        f = self.name(fn) if isinstance(fn, str) else fn
        step: dict[str, Any] = {"fn": f.name, "args": [self._arg(a) for a in args],
                "kwargs": {k: self._arg(v) for k, v in kwargs.items()}}
        if catch:
            step["catch"] = True
        if no_grad:
            step["no_grad"] = True
        return self.add("call", **step)

    def method(self, obj: Slot, name: str, *args: Any, catch: bool = False, **kwargs: Any) -> Slot:
        """Call ``obj.name(*args, **kwargs)`` in the child; ``catch`` makes an exception the slot's value."""
        return self.add("method", slot=obj.name, name=name, args=[self._arg(a) for a in args],
                        kwargs={k: self._arg(v) for k, v in kwargs.items()}, **({"catch": True} if catch else {}))

    def walk(self, obj: Slot, path: Sequence[str]) -> Slot:
        """What ``obj`` registers under a dotted name, one ``Module.__getattr__`` call per component of
        ``path`` (parameters and submodules, as ``named_parameters`` names them), in one step; a
        component that raises makes the exception the slot's value."""
        return self.add("walk", slot=obj.name, path=[str(part) for part in path], catch=True)

    def attr(self, obj: Slot, name: str) -> Slot:
        """``obj.name`` in the child."""
        return self.add("getattr", slot=obj.name, name=name)

    def item(self, obj: Slot, key: Any) -> Slot:
        """``obj[key]`` in the child."""
        return self.add("getitem", slot=obj.name, key=self._arg(key))

    def sgd(self, params: Slot, lr: float, catch: bool = False) -> Slot:
        """``torch.optim.SGD(params, lr)`` in the child, without importing ``torch.optim``'s compiler
        (``child.SGD``): its ``zero_grad`` and ``step`` methods are called with ``method``."""
        return self.add("sgd", slot=params.name, lr=float(lr), **({"catch": True} if catch else {}))

    def torch(self, path: str, *args: Any, catch: bool = False, **kwargs: Any) -> Slot:
        """Call a torch function by dotted path (e.g. ``"nn.functional.mse_loss"``) in the child."""
        return self.add("torch", path=path, args=[self._arg(a) for a in args],
                        kwargs={k: self._arg(v) for k, v in kwargs.items()}, **({"catch": True} if catch else {}))

    def same(self, a: Slot, b: Slot) -> Slot:
        """Whether ``a`` and ``b`` hold the same object (``is``), answered."""
        return self.add("same", returns=True, a=a.name, b=b.name)

    def count_calls(self, module: Slot, *args: Any) -> tuple[Slot, Slot]:
        """Forward ``module(*args)`` counting calls per submodule; returns (counts, output) slots."""
        output = self._slot()
        counts = self.add("count_calls", returns=True, slot=module.name, args=[self._arg(a) for a in args],
                          forward_out=output.name)
        return counts, output

    def ret(self, slot: Slot) -> Slot:
        """Answer ``slot``'s value."""
        self.steps.append({"op": "return", "slot": slot.name})
        self._answer(slot)
        return slot

    def snapshot(self, module: Slot) -> Slot:
        """Answer a ``Snapshot`` of the module in ``module``."""
        return self.add("snapshot", returns=True, slot=module.name)


class RunResult:
    """What one program's run answered, by slot (``Student.run``'s result)."""

    def __init__(self, what: str, values: dict[str, Any], raised: Raised | None) -> None:
        self.what, self.values, self.raised = what, values, raised

    def __getitem__(self, slot: Slot) -> Any:
        """The slot's value (a ``Raised`` for a step run with ``catch=True`` that raised);
        raises ``StudentRaised`` when the program stopped on the student's exception before it."""
        if slot.name in self.values:
            return self.values[slot.name]
        if self.raised is not None:
            raise StudentRaised(self.what, self.raised)
        raise GraderError(f"{self.what}: slot {slot.name} was never returned by the program")

    def get(self, slot: Slot, default: Any = None) -> Any:
        """The slot's value, or ``default`` when the program did not answer it."""
        return self.values.get(slot.name, default)


@dataclass
class CellReport:
    """How one of the student's cells ran."""

    index: int
    ok: bool
    error: Raised | None = None
    timeout: bool = False
    fatal: str | None = None  # the cell killed its process: it is skipped from then on


class ChildHandle(Protocol):
    """What a ``Student`` uses of the process running the student's code: a ``Sandbox`` is one (the
    unit tests' stand-ins, without a process, are others)."""

    def wait_ready(self) -> None:
        """Wait for the child's "ready" frame."""

    def send(self, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
        """Write one request frame."""

    def receive(self, deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        """Read one frame by ``deadline`` (``time.monotonic``)."""

    def take_output(self) -> tuple[str, bool]:
        """What the student's code printed since the last call, and whether it was over the limit."""

    def strays(self) -> bool:
        """Whether processes other than the child run."""

    def kill(self) -> None:
        """Kill the child and every process it started."""

    def close(self) -> None:
        """End the child for good."""


class Student:
    """The student's submission, running in a sandboxed child; restarted when it dies."""

    def __init__(self, submission: Submission, limits: Limits, sandbox: ChildHandle | None = None,
                 spawn: Callable[[Limits], ChildHandle] | None = None, total_time: float | None = None) -> None:
        """``total_time``: the submission's wall-time budget in seconds (its cells, every restart's
        and every check's time together), counted from now; None for no budget beyond the limits."""
        self.submission = submission
        self.limits = limits
        self._spawn: Callable[[Limits], ChildHandle] = spawn or (lambda lim: Sandbox(lim).start())
        self.sandbox = sandbox
        self.cells: list[CellReport] | None = None
        self.fatal_cells: dict[int, str] = {}
        self.question: str | None = None
        self.budget = limits.time
        self.dead_reason: str | None = None  # why the current question cannot go on
        self.restarts = 0
        self.total_time = total_time
        # the budget's clock starts once the first child is ready: the engine's own start-up
        # (importing torch, slower on a loaded machine) is not the student's time
        self.deadline: float | None = None
        self.gave_up: str | None = None  # why nothing more of this submission is graded
        self.out_of_time = False  # whether that is its time budget
        self._running_cell: int | None = None
        self._last_cell: int | None = None  # the cell that ran last: a frame between cells is its code's
        self._reports: dict[int, CellReport] = {}  # by cell, for the cells run so far in this child
        self._exec_sent = False  # the current child has its cells already (send_cells)
        self._observed: dict[str, Any] = {}  # what a question's rules observed once for all of them (observe)

    # ------------------------------------------------------------ lifecycle
    def send_cells(self) -> None:
        """Hand the cells to the current child now, before ``start`` reads what they did: a cold child
        runs them as soon as it has imported torch, while this process still imports its graders.
        A child already gone is left for ``start`` to find."""
        if self.sandbox is None or self._exec_sent:
            return
        # Only what the pipe holds without a reader: a child that never got as far as reading (stuck in
        # its start) must not block this process, whose wait for it has a deadline (wait_ready).
        # The cells' own bytes bound the frame from below: a notebook over that is never encoded twice.
        if sum(len(c.encode()) for c in self.submission.cells) > PIPE_ROOM \
                or len(framing.encode_frame(self._exec_request())) > PIPE_ROOM:
            return
        try:
            self._send_exec(self.sandbox)
        except ChildGone:
            pass

    def _exec_request(self) -> dict[str, Any]:
        return {"cmd": "exec", "cells": self.submission.cells, "skip": sorted(self.fatal_cells),
                "limit": self.limits.time}

    def _send_exec(self, sb: ChildHandle) -> None:
        sb.send(self._exec_request())
        self._exec_sent = True

    def start(self) -> list[CellReport]:
        """Run the student's cells in a (new) child; a cell that kills the child is skipped on retry.

        At most ``MAX_RESTARTS`` new children per submission, within its time budget: past either,
        ``gave_up`` says why, the cells not run yet are left out, and every later ``run`` fails.
        """
        self._reports = {}
        while self.gave_up is None:
            if self._remaining() <= 0:
                self._give_up(self._out_of_time_message())
                break
            if self.sandbox is None:
                self.sandbox = self._spawn(self.limits)
            try:
                self.sandbox.wait_ready()
                if self.deadline is None and self.total_time is not None:
                    self.deadline = time.monotonic() + self.total_time
                self.cells = self._exec_cells()
                return self.cells
            except (ChildGone, ChildTimeout) as exc:
                why = exc.reason if isinstance(exc, ChildGone) else "did not finish in time"
                culprit = self._running_cell if self._running_cell is not None else self._last_cell
                self._discard()
                if self._remaining() <= 0:
                    self._give_up(self._out_of_time_message())
                    break
                if culprit is None:  # no student code has run in this child yet
                    raise ChildGone(f"the grading process could not start: {why}") from None
                self.fatal_cells[culprit] = reason(why)
                if self.restarts >= MAX_RESTARTS:
                    self._give_up(self._restarts_message())
                    break
                self.restarts += 1
        self.cells = [self._reports[i] for i in sorted(self._reports)]
        return self.cells

    def _exec_cells(self) -> list[CellReport]:
        """Run the cells in the current child, checking that its frames follow the protocol: a
        "cell" frame for exactly the next cell not skipped, its "cell_done", then "exec_done".
        Anything else kills the child (``ChildGone``): the cell running, or the one that ran last, pays."""
        sb = self.sandbox
        assert sb is not None  # start() spawned it
        self._running_cell = self._last_cell = None
        cells = self.submission.cells
        order = [i for i in range(len(cells)) if i not in self.fatal_cells]
        if not self._exec_sent:
            self._send_exec(sb)
        reports = self._reports = {i: CellReport(i, ok=False, fatal=r) for i, r in self.fatal_cells.items()}
        wait, nxt = FIRST_FRAME, 0  # the first frame waits for the child's torch import
        while True:
            header, blobs = sb.receive(self._cap(time.monotonic() + wait))
            event, index = header.get("event"), header.get("index")
            if blobs:
                event = None
            if event == "cell" and self._running_cell is None and nxt < len(order) and type(index) is int \
                    and index == order[nxt]:
                self._running_cell, nxt = index, nxt + 1
                wait = self.limits.time + 2.0
                continue
            if event == "cell_done" and type(index) is int and index == self._running_cell:
                report = self._cell_report(index, header)
                if report is not None:
                    reports[index] = report
                    self._last_cell, self._running_cell = index, None
                    continue
            if event == "exec_done" and self._running_cell is None and nxt == len(order):
                sb.take_output()
                return [reports[i] for i in sorted(reports)]
            sb.kill()
            raise ChildGone(NONSENSE)

    @staticmethod
    def _cell_report(index: int, header: dict[str, Any]) -> CellReport | None:
        """A "cell_done" frame's report, or None when the frame is malformed."""
        ok = header.get("ok")
        if type(ok) is not bool:
            return None
        if ok:
            return CellReport(index, ok=True)
        try:
            error = codec.decode(header.get("error"), [])
        except (ChannelError, KeyError, TypeError, ValueError, IndexError, RecursionError):
            return None
        if not isinstance(error, Raised):
            return None
        return CellReport(index, ok=False, error=error, timeout=bool(header.get("timeout")))

    # ------------------------------------------------------------ the submission's budgets
    def _remaining(self) -> float:
        """Seconds left of the submission's time budget (infinite without one)."""
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def _cap(self, deadline: float) -> float:
        return deadline if self.deadline is None else min(deadline, self.deadline)

    def _give_up(self, reason: str) -> str:
        self.gave_up = reason
        self._discard()
        return reason

    def _check_gave_up(self) -> None:
        if self.gave_up:
            raise StudentCrashed(self.gave_up)

    def _out_of_time_message(self) -> str:
        self.out_of_time = True
        return _("not graded: this submission used up its time budget ({seconds:g} s in all for its cells and "
                 "checks); the checks after that were not run").format(seconds=self.total_time)

    def _restarts_message(self) -> str:
        return _("not graded: the process running your code died again after {restarts} restarts (the most for "
                 "one submission); the checks after that were not run").format(restarts=MAX_RESTARTS)

    def _discard(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None
        self._exec_sent = False  # a new child needs the cells again

    def close(self) -> None:
        """End the child, if one runs."""
        self._discard()

    # ------------------------------------------------------------ questions
    def new_run(self) -> None:
        """A fresh grading run on this child: every question's time budget starts afresh."""
        self.question = None

    def begin_question(self, name: str) -> None:
        """Start a question's time budget; a child killed in the previous one is replaced lazily."""
        if name != self.question:
            self.question = name
            self.budget = self.limits.time
            self.dead_reason = None
            self._observed = {}
            if self.sandbox is not None:
                self.sandbox.take_output()

    def observe(self, key: str, probe: Callable[[], T]) -> T:
        """What ``probe()`` returns, run once per question: the rules of one question that confirm the
        same behaviour (a probe of several forwards, say) share one observation of it, as they share
        the child. Nothing is kept when the probe raises."""
        if key not in self._observed:
            self._observed[key] = probe()
        return cast(T, self._observed[key])

    def run(self, program: Program, what: str = "your code") -> RunResult:
        """Run a probe program in the child within the question's remaining time (and the submission's)."""
        self._check_gave_up()
        if self.dead_reason:
            raise StudentCrashed(self.dead_reason)
        if self.sandbox is None:
            if self.restarts >= MAX_RESTARTS:
                raise StudentCrashed(self._give_up(self._restarts_message()))
            self.restarts += 1
            self.start()
            self._check_gave_up()
        remaining = self._remaining()
        if remaining <= 0:
            raise StudentCrashed(self._give_up(self._out_of_time_message()))
        sb = self.sandbox
        assert sb is not None  # start() spawned it, or gave up
        capped = remaining < self.budget  # the submission's budget ends before the question's
        limit = max(min(self.budget, remaining), 0.05)
        started = time.monotonic()
        try:
            sb.send({"cmd": "program", "steps": program.steps, "limit": limit}, program.blobs)
            header, blobs = sb.receive(started + limit + 1.0)  # the child interrupts itself first
        except ChildTimeout:
            self._discard()
            self.budget = 0
            if capped:
                raise StudentTimeout(self._give_up(self._out_of_time_message())) from None
            return self._dead(StudentTimeout(_("{what} did not finish within {seconds:g} s (time limit per "
                                               "question)").format(what=what, seconds=self.limits.time)))
        except ChildGone as exc:
            self._discard()
            return self._dead(StudentCrashed(f"{what}: {reason(exc.reason)}"))
        finally:
            self.budget -= time.monotonic() - started
        if sb.strays():  # forked processes could answer for the child later, or burn CPU: end them all
            self._discard()
            return self._dead(StudentCrashed(_("{what} started processes that kept running; they were killed").format(
                what=what)))
        _unused, over = sb.take_output()
        if over:
            raise StudentProblem(_("{what} printed more than {kib} KiB (output limit per question)").format(
                what=what, kib=self.limits.output // 1024))
        status = header.get("status")
        if header.get("event") != "program_done" or status not in STATUSES:
            self._discard()
            return self._dead(StudentCrashed(f"{what}: {_(NONSENSE)}"))
        if status == "timeout":
            self.budget = 0
            if capped:
                raise StudentTimeout(self._give_up(self._out_of_time_message()))
            return self._dead(StudentTimeout(_("{what} did not finish within {seconds:g} s (time limit per "
                                               "question)").format(what=what, seconds=self.limits.time)))
        if status == "bad_step":
            raise GraderError(f"a probe step is malformed: {(header.get('raised') or {}).get('message')}")
        try:
            answers = header.get("results")
            if not isinstance(answers, dict):
                raise ChannelError("results are not keyed by slot")
            values = {str(name): codec.decode(node, blobs) for name, node in answers.items()}
            raised = codec.decode(header["raised"], blobs) if header.get("raised") is not None else None
        except (ChannelError, KeyError, TypeError, ValueError, IndexError, RecursionError):
            self._discard()
            return self._dead(StudentCrashed(f"{what}: {_(MALFORMED)}"))
        if status == "raised" and not isinstance(raised, Raised):
            self._discard()
            return self._dead(StudentCrashed(f"{what}: {_(MALFORMED)}"))
        match_answers(program, values, complete=status == "ok")
        return RunResult(what, values, raised if status == "raised" else None)

    def _dead(self, problem: StudentProblem) -> NoReturn:
        """The question cannot go on: its later checks fail with ``problem``'s hint."""
        self.dead_reason = problem.hint
        raise problem


def match_answers(program: Program, values: dict[str, Any], complete: bool) -> None:
    """Every answer must be one the program asked for, by slot name; when the program ran to its end
    (``complete``), every request must be answered. A mismatch is a ``ProtocolMismatch``."""
    asked = [s.name for s in program.returns]
    unasked = sorted(set(values) - set(asked))
    if unasked:
        raise ProtocolMismatch(f"probe protocol: answers for slots never asked for ({', '.join(unasked[:5])})")
    missing = [name for name in asked if name not in values]
    if complete and missing:
        raise ProtocolMismatch(f"probe protocol: no answer for slots {', '.join(missing[:5])}")
