"""The trusted parent: what it imports, what it reads from the child, how long it grades, where it writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import _safe_sys_path
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
