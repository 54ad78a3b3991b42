"""Reports people would rather read than JSON: student feedback per submission, and an instructor summary.

Flow is one way, results -> reports: everything here is read back from what
``engine.results`` wrote (``<out>/gradebook.json`` and ``<out>/<submission>/results.json``),
so reports can be rebuilt at any time without grading again, and this module
never imports the engine (nor torch). matplotlib is imported only when a
summary is drawn.

Every string that came out of a submission (hints quote exception messages,
file names are the student's) is untrusted: HTML gets ``html.escape`` on every
interpolated value, Markdown gets its markup characters backslash-escaped.
"""
from __future__ import annotations

import base64
import html
import io
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from . import outdir

__all__ = ["write_feedback", "write_summary", "write_reports", "normalize_hint"]

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
                          str(t.get("output") or ""), str(t.get("visibility", "visible")), outcome))
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


_CSS = """
:root{--ok:#1a7f37;--bad:#cf222e;--mid:#9a6700;--line:#d0d7de;--muted:#57606a;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328;background:#fff}
main{max-width:46rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.5rem;margin:0 0 .25rem;line-height:1.25}
h2{font-size:1.15rem;margin:0;display:flex;justify-content:space-between;align-items:baseline;gap:1rem}
.sub{color:var(--muted);margin:0 0 1rem;overflow-wrap:anywhere}
.total{display:flex;align-items:baseline;gap:.75rem;margin:1rem 0 .4rem}
.total b{font-size:2.2rem;line-height:1}
.total span{color:var(--muted)}
.bar{height:.5rem;background:var(--soft);border:1px solid var(--line);border-radius:.25rem;overflow:hidden}
.bar i{display:block;height:100%;background:var(--ok)}.bar.partial i{background:#d4a72c}.bar.none i{background:var(--bad)}
.box{border:1px solid var(--line);border-radius:.5rem;padding:.75rem 1rem;margin:1.25rem 0;break-inside:avoid}
.box.warn{border-color:#d4a72c;background:#fff8c5}
.box h2{margin-bottom:.5rem}
.pts{font-size:.95rem;font-weight:600;white-space:nowrap;padding:.05rem .5rem;border-radius:1rem}
.full .pts{color:var(--ok);background:#dafbe1}.partial .pts{color:var(--mid);background:#fff8c5}.none .pts{color:var(--bad);background:#ffebe9}
ul{margin:0;padding:0;list-style:none}
.warn ul{list-style:disc;padding-left:1.25rem}
li{margin:.35rem 0;overflow-wrap:anywhere}
.check{display:grid;grid-template-columns:1.4rem 1fr;column-gap:.25rem}
.mark{font-weight:700}.ok .mark{color:var(--ok)}.fail .mark{color:var(--bad)}
.hint{grid-column:2;margin:.3rem 0 .2rem;padding:.4rem .6rem;background:var(--soft);border-left:3px solid var(--bad);
 white-space:pre-wrap;overflow-wrap:anywhere;font-size:.92rem}
.note{color:var(--muted);font-size:.9rem}
.same{grid-column:2;color:var(--muted);font-size:.85rem;font-style:italic}
.tag{font-size:.75rem;color:var(--muted);border:1px solid var(--line);border-radius:1rem;padding:0 .4rem;margin-left:.3rem;white-space:nowrap}
footer{color:var(--muted);font-size:.85rem;margin-top:2rem}
@media print{body{font-size:11pt}main{max-width:none;padding:0}.box{border-color:#999}
 .bar,.pts,.hint,.box.warn{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _feedback_html(assignment: str, submission: str, total: float, max_total: float,
                   groups: dict[str, list[_Check]], messages: list[str], seconds: float | None,
                   notes: list[str] = (), budget: float | None = None) -> str:
    pct = 100 * total / max_total if max_total else 0
    parts = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(assignment)}: feedback for {_e(submission)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>Feedback: {_e(assignment)}</h1><p class=sub>{_e(submission)}</p>",
        f'<div class=total><b>{_num(total)} / {_num(max_total)}</b><span>points ({pct:.0f}%)</span></div>'
        f'<div class="bar {"full" if pct >= 80 else "partial" if pct >= 50 else "none"}">'
        f'<i style="width:{pct:.1f}%"></i></div>',
    ]
    noted = "".join(f"<li class=note>{_e(m)}</li>" for m in notes)
    if messages:
        items = "".join(f"<li>{_e(m)}</li>" for m in messages)
        parts.append(f'<section class="box warn"><h2>What happened</h2><ul>{items}{noted}</ul></section>')
    else:
        parts.append('<section class=box><h2>What happened</h2><p class=note style="margin:0">'
                     f"Your code ran without errors.</p>{f'<ul>{noted}</ul>' if noted else ''}</section>")
    for question, checks in groups.items():
        score = sum(c.score for c in checks)
        max_score = sum(c.max_score for c in checks)
        shown = [c for c in checks if c.visibility != "hidden"]
        hidden = [c for c in checks if c.visibility == "hidden"]
        items, seen = [], set(messages)  # a hint that repeats a message above ("not graded: …") says so
        for c in shown:
            tag = f'<span class=tag>{_e(c.visibility.replace("_", " "))}</span>' if c.visibility != "visible" else ""
            hint = ""
            if c.error:
                hint = f"<div class=hint>{_e(c.hint)}</div>"
            elif not c.passed:
                # Several checks often fail for one reason (or "not graded"): say it once per question.
                if c.hint in seen:
                    hint = "<div class=same>see above</div>"
                elif c.hint:
                    hint = f"<div class=hint>{_e(c.hint)}</div>"
                seen.add(c.hint)
            cls, mark = ("ok", PASS) if c.passed else ("ok", ERROR) if c.error else ("fail", FAIL)
            label = "passed" if c.passed else "could not be checked" if c.error else "failed"
            items.append(f'<li class="check {cls}"><span class=mark aria-label="{label}">'
                         f"{mark}</span><span>{_e(c.title)}{tag}</span>{hint}</li>")
        if hidden:
            n, pts = len(hidden), sum(c.max_score for c in hidden)
            items.append(f'<li class=note>{n} hidden check{"s" * (n != 1)} ({_num(pts)} '
                         f'point{"s" * (pts != 1)}), counted in the score above.</li>')
        parts.append(f'<section class="box {_status(score, max_score)}"><h2><span>{_e(question)}</span>'
                     f'<span class=pts>{_num(score)} / {_num(max_score)}</span></h2><ul>{"".join(items)}</ul></section>')
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    if budget is not None:
        took += f" (time budget for this submission: {_num(budget)} s, its cells and checks together)"
    parts.append(f"<footer>Graded automatically{_e(took)}.</footer></main></body></html>\n")
    return "".join(parts)


def _feedback_md(assignment: str, submission: str, total: float, max_total: float,
                 groups: dict[str, list[_Check]], messages: list[str], notes: list[str] = (),
                 budget: float | None = None) -> str:
    lines = [f"# Feedback: {_md(assignment)}", "", f"Submission: {_md(submission)}", "",
             f"**Total: {_num(total)} / {_num(max_total)} points**", "", "## What happened", ""]
    lines += [f"- {_md(m)}" for m in messages] or ["Your code ran without errors."]
    if notes:
        lines += ["", *(f"- Note: {_md(m)}" for m in notes)]
    for question, checks in groups.items():
        score, max_score = sum(c.score for c in checks), sum(c.max_score for c in checks)
        lines += ["", f"## {_md(question)}: {_num(score)} / {_num(max_score)}", ""]
        seen = set(messages)
        for c in checks:
            if c.visibility == "hidden":
                continue
            tag = f" _({c.visibility.replace('_', ' ')})_" if c.visibility != "visible" else ""
            lines.append(f"- {PASS if c.passed else ERROR if c.error else FAIL} {_md(c.title)}{tag}")
            if c.error:
                lines.append(f"  > {_md(c.hint)}")
            elif not c.passed and c.hint:
                hint = "see above" if c.hint in seen else c.hint
                seen.add(c.hint)
                # Indented and each line quoted, so a multi-line hint stays inside its list item.
                lines += [f"  > {_md(line)}" if line.strip() else "  >" for line in hint.splitlines()]
        hidden = [c for c in checks if c.visibility == "hidden"]
        if hidden:
            n, pts = len(hidden), sum(c.max_score for c in hidden)
            lines.append(f"- {n} hidden check{'s' * (n != 1)} ({_num(pts)} point{'s' * (pts != 1)}), "
                         "counted in the score above")
    if budget is not None:
        lines += ["", f"_Time budget for this submission: {_num(budget)} s, its cells and checks together._"]
    return "\n".join(lines) + "\n"


def write_feedback(results: dict, folder: Path, assignment: str, submission: str) -> None:
    """Write ``feedback.md`` and ``feedback.html`` for one submission into ``folder``.

    ``results`` is the submission's results.json (Gradescope format). The total
    comes first, then the submission-level messages ("What happened"), then each
    question in order with its points, its checks (✓/✗ and the rule title) and
    the hints of failed checks. Checks with visibility ``"hidden"`` are never
    listed, only counted ("N hidden checks"), their points included in the
    question's score. Checks shown ``"after_due_date"``/``"after_published"`` are
    listed with a tag: these files are the instructor's copy, made at grading
    time, before any due date; hand them to students only once those tests may be
    shown (or regrade with the visibilities you want).
    """
    checks = _checks(results)
    groups = _by_question(checks)
    max_total = sum(c.max_score for c in checks)
    total = float(results.get("score", sum(c.score for c in checks)))
    messages, notes = _messages(results)
    folder.parent.mkdir(parents=True, exist_ok=True)  # the folder itself is opened without following a link
    _write(folder / "feedback.md", _feedback_md(assignment, submission, total, max_total, groups, messages, notes,
                                                _budget(results)),
           folder.parent)
    _write(folder / "feedback.html", _feedback_html(assignment, submission, total, max_total, groups, messages,
                                                    results.get("execution_time"), notes, _budget(results)),
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


def _frequent_hints(results: dict[str, dict], top: int = 10) -> list[tuple[str, str, int, int]]:
    """(question, an example hint, number of submissions, number of distinct hints) of the top failures.

    Grouped by question and ``normalize_hint``; a submission counts once per group.
    """
    counts: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    variants: dict[tuple[str, str], set[str]] = {}
    for res in results.values():
        keys = set()
        for c in _checks(res):
            # "not graded" repeats on every check of a submission that never ran: the error list covers it.
            if c.passed or c.error or c.hint.startswith("not graded:"):
                continue
            key = (c.question, normalize_hint(c.hint) or "(no hint)")
            example.setdefault(key, c.hint or "(no hint)")
            variants.setdefault(key, set()).add(c.hint)
            keys.add(key)
        counts.update(keys)  # per submission: one mistake failing two checks counts once
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(key[0], example[key], k, len(variants[key])) for key, k in ranked[:top]]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _charts(totals: list[float], max_total: float, rates: dict[str, float]) -> tuple[bytes, bytes]:
    """The score histogram and the per-question full-points bar chart, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a grading server; also avoids a GUI backend's import cost
    from matplotlib.figure import Figure  # a bare Figure: no pyplot global state, nothing to close

    fig = Figure(figsize=(6.4, 3.0))
    ax = fig.subplots()
    whole = max_total <= 60 and all(float(t).is_integer() for t in [*totals, max_total])
    # One bar per point when scores are whole numbers, so a bar never straddles two scores.
    bins = [x - 0.5 for x in range(int(max_total) + 2)] if whole else 20
    ax.hist(totals, bins=bins, range=None if whole else (0, max_total or 1), color="#2f81f7", edgecolor="white")
    ax.set_xlabel(f"total score (out of {_num(max_total)})")
    ax.set_ylabel("submissions")
    ax.yaxis.get_major_locator().set_params(integer=True)
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


