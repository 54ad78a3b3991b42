"""Free-response questions, graded by hand: the rubric, every student's answer, and the points back.

Each assignment has one question that otter marks ``manual: true`` in its master notebook
(``solutions/NAME.ipynb`` and the Chinese ``NAME.zh.ipynb``): ``rand_weight_role`` (access),
``other_initializer`` (init), ``why_share`` (tied). After grading, ``python -m autograder grade``
writes into ``--out``:

- ``manual.html``: for each question, its prompt and rubric from the master notebook, then every
  submission's answer (Markdown rendered with raw HTML and images disabled, so nothing a student
  wrote becomes markup or loads anything), each with a points and a comment field, and a "Download
  manual.csv" button that saves what was typed in as the manual.csv below (its one script, allowed by
  its hash in the page's Content-Security-Policy);
- ``manual.csv``: a line per submission and question, with empty ``points`` and ``comment``
  columns to fill in (a spreadsheet), or to replace with the page's download;
- ``manual.json``: the answers as read, so that the page can be rebuilt.

``python -m autograder merge-manual OUT manual.csv`` folds the points into ``gradebook.csv``/
``.json``, ``canvas.csv`` and each student's feedback (``merge``).

The answers are read here, in the trusted process, from the notebook's JSON: nothing of a
submission is run or unpickled (a zip's notebook is read with the loader's size caps). A ``.py``
submission has no Markdown: its answer is reported missing.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import outdir, paths

if TYPE_CHECKING:
    from .api import Submitted

# Free-response questions and their points, as the master notebooks' ``# BEGIN QUESTION`` cells say
# (tests/test_manual.py checks that they agree); known without the masters, e.g. where the kit is installed.
QUESTIONS: dict[str, list[tuple[str, float]]] = {
    "access": [("rand_weight_role", 2.0)],
    "init": [("other_initializer", 2.0)],
    "tied": [("why_share", 2.0)],
}
PLACEHOLDERS = ("_Type your answer here, replacing this text._", "_请在这里写下你的答案，替换掉这段文字。_")
MAX_ANSWER = 64 * 1024  # characters of an answer shown and kept (a pasted essay fits; a pasted dataset does not)
CSV_COLUMNS = ["submission", "question", "points", "max_points", "comment"]  # and "submitters" second, unless blind


@dataclass(frozen=True)
class Question:
    """A free-response question of a master notebook: its prompt and rubric (Markdown)."""

    name: str
    points: float
    prompt: str
    rubric: str
    prompt_id: str | None = None  # the prompt cell's id, kept by otter assign in the student notebook


def questions(assignment: str) -> list[tuple[str, float]]:
    """(name, points) of the assignment's free-response questions."""
    return list(QUESTIONS.get(assignment, []))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(s for s in src if isinstance(s, str)) if isinstance(src, list) else str(src or "")


def _config(text: str) -> dict:
    import yaml

    try:
        data = yaml.safe_load(text.split("\n", 1)[1] if "\n" in text else "")
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def master_questions(assignment: str, lang: str = "en", solutions: Path | None = None) -> list[Question]:
    """The free-response questions of ``solutions/NAME[.zh].ipynb`` (default: the checkout's): prompt,
    rubric (the solution cells between ``# BEGIN SOLUTION`` and ``# END SOLUTION``) and points. [] without
    the master, as where the kit is installed without its repository."""
    if solutions is None:
        try:
            solutions = paths.checkout().solutions
        except paths.NotACheckout:
            return []
    path = solutions / (f"{assignment}.ipynb" if lang == "en" else f"{assignment}.{lang}.ipynb")
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return []
    out: list[Question] = []
    current: dict | None = None
    in_solution = False
    for cell in cells:
        text = _source(cell).strip()
        if cell.get("cell_type") == "raw" and text.startswith("# BEGIN QUESTION"):
            cfg = _config(text)
            current = {"cfg": cfg, "prompt": [], "rubric": [], "id": None} if cfg.get("manual") else None
            continue
        if current is None:
            continue
        if cell.get("cell_type") == "raw" and text.startswith("# BEGIN SOLUTION"):
            in_solution = True
        elif cell.get("cell_type") == "raw" and text.startswith("# END SOLUTION"):
            in_solution = False
        elif cell.get("cell_type") == "raw" and text.startswith("# END QUESTION"):
            cfg = current["cfg"]
            out.append(Question(str(cfg.get("name")), float(cfg.get("points", 0)), "\n\n".join(current["prompt"]),
                                "\n\n".join(current["rubric"]), current["id"]))
            current = None
        elif cell.get("cell_type") == "markdown":
            (current["rubric"] if in_solution else current["prompt"]).append(text)
            if not in_solution and current["id"] is None:
                current["id"] = cell.get("id")
    return out


# ------------------------------------------------------------------ answers


def _notebook_json(path: Path) -> dict | None:
    """A submission's notebook as JSON, read with the loader's caps (a zip's one notebook); None for
    anything else. Never runs or unpickles anything."""
    from .engine import loader

    try:
        if path.stat().st_size > loader.MAX_BYTES:
            return None
        raw = path.read_bytes()
        if path.suffix.lower() == ".zip":
            _, raw = loader._zip_notebook(raw)
        elif path.suffix.lower() != ".ipynb":
            return None
        data = loader._parse_json(raw)
    except (OSError, loader.LoadError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("cells"), list) else None


