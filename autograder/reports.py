"""Reports people would rather read than JSON: student feedback per submission, and an instructor summary.

Flow is one way, results -> reports: everything here is read back from what
``engine.results`` wrote (``<out>/gradebook.json`` and ``<out>/<submission>/results.json``),
so reports can be rebuilt at any time without grading again, and this module
never imports the engine (nor torch). matplotlib is imported only when a
summary is drawn.

Every string that came out of a submission (hints quote exception messages,
file names are the student's) is untrusted: the HTML pages are Jinja2 templates
(``autograder/templates/``) with autoescaping on, so every interpolated value is
escaped; Markdown gets its markup characters backslash-escaped. The pages carry
no script and load nothing (a Content-Security-Policy says so too); the summary's
tables sort with radio buttons and CSS alone.

Strings are marked for translation (Jinja2's ``i18n`` extension with the catalogs of
``autograder.i18n``); every writer takes ``lang`` (``"en"`` or ``"zh"``).

Visibility follows Gradescope's: a check marked ``hidden`` is never listed in a
student's feedback, only counted; one marked ``after_due_date`` (or ``after_published``)
is counted the same way in what ``grade`` writes for students, until the feedback is
rebuilt with ``after_due_date=True`` (``python -m autograder reports OUT --after-due-date``),
which lists it with its hint (the writers' default: the instructor's full copy).
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import html
import io
import json
import re
import statistics
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from markupsafe import Markup

from . import i18n, outdir
from .i18n import N_

if TYPE_CHECKING:
    import gettext

    import jinja2
    from matplotlib.figure import Figure

__all__ = ["write_feedback", "write_summary", "write_reports", "write_manual_page", "normalize_hint", "environment"]
HTML_LANG = {"zh": "zh-CN"}  # <html lang>: the catalog's language as BCP 47 (simplified Chinese, as d2l-zh)
LATER = ("after_due_date", "after_published")  # Gradescope's visibilities shown once the due date has passed
# Gradescope's visibilities and a gradebook row's statuses (``results.status``) are keys: shown, they are words
# of the page's language.
VISIBILITIES = {"visible": N_("visible"), "hidden": N_("hidden"), "after_due_date": N_("after due date"),
                "after_published": N_("after published")}
STATUSES = {"graded": N_("graded"), "not graded": N_("not graded"), "timed out": N_("timed out"),
            "grader error": N_("grader error")}


@lru_cache(maxsize=None)
def environment(lang: str = "en") -> jinja2.Environment:
    """The Jinja2 environment of the report templates (``autograder/templates/``), autoescaping
    everything, with the ``i18n`` extension and ``lang``'s catalog installed (``_``, ``ngettext``)."""
    import jinja2

    from . import i18n

    env = jinja2.Environment(loader=jinja2.PackageLoader("autograder", "templates"),
                             autoescape=True, extensions=["jinja2.ext.i18n"],
                             trim_blocks=False, lstrip_blocks=False, undefined=jinja2.StrictUndefined)
    env.install_gettext_translations(  # type: ignore[attr-defined]  # the jinja2.ext.i18n extension adds it
        i18n.translations(lang), newstyle=True)
    env.globals.update(num=_num, img=_img, html_lang=HTML_LANG.get(lang, lang))
    env.filters["wbr"] = _wbr
    return env


def _wbr(text: object) -> Markup:
    """``text`` escaped, with a line-break opportunity after each "_": a table header wraps an identifier
    (``count_parameters``) between its words, never inside one (the CSS keeps headers from breaking words)."""
    return Markup("_<wbr>").join(str(text).split("_"))


def _gettext(lang: str) -> gettext.NullTranslations:
    from . import i18n

    return i18n.translations(lang)


def _img(data: bytes, alt: str) -> Markup:
    return Markup('<img alt="{}" src="data:image/png;base64,{}">').format(alt, base64.b64encode(data).decode())

PASS, FAIL, ERROR = "\u2713", "\u2717", "?"  # ✓ ✗ ?


@dataclass(frozen=True)
class _Check:
    question: str
    title: str
    score: float
    max_score: float
    passed: bool
    hint: str
    visibility: str
    outcome: str = ""  # "passed", "failed" or "error" (the grader failed: the student keeps the points)
    rule: str = ""  # the grader test's name (``extra_data.rule``), else the title
    check: str = ""  # the check name's msgid (``extra_data.check``): the summary says it in its own language
    source: Any = None  # how the hint was made (``extra_data.hint_source``, an ``i18n.Text``'s), for ``i18n.say``

    @property
    def error(self) -> bool:
        return self.outcome == "error"


