"""The trusted parent: what it imports, what it reads from the child, how long it grades, where it writes."""
from __future__ import annotations

import dataclasses
import json
import os
import resource
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import _safe_sys_path, outdir
from autograder.engine import framing, isolation
from autograder.engine.loader import Submission
from autograder.engine.sandbox import Limits
from autograder.engine.student import Program, Student, StudentCrashed, StudentTimeout
from autograder.samples import compose

from conftest import ROOT, load_gradebook

# modules the grading process imports after startup: planted in its working folder, none may load
PLANTED = ("statistics", "csv", "html", "base64", "argparse", "selectors", "dataclasses", "random", "hmac",
           "numpy", "torch", "matplotlib", "nbformat")


# ------------------------------------------------------------------ imports

def test_sys_path_loses_the_working_folder_and_relative_entries():
    path = ["/work", "", ".", "src", "/usr/lib/python3.11", "/work/", "/venv/site-packages",
            "__editable__.kit.finder.__path_hook__"]
    assert _safe_sys_path(path, "/work") == ["/usr/lib/python3.11", "/venv/site-packages"]
    assert _safe_sys_path(["", "/usr/lib/python3.11"], None) == ["/usr/lib/python3.11"]


def test_modules_planted_in_a_world_writable_working_folder_are_never_imported(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    os.chmod(work, 0o777)
    marks = tmp_path / "imported"
    marks.mkdir()
    for name in PLANTED:
        (work / f"{name}.py").write_text(f"open({str(marks / name)!r}, 'w').close()\n")
    subs = tmp_path / "in"
    compose("access", None, subs / "a.ipynb")
    compose("access", None, subs / "b.ipynb")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    # two submissions: the pool of workers and the class summary (matplotlib) run too
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "access", str(subs), "--out",
                          str(tmp_path / "out"), "--quiet", "--jobs", "1"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert sorted(os.listdir(marks)) == [], "the grading process imported modules from its working folder"
    book = load_gradebook(tmp_path / "out")
    assert all(row["total"] == row["max_total"] for row in book.values()), [r["errors"] for r in book.values()]
    assert (tmp_path / "out" / "summary.html").is_file()
    # the pool's workers record the run too: the isolation and the budget, (6 questions + 4) x 10 s
    results = json.loads((tmp_path / "out" / "a.ipynb" / "results.json").read_text())
    assert results["extra_data"]["isolation"] and results["extra_data"]["time_budget"] == 100
    assert json.loads((tmp_path / "out" / "gradebook.json").read_text())["time_budget"] == 100


_WORKER_IMPORTS = """
import json, sys
from autograder.grade import pool, worker
started = []
real = pool.rule_fields
def rule_fields(rule):  # called for the worker's hello: it has imported all it will, and grades next
    if not started:
        started.append(set(sys.modules))
    return real(rule)
pool.rule_fields = rule_fields
worker.main()
print(json.dumps(sorted(set(sys.modules) - started[0])), file=sys.stderr)
"""


def test_a_grading_worker_imports_nothing_once_it_has_started_grading(tmp_path):
    """Everything a worker needs is imported before its hello, so before any student code runs: its preload
    leaves out the page renderers (the pool renders the pages), and this holds it to that, on references
    in both editions, mistakes, and submissions that crash their child or write garbage into the channel."""
    from autograder.engine.results import Run

    jobs: dict[str, list[Path]] = {}
    for a in ("access", "init", "tied"):
        mistakes = sorted((ROOT / "tests" / "submissions" / a).glob("*.py"))[:2]
        jobs[a] = [compose(a, None, tmp_path / a / "ref.ipynb"), compose(a, None, tmp_path / a / "zh.ipynb", lang="zh"),
                   *(compose(a, m, tmp_path / a / f"{m.stem}.ipynb") for m in mistakes)]
    jobs["access"] += [compose("access", ROOT / "tests" / "hostile" / f"{h}.py", tmp_path / "access" / f"{h}.ipynb")
                       for h in ("exit", "huge_frame", "forged_index", "monkeypatch")]
    procs = {}
    for a, paths in jobs.items():
        lines = [json.dumps({"index": i, "name": p.name, "path": str(p), "lang": "auto", "note": "",
                             "out": str(tmp_path / "out" / a / p.name), "root": str(tmp_path / "out" / a),
                             "run": dataclasses.asdict(Run()), "total_time": 200}) for i, p in enumerate(paths)]
        code = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + _WORKER_IMPORTS
        cmd = [sys.executable, "-I", "-c", code, a, json.dumps(dataclasses.asdict(Limits()))]
        procs[a] = (subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd=ROOT), "\n".join(lines) + "\n", len(paths))
    for a, (proc, stdin, n) in procs.items():
        out, err = proc.communicate(stdin, timeout=600)
        assert proc.returncode == 0, err
        assert sum(json.loads(line)["event"] == "done" for line in out.splitlines()) == n, out
        assert json.loads(err.strip().splitlines()[-1]) == [], f"{a}: imported after the worker's hello"


