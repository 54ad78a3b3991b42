"""Free-response questions: rubrics from the master notebooks, answers read (never run) from notebooks,
rendered without markup of the student's own. Fast: no grading (tests/test_gradebook.py grades a class)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from autograder import manual
from autograder.api import Submitted
from autograder.samples import solved_notebook

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("assignment", ["access", "init", "tied"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_master_has_the_free_response_questions_the_kit_knows(assignment, lang):
    found = manual.master_questions(assignment, lang)
    assert [(q.name, q.points) for q in found] == manual.questions(assignment)
    for q in found:
        assert q.prompt and q.rubric and q.prompt_id
        assert ("Rubric" in q.rubric) if lang == "en" else ("评分标准" in q.rubric or "Rubric" in q.rubric)


def _answered(assignment: str, text: str) -> dict:
    nb = solved_notebook(assignment)
    (cell,) = [c for c in nb["cells"] if c["cell_type"] == "markdown"
               and "otter_answer_cell" in c.get("metadata", {}).get("tags", [])]
    cell["source"] = text
    return nb


@pytest.mark.parametrize("assignment", ["access", "init", "tied"])
def test_answers_are_found_by_the_prompt_cell(assignment, tmp_path):
    (name, _), = manual.questions(assignment)
    nb = _answered(assignment, "Sharing **helps**.")
    assert manual.extract_answers(nb, assignment) == {name: "Sharing **helps**."}
    blank = solved_notebook(assignment)
    assert manual.extract_answers(blank, assignment) == {name: ""}  # the placeholder is no answer
    for cell in nb["cells"]:  # ids stripped (an old Jupyter): found by otter's markers instead
        cell.pop("id", None)
    assert manual.extract_answers(nb, assignment) == {name: "Sharing **helps**."}
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{assignment}.ipynb", json.dumps(nb))
    found = manual.collect(assignment, [Submitted("export.zip", path), Submitted("script.py", tmp_path / "x.py")])
    assert found["export.zip"]["answers"] == {name: "Sharing **helps**."}
    assert found["script.py"]["answers"] == {name: None}


def test_the_chinese_edition_says_so():
    nb = json.loads((ROOT / "assignments" / "tied" / "tied.zh.ipynb").read_text())
    assert manual.notebook_lang(nb) == "zh"
    assert manual.extract_answers(nb, "tied") == {"why_share": ""}


def test_markdown_is_rendered_without_the_students_markup():
    html = manual.render_markdown("**ok** <script>alert(1)</script> <img src=x onerror=alert(1)> "
                                  "[a](javascript:alert(1)) ![t](http://tracker.example/p.png) [b](https://d2l.ai)")
    assert "<strong>ok</strong>" in html and "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "javascript:" not in html.split('href="')[-1].split('"')[0]
    assert 'href="https://d2l.ai"' in html and "javascript:alert" not in "".join(html.split('href="')[1:2])


def test_read_points_refuses_what_it_cannot_merge(tmp_path):
    good = tmp_path / "m.csv"
    good.write_text("submission,question,points,max_points,comment\n'=evil.ipynb,why_share,1.5,2,ok\n"
                    "b.ipynb,why_share,,2,\n")
    assert manual.read_points(good, "tied", ["=evil.ipynb", "b.ipynb"]) == {
        "=evil.ipynb": {"why_share": {"score": 1.5, "comment": "ok"}}}
    quoted = tmp_path / "quoted.csv"  # every start neutralize quotes comes back as it was, comments too
    quoted.write_text("submission,question,points,max_points,comment\n'\uff1dwide.ipynb,why_share,1,2,'=SUM(A1)\n"
                      "'@at.ipynb,why_share,2,2,'- a dash first\n'plain.ipynb,why_share,0,2,'kept\n")
    assert manual.read_points(quoted, "tied", ["\uff1dwide.ipynb", "@at.ipynb", "'plain.ipynb"]) == {
        "\uff1dwide.ipynb": {"why_share": {"score": 1.0, "comment": "=SUM(A1)"}},
        "@at.ipynb": {"why_share": {"score": 2.0, "comment": "- a dash first"}},
        "'plain.ipynb": {"why_share": {"score": 0.0, "comment": "'kept"}}}
    for body, phrase in [("submission,question,points\nnobody,why_share,1\n", "no submission named"),
                         ("submission,question,points\nb.ipynb,other,1\n", "not a free-response question"),
                         ("submission,question,points\nb.ipynb,why_share,lots\n", "not a number"),
                         ("submission,question\nb.ipynb,why_share\n", "no points column")]:
        bad = tmp_path / "bad.csv"
        bad.write_text(body)
        with pytest.raises(manual.MergeError, match=phrase):
            manual.read_points(bad, "tied", ["b.ipynb"])


def test_the_submitters_are_named_beside_each_answer_unless_blind(tmp_path):
    """manual.csv gets a submitters column and manual.html a name beside each answer; ``grade --blind``
    leaves both out, for anonymous grading. The points merge back either way."""
    import csv

    answers = {"submission_1": {"lang": "en", "answers": {"rand_weight_role": "Buffers are not trained."}},
               "submission_2": {"lang": "en", "answers": {"rand_weight_role": ""}}}
    names = {"submission_1": "Ada Lovelace; Alan Turing", "submission_2": "=HYPERLINK(1)"}
    named, blind = tmp_path / "named", tmp_path / "blind"
    for folder, who in ((named, names), (blind, None)):
        folder.mkdir(mode=0o700)
        manual.write(folder, "access", answers, submitters=who)
    table = list(csv.reader((named / "manual.csv").open()))
    assert table[0] == ["submission", "submitters", "question", "points", "max_points", "comment"]
    assert [r[:2] for r in table[1:]] == [["submission_1", "Ada Lovelace; Alan Turing"],
                                          ["submission_2", "'=HYPERLINK(1)"]]  # no formula: OWASP's quote
    page = (named / "manual.html").read_text()
    assert "Ada Lovelace; Alan Turing" in page and "=HYPERLINK(1)" in page
    assert list(csv.reader((blind / "manual.csv").open()))[0] == manual.CSV_COLUMNS
    for text in ((blind / "manual.csv").read_text(), (blind / "manual.html").read_text()):
        assert "Ada" not in text and "HYPERLINK" not in text
    table[1][3] = "2"
    filled = tmp_path / "filled.csv"
    with filled.open("w", newline="") as fh:
        csv.writer(fh).writerows(table)
    assert manual.read_points(filled, "access", list(answers)) == {
        "submission_1": {"rand_weight_role": {"score": 2.0, "comment": ""}}}


def _page(folder: Path, lang: str = "en", named: bool = True) -> str:
    answers = {"submission_1": {"lang": "en", "answers": {"rand_weight_role": "<script>alert(1)</script>"}},
               "=evil": {"lang": "zh", "answers": {"rand_weight_role": ""}}}
    folder.mkdir(mode=0o700)
    manual.write(folder, "access", answers, lang=lang,
                 submitters={"submission_1": "Ada", "=evil": "=HYPERLINK(1)"} if named else None)
    return (folder / "manual.html").read_text()


def test_the_pages_one_script_is_allowed_by_its_hash_and_nothing_else(tmp_path):
    """manual.html's Content-Security-Policy stays default-src 'none': its one script (the Download
    manual.csv button's) is allowed by the sha256 of its exact text, with no 'unsafe-inline' or
    'unsafe-eval' and no other source; student content never becomes a script."""
    import base64
    import hashlib
    import re

    page = _page(tmp_path / "named")
    (csp,) = re.findall(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1 and page.lower().count("<script") == 1  # the student's <script> shown as text
    digest = base64.b64encode(hashlib.sha256(scripts[0].encode("utf-8")).digest()).decode()
    assert directives == {"default-src": "'none'", "style-src": "'unsafe-inline'", "img-src": "data:",
                          "script-src": f"'sha256-{digest}'"}
    assert "unsafe-inline" not in directives["script-src"] and "unsafe-eval" not in csp
    assert "innerHTML" not in scripts[0] and "insertAdjacentHTML" not in scripts[0] and "eval(" not in scripts[0]
    from autograder.engine.results import FORMULA_START

    assert json.dumps(list(FORMULA_START)) in scripts[0]  # the writer's own formula starts
    # the other pages keep their script-free policy
    from autograder import reports

    assert "script-src" not in reports.environment().get_template("base.html.j2").render(html_lang="en")


def test_the_page_names_the_submitters_for_the_download_unless_blind(tmp_path):
    named, blind = _page(tmp_path / "named"), _page(tmp_path / "blind", named=False)
    assert 'data-named="1"' in named and 'data-who="=HYPERLINK(1)"' in named
    assert 'data-named="0"' in blind and "data-who=" not in blind and "HYPERLINK" not in blind
    for page in (named, blind):
        assert page.count("<textarea") == page.count('class=points') == 2
        assert 'data-submission="=evil" data-question="rand_weight_role" data-max="2"' in page
        assert "<button type=button id=download-csv hidden>Download manual.csv</button>" in page


def test_the_chinese_page_labels_the_download(tmp_path):
    page = _page(tmp_path / "zh", lang="zh")
    assert "下载manual.csv</button>" in page and "评语" in page and "Download manual.csv" not in page