def _checks(results: dict) -> list[_Check]:
    """The tests of a results.json as checks, tolerant of fields Gradescope treats as optional."""
    out = []
    for t in results.get("tests", []):
        name = str(t.get("name", ""))
        tags = t.get("tags") or []
        question = str(tags[0]) if tags else name.split(": ", 1)[0]
        title = name[len(question) + 2:] if name.startswith(f"{question}: ") else name
        score, max_score = float(t.get("score") or 0.0), float(t.get("max_score") or 0.0)
        passed = t.get("status", "passed" if score >= max_score else "failed") == "passed"
        extra = t.get("extra_data") if isinstance(t.get("extra_data"), dict) else {}
        outcome = str(extra.get("outcome") or ("passed" if passed else "failed"))
        out.append(_Check(question, title, score, max_score, passed and outcome != "error",
                          str(t.get("output") or ""), str(t.get("visibility", "visible")), outcome,
                          str(extra.get("rule") or title), str(extra.get("check") or ""), extra.get("hint_source")))
    return out


def _by_question(checks: list[_Check]) -> dict[str, list[_Check]]:
    groups: dict[str, list[_Check]] = {}
    for c in checks:
        groups.setdefault(c.question, []).append(c)
    return groups


def _num(x: float) -> str:
    return f"{round(x, 2):g}"


def _budget(results: dict) -> float | None:
    """The submission's time budget in seconds, as results.py records it in ``extra_data``."""
    extra = results.get("extra_data")
    value = extra.get("time_budget") if isinstance(extra, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _messages(results: dict) -> tuple[list[str], list[str]]:
    """Submission-level (errors, notes): from ``extra_data`` when results.py wrote it, else every line of
    ``output`` is an error (``"Graded."`` is what results.py writes when there were none)."""
    extra = results.get("extra_data")
    if isinstance(extra, dict) and isinstance(extra.get("errors"), list):
        return [str(m) for m in extra["errors"]], [str(m) for m in extra.get("notes") or []]
    text = str(results.get("output") or "").strip()
    return ([] if text in ("", "Graded.") else [line for line in text.splitlines() if line.strip()]), []


def _write(path: Path, data: str | bytes, root: Path | None = None) -> None:
    # Atomic like results.py: a reader (a web server, a browser refresh) never sees half a report.
    # Mode 0600, and no symlink below ``root`` (default: the file's folder) is followed.
    root = path.parent if root is None else root
    outdir.write(root, path.relative_to(root), data)


def _read_json(path: Path, root: Path | None = None) -> dict | None:
    """A JSON file read without following a symlink below ``root`` (default: its folder); None if unusable."""
    root = path.parent if root is None else root
    try:
        return json.loads(outdir.read_text(root, path.relative_to(root)))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- feedback

# Only what can start markup, so the raw file stays readable: intraword "_" (count_parameters),
# a ">" mid-line and a lone "&" are inert in CommonMark.
_MD_INLINE = re.compile(r"[\\`*\[\]<~]|(?<![^\W_])_|_(?![^\W_])|&(?=#?\w+;)")
_MD_LEAD = re.compile(r"^(\s*)([#>+=-])|^(\s*\d+)([.)])")  # headings, quotes, lists: the text follows "- "


def _md(text: str) -> str:
    """Plain text safe in Markdown: markup escaped, so ``<script>`` stays text in any renderer."""
    text = _MD_INLINE.sub(lambda m: "\\" + m[0], text)
    return _MD_LEAD.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"{m[3]}\\{m[4]}", text)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _status(score: float, max_score: float) -> str:
    """CSS class for a score: full, partial or none."""
    if max_score <= 0 or score >= max_score - 1e-9:
        return "full"
    return "partial" if score > 0 else "none"


def _plural(lang: str, one: str, many: str, n: float, **kw: Any) -> str:
    t = _gettext(lang)
    return t.ngettext(one, many, int(n) if float(n).is_integer() else 2) % {"num": n, **kw}


def _points(lang: str, pts: float) -> str:
    return _plural(lang, "%(pts)s point", "%(pts)s points", pts, pts=_num(pts))


def _withheld(lang: str, hidden: list[_Check], later: list[_Check]) -> tuple[str, str]:
    """The notes that count the checks a student does not see: (until the due date, hidden)."""
    later_text = hidden_text = ""
    if later:
        later_text = _plural(
            lang, "%(num)d check hidden until after due date (%(points)s), counted in the score above.",
            "%(num)d checks hidden until after due date (%(points)s), counted in the score above.",
            len(later), points=_points(lang, sum(c.max_score for c in later)))
    if hidden:
        hidden_text = _plural(lang, "%(num)d hidden check (%(points)s), counted in the score above.",
                              "%(num)d hidden checks (%(points)s), counted in the score above.",
                              len(hidden), points=_points(lang, sum(c.max_score for c in hidden)))
    return later_text, hidden_text