_CELL = {"full": "ok", "partial": "mid", "none": "bad"}
_SUMMARY_CSS = """
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1f2328}
main{max-width:62rem;margin:0 auto;padding:1.25rem 1rem 3rem}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.15rem;margin:2rem 0 .6rem}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(8.5rem,1fr));gap:.6rem}
.stat{border:1px solid #d0d7de;border-radius:.5rem;padding:.5rem .75rem}
.stat b{display:block;font-size:1.5rem}.stat span{color:#57606a;font-size:.85rem}
img{max-width:100%;height:auto;display:block;margin-top:.75rem}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .6rem;border-bottom:1px solid #d0d7de;vertical-align:top}
th{background:#f6f8fa;font-weight:600;white-space:nowrap}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.hint{overflow-wrap:anywhere}
.pattern{color:#57606a;font-size:.85rem;display:block;margin-top:.15rem}
.bad{color:#cf222e}.mid{color:#9a6700}.ok{color:#1a7f37}
td ul{margin:0;padding-left:1.1rem}
a{color:#0969da}
details summary{cursor:pointer;font-weight:600;margin:2rem 0 .6rem;font-size:1.15rem}
@media (max-width:40rem){th{white-space:normal}th,td{padding:.3rem .35rem}body{font-size:14px}}
@media print{main{max-width:none;padding:0}.stat,tr,img{break-inside:avoid}}
"""


