"""The instructor's side of one graded class, through the real CLI: one grading run for the module.

A Gradescope "Export Submissions" folder (``submission_metadata.yml``, with Gradescope's Ruby tags: a
group of two, one student alone, one folder nobody is named for) of four: the reference with a free-response answer that
tries markup, a mistake, an unreadable notebook whose file name is a spreadsheet formula, and an
empty folder. Checked: the gradebook's columns, points-possible row, status and submitters,
CSV-injection neutralization, Canvas's import file, manual.html/csv and merge-manual, the counts
line, and that a re-run into the same folder leaves nothing of the old one.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.samples import compose

from conftest import ROOT, load_gradebook

QUESTIONS = ["param_shapes", "count_parameters", "get_parameter", "build_rgnet", "FrozenHiddenMLP", "shared_names"]
ANSWER = "A plain attribute is never trained.\n\n<script>alert(1)</script> **buffers** move with `.to()`"
METADATA = """\
submission_1:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1001'
    :email: ada@example.edu
  - :name: "=HYPERLINK(\\"http://x\\")"
    :sid: '1002'
    :email: bob@example.edu
  :created_at: 2026-11-20 10:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.17e2
  :status: processed
submission_2:
  :submitters:
  - :name: Grace Hopper
    :sid: '1003'
    :email: grace@example.edu
  :created_at: 2026-11-21 09:30:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.15e2
  :results: !ruby/hash:ActiveSupport::HashWithIndifferentAccess
    score: !ruby/object:BigDecimal 18:0.15e2
