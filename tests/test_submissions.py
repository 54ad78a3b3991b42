"""Every grader can fail: realistic wrong submissions lose exactly the points they should.

``tests/submissions/<assignment>/`` holds mistake files (see ``autograder/samples.py``)
and ``EXPECTED.json``: for each file, the score each affected question must get
(questions not listed must get full marks) and a phrase each affected question's
hints must contain. The reference (the master notebook's answers) must score 100%, the untouched
student notebook 0. No bundled or sample submission may meet a grader error, and every rule of
every grader must fail at least one bundled mistake (a rule nothing fails is a rule never shown to work).

``pytest --update-goldens`` records the scores observed instead of comparing them (an entry for a new
file, none for a removed one), keeps each hint phrase the hints still contain, and rewrites
``EXPECTED.json`` (see ``conftest.Goldens``). A phrase is chosen by a person: one the hints no longer
contain still fails, and is edited by hand.
"""
from __future__ import annotations

import json
import re
import shutil

import pytest

from autograder.engine import runner
from autograder.samples import compose_folder

from conftest import GOLDENS, ROOT, golden_number, golden_text, grade_cli, load_gradebook

SUBMISSIONS = ROOT / "tests" / "submissions"
ASSIGNMENTS = sorted(p.name for p in SUBMISSIONS.iterdir() if (p / "EXPECTED.json").exists()) \
    if SUBMISSIONS.exists() else []


def _expected(assignment: str) -> dict:
    """The assignment's EXPECTED.json, as this session knows it (updated in place under --update-goldens)."""
    return GOLDENS[SUBMISSIONS / assignment / "EXPECTED.json"]


def _cases():
    for a in ASSIGNMENTS:
        expected = _expected(a)
        files = sorted(p.stem for p in (SUBMISSIONS / a).glob("*.py"))
        if GOLDENS.update:  # the golden follows the folder: a new file gets an entry, a removed one loses its own
            for name in set(expected) - set(files):
                del expected[name]
        yield pytest.param(a, "reference", None, id=f"{a}-reference")
        for name in files:
            assert GOLDENS.update or name in expected, \
                f"{a}/{name}.py has no entry in EXPECTED.json (pytest --update-goldens records its scores)"
            yield pytest.param(a, name, expected.setdefault(name, {}), id=f"{a}-{name}")


def _failed_hints(results: dict, question: str) -> str:
    """What the student reads for the question's failed checks, joined."""
    return " | ".join(t["output"] for t in results["tests"] if question in t["tags"] and t["status"] == "failed")


def _outcomes(results: dict) -> list[tuple[str, str, float]]:
    """(rule, outcome, score) of every check in a results.json, in order."""
    return [(t["extra_data"]["rule"], t["extra_data"]["outcome"], t["score"]) for t in results["tests"]]


def assert_hint_says(phrase: str, hints: str, where: str) -> None:
    """The golden phrase appears in the hints exactly as written, case included, as the student reads it."""
    assert phrase in hints, f"{where} should say {phrase!r}; they say: {hints}"


def test_golden_files_are_in_their_one_format():
    """Every EXPECTED.json is as ``--update-goldens`` writes it: a hand edit that changes the layout shows here,
    not as a diff of the whole file in the next update."""
    if GOLDENS.update:
        pytest.skip("--update-goldens rewrites them at the end of this session")
    paths = GOLDENS.paths()
    assert len(paths) >= len(ASSIGNMENTS)
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert text == golden_text(json.loads(text)), f"{path.relative_to(ROOT)}: run pytest --update-goldens"


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """Grade every assignment's composed submissions once, through the CLI."""
    cache = {}

    def get(assignment: str):
        if assignment not in cache:
            base = tmp_path_factory.mktemp(assignment)
            compose_folder(assignment, SUBMISSIONS / assignment, base / "in")
            shutil.copy(ROOT / "assignments" / assignment / f"{assignment}.ipynb", base / "in" / "untouched.ipynb")
            run = grade_cli(assignment, [base / "in"], base / "out", "--jobs", "2")
            assert run.returncode == 0, run.stderr
            cache[assignment] = (load_gradebook(base / "out"), base / "out")
        return cache[assignment]
    return get


