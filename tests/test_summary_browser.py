"""summary.html in a real browser: headless Chromium (Debian's package) lays the page out at 1280 px.

One browser start for the module. The page is written by ``reports.write_reports`` from a hand-made
results folder of 40 submissions with 24 failure groups (more than the old top ten), long question
names and a free-response column. A copy of the page gets a probe script appended (the page itself
carries none, and its Content-Security-Policy forbids one: the copy drops that meta tag); Chromium
runs it and ``--dump-dom`` prints what it measured:

- nothing is clipped: the page has no horizontal scrollbar, and no table cell's content is wider
  than the cell (``scrollWidth`` vs ``clientWidth``) or sticks out of its table;
- table headers wrap only between words (an identifier at its "_", where a <wbr> allows it);
- every failure group is laid out (has a box), with its students;
- the groups re-order by question when the "question" radio button is checked (CSS only);
- a date is on the page.

And a real screenshot (Chromium's ``--screenshot`` of the page itself, script-free, 1280 px wide and tall
enough for the whole page), read with Pillow (pinned: matplotlib's dependency): 1280 px wide, not
blank, its tables drawn across the content's width, and nothing drawn into the right-hand padding
(content wider than the window would run into it: the page would scroll sideways).

Skipped, saying why, where Chromium is not installed (``make test`` installs it when run as root).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from autograder import reports

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install "
                                                          "chromium; `make test` installs it when run as root)")
QUESTIONS = ["param_shapes", "count_parameters", "get_parameter", "build_rgnet", "FrozenHiddenMLP",
             "shared_names", "init_kaiming_relu_with_a_long_name", "grad_contributions"]
GROUPS = 24

PROBE = r"""
<script>
(function () {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const out = {};
  const doc = document.documentElement;
  out.pageOverflow = doc.scrollWidth - doc.clientWidth;
  out.viewport = window.innerWidth;
  const clipped = [];
  document.querySelectorAll('table').forEach((table, t) => {
    const tr = table.getBoundingClientRect();
    table.querySelectorAll('th, td').forEach(cell => {
      const r = cell.getBoundingClientRect();
      if (r.width === 0) return;
      if (cell.scrollWidth > cell.clientWidth + 1 || r.right > tr.right + 1 || r.right > doc.clientWidth + 1)
        clipped.push([t, cell.textContent.slice(0, 60), cell.scrollWidth, cell.clientWidth, r.right, tr.right]);
    });
  });
  out.clipped = clipped;
  const broken = [];  // a header word laid out on two lines ("submissio / n")
  document.querySelectorAll('th').forEach(th => {
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(m[0]);
      }
    }
  });
  out.brokenHeaders = broken;
  const groups = () => Array.from(document.querySelectorAll('tr.group')).map(row => {
    const cells = row.querySelectorAll('td');
    const box = cells[0].getBoundingClientRect();
    return {top: box.top, height: box.height, count: +cells[0].textContent, question: cells[1].textContent,
            students: cells[4].querySelectorAll('a').length, hint: cells[3].textContent};
  });
  out.byCount = groups();
  document.getElementById('fg-question').checked = true;
  out.byQuestion = groups();
  out.when = (document.querySelector('.when') || {}).textContent || '';
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def _results(name: str, fails: dict[str, str]) -> tuple[dict, dict]:
    """A results.json and gradebook row: two 1-point rules per question, failing with the given hints."""
    tests: list[dict[str, Any]] = []
    questions: dict[str, dict[str, float]] = {}
    for q in QUESTIONS:
        for k in range(2):
            hint = fails.get(q) if k == 0 else None
            tests.append({"name": f"{q}: rule {k} of {q}", "score": 0.0 if hint else 1.0, "max_score": 1.0,
                          "status": "failed" if hint else "passed", "output": hint or "", "visibility": "visible",
                          "tags": [q],
                          "extra_data": {"rule": f"test_{q}_{k}", "outcome": "failed" if hint else "passed"}})
            s = questions.setdefault(q, {"score": 0.0, "max_score": 0.0})
            s["score"] += tests[-1]["score"]
            s["max_score"] += 1.0
    total = sum(t["score"] for t in tests)
    return ({"score": total, "output": "Graded.", "tests": tests, "extra_data": {"errors": [], "notes": []}},
            {"submission": name, "total": total, "max_total": float(len(tests)), "questions": questions,
             "errors": [], "notes": [], "grader_errors": [], "status": "graded",
             "manual": {"rand_weight_role": {"score": None, "max_score": 2.0}}})


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    """The results folder, its summary.html written by ``reports.write_reports``."""
    out = tmp_path_factory.mktemp("summary-browser")
    rows = []
    for i in range(40):
        # group g (of GROUPS) holds the students i with i % GROUPS == g, on question g % len(QUESTIONS)
        g = i % GROUPS
        q = QUESTIONS[g % len(QUESTIONS)]
        hint = (f"mistake number {chr(65 + g)}{chr(65 + g)}: {q} returned something_with_a_very_long_identifier_"
                f"that_does_not_break_{g} instead of the expected value")
        results, row = _results(f"student_with_a_long_file_name_{i:03d}.ipynb", {q: hint})
        (out / row["submission"]).mkdir()
        (out / row["submission"] / "results.json").write_text(json.dumps(results))
        rows.append(row)
    (out / "gradebook.json").write_text(json.dumps({"assignment": "access", "questions": QUESTIONS,
                                                    "manual_questions": {"rand_weight_role": 2.0},
                                                    "submissions": rows}))
    reports.write_reports(out)
    return out


