"""Bulk grading: Gradescope export folders, otter zips, reruns, and a worker that dies mid-grading."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import psutil

from autograder.samples import compose

from conftest import ROOT, grade_cli, load_gradebook

HANG = ROOT / "tests" / "hostile" / "hang.py"


def _export_folder(base: Path) -> Path:
    """A Gradescope "export submissions" folder: metadata, one subfolder per student."""
    folder = base / "assignment_123_export"
    folder.mkdir(parents=True)
    (folder / "submission_metadata.yml").write_text("submission_1:\n  :submitters:\n  - :name: Ada\n")
    compose("access", None, folder / "submission_1" / "access.ipynb")
    (folder / "submission_1" / "notes.txt").write_text("see notebook")
    compose("access", None, folder / "submission_2" / "work" / "mine.ipynb")
    (folder / "submission_3").mkdir()
    otter_zip = folder / "submission_4" / "access_2026_11_23.zip"
    otter_zip.parent.mkdir()
    nb = compose("access", None, base / "tmp.ipynb")
    with zipfile.ZipFile(otter_zip, "w") as z:
        z.write(nb, "access.ipynb")
        z.writestr(".OTTER_LOG", b"\x80\x04\x95 pickle bytes never loaded")
    return folder


def test_gradescope_export_folder_one_row_per_student(tmp_path):
    folder = _export_folder(tmp_path)
    run = grade_cli("access", [folder], tmp_path / "out", "--jobs", "2")
    assert run.returncode == 0, run.stderr
    book = load_gradebook(tmp_path / "out")
    assert sorted(book) == ["submission_1", "submission_2", "submission_3", "submission_4"]
    for full in ("submission_1", "submission_2", "submission_4"):
        assert book[full]["total"] == book[full]["max_total"], book[full]
    assert book["submission_3"]["total"] == 0
    assert "No submission found" in book["submission_3"]["errors"][0]
    for name in book:
        assert (tmp_path / "out" / name / "results.json").is_file()


def test_rerun_gives_the_identical_gradebook(tmp_path):
    folder = _export_folder(tmp_path)
    for out in ("a", "b"):
        assert grade_cli("access", [folder], tmp_path / out, "--jobs", "2").returncode == 0
    for name in ("gradebook.csv", "gradebook.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_a_worker_killed_mid_grading_loses_nothing(tmp_path):
    inputs = tmp_path / "in"
    for i in range(2):
        compose("access", HANG, inputs / f"hang{i}.ipynb")  # keeps both workers busy for seconds
    compose("access", None, inputs / "reference.ipynb")
    cmd = [sys.executable, "-m", "autograder", "grade", "access", str(inputs), "--out", str(tmp_path / "out"),
           "--jobs", "2", "--quiet", "--time-limit", "4"]
    main = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = None
    # a worker is busy once its zygote (worker -> bwrap -> zygote -> the zygote in its own pid namespace)
    # has forked a child
    for _ in range(1200):
        pids = psutil.pids()
        parents = {pid: _parent(pid) for pid in pids}
        workers = [pid for pid in pids if _is_worker(pid, main.pid)]
        busy = [w for w in workers if any(_ancestor(parents, c, 4) == w for c in pids)]
        if busy:
            time.sleep(1)  # inside the submission's cells or its 4 s hanging question
            victim = busy[0]
            break
        time.sleep(0.1)
    assert victim is not None, "no busy worker found"
    os.kill(victim, signal.SIGKILL)
    _, err = main.communicate(timeout=600)
    assert main.returncode == 0, err
    book = load_gradebook(tmp_path / "out")
    assert sorted(book) == ["hang0.ipynb", "hang1.ipynb", "reference.ipynb"]
    died = [n for n, row in book.items() if any("grading process died" in e for e in row["errors"])]
    assert len(died) == 1, book
    assert book["reference.ipynb"]["total"] == book["reference.ipynb"]["max_total"]
    for name in book:
        results = json.loads((tmp_path / "out" / name / "results.json").read_text())
        assert results["score"] == book[name]["total"]


def _ancestor(parents: dict[int, int | None], pid: int | None, generations: int) -> int | None:
    for _ in range(generations):
        pid = parents.get(pid) if pid is not None else None
    return pid


def _parent(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.Error:
        return None


def _is_worker(pid: int, main: int) -> bool:
    try:
        proc = psutil.Process(pid)
        return any("autograder.grade.worker" in a for a in proc.cmdline()) and proc.ppid() == main
    except psutil.Error:
        return False


def test_an_empty_folder_gives_an_empty_gradebook_with_the_columns(tmp_path):
    """Uploadable as is with no submission: every question a column, its points on the Points Possible line
    (from the graders' rules and the free-response list, so that a new rule or question changes nothing here)."""
    import csv

    from autograder.engine import results, runner
    from autograder.manual import questions as free_response

    (tmp_path / "in").mkdir()
    run = grade_cli("access", [tmp_path / "in"], tmp_path / "out")
    assert run.returncode == 0, run.stderr
    header, possible, *rows = csv.reader((tmp_path / "out" / "gradebook.csv").read_text().splitlines())
    points: dict[str, float] = {}
    for rule in runner.rules("access"):
        points[rule.question] = points.get(rule.question, 0.0) + rule.points
    points.update(free_response("access"))
    assert header == ["submission", *points, "total", "status"] and rows == []
    assert possible[0] == results.POINTS_POSSIBLE and possible[-1] == ""
    assert dict(zip(header[1:-1], map(float, possible[1:-1]), strict=True)) == {**points, "total": sum(points.values())}
    assert load_gradebook(tmp_path / "out") == {}


def test_a_dead_workers_submission_is_not_graded_in_either_language():
    from autograder import i18n
    from autograder.api import not_graded
    from autograder.engine import results
    from autograder.grade.pool import rule_fields, rule_from

    rule = rule_from({"name": "test_a", "question": "q", "points": 1.0, "visibility": "visible", "doc": "a"})
    assert rule_from(rule_fields(rule)) == rule  # as a worker's hello lists it
    for lang in i18n.LANGUAGES:
        with i18n.using(lang):
            g = not_graded("access", "s.ipynb", [rule], "the grading process died")
        assert results.status(g) == ("not graded", "the grading process died"), lang


_FAKE_WORKER = r"""
import json, sys, time
log = open(sys.argv[1], "a", buffering=1)
print(json.dumps({"event": "hello", "rules": [{"name": "test_q", "question": "q", "points": 1.0,
                  "visibility": "visible", "doc": "", "needs": []}]}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    log.write(f"job {job['index']}\n")
    # the first submission is graded until the other worker has exited (or a minute has passed): with
    # idle workers ended at once, "exit" comes before "done 0" however loaded the machine is
    for _ in range(3000 if job["index"] == 0 else 0):
        if "exit" in open(sys.argv[1]).read().split():
            break
        time.sleep(0.02)
    print(json.dumps({"event": "done", "index": job["index"], "seconds": 0.0,
                      "row": {"submission": job["name"], "status": "graded", "total": 1, "max_total": 1}}),
          flush=True)
    log.write(f"done {job['index']}\n")
log.write("exit\n")
"""


def test_prepare_runs_once_the_workers_are_started_and_before_any_job_and_idle_workers_exit_early(
        tmp_path, monkeypatch) -> None:
    """The parent's imports (``prepare``) overlap the workers' start but end before any submission is
    handed out; a worker with nothing left to grade exits at once, not when the slowest one is done."""
    from autograder.api import Submitted
    from autograder.engine.results import Run
    from autograder.engine.sandbox import Limits
    from autograder.grade import pool

    log = tmp_path / "log"
    monkeypatch.setattr(pool, "worker_command", lambda a, limits: [sys.executable, "-c", _FAKE_WORKER, str(log)])
    started = []
    real_init = pool.Worker.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(pool.Worker, "__init__", init)

    def prepare() -> None:
        assert len(started) == 2  # both workers are importing while this process does
        with log.open("a") as f:
            f.write("prepare\n")

    subs = [Submitted(f"s{i}", None) for i in range(3)]
    rows, rules = pool.run_pool("access", subs, tmp_path / "out", 2, Limits(), False, Run(), prepare=prepare)
    assert [r["submission"] for r in rows] == ["s0", "s1", "s2"] and [r.name for r in rules] == ["test_q"]
    events = log.read_text().split("\n")
    assert events[0] == "prepare", events
    # the other worker graded s1 and s2, found nothing left and exited while s0 was still being graded
    assert events.index("exit") < events.index("done 0"), events
