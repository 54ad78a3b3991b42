"""The step protocol, without a sandbox: the steps a ``Program`` builds, the child's answers to them
(``child.Child`` run in this process over a pipe), and how ``Student.run`` reads those answers."""
from __future__ import annotations

import os
import signal
import time
from typing import Any, Iterator, Sequence

import pytest
import torch

from autograder import i18n
from autograder.engine import child, framing
from autograder.engine.loader import Submission
from autograder.engine.sandbox import ChildGone, Limits
from autograder.engine.snapshot import Snapshot
from autograder.engine.student import (
    MAX_RESTARTS,
    PIPE_ROOM,
    GraderError,
    Program,
    ProtocolMismatch,
    RunResult,
    Slot,
    Student,
    StudentCrashed,
    StudentProblem,
    StudentRaised,
    StudentTimeout,
    match_answers,
)
from autograder.engine.values import Raised, TensorRef

LINEAR = {"k": "linear", "in": 2, "out": 3}


# ---------------------------------------------------------------- the steps a Program builds

def test_steps_name_their_output_slot_in_order() -> None:
    p = Program()
    m = p.build(LINEAR, 7)
    p.seed(3)
    w = p.attr(m, "weight")
    first = p.item(w, 0)
    assert (m, w, first) == (Slot("s1"), Slot("s2"), Slot("s3"))
    assert p.steps == [
        {"op": "build", "out": "s1", "spec": LINEAR, "seed": 7},
        {"op": "seed", "seed": 3},  # fills no slot
        {"op": "getattr", "out": "s2", "slot": "s1", "name": "weight"},
        {"op": "getitem", "out": "s3", "slot": "s2", "key": {"t": "int", "v": 0}},
    ]
    assert p.returns == [] and p.blobs == []


def test_a_call_by_name_looks_the_name_up_first_and_encodes_its_arguments() -> None:
    p = Program()
    m = p.build(LINEAR)
    out = p.call("param_shapes", m, 2, flag=True, names=["a"])
    name_step, call_step = p.steps[1:]
    assert name_step == {"op": "name", "out": "s2", "name": "param_shapes"}
    assert call_step == {"op": "call", "out": out.name, "fn": "s2",
                         "args": [{"slot": "s1"}, {"t": "int", "v": 2}],
                         "kwargs": {"flag": {"t": "bool", "v": True},
                                    "names": {"t": "list", "v": [{"t": "str", "v": "a"}]}}}
    again = p.call(out, catch=True, no_grad=True)  # a slot is called as is
    assert p.steps[-1] == {"op": "call", "out": again.name, "fn": out.name, "args": [], "kwargs": {},
                           "catch": True, "no_grad": True}


def test_tensor_arguments_go_to_the_programs_blobs_renumbered() -> None:
    p = Program()
    a, b = torch.ones(2), torch.arange(3.0)
    p.value(a)
    p.torch("nn.functional.mse_loss", b, target=a, catch=True)
    assert p.steps[0]["value"]["blob"] == 0
    step = p.steps[1]
    assert (step["path"], step["catch"]) == ("nn.functional.mse_loss", True)
    assert step["args"][0]["blob"] == 1 and step["kwargs"]["target"]["blob"] == 2
    assert p.blobs[1] == b.numpy().tobytes() and p.blobs[2] == a.numpy().tobytes()


def test_answering_steps_are_marked_and_listed() -> None:
    p = Program()
    m = p.build(LINEAR)
    snap = p.snapshot(m)
    same = p.same(m, m)
    counts, output = p.count_calls(m, torch.zeros(1, 2))
    r = p.ret(output)
    p.method(m, "zero_grad")
    assert p.returns == [snap, same, counts, r]
    assert [s.get("ret", False) for s in p.steps] == [False, True, True, True, True, False]
    assert p.steps[3]["forward_out"] == output.name and output.name != counts.name
    assert p.steps[4] == {"op": "return", "slot": output.name, "ret": True}
    assert "catch" not in p.steps[5]


def test_grader_mistakes_in_a_program_are_grader_errors() -> None:
    p = Program()
    m = p.build(LINEAR)
    p.ret(m)
    with pytest.raises(GraderError, match="returned twice"):
        p.ret(m)
    with pytest.raises(GraderError, match="cannot be sent"):  # never a stand-in for a value
        p.call("f", object())
    with pytest.raises(GraderError, match="cannot be sent"):
        p.value({"k": [lambda: 0]})
    assert not issubclass(GraderError, AssertionError), "a grader error must never read as the student's failure"


