"""The benchmarks' arithmetic (tools/bench/common.py, tools/bench/stages.py): schedules, spreads, slopes, classes."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

# tools/ lives in the checkout, which ``import autograder`` (done by any test before this one) takes
# off sys.path with the working folder: put the checkout back, last, as tools/__init__.py does
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from tools.bench.common import (  # noqa: E402
    CRASH_TARGET,
    CRASHING,
    Spread,
    broken,
    chosen_assignments,
    class_kinds,
    crashing_answer,
    full_marks,
    int_list,
    round_robin,
    slope_kb,
)
from tools.bench.stages import Stopwatch  # noqa: E402


def test_spread_is_median_min_max_and_scales() -> None:
    s = Spread.of([3.0, 1.0, 2.0, 10.0])
    assert (s.median, s.low, s.high, s.n) == (2.5, 1.0, 10.0, 4)
    assert s.scaled(2).median == 1.25 and s.scaled(2).high == 5.0
    assert s.show(1) == "2.5 s [1.0-10.0]"
    with pytest.raises(ValueError):
        Spread.of([])


def test_round_robin_interleaves_every_command_per_round() -> None:
    assert round_robin(["t", "a", "o"], 2) == [(0, "t"), (0, "a"), (0, "o"), (1, "t"), (1, "a"), (1, "o")]


def test_round_robin_limits_a_command_to_its_first_rounds() -> None:
    assert round_robin(["t", "o"], 3, {"o": 1}) == [(0, "t"), (0, "o"), (1, "t"), (2, "t")]
    assert round_robin(["t", "o"], 3, {"o": 0}) == [(0, "t"), (1, "t"), (2, "t")]
    assert round_robin(["t", "o"], 1, {"o": 2}) == [(0, "t"), (0, "o"), (1, "o")]
    assert round_robin([], 5) == []


def test_int_list_reads_make_variables() -> None:
    assert int_list("10,100,1000") == [10, 100, 1000]
    assert int_list(" 1, 2 ,") == [1, 2]
    assert int_list("") == []


def test_slope_is_kb_per_submission() -> None:
    assert slope_kb([(10, 1000 * 1024.0), (100, 1090 * 1024.0), (1000, 1990 * 1024.0)]) == pytest.approx(1.0)
    assert slope_kb([(10, 5.0), (1000, 5.0)]) == 0.0
    assert slope_kb([(10, 5.0)]) == 0.0  # one size: no slope


def test_class_kinds_cycle_references_mistakes_and_crashes() -> None:
    kinds = class_kinds(["m1", "m2"], ["exit"], 7)
    assert kinds == [None, "m1", "m2", None, "exit", None, "m1"]
    assert broken(50) == [7, 27, 47]


@pytest.mark.parametrize("assignment", sorted(CRASH_TARGET))
@pytest.mark.parametrize("kind", CRASHING)
def test_crashing_answers_replace_a_function_the_graders_call(assignment: str, kind: str) -> None:
    code = crashing_answer(assignment, kind)
    target = CRASH_TARGET[assignment][CRASHING.index(kind)]
    calls: list[str] = []

    def reference(*args: Any, **kwargs: Any) -> str:
        calls.append("reference")
        return "answer"

    env: dict[str, Any] = {target: reference}
    exec(compile(code, "<answer>", "exec"), env)  # as a cell runs it, after the reference's cells
    assert env[target] is not None and f"def {target}(" in code
    if kind == "output_flood":  # prints, then answers as the reference did
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert env[target]() == "answer"
        assert calls == ["reference"] and len(out.getvalue()) > 4_000_000
    with pytest.raises(ValueError):
        crashing_answer(assignment, "nonsense")


def _results(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    return path


def test_full_marks_reads_ours_and_otters_results(tmp_path: Path) -> None:
    ours = {"score": 3.0, "tests": [{"score": 1.0, "max_score": 1.0}, {"score": 2.0, "max_score": 2.0}]}
    assert full_marks(_results(tmp_path, ours))
    assert not full_marks(_results(tmp_path, {**ours, "score": 2.5}))
    public: dict[str, Any] = {"name": "Public Tests", "status": "passed"}  # otter's: no points
    otter = [public, {"score": 2.0, "max_score": 2.0}, {"score": 1.0, "max_score": 3.0}]
    assert not full_marks(_results(tmp_path, {"tests": otter}))
    otter[2] = {"score": 3.0, "max_score": 3.0}
    assert full_marks(_results(tmp_path, {"tests": otter}))
    assert not full_marks(_results(tmp_path, {"tests": []}))  # nothing graded is no full marks


def test_stopwatch_moves_the_childs_part_of_a_run_to_probes() -> None:
    # Student.run starts at 0.0; the program is sent at 1.0 and answered at 4.0; the run ends at 5.0
    clock = iter([0.0, 1.0, 4.0, 5.0])
    watch = Stopwatch(clock=lambda: next(clock))
    send = watch.send(lambda sandbox, header: None)
    receive = watch.receive(lambda: ({"event": "program_done"}, []))

    def run() -> None:
        send(object(), {"cmd": "program"})
        receive()

    watch.run(run)()
    assert watch.probes == 1
    assert watch.spent["probes"] == pytest.approx(3.0)  # the child's: from the send to the answer
    assert watch.spent["round trips"] == pytest.approx(2.0)  # the rest of the 5 s run: the parent's
    send(object(), {"cmd": "exec"})  # outside a run, and not a program: no probe
    receive()  # nothing was sent in a run: no time moves
    assert watch.probes == 1 and watch.spent["probes"] == pytest.approx(3.0)


def test_stopwatch_counts_a_stage_even_when_it_raises() -> None:
    clock = iter([0.0, 2.0])
    watch = Stopwatch(clock=lambda: next(clock))

    def fails() -> None:
        raise RuntimeError("the child died")

    with pytest.raises(RuntimeError):
        watch.timed("fork", fails)()
    assert watch.spent == {"fork": 2.0}
    watch.reset()
    assert watch.spent == {} and watch.probes == 0


def test_assignments_are_named_one_by_one_or_comma_separated_and_an_unknown_one_is_refused() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="bench")
    assert chosen_assignments(parser, ["access,tied", "init"]) == ["access", "tied", "init"]
    with pytest.raises(SystemExit) as refused:
        chosen_assignments(parser, ["access,nosuch"])
    assert refused.value.code == 2
