"""The Gradescope autograder zip, run the way Gradescope runs it.

Builds ``access-autograder.zip``, lays out a container's folders in a temporary
``$AUTOGRADER_ROOT`` (``source/`` with the zip unzipped into it, ``submission/``,
``results/``), runs ``source/run_autograder`` with this interpreter, and validates
every ``results.json`` against Gradescope's results format
(``tests/gradescope_results.schema.json``, written from their specification).
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder.api import pick_submission
from autograder.engine.isolation import uid_range
from autograder.gradescope import build as gs_build
from autograder.samples import compose

from conftest import ROOT

SCHEMA = json.loads((ROOT / "tests" / "gradescope_results.schema.json").read_text())
MISTAKES = ROOT / "tests" / "submissions" / "access"
AS_ROOT = os.geteuid() == 0


def unzip(archive: Path, dest: Path) -> None:
    """Extract as ``unzip`` does: folders created, each file with the mode stored in the zip."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = zf.extract(info, dest)
            mode = info.external_attr >> 16
            if mode:
                os.chmod(path, stat.S_IMODE(mode))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return gs_build.build("access", tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def workdir():
    """A folder other users can traverse (pytest's own tmp folders are 0700), as /autograder is,
    so that as root the sandbox really drops to an unprivileged uid."""
    base = Path(tempfile.mkdtemp(prefix="gradescope-test-"))
    os.chmod(base, 0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def layout(built: Path, workdir: Path, name: str) -> Path:
    root = workdir / name
    for sub in ("source", "submission", "results"):
        (root / sub).mkdir(parents=True)
    unzip(built, root / "source")
    return root


def run_autograder(root: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    env.update(AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable)
    run = subprocess.run([str(root / "source" / "run_autograder"), *args], env=env, cwd="/",
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    jsonschema.validate(results, SCHEMA, cls=jsonschema.Draft7Validator)
    for t in results.get("tests", []):
        assert 0 <= t["score"] <= t["max_score"], t
    results["_log"] = run.stdout + run.stderr
    return results


def max_score(results: dict) -> float:
    return sum(t["max_score"] for t in results["tests"])


# ------------------------------------------------------------------ the zip
def test_zip_layout_is_what_gradescope_wants(built):
    with zipfile.ZipFile(built) as zf:
        names = zf.namelist()
        infos = {i.filename: i for i in zf.infolist()}
        req = zf.read("requirements.txt").decode()
        setup = zf.read("setup.sh").decode()
        assert zf.read("ASSIGNMENT").decode().strip() == "access"
    assert names == sorted(names), "entries are sorted"
    assert {"setup.sh", "run_autograder", "requirements.txt", "ASSIGNMENT"} <= set(names)
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos.values()), "fixed timestamps"
    assert stat.S_IMODE(infos["run_autograder"].external_attr >> 16) == 0o755
    assert "autograder/gradescope/__init__.py" in names and "autograder/engine/sandbox.py" in names
    assert "autograder/graders/test_access.py" in names
    assert stat.S_IMODE(infos["autograder/graders/test_access.py"].external_attr >> 16) == 0o600
    for n in names:
        assert "__pycache__" not in n and not n.endswith((".pyc", ".ipynb")), n
        assert not n.startswith(("tests/", "autograder/assign/", "autograder/bench/", "solutions/", "assignments/")), n
    # torch alone, first, the CPU build; then the exact pins of what grading needs, nothing for authoring
    torch_line = "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
    assert torch_line in setup and setup.index(torch_line) < setup.index("requirements.txt")
    kit = gs_build.kit_pins()
    lines = [ln for ln in req.splitlines() if ln and not ln.startswith("#")]
    assert f"pytest=={kit['pytest'][1]}" in lines
    assert f'numpy=={kit["numpy"][1]} ; python_version >= "3.11"' in lines
    assert all("==" in ln for ln in lines), "every requirement pinned exactly"
    pinned = {ln.split("==")[0].strip().lower().replace("_", "-") for ln in lines}
    assert not pinned & {"torch", "otter-grader", "jupyter-client", "ipykernel", "nbconvert", "nbclient", "jupytext",
                         "scipy", "matplotlib", "pandas"}, "grading needs no authoring tools"


def test_zip_is_deterministic(built, tmp_path):
    again = gs_build.build("access", tmp_path)
    assert again.read_bytes() == built.read_bytes()


def test_run_autograder_script(built):
    with zipfile.ZipFile(built) as zf:
        script = zf.read("run_autograder").decode()
    assert script.startswith("#!/usr/bin/env bash")
    assert 'cd "$AUTOGRADER_ROOT/source"' in script
    assert 'exec "${AUTOGRADER_PYTHON:-python3}" -m autograder.gradescope' in script


# ------------------------------------------------------------------ grading as Gradescope does
def test_reference_gets_full_marks(built, workdir):
    root = layout(built, workdir, "reference")
    compose("access", None, root / "submission" / "access.ipynb")
    results = run_autograder(root)
    assert results["tests"] and all(t["status"] == "passed" for t in results["tests"]), results["output"]
    assert results["score"] == max_score(results) > 0
    assert "access.ipynb" in results["output"]
    assert results["execution_time"] > 0
    assert {t["tags"][0] for t in results["tests"]} >= {"param_shapes", "get_parameter", "shared_names"}


def test_wrong_answer_scores_less(built, workdir):
    root = layout(built, workdir, "wrong")
    compose("access", MISTAKES / "gp_clone.py", root / "submission" / "access.ipynb")
    results = run_autograder(root)
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert 0 < results["score"] < max_score(results)
    assert failed and {t["tags"][0] for t in failed} == {"get_parameter"}
    assert any("Parameter itself" in t["output"] for t in failed)


def test_empty_submission_scores_zero_with_a_message(built, workdir):
    root = layout(built, workdir, "empty")
    results = run_autograder(root)
    assert results["score"] == 0
    assert "No submission found" in results["output"]
    assert results["tests"] and all(t["status"] == "failed" and t["score"] == 0 for t in results["tests"])


def test_a_failure_still_writes_results(built, workdir):
    root = layout(built, workdir, "broken")
    (root / "source" / "ASSIGNMENT").write_text("no-such-assignment\n")
    results = run_autograder(root)
    assert results["score"] == 0 and "could not grade" in results["output"]


HAN = re.compile(r"[\u4e00-\u9fff]")


def test_a_zh_notebook_is_graded_in_chinese(built, workdir):
    """A submission made from the Chinese notebook gets its results.json in Chinese: hints, check names, notes."""
    root = layout(built, workdir, "wrong-zh")
    compose("access", MISTAKES / "gp_clone.py", root / "submission" / "access.zh.ipynb", lang="zh")
    results = run_autograder(root)
    failed = [t for t in results["tests"] if t["status"] == "failed"]
    assert results["extra_data"]["lang"] == "zh" and 0 < results["score"] < max_score(results)
    assert failed and {t["tags"][0] for t in failed} == {"get_parameter"}
    assert all(HAN.search(t["name"]) for t in results["tests"]) and all(HAN.search(t["output"]) for t in failed)
    assert "Parameter本身" in failed[0]["output"] and HAN.search(results["output"]), results["output"]


def test_a_failure_is_said_in_the_notebooks_language(built, workdir):
    """When grading cannot run, the message is in the language the notebook says, read without running it."""
    root = layout(built, workdir, "broken-zh")
    (root / "source" / "ASSIGNMENT").write_text("no-such-assignment\n")
    compose("access", None, root / "submission" / "access.zh.ipynb", lang="zh")
    results = run_autograder(root)
    assert results["score"] == 0 and "无法评分" in results["output"] and results["extra_data"]["lang"] == "zh"
    assert "could not grade" not in results["output"], results["output"]


def test_the_language_of_a_submission_is_read_where_it_can_be(tmp_path):
    from autograder.gradescope import submission_lang

    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "ASSIGNMENT").write_text("access\n")
    assert submission_lang(tmp_path, None) == "en"  # nothing submitted
    compose("access", None, tmp_path / "submission" / "access.zh.ipynb", lang="zh")
    assert submission_lang(tmp_path, None) == "zh"
    (tmp_path / "submission" / "access.zh.ipynb").write_text("{broken")
    assert submission_lang(tmp_path, None) == "en"  # unreadable: the default


@pytest.mark.skipif(not AS_ROOT, reason="the security layout applies when grading runs as root")
def test_security_layout_hides_graders_and_results_from_student_code(built, workdir):
    root = layout(built, workdir, "hostile")
    graders = root / "source" / "autograder" / "graders"
    # the sandbox has no way out to a file of ours: what the probe saw comes back in its error message
    probe = f'''
import os
seen = {{"uid": os.getuid()}}
for what, path, mode in [("graders", {str(graders / "test_access.py")!r}, "r"),
                         ("graders_dir", {str(graders)!r}, None),
                         ("results", {str(root / "results" / "results.json")!r}, "w"),
                         ("submission", {str(root / "submission" / "access.py")!r}, "r")]:
    try:
        if mode is None:
            os.listdir(path)
        else:
            open(path, mode).close()
        seen[what] = "allowed"
    except OSError as exc:
        seen[what] = type(exc).__name__
raise RuntimeError("SEEN" + repr(seen) + "END")
'''
    (root / "submission" / "access.py").write_text(probe)
    results = run_autograder(root)
    seen = ast.literal_eval(results["output"].split("SEEN", 1)[1].split("END", 1)[0])
    lo, hi = uid_range()
    assert lo <= seen["uid"] < hi, "the student's code runs as an unprivileged uid"
    for what in ("graders", "graders_dir", "results", "submission"):
        assert seen[what] in ("PermissionError", "FileNotFoundError"), seen
    assert stat.S_IMODE(graders.stat().st_mode) == 0o700
    assert stat.S_IMODE((graders / "test_access.py").stat().st_mode) == 0o600
    assert stat.S_IMODE((root / "source" / "autograder" / "engine" / "child.py").stat().st_mode) == 0o644
    assert results["score"] == 0 and "forged" not in json.dumps(results)
    assert "cannot import the engine" not in results["_log"] and "can read" not in results["_log"], results["_log"]
    assert "isolation: bubblewrap namespaces" in results["_log"], results["_log"]
    assert results["extra_data"]["isolation"].startswith("bubblewrap namespaces"), results.get("extra_data")


# ------------------------------------------------------------------ picking the submission
def test_pick_prefers_the_assignment_notebook_then_the_newest(tmp_path):
    (tmp_path / "nested").mkdir()
    older = tmp_path / "nested" / "draft.ipynb"
    newer = tmp_path / "other.ipynb"
    helper = tmp_path / "helper.py"
    for i, p in enumerate((older, newer, helper)):
        p.write_text("{}")
        os.utime(p, (1_000_000 + i, 1_000_000 + i))
    assert pick_submission(tmp_path, "access")[0] == newer
    named = tmp_path / "nested" / "access.ipynb"
    named.write_text("{}")
    os.utime(named, (1, 1))
    chosen, note = pick_submission(tmp_path, "access")
    assert chosen == named and "nested/access.ipynb" in note and "4 submission files" in note


def test_pick_skips_links_checkpoints_and_hidden_files(tmp_path):
    sub = tmp_path / "submission"
    (sub / ".ipynb_checkpoints").mkdir(parents=True)
    (sub / ".ipynb_checkpoints" / "access-checkpoint.ipynb").write_text("{}")
    (sub / "__MACOSX").mkdir()
    (sub / "__MACOSX" / "access.ipynb").write_text("{}")
    (sub / ".hidden.py").write_text("")
    secret = tmp_path / "outside.py"
    secret.write_text("SECRET = 1")
    (sub / "link.py").symlink_to(secret)
    (sub / "notes.txt").write_text("")
    (sub / "access.ipynb").write_text("{}")
    assert pick_submission(sub, "access") == (sub / "access.ipynb", "Graded access.ipynb.")
