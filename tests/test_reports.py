"""Reports from a hand-made results folder: no grading run, so these are fast."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import pytest

from autograder import reports

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n"
INJECTION = "<script>alert(1)</script>"
SECRET_HINT = "the hidden check wanted 42 exactly"


def _test(question: str, title: str, passed: bool, hint: str = "", points: float = 1.0,
          visibility: str = "visible") -> dict:
    return {"name": f"{question}: {title}", "score": points if passed else 0.0, "max_score": points,
            "status": "passed" if passed else "failed", "output": "" if passed else hint,
            "visibility": visibility, "tags": [question]}


def _submission(name: str, shapes: tuple[bool, bool], get: tuple[bool, str], hidden_ok: bool,
                errors: list[str] | None = None) -> tuple[dict, dict]:
    """One submission's results.json and gradebook row: param_shapes (2 checks + a hidden one), get_parameter."""
    tests = [
        _test("param_shapes", "every parameter, in order", shapes[0], f"param_shapes raised ValueError: {INJECTION}"),
        _test("param_shapes", "a shared parameter once", shapes[1], "param_shapes listed a shared parameter twice",
              visibility="after_due_date"),
        _test("param_shapes", "secret corner case", hidden_ok, SECRET_HINT, points=2.0, visibility="hidden"),
        _test("get_parameter", "the very Parameter", get[0], get[1]),
    ]
    questions: dict[str, dict] = {}
    for t in tests:
        q = questions.setdefault(t["tags"][0], {"score": 0.0, "max_score": 0.0})
        q["score"] += t["score"]
        q["max_score"] += t["max_score"]
    total = sum(t["score"] for t in tests)
    results = {"score": total, "output": "\n".join(errors) if errors else "Graded.", "visibility": "visible",
               "stdout_visibility": "hidden", "tests": tests, "execution_time": 1.5}
    row = {"submission": name, "total": total, "max_total": 5.0, "questions": questions, "errors": errors or []}
    return results, row


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A graded folder of four submissions, reports written once for every test here."""
    tmp_path = tmp_path_factory.mktemp("out")
    subs = [
        _submission("good.ipynb", (True, True), (True, ""), True),
        _submission("inject.ipynb", (False, True), (False, "get_parameter(module, '0.weight') returned a copy"),
                    False, errors=[f"cell 3 raised RuntimeError: {INJECTION}"]),
        _submission("copy.py", (True, False), (False, "get_parameter(module, '4.weight') returned a copy"), True),
        _submission("broken.ipynb", (False, False), (False, "not graded: the notebook is not valid JSON"), False,
                    errors=["not graded: the notebook is not valid JSON"]),
    ]
    for results, row in subs:
        (tmp_path / row["submission"]).mkdir()
        (tmp_path / row["submission"] / "results.json").write_text(json.dumps(results))
    book = {"assignment": "access", "submissions": [row for _, row in subs]}
    (tmp_path / "gradebook.json").write_text(json.dumps(book))
    reports.write_reports(tmp_path)
    return tmp_path


def test_feedback_has_scores_checks_and_hints(out: Path) -> None:
    html = (out / "inject.ipynb" / "feedback.html").read_text()
    md = (out / "inject.ipynb" / "feedback.md").read_text()
    for text in (html, md):
        assert "1 / 5" in text  # total: the after_due_date check passed, the rest failed
        assert "1 / 4" in text and "0 / 1" in text  # param_shapes (hidden points counted), get_parameter
        assert "every parameter, in order" in text and "\u2717" in text and "\u2713" in text
        assert "returned a copy" in text
        assert "What happened" in text and "cell 3 raised RuntimeError" in text
    good = (out / "good.ipynb" / "feedback.md").read_text()
    assert "5 / 5" in good and "ran without errors" in good


def test_feedback_escapes_student_text(out: Path) -> None:
    html = (out / "inject.ipynb" / "feedback.html").read_text()
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    md = (out / "inject.ipynb" / "feedback.md").read_text()
    assert INJECTION not in md and "\\<script>" in md  # a Markdown renderer shows it as text


def test_feedback_hides_hidden_checks(out: Path) -> None:
    for name in ("inject.ipynb", "good.ipynb"):
        for ext in ("html", "md"):
            text = (out / name / f"feedback.{ext}").read_text()
            assert SECRET_HINT not in text and "secret corner case" not in text
            assert "1 hidden check (2 points)" in text
    # after_due_date checks are listed (the instructor's copy), marked as such
    assert "after due date" in (out / "copy.py" / "feedback.html").read_text()


def test_html_is_self_contained(out: Path) -> None:
    for path in [out / "summary.html", *out.glob("*/feedback.html")]:
        text = path.read_text()
        assert "<script" not in text.lower() and "http://" not in text and "https://" not in text
        assert "<style>" in text and 'name="viewport"' in text


def test_summary(out: Path) -> None:
    html = (out / "summary.html").read_text()
    for png in ("summary-scores.png", "summary-questions.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG) and len(data) > 1000
    assert html.count("data:image/png;base64,") == 2
    assert ">4</b><span>submissions" in html
    # full points: param_shapes only for good.ipynb (1/4), get_parameter for good.ipynb too
    assert "<td>param_shapes</td>" in html and "25%" in html
    # '0.weight' and '4.weight' are one mistake: grouped, counted twice, one real example shown
    assert "<td class=n>2</td><td>get_parameter</td>" in html
    text = unescape(html)
    assert "'0.weight') returned a copy" in text and "'4.weight')" not in text
    assert "2 variants of: get_parameter(module, '…') returned a copy" in text
    assert "not valid JSON" in html and 'href="broken.ipynb/feedback.html"' in html
    assert SECRET_HINT in html  # the instructor sees hidden checks' hints
    assert "&lt;script&gt;" in html and INJECTION not in html


def test_normalize_hint() -> None:
    assert reports.normalize_hint("get_parameter(m, '0.weight') got \"x\" for 12 of (4, 20)") == \
        "get_parameter(m, '…') got '…' for N of (N, N)"


def test_import_is_cheap() -> None:
    code = "import sys, autograder.reports; print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_students_feedback_withholds_after_due_date_checks(tmp_path) -> None:
    """What ``grade`` writes for students (``after_due_date=False``): an after_due_date check is counted,
    not listed, its hint withheld, until the feedback is rebuilt after the due date."""
    results, row = _submission("copy.py", (True, False), (True, ""), True)
    for after in (False, True):
        folder = tmp_path / str(after) / "copy.py"
        reports.write_feedback(results, folder, "access", "copy.py", after_due_date=after)
        for ext in ("html", "md"):
            text = (folder / f"feedback.{ext}").read_text()
            assert ("listed a shared parameter twice" in text) is after
            assert ("a shared parameter once" in text) is after
            assert ("1 check hidden until after due date (1 point)" in text) is not after
            assert "1 hidden check (2 points)" in text and SECRET_HINT not in text


@pytest.mark.parametrize("merged, says", [
    ({}, ["Autograded: 4 / 5 points", "Free response: pending, graded by hand (2 points)",
          "Total so far: 4 / 7 points (free response pending)"]),
    ({"rand_weight_role": 1.5}, ["Autograded: 4 / 5 points", "Free response: 1.5 / 2 points",
                                 "Total: 5.5 / 7 points"]),
])
def test_feedback_counts_the_free_response_points_as_the_gradebook_does(tmp_path, merged, says) -> None:
    """Not "4 / 5" as if it were the whole grade: the autograded points, the free-response points (pending
    until merged) and the total out of the whole, as gradebook.csv's total and Points Possible."""
    from autograder.engine.results import total_with_manual

    results, row = _submission("copy.py", (True, True), (False, "returned a copy"), True)
    row["manual"] = {"rand_weight_role": {"score": merged.get("rand_weight_role"), "max_score": 2.0}}
    reports.write_feedback(results, tmp_path / "copy.py", "access", "copy.py", manual=row["manual"])
    md = (tmp_path / "copy.py" / "feedback.md").read_text()
    html = unescape((tmp_path / "copy.py" / "feedback.html").read_text())
    for line in says:
        assert line in md and line in html, line
    assert "Total: 4 / 5 points" not in md
    grand = total_with_manual(row)
    assert f"<b>{grand:g} / 7</b>" in html
    assert ("free response pending" in html) is (not merged)


