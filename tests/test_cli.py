"""The command line as a new user meets it: help, usage errors, progress, the counts line."""
from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from autograder.samples import compose

from conftest import ROOT


def cli(*args: str | Path, **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, **kw)


def test_help_exits_0_and_says_what_each_command_writes():
    top = cli("--help")
    assert top.returncode == 0 and top.stderr == ""
    for word in ("grade", "merge-manual", "reports", "samples", "assign", "exit status"):
        assert word in top.stdout
    grade = cli("grade", "--help")
    assert grade.returncode == 0
    text = grade.stdout
    for word in ("gradebook.csv", "results.json", "summary.html", "manual.csv", "canvas.csv", "AUTOGRADER_SECRET",
                 "fixed development key", "exit status", "--insecure", "--lang", "--after-due-date"):
        assert word in text, word
    assert "``" not in text  # no raw reST
    for command in ("merge-manual", "reports", "samples", "assign"):
        assert cli(command, "--help").returncode == 0


@pytest.mark.parametrize("command", ["", "grade", "merge-manual", "reports", "samples", "assign"])
def test_help_fits_an_80_column_terminal(command):
    """Descriptions and epilogs are wrapped, not one line of 140 characters."""
    run = cli(*([command] if command else []), "--help", env={**os.environ, "COLUMNS": "80"})
    assert run.returncode == 0
    wide = [line for line in run.stdout.splitlines() if len(line) > 79]
    assert not wide, wide


@pytest.mark.parametrize("args, phrase", [
    ((), "required: COMMAND"),
    (("nosuch",), "invalid choice"),
    (("samples", "nosuch", "/tmp/x"), "invalid choice: 'nosuch'"),
    (("samples", "access", "README.md"), "README.md exists and is not a folder"),
    (("samples", "access", "/proc/autograder-samples"), "cannot write the samples into /proc/autograder-samples"),
    (("grade", "nosuch", "x", "--out", "/tmp/x"), "invalid choice: 'nosuch'"),
    (("grade", "access", "x"), "--out"),
    (("grade", "access", "/nonexistent/path", "--out", "/tmp/autograder-cli-never"), "no such file or folder"),
    (("grade", "access", "README.md", "--out", "/tmp/autograder-cli-never", "--jobs", "0"), "must be positive"),
    (("merge-manual",), "required"),
])
def test_every_usage_error_is_one_line_and_exit_2(args, phrase):
    run = cli(*args)
    assert run.returncode == 2, run
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and phrase in lines[0], run.stderr
    assert not os.path.exists("/tmp/autograder-cli-never")


def test_samples_writes_either_edition(tmp_path):
    """``samples ASSIGNMENT DEST --lang zh`` composes the samples from the Chinese notebook (README's command)."""
    import json

    for lang, words in (("zh", "访问"), ("en", "Parameter")):
        run = cli("samples", "access", tmp_path / lang, "--lang", lang)
        assert run.returncode == 0, run.stderr
        nb = json.loads((tmp_path / lang / "reference.ipynb").read_text(encoding="utf-8"))
        assert nb["metadata"]["autograder"]["lang"] == lang
        assert any(words in "".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_unusable_out_is_refused_before_grading(tmp_path):
    sub = compose("access", None, tmp_path / "a.ipynb")
    afile = tmp_path / "file"
    afile.write_text("x")
    if os.geteuid() == 0:  # root may write any folder of a writable file system: a read-only one
        unwritable = Path("/sys/kernel")
    else:  # an ordinary user's own folder without write permission (/sys/kernel would be someone else's)
        unwritable = tmp_path / "readonly"
        unwritable.mkdir(mode=0o500)
    started = time.monotonic()
    for out, phrase in [(afile, "exists and is not a folder"), (unwritable, "is not writable"),
                        (Path("/proc/autograder-out"), "cannot create it")]:
        run = cli("grade", "access", sub, "--out", out)
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("autograder: refusing --out:") and phrase in lines[0], lines
    assert time.monotonic() - started < 20, "refused only after grading"


def test_an_unreadable_gradescope_metadata_file_is_warned_about_once(tmp_path):
    """grade looks for the submissions once: the warning about a broken submission_metadata.yml is one line."""
    export = tmp_path / "export"
    compose("access", None, export / "submission_1" / "access.ipynb")
    (export / "submission_metadata.yml").write_text("submission_1:\n  :submitters: [\n")
    run = cli("grade", "access", export, "--out", tmp_path / "out", "--quiet")
    assert run.returncode == 0, run.stderr
    assert run.stderr.count("submission_metadata.yml cannot be read") == 1, run.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_grader_file_the_runner_refuses_is_one_line_and_exit_2(tmp_path, jobs):
    """An instructor's grader that pytest would run differently (here a parametrize) stops the run before any
    submission is graded, in the parent or in the pool's workers: one line naming the test, exit 2, no results."""
    import shutil

    kit = tmp_path / "kit"  # a copy of the package, its tied graders edited; `python -m` from there imports it
    shutil.copytree(ROOT / "autograder", kit / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
    graders = kit / "autograder" / "graders" / "test_tied.py"
    rule = "def test_untie_computes_the_same_function(student, rng):"
    assert rule in graders.read_text()
    graders.write_text(graders.read_text().replace(
        rule, '@pytest.mark.parametrize("k", [1, 2])\ndef test_untie_computes_the_same_function(student, rng, k):'))
    subs = tmp_path / "subs"
    for name in ("a", "b"):
        compose("tied", None, subs / f"{name}.ipynb")
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "tied", str(subs), "--out",
                          str(tmp_path / "out"), "--jobs", jobs], cwd=kit, capture_output=True, text=True, timeout=600)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "test_untie_computes_the_same_function" in lines[0] and "parametrize" in lines[0], lines
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("where", ["same", "out inside", "path inside"])
def test_out_overlapping_the_submissions_is_refused_and_deletes_nothing(tmp_path, where):
    """--out that is, lies in, or holds a PATH would put a folder per student where their notebooks are."""
    subs = tmp_path / "subs"
    compose("access", None, subs / "a.ipynb")
    before = (subs / "a.ipynb").read_bytes()
    args = {"same": (subs, subs), "out inside": (subs, subs / "graded"),
            "path inside": (subs / "a.ipynb", subs)}[where]
    run = cli("grade", "access", args[0], "--out", args[1])
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("autograder: refusing --out:") and "submissions" in lines[0], lines
    assert (subs / "a.ipynb").read_bytes() == before
    assert sorted(os.listdir(subs)) == ["a.ipynb"], "nothing written among the submissions"