def test_answers_must_match_the_requests() -> None:
    p = Program()
    a, b = p.ret(p.value(1)), p.ret(p.value(2))
    match_answers(p, {a.name: 1, b.name: 2}, complete=True)
    match_answers(p, {a.name: 1}, complete=False)  # the program stopped on the student's exception
    with pytest.raises(ProtocolMismatch, match="no answer"):
        match_answers(p, {a.name: 1}, complete=True)
    with pytest.raises(ProtocolMismatch, match="never asked"):
        match_answers(p, {a.name: 1, b.name: 2, "s99": 3}, complete=False)


def test_a_run_result_is_read_by_slot() -> None:
    p = Program()
    a, b, c = p.ret(p.value(1)), p.ret(p.value(2)), p.value(3)
    result = RunResult("f(...)", {a.name: 1}, None)
    assert result[a] == 1 and result.get(b) is None and result.get(b, 0) == 0
    with pytest.raises(GraderError, match="never returned"):
        result[c]
    stopped = RunResult("f(...)", {a.name: 1}, Raised(type="ValueError", message="bad", bases=["Exception"]))
    with pytest.raises(StudentRaised, match="f\\(...\\) raised ValueError: bad"):  # the student's exception
        stopped[b]


@pytest.mark.parametrize("error, hint", [
    (Raised(type="NameError", message="name 'init_42' is not defined"), "init_42 is not defined: write it"),
    (Raised(type="MemoryError", message=""), "ran out of memory"),
    (Raised(type="ValueError", message="x" * 400), "raised ValueError: " + "x" * 300 + "…"),
])
def test_the_students_exception_becomes_a_hint(error: Raised, hint: str) -> None:
    problem = StudentRaised("init_42(net)", error)
    assert hint in problem.hint and isinstance(problem, StudentProblem) and isinstance(problem, AssertionError)


# ---------------------------------------------------------------- the child's answers, in this process