def test_summary_statistics_leave_the_not_graded_out(tmp_path, monkeypatch) -> None:
    """A not-graded submission is counted apart, not as a 0 in the mean, the median and the histogram."""
    drawn = {}

    def charts(totals, max_total, rates):
        drawn["totals"] = list(totals)
        return PNG, PNG

    monkeypatch.setattr(reports, "_charts", charts)
    rows = []
    for name, passed, status in (("a.ipynb", True, "graded"), ("b.ipynb", False, "graded"),
                                 ("c.ipynb", False, "not graded")):
        results, row = _submission(name, (passed, True), (passed, "returned a copy"), True)
        row["status"] = status
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(results))
        rows.append(row)
    rows[2]["total"] = 0.0
    (tmp_path / "gradebook.json").write_text(json.dumps({"assignment": "access", "submissions": rows}))
    reports.write_summary(tmp_path)
    html = unescape((tmp_path / "summary.html").read_text())
    assert drawn["totals"] == [5.0, 3.0]
    assert "<b>4</b><span>mean / 5</span>" in html and "<b>4</b><span>median / 5</span>" in html
    assert "<b>1</b><span>full marks</span>" in html
    assert "count the graded submissions only (2 of 3)" in html


def test_reports_and_merge_manual_keep_the_language_grade_wrote_the_summary_in(tmp_path) -> None:
    """gradebook.json records the summary's language (``summary_lang``): ``reports`` and ``merge-manual``
    rewrite summary.html in it, not in English; their ``--lang`` overrides it."""
    from autograder.engine.results import write_gradebook

    results, row = _submission("a.ipynb", (True, True), (True, ""), True)
    (tmp_path / "a.ipynb").mkdir(mode=0o700)
    (tmp_path / "a.ipynb" / "results.json").write_text(json.dumps(results))
    tmp_path.chmod(0o700)
    write_gradebook("access", [row], tmp_path, ["param_shapes", "get_parameter"],
                    manual=[("rand_weight_role", 2.0)], summary_lang="zh")
    assert json.loads((tmp_path / "gradebook.json").read_text())["summary_lang"] == "zh"
    (tmp_path / "manual.csv").write_text("submission,question,points,max_points,comment\n"
                                         "a.ipynb,rand_weight_role,2,2,\n")

    def lang_of_summary() -> str:
        found = re.search(r'<html lang="([\w-]+)"', (tmp_path / "summary.html").read_text())
        assert found
        return found.group(1).split("-")[0]  # zh-CN: the kit's zh

    for args, lang in [(("reports", tmp_path), "zh"), (("merge-manual", tmp_path, tmp_path / "manual.csv"), "zh"),
                       (("reports", tmp_path), "zh"), (("reports", tmp_path, "--lang", "en"), "en")]:
        done = subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert lang_of_summary() == lang, args
        assert ("评分汇总" in (tmp_path / "summary.html").read_text()) is (lang == "zh"), args
    assert json.loads((tmp_path / "gradebook.json").read_text())["summary_lang"] == "zh"  # merge kept it