# ------------------------------------------------------------------ frames from the child

def _reader(data: bytes):
    """A ``read(n)`` over ``data`` that records every size asked for."""
    asked: list[int] = []
    pos = 0

    def read(n: int) -> bytes:
        nonlocal pos
        asked.append(n)
        if pos + n > len(data):
            raise framing.ChannelError("the channel closed")
        pos += n
        return data[pos - n:pos]
    return read, asked


def _frame(header: dict, blobs: list[int] | None = None) -> bytes:
    data = json.dumps({**header, "blobs": blobs or []}).encode()
    return struct.pack("<I", len(data)) + data


def test_a_frame_over_the_limit_is_refused_before_its_bytes_are_read():
    read, asked = _reader(struct.pack("<I", framing.FROM_CHILD.header + 1))
    with pytest.raises(framing.FrameTooLarge):
        framing.parse_frame(read)
    assert asked == [4], "the header must not be read"
    head = _frame({"event": "program_done"}, [framing.FROM_CHILD.total])  # 64 MiB of blobs, plus the header
    read, asked = _reader(head)
    with pytest.raises(framing.FrameTooLarge):
        framing.parse_frame(read)
    assert asked == [4, len(head) - 4], "no blob may be read"
    # both sides share the parser; each has its own limit
    small = framing.FrameLimit(header=64, total=100)
    read, _ = _reader(_frame({"x": 1}, [10]) + b"0123456789")
    assert framing.parse_frame(read, small) == ({"x": 1, "blobs": [10]}, [b"0123456789"])
    read, _ = _reader(_frame({"x": 1}, [90]) + b"0" * 90)
    with pytest.raises(framing.FrameTooLarge):
        framing.parse_frame(read, small)
    assert framing.FROM_PARENT.total > framing.FROM_CHILD.total


@pytest.mark.parametrize("data", [
    struct.pack("<I", 200_003) + b"[" * 100_000 + b"1" + b"]" * 100_000 + b"  ",  # nested too deep for json
    _frame({"event": "cell"}, [True]),
    _frame({"event": "cell"}, [-1]),
    struct.pack("<I", 2) + b"[]",
])
def test_malformed_frames_are_channel_errors(data):
    read, _ = _reader(data)
    with pytest.raises(framing.ChannelError):
        framing.parse_frame(read)


FORGE = '''
import json, os, struct

def forge(header, blobs=()):
    """Write a frame into every descriptor this process holds: the grader's channel is one of them."""
    data = json.dumps(dict(header, blobs=list(blobs))).encode()
    frame = struct.pack("<I", len(data)) + data
    for fd in range(3, 256):
        try:
            os.write(fd, frame)
        except OSError:
            pass
'''


def _student(cells: list[str], limits: Limits | None = None, total_time: float | None = None) -> Student:
    return Student(Submission("forge.py", [FORGE, *cells], "0" * 64), limits or Limits(time=10),
                   total_time=total_time)


def _value(student: Student, name: str):
    p = Program()
    out = p.ret(p.name(name))
    return student.run(p, name)[out]


def test_a_forged_cell_index_then_exit_costs_that_cell_and_one_restart():
    """The loop of issue 8: "cell 99999 started", os._exit, and the child was restarted 30+ times."""
    st = _student(['forge({"event": "cell", "index": 99999})\nos._exit(3)', "x = 41", "x += 1"])
    try:
        started = time.monotonic()
        cells = st.start()
        assert st.restarts == 1, st.fatal_cells
        assert set(st.fatal_cells) == {1}, "the forging cell is the one skipped"
        assert [c.ok for c in cells] == [True, False, True, True]
        st.begin_question("q")
        assert _value(st, "x") == 42
        assert time.monotonic() - started < 60
    finally:
        st.close()