class InProcess:
    """A stand-in for ``Sandbox``: the child's ``Child`` runs each program in this process and writes
    its frame into a pipe, which ``receive`` reads as the parent does (``FROM_CHILD`` limits)."""

    def __init__(self, source: str) -> None:
        self.rfd, self.wfd = os.pipe()
        self.child = child.Child(self.rfd, self.wfd)
        exec(compile(source, "<cell 1>", "exec"), self.child.ns)
        self.closed = False

    def wait_ready(self) -> None:
        pass  # the child runs in this process: ready at once

    def send(self, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
        assert header["cmd"] == "program"
        # the request takes the way the child reads it: a frame
        request, self.child._blobs = framing.parse_frame(_reader(framing.encode_frame(header, blobs)),
                                                         framing.FROM_PARENT)
        handler = signal.getsignal(signal.SIGALRM)
        try:
            self.child.run_program(request["steps"], request["limit"])
        finally:
            signal.signal(signal.SIGALRM, handler)

    def receive(self, deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        return framing.read_frame(self.rfd, framing.FROM_CHILD)

    def strays(self) -> bool:
        return False

    def take_output(self) -> tuple[str, bool]:
        return "", False

    def close(self) -> None:
        if not self.closed:
            os.close(self.rfd)
            os.close(self.wfd)
            self.closed = True

    kill = close


def _reader(data: bytes) -> Any:
    view = memoryview(data)
    pos = [0]

    def read(n: int) -> bytes:
        pos[0] += n
        return bytes(view[pos[0] - n:pos[0]])

    return read


STUDENT = """
import torch

def double(x):
    return x * 2

def shapes(module):
    return {name: p.shape for name, p in module.named_parameters()}

def fails(module):
    raise ValueError("no luck")

def build_nothing():
    return None

def too_deep():
    deep = []
    for _ in range(100):
        deep = [deep]
    return deep
"""


@pytest.fixture
def student() -> Iterator[Student]:
    box = InProcess(STUDENT)
    s = Student(Submission(name="s.py", cells=[STUDENT], digest="0" * 64), Limits(time=5.0), sandbox=box)
    yield s
    box.close()


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")  # the forward's output
def test_a_program_round_trips_through_the_child(student: Student) -> None:
    p = Program()
    m = p.build(LINEAR, 1)
    shapes = p.ret(p.call("shapes", m))
    doubled = p.ret(p.call("double", torch.ones(2)))
    snap = p.snapshot(m)
    same, other = p.same(m, m), p.same(m, p.build(LINEAR, 1))
    counts, y = p.count_calls(m, torch.zeros(4, 2))
    out = p.ret(y)
    result = student.run(p, "shapes(net)")
    assert result[shapes] == {"weight": (3, 2), "bias": (3,)}
    assert isinstance(result[doubled], TensorRef) and torch.equal(result[doubled].data, torch.full((2,), 2.0))
    assert isinstance(result[snap], Snapshot) and list(result[snap].distinct_params()) == ["weight", "bias"]
    assert result[same] is True and result[other] is False
    assert result[counts] == [[result[snap].oid, 1]] and result[out].shape == (4, 3)


def test_a_caught_exception_is_a_value_and_an_uncaught_one_stops_the_program(student: Student) -> None:
    p = Program()
    m = p.build(LINEAR)
    caught = p.ret(p.call("fails", m, catch=True))
    after = p.ret(p.call("fails", m))
    never = p.ret(p.value(1))
    result = student.run(p, "fails(net)")
    assert isinstance(result[caught], Raised) and result[caught].is_a("Exception")
    assert result[caught].message == "no luck"
    for slot in (after, never):
        with pytest.raises(StudentRaised, match="fails\\(net\\) raised ValueError: no luck"):
            result[slot]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_kits_refusal_of_a_value_is_worded_by_the_parent_and_never_raised_by_the_student(
        student: Student, lang: str) -> None:
    """A snapshot of what is not a module, or a result nested too deeply, is the kit's refusal: its hint says
    so in the student's language, never "raised TypeError: <the kit's English>"; with ``catch`` it is not taken
    for the call's own exception."""
    p = Program()
    snap = p.snapshot(p.call("build_nothing"))
    with i18n.using(lang), pytest.raises(StudentRaised) as refused:
        student.run(p, "build_rgnet()")[snap]
    p = Program()
    deep = p.ret(p.call("too_deep", catch=True))
    with i18n.using(lang), pytest.raises(StudentRaised) as nested:
        student.run(p, "param_shapes(net)")[deep]
    for problem, words in ((refused.value, {"en": "an nn.Module is needed here, but the value is None",
                                            "zh": "这里需要nn.Module，但得到的值是None"}),
                           (nested.value, {"en": "the result is too large or too deeply nested to be graded",
                                           "zh": "结果太大或嵌套太深，无法评分"})):
        assert words[lang] in problem.hint and "raised" not in problem.hint and "抛出" not in problem.hint
        assert "the value is" not in problem.hint or lang == "en"


NESTED = {"k": "seq", "children": [["block 0", {"k": "seq", "children": [["0", {"k": "linear", "in": 2, "out": 3}]]}]]}


def test_a_walk_reaches_what_a_dotted_name_registers_and_a_wrong_name_is_its_value(student: Student) -> None:
    p = Program()
    m = p.build(NESTED, 1)
    weight, bias = p.ret(p.walk(m, ["block 0", "0", "weight"])), p.ret(p.walk(m, ["block 0", "0", "bias"]))
    missing, after = p.ret(p.walk(m, ["block 0", "nope", "weight"])), p.ret(p.value(1))
    result = student.run(p, "walk")
    assert isinstance(result[weight], TensorRef) and result[weight].is_parameter and result[weight].shape == (3, 2)
    assert isinstance(result[bias], TensorRef) and result[bias].shape == (3,)
    assert isinstance(result[missing], Raised) and result[missing].is_a("AttributeError")
    assert result[after] == 1  # a walk that fails costs its own slot, not the program


def test_a_missing_name_is_the_students_name_error(student: Student) -> None:
    p = Program()
    r = p.ret(p.call("init_42", 1))
    with pytest.raises(StudentRaised, match="init_42 is not defined"):
        student.run(p, "init_42(net)")[r]


def test_a_malformed_step_is_a_grader_error(student: Student) -> None:
    p = Program()
    p.add("no_such_op", returns=True)
    with pytest.raises(GraderError, match="malformed"):
        student.run(p)


def test_the_childs_time_limit_is_the_students_timeout(student: Student) -> None:
    student.budget = 0.1  # what is left of the question's time
    exec("def spin():\n    while True:\n        pass\n", student.sandbox.child.ns)  # type: ignore[union-attr]
    p = Program()
    p.ret(p.call("spin"))
    started = time.monotonic()
    with pytest.raises(StudentTimeout, match="spin\\(\\) did not finish within 5 s") as timeout:
        student.run(p, "spin()")
    assert time.monotonic() - started < 3
    with pytest.raises(StudentCrashed) as later:  # the question's later checks fail with its hint
        student.run(Program())
    assert later.value.hint == timeout.value.hint


# ---------------------------------------------------------------- answers the parent refuses

class Canned(InProcess):
    """A child that answers every program with one fixed frame."""

    def __init__(self, header: dict[str, Any], blobs: Sequence[bytes] = (),
                 output: tuple[str, bool] = ("", False)) -> None:
        super().__init__("")
        self.header, self.blobs, self.output = header, list(blobs), output

    def send(self, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
        framing.write_frame(self.wfd, self.header, self.blobs)

    def take_output(self) -> tuple[str, bool]:
        return self.output


def canned(header: dict, **kwargs: Any) -> Student:
    return Student(Submission(name="s.py", cells=[], digest="0" * 64), Limits(), sandbox=Canned(header, **kwargs))


def done(**fields: Any) -> dict:
    return {"event": "program_done", "status": "ok", "results": {}, "raised": None, **fields}


def test_an_answer_nobody_asked_for_is_a_protocol_mismatch() -> None:
    p = Program()
    p.ret(p.value(1))
    with pytest.raises(ProtocolMismatch, match="never asked"):
        canned(done(results={"s1": {"t": "int", "v": 1}, "s7": {"t": "int", "v": 2}})).run(p)
    with pytest.raises(ProtocolMismatch, match="no answer"):
        canned(done()).run(p)


@pytest.mark.parametrize("header", [
    done(results=[]),  # not keyed by slot
    done(results={"s1": {"t": "tensor", "oid": 0, "dtype": "float32", "shape": [4], "blob": 0}}),  # no blob
    done(results={"s1": {"t": "nope"}}),
    done(status="raised", raised={"t": "int", "v": 1}),  # "raised" without an exception
])
def test_a_malformed_answer_costs_the_question_as_a_crash(header: dict) -> None:
    p = Program()
    p.ret(p.value(1))
    student = canned(header)
    with pytest.raises(StudentCrashed, match="malformed"):
        student.run(p, "f(x)")
    assert student.sandbox is None, "the child that sent it is ended"


@pytest.mark.parametrize("header", [{"event": "cell_done"}, done(status="fine")])
def test_a_frame_out_of_protocol_is_nonsense(header: dict) -> None:
    with pytest.raises(StudentCrashed, match="makes no sense"):
        canned(header).run(Program(), "f(x)")


def test_output_over_the_limit_is_the_students_problem() -> None:
    with pytest.raises(StudentProblem, match="printed more than 1024 KiB"):
        canned(done(), output=("x", True)).run(Program(), "f(x)")


def test_a_timeout_status_is_the_students_timeout() -> None:
    with pytest.raises(StudentTimeout, match="did not finish within 10 s"):
        canned(done(status="timeout")).run(Program(), "f(x)")


def test_an_sgd_step_in_the_child_updates_the_students_parameters(student: Student) -> None:
    p = Program()
    m = p.build(LINEAR, 1)
    before = p.ret(p.attr(m, "weight"))
    opt = p.sgd(p.method(m, "parameters"), 0.5)
    p.method(opt, "zero_grad")
    p.method(p.method(p.call(m, torch.ones(1, 2)), "sum"), "backward")
    p.method(opt, "step")
    after = p.ret(p.attr(m, "weight"))
    refused = p.ret(p.sgd(p.value([]), 0.5, catch=True))  # torch.optim.SGD's own refusal, caught
    params = next(s for s in p.steps if s.get("name") == "parameters")["out"]
    assert next(s for s in p.steps if s["op"] == "sgd") == {"op": "sgd", "out": opt.name, "slot": params, "lr": 0.5}
    result = student.run(p, "an optimizer step")
    # d(sum(W x + b))/dW is 1 for x = ones: each weight goes down by lr
    assert torch.allclose(result[after].data, result[before].data - 0.5)
    assert isinstance(result[refused], Raised) and result[refused].message == "optimizer got an empty parameter list"


class _StandIn:
    """A child with no process behind it: it records what it is sent and answers the frames queued in
    ``frames``, then dies with ``death``."""

    death = "nothing to read"

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.frames: list[dict] = []

    def send(self, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
        self.sent.append(header)

    def wait_ready(self) -> None:
        pass

    def receive(self, deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        if self.frames:
            return self.frames.pop(0), []
        raise ChildGone(self.death)

    def take_output(self) -> tuple[str, bool]:
        return "", False

    def strays(self) -> bool:
        return False

    def kill(self) -> None:
        pass

    close = kill


class _Recorder(_StandIn):
    """A child that only records what it is sent (``gone``: it died before reading anything)."""

    def __init__(self, gone: bool = False) -> None:
        super().__init__()
        self.gone = gone

    def send(self, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
        if self.gone:
            raise ChildGone("the grading process could not start")
        super().send(header, blobs)


@pytest.mark.parametrize("size, sent", [(100, True), (PIPE_ROOM, False)], ids=["fits the pipe", "too big"])
def test_send_cells_hands_the_cells_over_only_when_the_pipe_holds_them(size: int, sent: bool) -> None:
    box = _Recorder()
    s = Student(Submission(name="s.py", cells=["x = 1", "#" * size], digest="0" * 64), Limits(), sandbox=box)
    s.send_cells()
    s.send_cells()  # once per child
    assert [h["cmd"] for h in box.sent] == (["exec"] if sent else [])
    if sent:
        assert box.sent[0]["cells"] == ["x = 1", "#" * size] and box.sent[0]["skip"] == []


def test_send_cells_leaves_a_child_that_is_gone_to_start() -> None:
    s = Student(Submission(name="s.py", cells=["x = 1"], digest="0" * 64), Limits(), sandbox=_Recorder(gone=True))
    s.send_cells()  # no exception: start() finds the dead child and says so
    assert s._exec_sent is False


def test_an_observation_is_made_once_per_question_and_kept_only_when_it_succeeds() -> None:
    student = canned(done())
    calls: list[str] = []

    def probe() -> str:
        calls.append(student.question or "")
        return f"seen in {student.question}"

    def failing() -> str:
        calls.append("failed")
        raise StudentCrashed("the child died")

    student.begin_question("q1")
    assert student.observe("frozen", probe) == student.observe("frozen", probe) == "seen in q1"
    with pytest.raises(StudentCrashed):
        student.observe("other", failing)
    with pytest.raises(StudentCrashed):
        student.observe("other", failing)  # nothing kept: the next rule asks again
    student.begin_question("q2")
    assert student.observe("frozen", probe) == "seen in q2"
    assert calls == ["q1", "failed", "failed", "q2"]


class _Dying(_StandIn):
    """A child that dies in the first cell it starts (the restart logic alone)."""

    death = "the process running your code exited (exit status 1)"
    spawned = 0

    def __init__(self, limits: Limits) -> None:
        super().__init__()
        type(self).spawned += 1

    def send(self, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
        if header.get("cmd") == "exec":
            todo = [i for i in range(len(header["cells"])) if i not in header["skip"]]
            self.frames = [{"event": "cell", "index": todo[0]}] if todo else [{"event": "exec_done"}]


def test_restarts_are_capped_and_the_remaining_checks_say_why() -> None:
    _Dying.spawned = 0
    st = Student(Submission("dying.py", ["import os; os._exit(1)"] * 10, "0" * 64), Limits(time=10), spawn=_Dying)
    st.start()
    assert st.restarts == MAX_RESTARTS and _Dying.spawned == MAX_RESTARTS + 1
    assert st.gave_up and "restarts" in st.gave_up
    st.begin_question("q")
    with pytest.raises(StudentCrashed, match="restarts"):
        st.run(Program(), "q")
    assert _Dying.spawned == MAX_RESTARTS + 1, "no child after the cap"