def write_summary(out: Path) -> Path:
    """Write the instructor's ``out/summary.html`` (charts also as ``summary-*.png``) and return its path.

    Reads ``out/gradebook.json`` and each ``out/<submission>/results.json``:
    submission count, mean and median total, a score histogram, per-question
    full-points rates (table and bar chart), the ten most frequent failure hints
    (grouped by ``normalize_hint``, with one real example), and the submissions
    whose grading reported errors, linked to their feedback.html.
    """
    book = json.loads(outdir.read_text(out, "gradebook.json"))
    rows: list[dict] = book.get("submissions", [])
    assignment = str(book.get("assignment", ""))
    results = {r["submission"]: res for r in rows if (res := _read_json(out / r["submission"] / "results.json", out))}

    questions = list(dict.fromkeys(q for r in rows for q in r.get("questions", {})))
    totals = [float(r.get("total", 0.0)) for r in rows]
    max_total = max((float(r.get("max_total", 0.0)) for r in rows), default=0.0)
    stats = {q: [r["questions"][q] for r in rows if q in r.get("questions", {})] for q in questions}
    full = {q: sum(s["score"] >= s["max_score"] - 1e-9 for s in v) / len(v) for q, v in stats.items()}
    scores_png, questions_png = _charts(totals, max_total, full)
    _write(out / "summary-scores.png", scores_png)
    _write(out / "summary-questions.png", questions_png)

    def img(data: bytes, alt: str) -> str:
        return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'

    def link(name: str) -> str:
        return f'<a href="{_e(quote(name))}/feedback.html">{_e(name)}</a>'

    def pct_class(rate: float) -> str:
        return "ok" if rate >= 0.8 else "mid" if rate >= 0.5 else "bad"

    n = len(rows)
    mean = statistics.fmean(totals) if totals else 0.0
    median = statistics.median(totals) if totals else 0.0
    errored = [r for r in rows if r.get("errors")]
    broken = [r for r in rows if r.get("grader_errors")]
    stat = [(n, "submissions"), (f"{_num(mean)}", f"mean / {_num(max_total)}"),
            (f"{_num(median)}", f"median / {_num(max_total)}"),
            (sum(t >= max_total - 1e-9 for t in totals) if n else 0, "full marks"), (len(errored), "with errors"),
            (len(broken), "with grader errors")]
    parts = [
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(assignment)}: grading summary</title><style>{_SUMMARY_CSS}</style></head><body><main>",
        f"<h1>{_e(assignment)}: grading summary</h1><div class=stats>",
        *(f"<div class=stat><b>{_e(v)}</b><span>{_e(k)}</span></div>" for v, k in stat),
        "</div><h2>Scores</h2>", img(scores_png, "histogram of total scores"),
        "<h2>Questions</h2><div class=wrap><table><tr><th>question</th><th class=n>points</th>"
        "<th class=n>mean</th><th class=n>full points</th></tr>",
    ]
    for q in questions:
        v = stats[q]
        parts.append(f"<tr><td>{_e(q)}</td><td class=n>{_num(max(s['max_score'] for s in v))}</td>"
                     f"<td class=n>{_num(statistics.fmean(s['score'] for s in v))}</td>"
                     f'<td class="n {pct_class(full[q])}">{100 * full[q]:.0f}%</td></tr>')
    parts += ["</table></div>", img(questions_png, "share of submissions with full points, per question"),
              "<h2>Most frequent failures</h2>"]
    frequent = _frequent_hints(results)
    if frequent:
        parts.append("<div class=wrap><table><tr><th class=n>count</th><th>question</th>"
                     "<th>hint (one example)</th></tr>")
        for q, hint, k, distinct in frequent:
            shown = (f"<span class=pattern>{distinct} variants of: {_e(normalize_hint(hint))}</span>"
                     if distinct > 1 else "")
            parts.append(f"<tr><td class=n>{k}</td><td>{_e(q)}</td><td class=hint>{_e(hint)}{shown}</td></tr>")
        parts.append("</table></div>")
    else:
        parts.append("<p>No failed checks.</p>")
    if broken:  # the graders' own failures: the students kept those points; the graders need fixing
        parts.append(f'<h2 class=bad>Grader errors ({len(broken)} submissions)</h2><p>These checks could not be '
                     "run because a grader failed (not the student's code). The students kept their points; "
                     "fix the grader and regrade.</p><div class=wrap><table><tr><th>submission</th>"
                     "<th>rule: error</th></tr>")
        for r in broken:
            msgs = "".join(f"<li>{_e(m)}</li>" for m in r["grader_errors"])
            parts.append(f"<tr><td>{link(r['submission'])}</td><td><ul>{msgs}</ul></td></tr>")
        parts.append("</table></div>")
    parts.append(f"<h2>Submissions with errors ({len(errored)})</h2>")
    if errored:
        parts.append("<div class=wrap><table><tr><th>submission</th><th class=n>total</th><th>what happened</th></tr>")
        for r in errored:
            msgs = "".join(f"<li>{_e(m)}</li>" for m in r["errors"])
            parts.append(f"<tr><td>{link(r['submission'])}</td><td class=n>{_num(r['total'])}</td>"
                         f"<td><ul>{msgs}</ul></td></tr>")
        parts.append("</table></div>")
    else:
        parts.append("<p>None: every submission ran without errors.</p>")
    # Every submission, collapsed: the gradebook with links, for when a student asks about theirs.
    head = "".join(f"<th class=n>{_e(q)}</th>" for q in questions)
    parts.append(f"<details><summary>All submissions ({n})</summary><div class=wrap><table>"
                 f"<tr><th>submission</th>{head}<th class=n>total</th></tr>")
    for r in rows:
        cells = "".join(
            f'<td class="n {_CELL[_status(s["score"], s["max_score"])]}">{_num(s["score"])}</td>'
            if (s := r.get("questions", {}).get(q)) else "<td></td>" for q in questions)
        parts.append(f"<tr><td>{link(r['submission'])}</td>{cells}<td class=n>{_num(r['total'])}</td></tr>")
    parts.append("</table></div></details></main></body></html>\n")
    path = out / "summary.html"
    _write(path, "".join(parts))
    return path


def write_reports(out: Path, summary: bool = True) -> None:
    """Write feedback for every submission in ``out/gradebook.json`` that has a results.json, then the summary
    (skipped with ``summary=False``: one submission needs no class summary, nor matplotlib's import time)."""
    book = json.loads(outdir.read_text(out, "gradebook.json"))
    assignment = str(book.get("assignment", ""))
    for row in book.get("submissions", []):
        folder = out / row["submission"]
        results = _read_json(folder / "results.json", out)
        if results is not None:
            write_feedback(results, folder, assignment, row["submission"])
    if summary:
        write_summary(out)