def _split(checks: list[_Check], after_due_date: bool) -> tuple[list[_Check], list[_Check], list[_Check]]:
    """(listed, counted until the due date, hidden) checks of a question, as a student may see them."""
    shown = [c for c in checks if c.visibility == "visible" or (after_due_date and c.visibility in LATER)]
    later = [c for c in checks if c.visibility in LATER and not after_due_date]
    hidden = [c for c in checks if c not in shown and c not in later]
    return shown, later, hidden


def _manual_items(manual: dict | None) -> list[dict]:
    """The free-response questions of a gradebook row, for the feedback."""
    items = []
    for name, m in (manual or {}).items():
        score = m.get("score")
        items.append({"name": name, "score": score, "max_score": float(m.get("max_score") or 0.0),
                      "comment": str(m.get("comment") or ""),
                      "status": "pending" if score is None else _status(float(score), float(m.get("max_score") or 0))})
    return items


def _score_lines(lang: str, total: float, max_total: float, manual: Sequence[dict]) -> dict[str, Any]:
    """What the feedback says of the score, as the gradebook counts it: with free-response questions,
    the autograded points, the free-response points (pending until merged) and the total out of the
    whole (autograded plus free-response points); without them, the autograded total alone.
    ``lines`` (each a sentence) and, for the page's big figure, ``total``, ``whole`` and ``pct``."""
    _ = _gettext(lang).gettext
    if not manual:
        return {"lines": [_("Total: %(total)s / %(max)s points") % {"total": _num(total), "max": _num(max_total)}],
                "total": total, "whole": max_total, "pending": False,
                "pct": 100 * total / max_total if max_total else 0.0}
    free_max = sum(float(m["max_score"]) for m in manual)
    free = sum(float(m["score"]) for m in manual if m["score"] is not None)
    pending = any(m["score"] is None for m in manual)
    whole, grand = max_total + free_max, total + free
    lines = [_("Autograded: %(total)s / %(max)s points") % {"total": _num(total), "max": _num(max_total)}]
    if all(m["score"] is None for m in manual):
        lines.append(_("Free response: pending, graded by hand (%(max)s points)") % {"max": _num(free_max)})
    elif pending:
        lines.append(_("Free response: %(score)s / %(max)s points so far, the rest pending")
                     % {"score": _num(free), "max": _num(free_max)})
    else:
        lines.append(_("Free response: %(score)s / %(max)s points") % {"score": _num(free), "max": _num(free_max)})
    lines.append((_("Total so far: %(total)s / %(max)s points (free response pending)") if pending
                  else _("Total: %(total)s / %(max)s points")) % {"total": _num(grand), "max": _num(whole)})
    return {"lines": lines, "total": grand, "whole": whole, "pending": pending,
            "pct": 100 * grand / whole if whole else 0.0}


def _feedback_md(assignment: str, submission: str, total: float, max_total: float,
                 groups: dict[str, list[_Check]], messages: list[str], notes: Sequence[str] = (),
                 budget: float | None = None, manual: Sequence[dict] = (), after_due_date: bool = False,
                 lang: str = "en") -> str:
    _ = _gettext(lang).gettext
    # _() outside the f-strings: Babel extracts no call inside an f-string's braces
    title = _("Feedback: %(assignment)s") % {"assignment": assignment}
    said = _("Submission: %(submission)s") % {"submission": _md(submission)}  # no space after "提交："
    score = _score_lines(lang, total, max_total, manual)["lines"]
    happened = _("What happened")
    lines = [f"# {_md(title)}", "", said, "", *(f"**{_md(x)}**  " for x in score[:-1]),
             f"**{_md(score[-1])}**", "", f"## {happened}", ""]
    lines += [f"- {_md(m)}" for m in messages] or [_("Your code ran without errors.")]
    if notes:
        lines += ["", *("- " + _("Note: %(note)s") % {"note": _md(m)} for m in notes)]
    for question, checks in groups.items():
        score, max_score = sum(c.score for c in checks), sum(c.max_score for c in checks)
        lines += ["", f"## {_md(question)}: {_num(score)} / {_num(max_score)}", ""]
        seen = set(messages)
        shown, later, hidden = _split(checks, after_due_date)
        for c in shown:
            tag = f" _({_md(_(VISIBILITIES.get(c.visibility, c.visibility)))})_" if c.visibility != "visible" else ""
            lines.append(f"- {PASS if c.passed else ERROR if c.error else FAIL} {_md(c.title)}{tag}")
            if c.error:
                lines.append(f"  > {_md(c.hint)}")
            elif not c.passed and c.hint:
                hint = _("see above") if c.hint in seen else c.hint
                seen.add(c.hint)
                # Indented and each line quoted, so a multi-line hint stays inside its list item.
                lines += [f"  > {_md(line)}" if line.strip() else "  >" for line in hint.splitlines()]
        for text in _withheld(lang, hidden, later):
            if text:
                lines.append(f"- {_md(text)}")
    for m in manual:
        pts = "–" if m["score"] is None else _num(m["score"])
        lines += ["", f"## {_md(m['name'])}: {pts} / {_num(m['max_score'])}", "",
                  _("Free response, graded by hand: not graded yet.") if m["score"] is None
                  else _("Free response, graded by hand.")]
        if m["comment"]:
            lines += [f"> {_md(line)}" if line.strip() else ">" for line in m["comment"].splitlines()]
    if budget is not None:
        lines += ["", "_" + _("Time budget for this submission: %(budget)s s, its cells and checks together.")
                  % {"budget": _num(budget)} + "_"]
    return "\n".join(lines) + "\n"