def test_an_empty_folder_warns_and_still_counts(tmp_path):
    (tmp_path / "in").mkdir()
    run = cli("grade", "access", tmp_path / "in", "--out", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines[0].startswith("autograder: warning: no submissions found in")
    assert lines[-1].startswith("0 submissions: 0 graded, 0 not graded, 0 timed out, 0 with grader errors")
    assert (tmp_path / "out" / "summary.html").is_file()


def test_an_unset_secret_is_warned_once_per_run(tmp_path):
    """Without AUTOGRADER_SECRET the probes come from the fixed development key: one line says so."""
    compose("access", None, tmp_path / "in" / "a.ipynb")
    compose("access", None, tmp_path / "in" / "b.ipynb")
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_SECRET"}
    run = cli("grade", "access", tmp_path / "in", "--out", tmp_path / "out", "--jobs", "2", "--quiet", env=env)
    assert run.returncode == 0, run.stderr
    warned = [line for line in run.stderr.splitlines() if "AUTOGRADER_SECRET" in line]
    assert len(warned) == 1 and warned[0].startswith("autograder: warning:"), run.stderr
    assert "fixed development key" in warned[0]
    run = cli("grade", "access", tmp_path / "in", "--out", tmp_path / "out", "--quiet",
              env={**env, "AUTOGRADER_SECRET": "a course's own key"})
    assert run.returncode == 0 and "AUTOGRADER_SECRET" not in run.stderr, run.stderr


def _on_a_terminal(argv: list[str], columns: int = 80) -> tuple[int, str]:
    """Run with stderr (and stdout) on a pseudo-terminal ``columns`` wide; return (status, what it showed)."""
    import fcntl
    import struct
    import termios

    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=child, stderr=child,
                            env={**os.environ, "COLUMNS": str(columns)})
    os.close(child)
    seen = b""
    while True:
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    return proc.wait(timeout=600), seen.decode("utf-8", "replace")


def test_progress_on_a_terminal_fits_80_columns_with_eta_and_problems(tmp_path):
    compose("access", None, tmp_path / "in" / "a.ipynb")
    (tmp_path / "in" / "b.ipynb").write_text("{broken")
    status, shown = _on_a_terminal([sys.executable, "-m", "autograder", "grade", "access", str(tmp_path / "in"),
                                    "--out", str(tmp_path / "out"), "--jobs", "2"])
    assert status == 0, shown
    frames = [f for f in re.split(r"[\r\n]", re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", shown)) if f.strip()]
    bars = [f for f in frames if "/2 |" in f]
    assert bars and all(len(f) <= 80 for f in bars), bars
    assert any("1 problem" in f for f in bars) and any("<" in f for f in bars)  # problems counted; elapsed<ETA
    assert frames[-1].startswith("2 submissions: 1 graded, 1 not graded, 0 timed out")


def test_progress_without_a_terminal_is_one_plain_line_per_submission(tmp_path):
    compose("access", None, tmp_path / "in" / "a.ipynb")
    (tmp_path / "in" / "b.ipynb").write_text("{broken")
    run = cli("grade", "access", tmp_path / "in", "--out", tmp_path / "out", "--jobs", "2")
    assert run.returncode == 0, run.stderr
    lines = run.stderr.strip().splitlines()
    assert sorted(lines[:2]) == ["[1/2] a.ipynb: 17/17 graded", "[2/2] b.ipynb: 0/17 not graded"] or \
        sorted(line.split("] ", 1)[1] for line in lines[:2]) == ["a.ipynb: 17/17 graded", "b.ipynb: 0/17 not graded"]
    assert "\r" not in run.stderr and "\x1b" not in run.stderr