def _chromium(profile, *args: str) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None  # the module is skipped without it
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def measured(summary, tmp_path_factory) -> dict:
    out = summary
    page = (out / "summary.html").read_text()
    assert "<script" not in page.lower()
    probe = out / "probe.html"
    probe.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
                     .replace("</body>", PROBE + "</body>"))
    done = _chromium(tmp_path_factory.mktemp("chromium-profile"), "--window-size=1280,900", "--dump-dom",
                     probe.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert found, f"chromium printed no probe (exit {done.returncode}): {done.stderr[-2000:]}"
    from html import unescape

    return json.loads(unescape(found.group(1)))


def test_nothing_is_clipped_at_1280_px(measured):
    assert measured["viewport"] == 1280
    assert measured["pageOverflow"] <= 0, f"the page scrolls sideways by {measured['pageOverflow']} px"
    assert measured["clipped"] == [], f"clipped cells: {measured['clipped'][:5]}"


def test_headers_wrap_between_words_only(measured):
    assert measured["brokenHeaders"] == [], f"header words broken across lines: {measured['brokenHeaders']}"


def test_every_failure_group_is_laid_out_with_its_students(measured):
    groups = measured["byCount"]
    assert len(groups) == GROUPS and all(g["height"] > 0 for g in groups)
    mistakes = {f"mistake number {chr(65 + g)}{chr(65 + g)}" for g in range(GROUPS)}
    assert {g["hint"].split(":")[0] for g in groups} == mistakes
    # 40 students over 24 groups: the first 16 groups have two students, the rest one
    assert sorted((g["count"], g["students"]) for g in groups) == sorted([(2, 2)] * 16 + [(1, 1)] * 8)
    tops = [g["top"] for g in groups]
    assert [g["count"] for g in sorted(groups, key=lambda g: g["top"])] == sorted((g["count"] for g in groups),
                                                                                  reverse=True)
    assert len(set(tops)) == GROUPS


def test_groups_sort_by_question_without_script(measured):
    shown = [g["question"] for g in sorted(measured["byQuestion"], key=lambda g: g["top"])]
    assert shown == sorted(shown, key=QUESTIONS.index), shown
    assert shown != [g["question"] for g in sorted(measured["byCount"], key=lambda g: g["top"])]


def test_the_page_says_when_it_was_written(measured):
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", measured["when"]), measured["when"]


@pytest.fixture(scope="module")
def screenshot(summary, tmp_path_factory):
    """The page as Chromium draws it, 1280 px wide (and 6000 tall: the whole page), as a Pillow image."""
    from PIL import Image

    png = tmp_path_factory.mktemp("screenshot") / "summary.png"
    done = _chromium(tmp_path_factory.mktemp("chromium-profile"), "--window-size=1280,6000", "--hide-scrollbars",
                     f"--screenshot={png}", (summary / "summary.html").as_uri())
    assert png.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-2000:]}"
    with Image.open(png) as image:
        return image.convert("RGB")


def test_the_screenshot_is_1280_px_wide_and_not_blank(screenshot):
    width, height = screenshot.size
    assert width == 1280 and height >= 900, screenshot.size
    small = screenshot.resize((width // 4, height // 4))
    colors = small.getcolors(maxcolors=1 << 16) or []
    assert len(colors) > 50, f"only {len(colors)} colours: a blank page?"
    white = max(count for count, rgb in colors if min(rgb) >= 250) if colors else 0
    assert white < 0.97 * small.width * small.height, "almost nothing drawn"


def test_the_screenshot_fits_the_width_with_nothing_past_the_right_margin(screenshot):
    """The content lies between the page's margins (main's 1rem padding): content wider than the window
    would run through the right-hand margin, and a table cut by a scroll box would end short of it."""
    width, height = screenshot.size
    pixels = screenshot.load()

    def inked(x: int, y: int) -> bool:
        return min(pixels[x, y]) < 235

    margin = [(x, y) for x in range(width - 12, width) for y in range(0, height, 2) if inked(x, y)]
    assert not margin, f"{len(margin)} pixels drawn in the right-hand margin, e.g. at {margin[:3]}"
    # the tables' borders run across the content's width (1rem from each side), on some row of pixels
    spans = [y for y in range(height) if inked(20, y) and inked(width - 20, y)
             and sum(inked(x, y) for x in range(20, width - 20, 8)) > 0.95 * len(range(20, width - 20, 8))]
    assert spans, "no table border spans the page's width"