def _feedback_html(assignment: str, submission: str, total: float, max_total: float,
                   groups: dict[str, list[_Check]], messages: list[str], seconds: float | None,
                   notes: Sequence[str] = (), budget: float | None = None, manual: Sequence[dict] = (),
                   after_due_date: bool = False, lang: str = "en") -> str:
    _ = _gettext(lang).gettext
    questions = []
    for question, checks in groups.items():
        score, max_score = sum(c.score for c in checks), sum(c.max_score for c in checks)
        shown, later, hidden = _split(checks, after_due_date)
        items, seen = [], set(messages)  # a hint that repeats a message above ("not graded: …") says so
        for c in shown:
            item = {"title": c.title, "tag": _(VISIBILITIES.get(c.visibility, c.visibility))
                    if c.visibility != "visible" else "",
                    "failed": not c.passed and not c.error, "hint": "", "same": False,
                    "mark": PASS if c.passed else ERROR if c.error else FAIL,
                    "label": _("passed") if c.passed else _("could not be checked") if c.error else _("failed")}
            if c.error:
                item["hint"] = c.hint
            elif not c.passed:
                # Several checks often fail for one reason (or "not graded"): say it once per question.
                item["same"] = c.hint in seen
                item["hint"] = c.hint
                seen.add(c.hint)
            items.append(item)
        later_text, hidden_text = _withheld(lang, hidden, later)
        questions.append({"name": question, "score": score, "max_score": max_score,
                          "status": _status(score, max_score), "shown": items,
                          "later_text": later_text, "hidden_text": hidden_text})
    took = _(" in %(seconds)s s") % {"seconds": f"{seconds:.1f}"} if seconds is not None else ""
    if budget is not None:
        took += _(" (time budget for this submission: %(budget)s s, its cells and checks together)") % {
            "budget": _num(budget)}
    grade = _score_lines(lang, total, max_total, manual)
    return environment(lang).get_template("feedback.html.j2").render(
        lang=lang, assignment=assignment, submission=submission, total=grade["total"], max_total=grade["whole"],
        pct=grade["pct"], score_lines=grade["lines"] if manual else [], pending=grade["pending"],
        messages=messages, notes=list(notes), questions=questions, manual=list(manual),
        footer=_("Graded automatically%(took)s.") % {"took": took}) + "\n"


def write_feedback(results: dict, folder: Path, assignment: str, submission: str, lang: str = "en",
                   manual: dict | None = None, after_due_date: bool = True) -> None:
    """Write ``feedback.md`` and ``feedback.html`` for one submission into ``folder``.

    ``results`` is the submission's results.json (Gradescope format). The total
    comes first, then the submission-level messages ("What happened"), then each
    question in order with its points, its checks (✓/✗ and the rule title) and
    the hints of failed checks, then the free-response questions (``manual``, the
    gradebook row's: points once merged, else "not graded yet"). Checks with
    visibility ``"hidden"`` are never listed, only counted ("N hidden checks"), their
    points included in the question's score; checks shown ``"after_due_date"``/
    ``"after_published"`` are listed with a tag and their hints (the default, ``after_due_date=True``:
    the instructor's copy, or the students' once the due date has passed), or, with
    ``after_due_date=False``, counted like hidden ones (what ``grade`` writes for students).
    """
    checks = _checks(results)
    groups = _by_question(checks)
    max_total = sum(c.max_score for c in checks)
    total = float(results.get("score", sum(c.score for c in checks)))
    messages, notes = _messages(results)
    items = _manual_items(manual)
    folder.parent.mkdir(parents=True, exist_ok=True)  # the folder itself is opened without following a link
    _write(folder / "feedback.md", _feedback_md(assignment, submission, total, max_total, groups, messages, notes,
                                                _budget(results), items, after_due_date, lang),
           folder.parent)
    _write(folder / "feedback.html", _feedback_html(assignment, submission, total, max_total, groups, messages,
                                                    results.get("execution_time"), notes, _budget(results), items,
                                                    after_due_date, lang),
           folder.parent)