def test_a_huge_forged_frame_costs_the_question_and_is_never_allocated():
    cells = ['def huge():\n    forge({"event": "program_done", "status": "ok", "results": {}}, [600 * 2**20])\n'
             '    import time; time.sleep(30)\n',
             'def wrong_event():\n    forge({"event": "cell", "index": 0})\n    return 1\n',
             "x = 42"]
    st = _student(cells)
    try:
        st.start()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        st.begin_question("huge")
        p = Program()
        p.ret(p.call("huge"))
        started = time.monotonic()
        with pytest.raises(StudentCrashed, match="over its 64 MiB limit"):
            st.run(p, "huge()")
        assert time.monotonic() - started < 8, "refused at once, not after reading or waiting"
        assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 64 * 1024, "the parent allocated it"
        st.begin_question("nonsense")
        p = Program()
        p.ret(p.call("wrong_event"))
        with pytest.raises(StudentCrashed, match="makes no sense"):
            st.run(p, "wrong_event()")
        st.begin_question("next")  # only those questions paid: a new child answers the next one
        assert _value(st, "x") == 42
    finally:
        st.close()


def test_the_submission_time_budget_is_enforced_in_cells_and_in_checks():
    st = _student(["import time\ndef slow():\n    time.sleep(30)\n"], Limits(time=10), total_time=4)
    try:
        st.start()
        st.begin_question("slow")
        p = Program()
        p.ret(p.call("slow"))
        started = time.monotonic()
        with pytest.raises(StudentTimeout, match="time budget"):
            st.run(p, "slow()")
        assert time.monotonic() - started < 6, "the question's 10 s were cut to the submission's budget"
        st.begin_question("next")
        with pytest.raises(StudentCrashed, match="time budget"):
            _value(st, "slow")
        assert st.out_of_time
    finally:
        st.close()
    st = _student(["import time\ntime.sleep(30)\n", "x = 1"], Limits(time=10), total_time=3)
    try:
        started = time.monotonic()
        cells = st.start()
        assert time.monotonic() - started < 8
        assert st.out_of_time and st.gave_up is not None and "time budget" in st.gave_up
        assert [c.index for c in cells] == [0], "cells after the budget do not run"
    finally:
        st.close()


# ------------------------------------------------------------------ the results folder