# ---------------------------------------------------------------- a class in two editions

def _graded_in(lang: str, name: str) -> tuple[dict, dict]:
    """A results.json and gradebook row as the grading writes them, for one mistake made in the ``lang`` edition:
    the hint made by the graders' own ``_()`` in that language."""
    from autograder import i18n
    from autograder.i18n import _

    check = "the very Parameter registered under each dotted name, later names of a shared one included"
    with i18n.using(lang):
        hint = _("get_parameter(module, {name!r}) must return the nn.Parameter itself, not {kind}").format(
            name="0.weight", kind="Tensor") + _(" (it raised {type})").format(type="KeyError")
        title = _(check)
    test = {"name": f"get_parameter: {title}", "score": 0.0, "max_score": 1.0, "status": "failed", "output": hint,
            "visibility": "visible", "tags": ["get_parameter"],
            "extra_data": {"rule": "test_get_parameter_returns_the_registered_object_for_every_name",
                           "outcome": "failed", "check": check,
                           "hint_source": hint.source}}
    results = {"score": 0.0, "output": "", "tests": [test], "extra_data": {"lang": lang}}
    row = {"submission": name, "total": 0.0, "max_total": 1.0, "status": "graded", "lang": lang,
           "questions": {"get_parameter": {"score": 0.0, "max_score": 1.0}}, "errors": []}
    return results, row


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_one_mistake_in_both_editions_is_one_failure_group_said_in_the_pages_language(tmp_path, lang) -> None:
    rows = []
    for edition, name in (("en", "en_ps.ipynb"), ("zh", "zh_ps.ipynb")):
        results, row = _graded_in(edition, name)
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(results), encoding="utf-8")
        rows.append(row)
    (tmp_path / "gradebook.json").write_text(json.dumps({"assignment": "access", "submissions": rows}))
    reports.write_summary(tmp_path, lang=lang)
    page = unescape((tmp_path / "summary.html").read_text(encoding="utf-8"))
    groups = page.split("class=group")[1:]
    assert len(groups) == 1, groups  # not one group per language
    assert "en_ps.ipynb" in groups[0] and "zh_ps.ipynb" in groups[0] and ">2<" in groups[0]
    said = {"en": "must return the nn.Parameter itself, not Tensor (it raised KeyError)",
            "zh": "必须返回nn.Parameter本身，而不是Tensor（它抛出了KeyError）"}[lang]
    assert said in groups[0] and "'0.weight'" in groups[0]
    rule = {"en": "the very Parameter registered under each dotted name", "zh": "返回每个点分名称下注册的"}[lang]
    assert rule in groups[0] and groups[0].count("<br>") == 0  # one rule, named in the page's language


def test_a_chinese_summary_says_statuses_and_visibilities_in_chinese(out: Path) -> None:
    reports.write_summary(out, lang="zh")
    try:
        page = (out / "summary.html").read_text(encoding="utf-8")
        assert '<html lang="zh-CN">' in page
        cells = [c.split("<")[0] for c in page.split("<td>")[1:]]
        assert "已评分" in cells and "截止日期后可见" in cells and "隐藏" in cells and "可见" in cells, cells
        for english in ("visible", "hidden", "after due date", "graded", "not graded"):
            assert english not in cells, english
    finally:
        reports.write_summary(out)  # the module's other tests read the English page


def test_chinese_feedback_has_no_space_after_a_full_width_colon(tmp_path) -> None:
    results, _row = _graded_in("zh", "zh_ps.ipynb")
    reports.write_feedback(results, tmp_path, "access", "zh_ps.ipynb", lang="zh")
    md = (tmp_path / "feedback.md").read_text(encoding="utf-8")
    assert "提交：zh_ps.ipynb" in md and "： " not in md
    assert '<html lang="zh-CN">' in (tmp_path / "feedback.html").read_text(encoding="utf-8")