# ---------------------------------------------------------------- summary

_QUOTED = re.compile(r"(?<!\w)'[^'\n]*'(?!\w)|\"[^\"\n]*\"")  # not an apostrophe: rgnet's … FixedHiddenMLP's
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def normalize_hint(hint: str) -> str:
    """A hint with its particulars replaced, so the same mistake groups together.

    Quoted strings become ``'…'`` and numbers ``N``: ``get_parameter(module, '0.weight')``
    and ``get_parameter(module, '4.weight')`` are one mistake seen on two names.
    """
    return " ".join(_NUMBER.sub("N", _QUOTED.sub("'…'", hint)).split())


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _charts(totals: list[float], max_total: float, rates: dict[str, float]) -> tuple[bytes, bytes]:
    """The score histogram and the per-question full-points bar chart, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a grading server; also avoids a GUI backend's import cost
    from matplotlib.figure import Figure  # a bare Figure: no pyplot global state, nothing to close
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.subplots()
    whole = max_total <= 60 and all(float(t).is_integer() for t in [*totals, max_total])
    # One bar per point when scores are whole numbers, so a bar never straddles two scores.
    bins = [x - 0.5 for x in range(int(max_total) + 2)] if whole else 20
    ax.hist(totals, bins=bins, range=None if whole else (0, max_total or 1), color="#2f81f7", edgecolor="white")
    ax.set_xlabel(f"total score (out of {_num(max_total)})")
    ax.set_ylabel("submissions")
    locator = ax.yaxis.get_major_locator()  # an AutoLocator, a MaxNLocator: ticks on whole counts only
    if isinstance(locator, MaxNLocator):
        locator.set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    if whole:
        ax.set_xlim(-0.5, max_total + 0.5)
    scores = _png(fig)

    names = list(rates)
    fig = Figure(figsize=(6.4, 0.45 * len(names) + 0.9))
    ax = fig.subplots()
    values = [100 * rates[q] for q in names]
    colors = ["#1a7f37" if v >= 80 else "#bf8700" if v >= 50 else "#cf222e" for v in values]
    bars = ax.barh(names, values, color=colors)
    ax.bar_label(bars, labels=[f"{v:.0f}%" for v in values], padding=3, fontsize=9)
    ax.invert_yaxis()  # the assignment's order, top to bottom
    ax.set_xlim(0, 112)  # room for the 100% label
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xlabel("submissions with full points on the question (%)")
    ax.spines[["top", "right"]].set_visible(False)
    return scores, _png(fig)


def _said(c: _Check, lang: str) -> str:
    """A check's hint in ``lang``: said again from how it was made (``hint_source``), else as it was written."""
    if c.source:
        try:
            return i18n.say(c.source, lang)
        except (KeyError, TypeError, ValueError):  # a results.json edited by hand: the hint as written
            pass
    return c.hint


def failure_groups(checks: Iterable[tuple[str, list[_Check]]], lang: str = "en") -> list[dict]:
    """Every failure group, most frequent first: the failed checks (each submission's, by name) grouped
    by question and ``normalize_hint`` of the hint in English, said again from its template and values
    (``i18n.say``), so the same mistake made in the English and the Chinese notebook is one group; each
    with one real example hint in ``lang``, the number of distinct hints, the rules (check titles) it
    covers, and the submissions in it (a submission counts once per group). "not graded" repeats on
    every check of a submission that never ran: those are counted apart."""
    members: dict[tuple[str, str], list[str]] = {}
    example: dict[tuple[str, str], str] = {}
    variants: dict[tuple[str, str], set[str]] = {}
    rules: dict[tuple[str, str], dict[str, None]] = {}
    for name, cs in checks:
        for c in cs:
            if not _failed(c):
                continue
            english = _said(c, i18n.DEFAULT)
            key = (c.question, normalize_hint(english) or "(no hint)")
            example.setdefault(key, _said(c, lang) or "(no hint)")
            variants.setdefault(key, set()).add(english)
            rules.setdefault(key, {})[i18n.translations(lang).gettext(c.check) if c.check else c.title] = None
            if name not in members.setdefault(key, []):
                members[key].append(name)
    ranked = sorted(members, key=lambda k: (-len(members[k]), k))
    return [{"question": k[0], "pattern": normalize_hint(example[k]), "hint": example[k], "variants": len(variants[k]),
             "rules": list(rules[k]), "students": members[k], "count": len(members[k])} for k in ranked]