def notebook_lang(nb: dict | None) -> str:
    """The edition a notebook says it is (``metadata.autograder.lang``), ``en`` when it says nothing."""
    meta = nb.get("metadata") if isinstance(nb, dict) else None
    ag = meta.get("autograder") if isinstance(meta, dict) else None
    lang = ag.get("lang") if isinstance(ag, dict) else None
    return lang if isinstance(lang, str) and lang in ("en", "zh") else "en"


def prompt_ids(assignment: str) -> dict[str, set[str]]:
    """{question: the ids of its prompt cell in the masters of both editions}."""
    ids: dict[str, set[str]] = {}
    for lang in ("en", "zh"):
        for q in master_questions(assignment, lang):
            if q.prompt_id:
                ids.setdefault(q.name, set()).add(q.prompt_id)
    return ids


def extract_answers(nb: dict | None, assignment: str,
                    ids: dict[str, set[str]] | None = None) -> dict[str, str | None]:
    """{question: the student's answer (Markdown; code cells fenced), "" when left as it came, None
    when the question's cells are not in the notebook}. A question's cells are found by its prompt
    cell's id (kept by otter assign; ``ids`` is ``prompt_ids(assignment)``, read here when not given),
    else by the order of otter's ``<!-- BEGIN QUESTION -->`` markers; the answer is every cell after
    the prompt up to the one that starts ``<!-- END QUESTION -->``."""
    names = [q for q, _ in questions(assignment)]
    if nb is None:
        return {q: None for q in names}
    cells = [c for c in nb["cells"] if isinstance(c, dict)]
    if ids is None:
        ids = prompt_ids(assignment)
    starts = [i for i, c in enumerate(cells) if _source(c).lstrip().startswith("<!-- BEGIN QUESTION -->")]
    out: dict[str, str | None] = {}
    for k, name in enumerate(names):
        at = next((i for i, c in enumerate(cells) if c.get("id") in ids.get(name, ())), None)
        if at is None and k < len(starts):
            at = starts[k]
        if at is None:
            out[name] = None
            continue
        parts = []
        for cell in cells[at + 1:]:
            text = _source(cell)
            if text.lstrip().startswith(("<!-- END QUESTION -->", "<!-- BEGIN QUESTION -->")):
                break
            if cell.get("cell_type") == "code":
                text = f"```python\n{text.strip()}\n```" if text.strip() else ""
            if text.strip() and text.strip() not in PLACEHOLDERS:
                parts.append(text.strip())
        out[name] = "\n\n".join(parts)[:MAX_ANSWER]
    return out


def collect(assignment: str, subs: list[Submitted]) -> dict[str, dict]:
    """{submission name: {"lang": edition, "answers": {question: answer or None}}} for every submission."""
    found = {}
    ids = prompt_ids(assignment)  # the masters read once, not once per submission
    for sub in subs:
        nb = _notebook_json(sub.path) if sub.path is not None else None
        found[sub.name] = {"lang": notebook_lang(nb), "answers": extract_answers(nb, assignment, ids)}
    return found


# ------------------------------------------------------------------ writing and merging