def test_out_is_refused_when_others_could_write_it_or_it_is_not_a_folder(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    os.chmod(shared, 0o775)
    with pytest.raises(outdir.UnsafeOutput, match="written by other users"):
        outdir.prepare(shared)
    (tmp_path / "file").write_text("x")
    with pytest.raises(outdir.UnsafeOutput, match="not a folder"):
        outdir.prepare(tmp_path / "file")
    made = outdir.prepare(tmp_path / "new" / "out")
    assert made.is_dir() and stat.S_IMODE(made.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_out_is_refused_when_someone_else_owns_it(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 54321, 54321)
    with pytest.raises(outdir.UnsafeOutput, match="someone else"):
        outdir.prepare(theirs)
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere-yet")
    os.lchown(link, 54321, 54321)
    with pytest.raises(outdir.UnsafeOutput, match="someone else"):
        outdir.prepare(link)
    assert not (tmp_path / "nowhere-yet").exists()


def test_planted_symlinks_in_out_are_replaced_never_written_through(tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    (out / "a.ipynb").mkdir(parents=True)
    os.chmod(out, 0o700)
    for name in ("results.json", "feedback.md", "feedback.html"):
        (out / "a.ipynb" / name).symlink_to(victim)
    (out / "gradebook.csv").symlink_to(victim)
    (out / ".gradebook.json.tmp").symlink_to(victim)  # the old fixed temporary name
    (out / "b.ipynb").symlink_to(elsewhere)
    subs = tmp_path / "in"
    compose("access", None, subs / "a.ipynb")
    compose("access", None, subs / "b.ipynb")
    from autograder.engine.results import Run, write_results
    from autograder.engine.runner import Grading

    for name in ("a.ipynb", "b.ipynb"):  # what grading writes, through the same writers
        write_results(Grading("access", name), out / name, 1.0, Run(isolation="test"), root=out)
    from autograder import reports
    from autograder.engine.results import write_gradebook

    write_gradebook("access", [], out, ["q"])
    reports.write_feedback(json.loads((out / "a.ipynb" / "results.json").read_text()), out / "a.ipynb", "access", "a")
    assert victim.read_text() == "precious\n" and os.listdir(elsewhere) == []
    for path in [out / "gradebook.csv", out / "gradebook.json", *(out / "a.ipynb").iterdir(),
                 *(out / "b.ipynb").iterdir()]:
        st = os.lstat(path)
        assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, path
    for folder in ("a.ipynb", "b.ipynb"):
        st = os.lstat(out / folder)
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700, folder


def _main(argv: list[str | Path]) -> int:
    from autograder.grade import main
    return main([str(a) for a in argv])


def test_cli_refuses_a_group_writable_out_before_grading(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    os.chmod(out, 0o770)
    sub = compose("access", None, tmp_path / "a.ipynb")
    import autograder.grade as grade

    monkeypatch.setattr(grade, "grade_paths", lambda *a, **k: pytest.fail("graded anyway"))
    assert _main(["access", sub, "--out", out, "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("autograder: refusing --out:") and "other users" in err[0], err
    assert os.listdir(out) == []


def test_cli_refuses_when_student_code_cannot_be_isolated(tmp_path, capsys, monkeypatch):
    import autograder.grade as grade
    from autograder.engine import isolation

    def unavailable(insecure: bool = False):
        if insecure:
            return isolation.Layers(namespaces=False, own_uid=False, cgroup=None, insecure=True)
        raise isolation.IsolationUnavailable("user namespaces are disabled (kernel.unprivileged_userns_clone=0)")

    monkeypatch.setattr(isolation, "check", unavailable)
    monkeypatch.setattr(grade, "grade_paths", lambda *a, **k: pytest.fail("graded anyway"))
    sub = compose("access", None, tmp_path / "a.ipynb")
    assert _main(["access", sub, "--out", tmp_path / "out", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["autograder: cannot isolate student code: user namespaces are disabled "
                   "(kernel.unprivileged_userns_clone=0) (pass --insecure to grade anyway on a machine you trust)"]
    assert not (tmp_path / "out").exists(), "nothing may be written"


def test_insecure_grading_is_loud_and_recorded_everywhere(tmp_path, capsys):
    sub = compose("access", None, tmp_path / "in" / "a.ipynb")
    out = tmp_path / "out"
    if os.geteuid() == 0 and not isolation.can_drop_privileges():
        # a checkout no other uid can enter: even --insecure refuses to run student code as root
        assert _main(["access", sub, "--out", out, "--quiet", "--insecure"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "never runs as root" in err[0] and not out.exists()
        return
    assert _main(["access", sub, "--out", out, "--quiet", "--insecure", "--submission-time-limit", "90"]) == 0
    assert "WARNING" in capsys.readouterr().err
    results = json.loads((out / "a.ipynb" / "results.json").read_text())
    assert results["extra_data"]["isolation"].startswith("INSECURE")
    assert results["extra_data"]["insecure"] is True and results["extra_data"]["time_budget"] == 90
    assert results["output"].splitlines()[0].startswith("WARNING: graded with --insecure")
    assert results["score"] == 17
    book = json.loads((out / "gradebook.json").read_text())
    assert book["isolation"].startswith("INSECURE") and book["submissions"][0]["isolation"].startswith("INSECURE")
    header, possible, row = (out / "gradebook.csv").read_text().splitlines()
    assert header.endswith(",total,status,isolation") and row.split(",")[-1].startswith("INSECURE")
    assert possible.startswith("Points Possible,")
    assert "Time budget for this submission: 90 s" in (out / "a.ipynb" / "feedback.md").read_text()


def test_a_submission_over_its_time_budget_is_told_so(tmp_path):
    hangs = tmp_path / "hang.py"  # two questions that hang: 2 s each, 3 s for the whole submission
    hangs.write_text("import time\n\ndef param_shapes(module):\n    time.sleep(60)\n\n"
                     "def count_parameters(module, trainable_only=False):\n    time.sleep(60)\n")
    sub = compose("access", hangs, tmp_path / "in" / "hang.ipynb")
    out = tmp_path / "out"
    started = time.monotonic()
    assert _main(["access", sub, "--out", out, "--quiet", "--time-limit", "2", "--submission-time-limit", "3"]) == 0
    assert time.monotonic() - started < 60
    results = json.loads((out / "hang.ipynb" / "results.json").read_text())
    assert results["extra_data"]["time_budget"] == 3
    assert "used up its time budget (3 s" in results["output"], results["output"]
    assert any("time budget" in t["output"] for t in results["tests"] if t["status"] == "failed")
    assert "time budget for this submission: 3 s" in (out / "hang.ipynb" / "feedback.html").read_text()