def _failed(c: _Check) -> bool:
    """Whether a check belongs in a failure group (a grader error or a submission never run does not)."""
    return not (c.passed or c.error or c.hint.startswith("not graded:"))


def _ranks(items: list[dict], key: Callable[[dict], Any]) -> list[int]:
    """Each item's position when sorted by ``key`` (stable): what the CSS-only sorting orders by."""
    order = sorted(range(len(items)), key=lambda i: key(items[i]))
    rank = [0] * len(items)
    for pos, i in enumerate(order):
        rank[i] = pos
    return rank


def row_status(row: dict) -> str:
    """A gradebook row's status (``results.status``), derived for rows written before it was recorded."""
    if row.get("status"):
        return str(row["status"])
    if row.get("grader_errors"):
        return "grader error"
    return "graded"


_CELL = {"full": "ok", "partial": "mid", "none": "bad"}


def write_summary(out: Path, lang: str = "en") -> Path:
    """Write the instructor's ``out/summary.html`` (with more than one submission, its charts also as
    ``summary-*.png``) and return its path.

    Reads ``out/gradebook.json`` and each ``out/<submission>/results.json``: counts (graded, not
    graded, timed out, grader errors), mean and median total and a score histogram (over the graded
    submissions only), per-question
    full-points rates and per-rule pass rates (over the submissions that were graded), every
    failure group (sortable by count, question, rule or hint, each with its students), and the
    submissions not graded, timed out, with grader errors or with errors, linked to their
    feedback.html. The date it was written is on the page.
    """
    _ = _gettext(lang).gettext
    book = json.loads(outdir.read_text(out, "gradebook.json"))
    rows: list[dict] = book.get("submissions", [])
    assignment = str(book.get("assignment", ""))
    status = {r["submission"]: row_status(r) for r in rows}
    graded = [r for r in rows if status[r["submission"]] != "not graded"]

    questions = list(dict.fromkeys(q for r in rows for q in r.get("questions", {})))
    # mean, median, full marks and the histogram: over the graded submissions (a not-graded one is no 0: it is
    # counted apart), as every rate below
    totals = [float(r.get("total", 0.0)) for r in graded]
    max_total = max((float(r.get("max_total", 0.0)) for r in rows), default=0.0)
    stats = {q: [r["questions"][q] for r in graded if q in r.get("questions", {})] for q in questions}
    full = {q: (sum(s["score"] >= s["max_score"] - 1e-9 for s in v) / len(v) if v else 0.0) for q, v in stats.items()}
    scores_png = questions_png = None
    if len(rows) > 1:
        scores_png, questions_png = _charts(totals, max_total, full)
        _write(out / "summary-scores.png", scores_png)
        _write(out / "summary-questions.png", questions_png)

    def pct_class(rate: float) -> str:
        return "ok" if rate >= 0.8 else "mid" if rate >= 0.5 else "bad"

    qrows = []
    for q in questions:
        v = stats[q]
        points = max((float(r["questions"][q]["max_score"]) for r in rows if q in r.get("questions", {})), default=0.0)
        qrows.append({"name": q, "points": points, "mean": statistics.fmean(s["score"] for s in v) if v else 0.0,
                      "rate": f"{100 * full[q]:.0f}%" if v else "–", "cls": pct_class(full[q]) if v else ""})
    manual_q = book.get("manual_questions") or {}
    mrows = []
    for q, points in manual_q.items():
        done = [float(m["score"]) for r in rows if (m := (r.get("manual") or {}).get(q)) and m.get("score") is not None]
        mrows.append({"name": q, "points": float(points), "mean": _num(statistics.fmean(done)) if done else "–",
                      "done": f"{len(done)}/{len(rows)}"})

    # per-rule pass rates, over the graded submissions; one results.json at a time, keeping only its
    # failed checks for the failure groups: the parent's memory stays flat with the class's size
    per_rule: dict[tuple[str, str], dict] = {}
    failed: list[tuple[str, list[_Check]]] = []
    for r in graded:
        checks = _checks(_read_json(out / r["submission"] / "results.json", out) or {})
        failed.append((r["submission"], [c for c in checks if _failed(c)]))
        for c in checks:
            title = _(c.check) if c.check else c.title  # in the page's language, whichever edition was graded
            e = per_rule.setdefault((c.question, c.rule), {"question": c.question, "title": title,
                                                            "points": c.max_score, "visibility": c.visibility,
                                                            "passed": 0, "failed": 0, "errors": 0})
            e["errors" if c.error else "passed" if c.passed else "failed"] += 1
    rules = list(per_rule.values())
    for i, e in enumerate(rules):
        n = e["passed"] + e["failed"] + e["errors"]
        e["share"] = e["passed"] / n if n else 0.0
        e["rate"], e["cls"], e["index"] = f"{100 * e['share']:.0f}%", pct_class(e["share"]), i
        e["visibility"] = _(VISIBILITIES.get(e["visibility"], e["visibility"].replace("_", " ")))
    for key, rank in (("order", _ranks(rules, lambda e: e["index"])), ("rate", _ranks(rules, lambda e: e["share"])),
                      ("failed", _ranks(rules, lambda e: -e["failed"]))):
        for e, k in zip(rules, rank, strict=True):
            e.setdefault("rank", {})[key] = k

    groups = failure_groups(failed, lang)
    for key, rank in (("count", _ranks(groups, lambda g: -g["count"])),
                      ("question", _ranks(groups, lambda g: (questions.index(g["question"])
                                                             if g["question"] in questions else 99, -g["count"]))),
                      ("rule", _ranks(groups, lambda g: (g["rules"][0] if g["rules"] else "", -g["count"]))),
                      ("hint", _ranks(groups, lambda g: g["pattern"].lower()))):
        for g, k in zip(groups, rank, strict=True):
            g.setdefault("rank", {})[key] = k

    def listing(which: list[dict], messages: Callable[[dict], Any]) -> list[dict]:
        return [{"submission": r["submission"], "total": float(r.get("total", 0.0)), "messages": messages(r)}
                for r in which]

    not_graded = [r for r in rows if status[r["submission"]] == "not graded"]
    timed_out = [r for r in rows if status[r["submission"]] == "timed out"]
    broken = [r for r in rows if r.get("grader_errors")]
    errored = [r for r in graded if r.get("errors") and status[r["submission"]] not in ("timed out",)]
    apart = [
        {"id": "not-graded", "cls": "bad", "title": _("Not graded"), "rows": listing(not_graded, lambda r: r["errors"]),
         "text": _("Nothing of these submissions could be run (unreadable, nothing submitted, or their grading "
                   "process died). They are left out of every rate above.")},
        {"id": "timed-out", "cls": "mid", "title": _("Timed out"), "rows": listing(timed_out, lambda r: r["errors"]),
         "text": _("Their code hit a time limit (a cell, a question, or the submission's budget): the questions "
                   "that ran out of time lost their points.")},
        {"id": "grader-errors", "cls": "bad", "title": _("Grader errors"),
         "rows": listing(broken, lambda r: r["grader_errors"]),
         "text": _("These checks could not be run because a grader failed (not the student's code). The students "
                   "kept their points; fix the grader and regrade.")},
        {"id": "errors", "cls": "", "title": _("Submissions with errors"),
         "rows": listing(errored, lambda r: r["errors"]),
         "text": _("Graded, with errors in their cells (the feedback names each cell).")},
    ]
    n = len(rows)
    mean = statistics.fmean(totals) if totals else 0.0
    median = statistics.median(totals) if totals else 0.0
    stat_cards = [(n, _("submissions"), ""), (_num(mean), _("mean / %(max)s") % {"max": _num(max_total)}, ""),
                  (_num(median), _("median / %(max)s") % {"max": _num(max_total)}, ""),
                  (sum(t >= max_total - 1e-9 for t in totals), _("full marks"), ""),
                  (len(graded), _("graded"), ""), (len(not_graded), _("not graded"), "bad" if not_graded else ""),
                  (len(timed_out), _("timed out"), "mid" if timed_out else ""),
                  (len(broken), _("with grader errors"), "bad" if broken else ""),
                  (len(errored), _("with errors"), "")]
    all_rows = []
    for r in rows:
        cells = [{"text": _num(s["score"]), "cls": _CELL[_status(s["score"], s["max_score"])]}
                 if (s := r.get("questions", {}).get(q)) else {"text": "", "cls": ""} for q in questions]
        cells += [{"text": "" if (m := (r.get("manual") or {}).get(q, {})).get("score") is None
                   else _num(m["score"]), "cls": ""} for q in manual_q]
        who = ", ".join(p.get("name") or p.get("sid") or "" for p in r.get("submitters") or [] if isinstance(p, dict))
        all_rows.append({"submission": r["submission"], "cells": cells, "total": float(r.get("total", 0.0)),
                         "status": _(STATUSES.get(status[r["submission"]], status[r["submission"]])), "who": who})
    now = datetime.datetime.now().astimezone()
    page = environment(lang).get_template("summary.html.j2").render(
        lang=lang, assignment=assignment, date=now.strftime("%Y-%m-%d %H:%M %Z").strip(), source=str(out),
        stats=stat_cards, stats_note=_("Mean, median, full marks and the histogram count the graded submissions "
                                       "only (%(graded)d of %(n)d): those not graded are counted apart.")
        % {"graded": len(graded), "n": n}, scores_png=scores_png, questions_png=questions_png, questions=qrows,
        manual=mrows, rules=rules, groups=groups, apart=apart, rows=all_rows)
    path = out / "summary.html"
    _write(path, page + "\n")
    return path