@pytest.mark.parametrize("assignment,name,expected", list(_cases()))
def test_submission_loses_exactly_its_questions(graded, assignment, name, expected):
    """``expected`` is the file's EXPECTED.json entry (None for the reference: full marks, never recorded)."""
    book, out = graded(assignment)
    row = book[f"{name}.ipynb"]
    results = json.loads((out / f"{name}.ipynb" / "results.json").read_text())
    assert not row["grader_errors"], f"{name}: the graders failed on it: {row['grader_errors']}"
    if GOLDENS.update and expected is not None:
        _record(expected, row)
    scores = (expected or {}).get("scores", {})
    for q, got in row["questions"].items():
        want = scores.get(q, got["max_score"])
        assert got["score"] == want, (f"{name}: {q} scored {got['score']}, expected {want}; "
                                      f"hints: {_failed_hints(results, q)}")
    for q, phrase in (expected or {}).get("hint", {}).items():
        assert_hint_says(phrase, _failed_hints(results, q), f"{name}: the hints for {q}")


def _record(entry: dict, row: dict) -> None:
    """Under --update-goldens: the entry takes the scores observed (the questions below full marks) and keeps
    the hint phrases of the questions that still lose points (an empty part is left out, as by hand)."""
    scores = {q: golden_number(got["score"]) for q, got in row["questions"].items() if got["score"] != got["max_score"]}
    hints = {q: phrase for q, phrase in entry.get("hint", {}).items() if q in scores}
    entry.clear()
    entry.update({key: part for key, part in (("scores", scores), ("hint", hints)) if part})


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_student_notebook_scores_zero(graded, assignment):
    """The student notebook as handed out (every answer cell a stub): no rule gives points for nothing."""
    book, out = graded(assignment)
    row = book["untouched.ipynb"]
    results = json.loads((out / "untouched.ipynb" / "results.json").read_text())
    passed = [t["extra_data"]["rule"] for t in results["tests"] if t["score"] > 0]
    assert row["total"] == 0 and not passed, f"the untouched notebook scored {row['total']}: {passed}"
    assert not row["grader_errors"], row["grader_errors"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_answers_that_do_nothing_score_zero(graded, assignment):
    """``nothing_*.py`` answers do nothing useful (only raise, only return net or [], an empty or one-layer
    module): every question they answer scores 0, whatever ``--update-goldens`` recorded."""
    book, out = graded(assignment)
    nothing = sorted((SUBMISSIONS / assignment).glob("nothing_*.py"))
    assert nothing, f"{assignment} has no do-nothing answers in tests/submissions"
    for path in nothing:
        source = path.read_text(encoding="utf-8")
        answered = [q for q in book[f"{path.stem}.ipynb"]["questions"]
                    if re.search(rf"^(def|class) {re.escape(q)}\b", source, re.M)]
        assert answered, f"{path.name} answers no question"
        for q in answered:
            got = book[f"{path.stem}.ipynb"]["questions"][q]["score"]
            results = json.loads((out / f"{path.stem}.ipynb" / "results.json").read_text())
            passed = [t["extra_data"]["rule"] for t in results["tests"] if q in t["tags"] and t["score"] > 0]
            assert got == 0, f"{path.name}: {q} scored {got} ({passed})"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_rule_fails_some_bundled_mistake(graded, assignment):
    """Each rule is shown to work: at least one realistic wrong submission (not the untouched notebook) fails it."""
    _, out = graded(assignment)
    expected = _expected(assignment)
    mistakes = [name for name, entry in expected.items() if entry.get("scores")]
    failed = set()
    for name in mistakes:
        results = json.loads((out / f"{name}.ipynb" / "results.json").read_text())
        failed |= {t["extra_data"]["rule"] for t in results["tests"] if t["extra_data"]["outcome"] == "failed"}
    never = [r.name for r in runner.rules(assignment) if r.name not in failed]
    assert not never, f"no bundled mistake in tests/submissions/{assignment}/ fails: {never}"


# ---------------------------------------------------------------- the Chinese edition

HAN = re.compile(r"[\u4e00-\u9fff]")
# What may stay English in Chinese feedback: code spans, an exception's type and the message it carries (the
# student's Python or torch said it), markdown escapes. Three or more lowercase English words in a row left over
# are a sentence of the kit's that was never translated.
_CODE = re.compile(r"`[^`\n]*`")
_EXCEPTION = re.compile(r"(?<![A-Za-z0-9_])[A-Z][A-Za-z0-9_]*(?:Error|Exception|Warning|Interrupt|Exit)(?![A-Za-z0-9_])"
                        r"(?:[:：].*)?")
_RUN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ ,;:-]+[A-Za-z][A-Za-z'’]*){2,}")


def english_runs(text: str) -> list[str]:
    """English sentences in Chinese ``text``: runs of at least three lowercase words outside code and exceptions."""
    found = []
    for line in text.replace("\\", "").splitlines():
        line = _EXCEPTION.sub(" ", _CODE.sub(" ", line))
        found += [m[0] for m in _RUN.finditer(line)
                  if sum(w.islower() and len(w) > 1 for w in re.findall(r"[A-Za-z']+", m[0])) >= 3]
    return found


def test_english_runs_finds_the_kits_sentences_and_spares_code_and_exceptions():
    assert english_runs("build_rgnet()抛出了TypeError：the value is 'NoneType', not an nn.Module") == []  # theirs
    assert english_runs("build_rgnet()：the value is None, not an nn.Module") == ["the value is None, not an nn"]
    assert english_runs("param_shapes必须返回`dict`，而不是NoneType；用`named_parameters()`") == []


@pytest.fixture(scope="session")
def graded_zh(tmp_path_factory):
    """Every bundled mistake composed onto the solved Chinese notebook (``<a>.zh.ipynb``), and the untouched
    Chinese notebook, graded once per assignment through the CLI (``--lang auto``: the notebook says zh)."""
    cache = {}

    def get(assignment: str):
        if assignment not in cache:
            base = tmp_path_factory.mktemp(f"{assignment}-zh")
            compose_folder(assignment, SUBMISSIONS / assignment, base / "in", lang="zh")
            shutil.copy(ROOT / "assignments" / assignment / f"{assignment}.zh.ipynb", base / "in" / "untouched.ipynb")
            run = grade_cli(assignment, [base / "in"], base / "out", "--jobs", "2")
            assert run.returncode == 0, run.stderr
            cache[assignment] = (load_gradebook(base / "out"), base / "out")
        return cache[assignment]
    return get


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_zh_submissions_score_as_english_with_chinese_hints(graded, graded_zh, assignment):
    """The same mistakes made in the Chinese notebook fail exactly the same rules (so get EXPECTED.json's
    scores), and every hint, check name and note the student reads is Chinese."""
    book, out = graded(assignment)
    book_zh, out_zh = graded_zh(assignment)
    expected = _expected(assignment)
    assert set(book_zh) == set(book)
    for name in ["reference", *expected]:
        en = json.loads((out / f"{name}.ipynb" / "results.json").read_text())
        zh = json.loads((out_zh / f"{name}.ipynb" / "results.json").read_text())
        assert zh["extra_data"]["lang"] == "zh" and en["extra_data"]["lang"] == "en"
        assert _outcomes(zh) == _outcomes(en), f"{name}: the Chinese notebook is graded differently"
        row = book_zh[f"{name}.ipynb"]
        scores = expected.get(name, {}).get("scores", {})
        for q, got in row["questions"].items():
            assert got["score"] == scores.get(q, got["max_score"]), f"{name}: {q} scored {got['score']}"
        assert not row["grader_errors"], f"{name}: the graders failed on it: {row['grader_errors']}"
        for t in zh["tests"]:
            assert HAN.search(t["name"]), f"{name}: check name not translated: {t['name']}"
            if t["status"] == "failed":
                assert HAN.search(t["output"]), f"{name}: hint not translated: {t['output']}"
        for message in [*zh["extra_data"]["errors"], *zh["extra_data"]["notes"]]:
            assert HAN.search(message), f"{name}: message not translated: {message}"
        for page in ("feedback.md", "feedback.html"):
            text = (out_zh / f"{name}.ipynb" / page).read_text(encoding="utf-8")
            if page.endswith(".html"):
                text = re.sub(r"<style.*?</style>|<[^>]+>", "\n", text, flags=re.S)
            assert not english_runs(text), f"{name}: English in the Chinese {page}: {english_runs(text)}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_zh_notebook_scores_zero_with_chinese_feedback(graded_zh, assignment):
    """The Chinese notebook as handed out scores 0, and its feedback is Chinese: hints, check names, headings."""
    book, out = graded_zh(assignment)
    row = book["untouched.ipynb"]
    assert row["total"] == 0 and not row["grader_errors"], row
    results = json.loads((out / "untouched.ipynb" / "results.json").read_text())
    hints = [t["output"] for t in results["tests"] if t["status"] == "failed"]
    assert hints and all(HAN.search(h) for h in hints), [h for h in hints if not HAN.search(h)][:5]
    words = max(re.findall(r"[\u4e00-\u9fff]+", hints[0]), key=len)  # Chinese of the first hint, no markup
    for page in ("feedback.md", "feedback.html"):
        text = (out / "untouched.ipynb" / page).read_text(encoding="utf-8")
        assert words in text and "评分过程" in text, f"{page} is not in Chinese"
        if page.endswith(".html"):
            text = re.sub(r"<style.*?</style>|<[^>]+>", "\n", text, flags=re.S)
        assert not english_runs(text), f"English in the blank notebook's Chinese {page}: {english_runs(text)}"
        assert "not an nn.Module" not in text and "raised" not in text