"""


def cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def export(base: Path) -> Path:
    folder = base / "export"
    folder.mkdir(parents=True)
    (folder / "submission_metadata.yml").write_text(METADATA)
    nb = compose("access", None, folder / "submission_1" / "access.ipynb")
    data = json.loads(nb.read_text())
    (cell,) = [c for c in data["cells"] if c["cell_type"] == "markdown"
               and "otter_answer_cell" in c.get("metadata", {}).get("tags", [])]
    cell["source"] = ANSWER
    nb.write_text(json.dumps(data))
    compose("access", ROOT / "tests" / "submissions" / "access" / "fh_no_halving.py",
            folder / "submission_2" / "access.ipynb")
    (folder / "submission_3").mkdir()
    (folder / "submission_3" / "=HYPERLINK(1)+0.ipynb").write_text("{not json")
    (folder / "submission_4").mkdir()
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("gradebook")
    folder = export(base)
    out = base / "out"
    out.mkdir(mode=0o700)
    (out / "stale_student").mkdir()  # from "an earlier run": named in its manifest, so removed
    (out / "notes.txt").write_text("mine")  # not the kit's: kept
    (out / ".autograder.json").write_text(json.dumps({"assignment": "access", "entries": ["stale_student",
                                                                                          "summary.html"]}))
    (out / "summary.html").write_text("21 submissions")
    run = cli("grade", "access", folder, "--out", out, "--jobs", "2")
    assert run.returncode == 0, run.stderr
    return {"out": out, "run": run, "folder": folder, "base": base}


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def test_gradebook_columns_points_possible_status_and_submitters(graded):
    table = rows(graded["out"] / "gradebook.csv")
    assert table[0] == ["name", "sid", "email", "submission", *QUESTIONS, "rand_weight_role", "total", "status"]
    assert table[1] == ["Points Possible", "", "", "", "3", "3", "2", "3", "4", "2", "2", "19", ""]
    assert [r[3] for r in table[2:]] == [f"submission_{i}" for i in range(1, 5)], "a row per submission"
    by = {r[3]: r for r in table[2:]}
    name, sid, email = by["submission_1"][:3]  # a group of two: each column lists both, in the same order
    assert name.split("; ")[0] == "Ada Lovelace" and sid == "1001; 1002" and email.split("; ")[0] == "ada@example.edu"
    assert by["submission_1"][-3:] == ["", "17", "graded"]  # free response: empty until merged
    assert by["submission_2"][:1] == ["Grace Hopper"] and by["submission_2"][-3:] == ["", "16", "graded"]
    not_graded = by["submission_3"][-1]
    assert not_graded.startswith("not graded: ") and "JSON" in not_graded
    assert by["submission_4"][-1].startswith("not graded: ")
    for row in table:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), row
    book = load_gradebook(graded["out"])
    assert book["submission_1"]["submitters"][0] == {"name": "Ada Lovelace", "sid": "1001", "email": "ada@example.edu"}
    assert book["submission_3"]["status"] == "not graded" and book["submission_1"]["status"] == "graded"
    assert book["submission_1"]["manual"] == {"rand_weight_role": {"score": None, "max_score": 2.0}}


def test_canvas_import_file(graded):
    table = rows(graded["out"] / "canvas.csv")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "access"]
    assert table[1][0].strip() == "Points Possible" and table[1][-1] == "19"
    assert [(r[0], r[2], r[-1]) for r in table[2:]] == [("Ada Lovelace", "1001", "17"),
                                                         ("'=HYPERLINK(\"http://x\")", "1002", "17"),
                                                         ("Grace Hopper", "1003", "16")]


def test_counts_line_and_fresh_outputs(graded):
    last = graded["run"].stderr.strip().splitlines()[-1]
    assert last.startswith("4 submissions: 2 graded, 2 not graded, 0 timed out, 0 with grader errors"), last
    out = graded["out"]
    assert not (out / "stale_student").exists() and (out / "notes.txt").read_text() == "mine"
    assert "21 submissions" not in (out / "summary.html").read_text()
    assert json.loads((out / ".autograder.json").read_text())["assignment"] == "access"


def test_manual_page_shows_rubric_and_escaped_answers(graded):
    page = (graded["out"] / "manual.html").read_text()
    assert "Rubric (2 points)" in page  # from solutions/access.ipynb
    assert "A plain attribute is never trained." in page and "<strong>buffers</strong>" in page
    # the student's <script> is text; the one script is the kit's download button, allowed by its hash alone
    from autograder.reports import manual_script, script_hash

    assert page.lower().count("<script") == 1 and f"<script>{manual_script()}</script>" in page
    csp = page.split('http-equiv="Content-Security-Policy" content="')[1].split('"')[0]
    assert csp.endswith(f"; script-src '{script_hash(manual_script())}'") and csp.startswith("default-src 'none';")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count('type=number') == 4  # a points field per submission
    assert "No answer: the cell was left as it came." not in page.split("submission_1")[1].split("submission_2")[0]
    table = rows(graded["out"] / "manual.csv")
    assert table[0] == ["submission", "submitters", "question", "points", "max_points", "comment"]
    assert [r[0] for r in table[1:]] == ["submission_1", "submission_2", "submission_3", "submission_4"]
    assert [r[1] for r in table[1:]] == ['Ada Lovelace; =HYPERLINK("http://x")', "Grace Hopper", "", ""]
    assert "Ada Lovelace" in page and "Grace Hopper" in page  # beside their answers


def test_merge_manual_folds_points_into_gradebook_and_feedback(graded, tmp_path):
    out = graded["out"]
    filled = tmp_path / "manual.csv"
    filled.write_text("submission,question,points,max_points,comment\n"
                      "submission_1,rand_weight_role,1.5,2,buffers: right; parameters: missing the optimizer\n"
                      "submission_2,rand_weight_role,,2,\n")
    run = cli("merge-manual", out, filled)
    assert run.returncode == 0, run.stderr
    table = rows(out / "gradebook.csv")
    ada = next(r for r in table if r[0].startswith("Ada Lovelace"))
    assert ada[-3:] == ["1.5", "18.5", "graded"]
    assert next(r for r in rows(out / "canvas.csv") if r[0] == "Ada Lovelace")[-1] == "18.5"
    md = (out / "submission_1" / "feedback.md").read_text()
    assert "rand\\_weight\\_role: 1.5 / 2" in md or "rand_weight_role: 1.5 / 2" in md
    assert "missing the optimizer" in (out / "submission_1" / "feedback.html").read_text()
    assert "not graded yet" in (out / "submission_2" / "feedback.md").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("submission,question,points\nsubmission_1,rand_weight_role,3\n")
    run = cli("merge-manual", out, bad)
    assert run.returncode == 1 and len(run.stderr.strip().splitlines()) == 1 and "outside 0..2" in run.stderr
    assert next(r for r in rows(out / "gradebook.csv") if r[0].startswith("Ada Lovelace"))[-3] == "1.5"  # unchanged


def test_another_assignment_into_the_same_folder_is_refused(graded):
    run = cli("grade", "init", graded["folder"], "--out", graded["out"])
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"autograder: refusing --out: {graded['out']} holds the results of assignment 'access', not 'init': "
        f"use another folder (a re-run replaces what a folder holds)"]


def test_cells_that_could_start_a_formula_are_neutralized():
    from autograder.engine import results

    rows_ = [{"submission": '=HYPERLINK("http://x")+0.ipynb', "total": 1.0, "max_total": 1.0, "status": "graded",
              "questions": {"q": {"score": 1.0, "max_score": 1.0}},
              "submitters": [{"name": "@Bob", "sid": "-7", "email": "+b@example.edu"}]}]
    table = rows_from(results.gradebook_csv(rows_, ["q"], []))
    assert table[2][:4] == ["'@Bob", "'-7", "'+b@example.edu", "'=HYPERLINK(\"http://x\")+0.ipynb"]


def rows_from(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))