def render_markdown(text: str) -> str:
    """A student's (or a rubric's) Markdown as HTML that cannot carry markup of its own: raw HTML is
    shown as text, images are not loaded, only http(s) and mailto links are kept."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable(["image", "html_inline", "html_block"])

    def validate(url: str) -> bool:
        return url.strip().lower().startswith(("http://", "https://", "mailto:", "#"))

    md.validateLink = validate  # type: ignore[method-assign]  # markdown-it-py's hook for allowed links
    return md.render(text)


def page_questions(assignment: str, answers: dict[str, dict], lang: str = "en", solutions: Path | None = None,
                   submitters: dict[str, str] | None = None) -> list[dict]:
    """The free-response page's data, for ``reports.write_manual_page``: per question its ``name``,
    ``points``, and its ``prompt`` and ``rubric`` from the master notebook of ``lang``'s edition
    (English where that edition is missing; "" without the masters), then its ``answers``, one per
    submission of ``answers`` (``collect``'s): ``{"submission", "lang", "who", "html"}``, ``html``
    None when the question's cells are missing. Every Markdown is HTML from ``render_markdown``."""
    masters = {q.name: q for q in master_questions(assignment, lang, solutions)} or \
        {q.name: q for q in master_questions(assignment, "en", solutions)}
    qs = []
    for name, points in questions(assignment):
        m = masters.get(name)
        items = []
        for sub, info in answers.items():
            text = (info.get("answers") or {}).get(name)
            items.append({"submission": sub, "lang": info.get("lang", "en"), "who": (submitters or {}).get(sub, ""),
                          "html": None if text is None else render_markdown(text) if text else ""})
        qs.append({"name": name, "points": points, "prompt": render_markdown(m.prompt) if m else "",
                   "rubric": render_markdown(m.rubric) if m else "", "answers": items})
    return qs


def write(out: Path, assignment: str, answers: dict[str, dict], lang: str = "en",
          solutions: Path | None = None, submitters: dict[str, str] | None = None) -> None:
    """``manual.json``, ``manual.csv`` and ``manual.html`` for the submissions' answers. ``submitters``
    names each submission's students ({submission: "Ada Lovelace; Alan Turing"}): a ``submitters`` column
    of manual.csv and a name beside each answer of manual.html; None (``grade --blind``) leaves them out,
    for anonymous grading."""
    qs = questions(assignment)
    if not qs:
        return
    outdir.write(out, "manual.json", json.dumps({"assignment": assignment, "submissions": answers},
                                                indent=1, ensure_ascii=False) + "\n")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    named = submitters is not None
    writer.writerow([CSV_COLUMNS[0], *(["submitters"] if named else []), *CSV_COLUMNS[1:]])
    from .engine.results import neutralize

    for name in answers:
        who = [neutralize((submitters or {}).get(name, ""))] if named else []
        for q, points in qs:
            writer.writerow([neutralize(name), *who, q, "", f"{points:g}", ""])
    outdir.write(out, "manual.csv", buf.getvalue())
    from .reports import write_manual_page

    write_manual_page(out, assignment, page_questions(assignment, answers, lang, solutions, submitters), lang=lang,
                      named=named)


class MergeError(ValueError):
    """manual.csv cannot be merged; the message says which line and why, in one line."""


def _unquoted(cell: str) -> str:
    """A cell as it was before the CSV writer's (or manual.html's) ``neutralize``: its leading ``'`` dropped
    where a formula start follows."""
    from .engine.results import FORMULA_START

    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def read_points(path: Path, assignment: str, names: list[str]) -> dict[str, dict[str, dict]]:
    """{submission: {question: {"score": float, "comment": str}}} from a filled-in manual.csv.
    Empty points are skipped (not graded yet); anything else wrong is a ``MergeError``."""
    maxima = dict(questions(assignment))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MergeError(f"{path}: {exc.strerror or exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("submission", "question", "points") if c not in (reader.fieldnames or [])]
    if missing:
        raise MergeError(f"{path}: no {', '.join(missing)} column (expected {', '.join(CSV_COLUMNS)})")
    known = set(names)
    out: dict[str, dict[str, dict]] = {}
    for line, row in enumerate(reader, start=2):
        name = _unquoted((row.get("submission") or "").strip())
        q = (row.get("question") or "").strip()
        raw = (row.get("points") or "").strip()
        if not raw:
            continue
        if name not in known:
            raise MergeError(f"{path}:{line}: no submission named {name!r} in the gradebook")
        if q not in maxima:
            raise MergeError(f"{path}:{line}: {q!r} is not a free-response question of {assignment} "
                             f"({', '.join(maxima)})")
        try:
            score = float(raw)
        except ValueError:
            raise MergeError(f"{path}:{line}: points {raw!r} is not a number") from None
        if not 0 <= score <= maxima[q]:
            raise MergeError(f"{path}:{line}: points {score:g} outside 0..{maxima[q]:g} for {q}")
        out.setdefault(name, {})[q] = {"score": score, "comment": _unquoted((row.get("comment") or "").strip())}
    return out


def merge(out: Path, csv_path: Path, after_due_date: bool = False, lang: str | None = None) -> tuple[int, int]:
    """Fold a filled-in manual.csv into ``out``'s gradebook (CSV, JSON, Canvas) and feedback; the class
    pages in ``lang``, by default the language ``grade`` wrote them in (gradebook.json's ``summary_lang``).
    Returns (points merged, submission-questions still empty). ``MergeError`` before writing anything."""
    from .engine.results import Run, write_gradebook
    from .reports import write_reports

    try:
        book = json.loads(outdir.read_text(out, "gradebook.json"))
    except (OSError, ValueError) as exc:
        raise MergeError(f"{out}: no readable gradebook.json ({exc})") from None
    assignment = str(book.get("assignment", ""))
    rows: list[dict] = book.get("submissions", [])
    points = read_points(csv_path, assignment, [r["submission"] for r in rows])
    merged = 0
    for row in rows:
        for q, value in points.get(row["submission"], {}).items():
            row.setdefault("manual", {})[q] = {"score": value["score"], **({"comment": value["comment"]}
                                                                          if value["comment"] else {})}
            merged += 1
    run = Run(isolation=str(book.get("isolation", "")), insecure=bool(book.get("insecure", False)),
              time_budget=book.get("time_budget"))
    questions_ = book.get("questions") or list(dict.fromkeys(q for r in rows for q in r.get("questions", {})))
    lang = lang or book.get("summary_lang") or None
    write_gradebook(assignment, rows, out, questions_, run, manual=questions(assignment), summary_lang=lang)
    write_reports(out, summary=True, lang=lang, after_due_date=after_due_date)
    empty = sum(1 for r in rows for m in (r.get("manual") or {}).values() if m.get("score") is None)
    return merged, empty