def manual_script() -> str:
    """The one script of manual.html (``templates/manual.js``, with the CSV writer's formula starts put in):
    its "Download manual.csv" button writes the points and comments typed into the page as the manual.csv
    that merge-manual reads. The page's Content-Security-Policy allows exactly this text, by its hash."""
    from .engine.results import FORMULA_START

    env = environment()
    assert env.loader is not None
    text = env.loader.get_source(env, "manual.js")[0].replace("__FORMULA_START__", json.dumps(list(FORMULA_START)))
    if "</script" in text.lower() or "__FORMULA_START__" in text:
        raise RuntimeError("templates/manual.js cannot go into a <script> element as it is")
    return text


def script_hash(script: str) -> str:
    """A CSP source that allows an inline ``<script>`` whose text is exactly ``script``: 'sha256-...'."""
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def write_manual_page(out: Path, assignment: str, questions: list[dict], lang: str = "en",
                      named: bool = False) -> Path:
    """``out/manual.html``: per free-response question its prompt and rubric, then every submission's
    answer, each with a points field and a comment field, and a "Download manual.csv" button that saves
    what was typed in as the manual.csv merge-manual reads, with a ``submitters`` column when ``named``
    (as ``manual.write`` writes it; not with ``grade --blind``). ``questions`` is the page's data as
    ``manual.page_questions`` builds it; its HTML (``manual.render_markdown``'s: raw HTML shown as text,
    no images) goes into the page as it is. The page's one script (``manual_script``) is allowed by its
    sha256 in the page's Content-Security-Policy, and nothing else is."""
    def safe(html: str) -> Markup | str:
        return Markup(html) if html else ""

    qs = [{**q, "prompt": safe(q["prompt"]), "rubric": safe(q["rubric"]),
           "answers": [{**a, "html": None if a["html"] is None else safe(a["html"])} for a in q["answers"]]}
          for q in questions]
    script = manual_script()
    page = environment(lang).get_template("manual.html.j2").render(
        lang=lang, assignment=assignment, questions=qs, named=named, script=Markup(script),
        script_hash=script_hash(script))
    path = out / "manual.html"
    _write(path, page + "\n")
    return path


def _known(lang: object, default: str) -> str:
    from . import i18n

    return lang if isinstance(lang, str) and lang in i18n.LANGUAGES else default


def write_reports(out: Path, summary: bool = True, lang: str | None = None, after_due_date: bool = True) -> None:
    """Write feedback for every submission in ``out/gradebook.json`` that has a results.json (with its
    free-response points, once merged), then the summary (skipped with ``summary=False``), in ``lang``:
    by default the language ``grade`` wrote it in (gradebook.json's ``summary_lang``), else English.
    ``after_due_date=False`` withholds the checks Gradescope shows only after the due date."""
    book = json.loads(outdir.read_text(out, "gradebook.json"))
    assignment = str(book.get("assignment", ""))
    lang = _known(lang, _known(book.get("summary_lang"), "en"))
    for row in book.get("submissions", []):
        folder = out / row["submission"]
        results = _read_json(folder / "results.json", out)
        if results is not None:
            write_feedback(results, folder, assignment, row["submission"], lang=_known(row.get("lang"), lang),
                           manual=row.get("manual"),
                           after_due_date=after_due_date)
    if summary:
        write_summary(out, lang=lang)
