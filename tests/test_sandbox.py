"""The child process: who it runs as, what it can see, and that nothing of it outlives grading."""
from __future__ import annotations

import os

import pytest

from autograder.engine.loader import Submission
from autograder.engine.sandbox import Limits, can_drop_privileges
from autograder.engine.student import Program, Student, StudentCrashed, StudentRaised

SPY = '''
import os, resource

def spy(out_dir):
    seen = {"uid": os.getuid(), "euid": os.geteuid(), "env": sorted(os.environ),
            "cwd_entries": os.listdir("."), "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0]}
    try:
        with open(f"/proc/{os.getppid()}/environ", "rb") as f:
            seen["parent_env"] = f.read().decode(errors="replace")
    except OSError as exc:
        seen["parent_env"] = None
    try:
        with open(os.path.join(out_dir, "results.json"), "w") as f:
            f.write("forged")
        seen["wrote_out"] = True
    except OSError:
        seen["wrote_out"] = False
    return seen

def boom():
    raise ValueError("boom")

def scribble():  # write junk into every pipe it holds, the grader's channel among them
    for fd in range(3, 64):
        try:
            os.write(fd, b"junk" * 4)
        except OSError:
            pass
    return "done"
'''


def _spy(student, out_dir):
    p = Program()
    out = p.ret(p.call("spy", out_dir))
    return student.run(p, "spy")[out]


@pytest.fixture
def student(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SECRET", "s3cret-value")
    st = Student(Submission("spy.py", [SPY], "0" * 64), Limits(time=10))
    st.start()
    st.begin_question("spy")
    yield st
    st.close()


def test_child_sees_no_secret_and_a_minimal_environment(student, tmp_path):
    seen = _spy(student, str(tmp_path))
    assert "AUTOGRADER_SECRET" not in seen["env"]
    assert set(seen["env"]) <= {"PATH", "HOME", "TMPDIR", "LANG", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                "MPLBACKEND", "PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "LC_CTYPE"}
    assert seen["cwd_entries"] == [], "the child starts in an empty directory"
    assert seen["parent_env"] is None or "s3cret-value" not in seen["parent_env"]


@pytest.mark.skipif(not can_drop_privileges(), reason="needs root and an interpreter other users can run")
def test_child_runs_unprivileged_and_cannot_write_results(student, tmp_path):
    os.chmod(tmp_path, 0o755)
    seen = _spy(student, str(tmp_path))
    assert seen["uid"] != 0 and seen["euid"] != 0
    assert seen["parent_env"] is None, "the parent's environment must be unreadable"
    assert seen["wrote_out"] is False and not (tmp_path / "results.json").exists()
    assert seen["nproc"] == Limits().processes


def test_child_and_its_processes_end_with_close(student):
    pid = student.sandbox.proc.pid
    student.close()
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"


def test_student_exception_becomes_a_hint_not_a_crash(student):
    p = Program()
    out = p.ret(p.call("boom"))
    with pytest.raises(StudentRaised, match="boom\\(\\) raised ValueError: boom"):
        student.run(p, "boom()")[out]
    assert _spy(student, "/nonexistent")["wrote_out"] is False


def test_junk_written_into_the_channel_costs_the_question_and_nothing_else(student):
    p = Program()
    out = p.ret(p.call("scribble"))
    with pytest.raises(StudentCrashed, match="garbage"):
        student.run(p, "scribble()")[out]
    student.begin_question("next")  # a new child for the next question
    assert _spy(student, "/nonexistent")["wrote_out"] is False
