"""Translations: every string a student or an instructor reads has its Chinese translation, the committed
catalogs are what ``make i18n`` makes of the code, and a submission's language is told from its notebook.

The catalog checks extract with Babel exactly as ``make i18n`` does (``babel.cfg``: the ``_()``/``N_()``/
``defer()`` strings, the graders' check names, the report templates) into a temporary template and
compare it with ``autograder/locale/zh/LC_MESSAGES/autograder.po``.
"""
from __future__ import annotations

import ast
import gettext
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from autograder import i18n
from autograder.engine.loader import LoadError, load

from conftest import ROOT, grade_cli

PO = ROOT / "autograder" / "locale" / "zh" / "LC_MESSAGES" / "autograder.po"
MO = PO.with_suffix(".mo")
HAN = re.compile(r"[\u4e00-\u9fff]")
FIELD = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})|%\((\w+)\)[sdgf]")


def _key(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The messages ``make i18n`` would extract now (its pybabel extract command, into a temporary file)."""
    makefile = (ROOT / "Makefile").read_text()
    keywords = re.findall(r"-k (\S+)", makefile)
    pot = tmp_path_factory.mktemp("i18n") / "autograder.pot"
    cmd = [str(Path(sys.executable).with_name("pybabel")), "-q", "extract", "-F", "babel.cfg", "--no-wrap",
           *(a for k in keywords for a in ("-k", k)), "-o", str(pot), "."]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    with pot.open("rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def catalog():
    with PO.open("rb") as fh:
        return read_po(fh, locale="zh")


def test_every_message_has_a_chinese_translation(template, catalog):
    """A hint, note, check name or report string without its translation (or with a fuzzy one) fails here:
    run ``make i18n`` and translate what it adds to the .po."""
    assert len([m for m in template if m.id]) > 300  # the extraction found the graders' hints
    untranslated, fuzzy = [], []
    for m in template:
        if not m.id:
            continue
        found = catalog.get(m.id)
        strings = [] if found is None else [found.string] if isinstance(found.string, str) else list(found.string)
        if found is None or not strings or not all(s.strip() for s in strings):
            untranslated.append(_key(m))
        elif found.fuzzy:
            fuzzy.append(_key(m))
    assert not untranslated, (f"{len(untranslated)} messages have no Chinese translation (make i18n): "
                              f"{untranslated[:10]}")
    assert not fuzzy, f"{len(fuzzy)} translations are fuzzy (review them, then drop the flag): {fuzzy[:10]}"


def test_catalog_has_no_stale_messages(template, catalog):
    """Every message of the .po is still in the code (``make i18n`` drops the others)."""
    wanted = {_key(m) for m in template if m.id}
    stale = [_key(m) for m in catalog if m.id and _key(m) not in wanted]
    assert not stale, f"the catalog holds messages the code no longer has (make i18n): {stale[:10]}"


def test_translations_keep_every_placeholder(catalog):
    """A translation names exactly the fields of its template ({name!r}, {seconds:g}, %(points)s): values are
    filled in after translating, so a missing or misspelt field would raise or lose a value."""
    bad = []
    for m in catalog:
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        want = {f for f in FIELD.findall(ids[-1])}
        if any({f for f in FIELD.findall(s)} != want for s in strings):
            bad.append(ids[0])
    assert not bad, f"translations whose placeholders differ from their template's: {bad[:10]}"


def test_committed_mo_is_the_compiled_po(catalog):
    """The .mo that grading reads is the .po compiled (``make i18n`` compiles it; both are committed)."""
    buf = io.BytesIO()
    write_mo(buf, catalog)
    fresh = gettext.GNUTranslations(io.BytesIO(buf.getvalue()))
    with MO.open("rb") as fh:
        committed = gettext.GNUTranslations(fh)
    # _catalog: the messages gettext parsed (no public accessor; typeshed leaves it out)
    assert committed._catalog == fresh._catalog, "autograder.mo is stale: run make i18n"  # type: ignore[attr-defined]


def test_chinese_is_chinese(catalog):
    """Translations read as Chinese: those with words in them hold Han characters."""
    english = [m.id for m in catalog if m.id and isinstance(m.string, str)
               and re.search(r"[a-z]{3,} [a-z]{3,}", m.string) and not HAN.search(m.string)]
    assert not english, f"translations left in English: {english[:10]}"


def test_gettext_is_never_shadowed_in_a_function_that_translates():
    """A function that calls ``_()`` and also binds ``_`` (``for _, x in …``) would call the value it bound."""
    found = []
    for path in (ROOT / "autograder").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            binds = calls = False
            stack = list(ast.iter_child_nodes(func))
            while stack:
                node = stack.pop()
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef,
                                     ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                    continue
                if isinstance(node, ast.Assign) and [type(t) for t in node.targets] == [ast.Name]:
                    stack.append(node.value)  # `_ = catalog.gettext` binds the function itself: fine
                    continue
                if isinstance(node, ast.Name) and node.id == "_":
                    binds |= isinstance(node.ctx, ast.Store)
                    calls |= isinstance(node.ctx, ast.Load)
                stack.extend(ast.iter_child_nodes(node))
            if binds and calls:
                found.append(f"{path.relative_to(ROOT)}:{func.lineno} {func.name}")
    assert not found, f"functions that bind '_' and translate with it: {found}"


def test_no_message_hides_inside_an_f_string():
    """Babel extracts no ``_("…")`` written inside an f-string's braces: such a message would never be
    translated, and no catalog check would notice. Translate it outside the f-string."""
    found = []
    for path in (ROOT / "autograder").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FormattedValue):
                for call in ast.walk(node.value):
                    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                            and call.func.id in ("_", "N_", "ngettext", "gettext") \
                            and any(isinstance(a, ast.Constant) for a in call.args):
                        found.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert not found, f"messages inside f-strings, never extracted: {found}"


# ---------------------------------------------------------------- which language


def test_choose_is_the_one_place_that_decides():
    assert i18n.choose("auto", "zh") == "zh" and i18n.choose("auto", None) == "en"
    assert i18n.choose("en", "zh") == "en" and i18n.choose("zh", None) == "zh"
    assert [i18n.normalize(c) for c in ("zh", "zh-CN", "zh_Hans", "EN", "fr", None, 3)] == \
        ["zh", "zh", "zh", "en", None, None, None]
    with pytest.raises(ValueError):
        i18n.choose("fr", None)


def test_a_message_made_before_its_language_is_known():
    note = i18n.defer("Graded {file} ({why}); {count} submission files were found, the others were not "
                      "graded: {others}.", file="a.ipynb", why=i18n.defer("the newest notebook"), count=2,
                      others="b.py")
    assert note == ("Graded a.ipynb (the newest notebook); 2 submission files were found, "
                    "the others were not graded: b.py.")
    again = i18n.from_portable(json.loads(json.dumps(note.portable())))
    with i18n.using("zh"):
        said = i18n.render(again)
    assert said == "评分的是a.ipynb（最新的笔记本）；共找到2个提交文件，其余的没有评分：b.py。"
    assert i18n.current() == "en"


def _notebook(path: Path, lang: str | None, cells: list[str]) -> Path:
    meta = {"autograder": {"assignment": "access", "lang": lang}} if lang else {}
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": meta, "cells": [
        {"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells]}))
    return path


def test_loader_reads_the_edition_and_says_its_notes_in_it(tmp_path):
    zh = load(_notebook(tmp_path / "a.ipynb", "zh", ["%%bash\nls", "x = 1"]))
    assert zh.lang == "zh" and zh.notes[0].startswith("以“%%bash”开头的代码单元格（第1个代码单元格）被跳过了")
    assert load(_notebook(tmp_path / "a.ipynb", "zh", ["%%bash\nls", "x = 1"]), "en").notes[0].startswith(
        'the code cell starting "%%bash" (code cell 1) was skipped')
    plain = load(_notebook(tmp_path / "b.ipynb", None, ["x = 1"]))
    assert plain.lang is None and plain.labels == ['the code cell starting "x = 1" (code cell 1)']
    with pytest.raises(LoadError) as raised:
        load(_notebook(tmp_path / "c.ipynb", "zh", ["# only a comment"]))
    assert raised.value.lang == "zh" and str(raised.value) == "提交中没有代码（只有注释、markdown或魔法命令）"


def test_lang_option_overrides_the_notebook(tmp_path):
    """``grade --lang en`` gives a Chinese notebook English feedback; ``--lang zh`` a .py file Chinese."""
    (tmp_path / "in").mkdir()
    _notebook(tmp_path / "in" / "zh.ipynb", "zh", ["def param_shapes(module):\n    return []"])
    (tmp_path / "in" / "plain.py").write_text("def param_shapes(module):\n    return []\n")
    out = {}
    for lang in ("en", "zh"):
        run = grade_cli("access", [tmp_path / "in"], tmp_path / f"out-{lang}", "--lang", lang, "--jobs", "2")
        assert run.returncode == 0, run.stderr
        out[lang] = {name: json.loads((tmp_path / f"out-{lang}" / name / "results.json").read_text())
                     for name in ("zh.ipynb", "plain.py")}
    for name in ("zh.ipynb", "plain.py"):
        en, zh = out["en"][name], out["zh"][name]
        assert en["extra_data"]["lang"] == "en" and zh["extra_data"]["lang"] == "zh"
        assert [t["score"] for t in en["tests"]] == [t["score"] for t in zh["tests"]]
        assert "param_shapes must return a dict, not a list" in en["tests"][0]["output"]
        assert zh["tests"][0]["output"] == "param_shapes必须返回dict，而不是list"
        assert not HAN.search(json.dumps(en["tests"], ensure_ascii=False))
        assert HAN.search(zh["tests"][0]["name"])


# ---------------------------------------------------------------- hints the extraction cannot see

GRADERS = ROOT / "autograder" / "graders"
_CODE_TOKEN = re.compile(r"[\w.()\[\]'\"=,:;!?-]*[_.()\[\]0-9=][\w.()\[\]'\"=,:;!?-]*")


def _prose(text: str) -> bool:
    """Whether a string literal holds words to translate (not only identifiers, code and punctuation)."""
    return any(len(w) > 1 for w in re.findall(r"[A-Za-z]+", _CODE_TOKEN.sub(" ", text)))


class _Hints:
    """Whether an expression that reaches a student (an assert's message, an AssertionError's argument) is built
    only from translations: ``_()``/``ngettext()`` calls, their ``.format()``, concatenations and conditionals of
    those, literals without prose, f-strings whose literal parts hold none, and names, parameters and helper calls
    that resolve to such expressions (a parameter through every call site in the graders; a helper through every
    ``return``; a helper imported from the kit through its module)."""

    def __init__(self) -> None:
        self.trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(GRADERS.glob("*.py"))}
        self.parents: dict[int, ast.AST] = {}
        for tree in self.trees.values():
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    self.parents[id(child)] = node

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.Lambda | None:
        while id(node) in self.parents:
            node = self.parents[id(node)]
            if isinstance(node, (ast.FunctionDef, ast.Lambda)):
                return node
        return None

    def module_of(self, node: ast.AST) -> ast.Module:
        while id(node) in self.parents:
            node = self.parents[id(node)]
        assert isinstance(node, ast.Module)
        return node

    def definitions(self, scope: ast.Module | ast.FunctionDef, name: str) -> list[ast.AST]:
        """Bindings of ``name`` at module level (or imports inside a function): a function, an assigned value, or
        the function an import names."""
        found: list[ast.AST] = []
        for node in scope.body if isinstance(scope, ast.Module) else ast.walk(scope):
            if isinstance(node, ast.FunctionDef) and node.name == name:
                found.append(node)
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                found.append(node.value)
            elif isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == name for a in node.names):
                path = ROOT / "autograder" / Path(*(["graders"] if node.level == 1 else [])) \
                    / Path(*(node.module or "").split("."))
                source = path.with_suffix(".py")
                if source.is_file():
                    tree = self.trees.get(source) or ast.parse(source.read_text(encoding="utf-8"))
                    self.trees.setdefault(source, tree)
                    for child in ast.walk(tree):
                        for grand in ast.iter_child_nodes(child):
                            self.parents.setdefault(id(grand), child)
                    found += self.definitions(tree, [a.name for a in node.names if (a.asname or a.name) == name][0])
        return found

    def translated(self, e: ast.AST | None, seen: frozenset = frozenset()) -> bool:
        if e is None or (isinstance(e, ast.Constant) and (e.value is None or
                                                          (isinstance(e.value, str) and not _prose(e.value)))):
            return True
        if isinstance(e, ast.JoinedStr):
            return all(not isinstance(v, ast.Constant) or not _prose(str(v.value)) for v in e.values)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add):
            return self.translated(e.left, seen) and self.translated(e.right, seen)
        if isinstance(e, ast.IfExp):
            return self.translated(e.body, seen) and self.translated(e.orelse, seen)
        if isinstance(e, ast.Call):
            f = e.func
            if isinstance(f, ast.Name) and f.id in ("_", "ngettext"):
                return True
            if isinstance(f, ast.Attribute) and f.attr == "format":
                return self.translated(f.value, seen)
            if isinstance(f, ast.Subscript) and isinstance(f.value, ast.Name):  # a table of lambdas: HINTS[key]()
                return self.resolved(f.value.id, e, seen, call=True)
            if isinstance(f, ast.Name):
                return self.resolved(f.id, e, seen, call=True)
            return False
        if isinstance(e, ast.Name):
            return self.resolved(e.id, e, seen)
        return False

    def resolved(self, name: str, where: ast.AST, seen: frozenset, call: bool = False) -> bool:
        key = (name, id(self.function_of(where)), call)
        if key in seen:
            return True  # a cycle adds nothing new
        seen = seen | {key}
        fn = self.function_of(where)
        if not call and isinstance(fn, ast.FunctionDef):
            values = [n.value for n in ast.walk(fn) if isinstance(n, ast.Assign)
                      and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)]
            values += [n.value for n in ast.walk(fn) if isinstance(n, ast.AnnAssign)
                       and isinstance(n.target, ast.Name) and n.target.id == name and n.value is not None]
            if values:
                return all(self.translated(v, seen) for v in values)
            params = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]]
            if name in params:
                return self.call_sites(fn, name, seen)
        found = self.definitions(self.module_of(where), name)
        if not found and isinstance(fn, ast.FunctionDef):
            found = [d for d in self.definitions(fn, name) if not isinstance(d, ast.AST) or d is not fn]
        if not found:
            return False
        for d in found:
            if isinstance(d, ast.FunctionDef):
                if not all(self.translated(r.value, seen) for r in ast.walk(d) if isinstance(r, ast.Return)):
                    return False
            elif isinstance(d, ast.Dict) and call:
                if not all(isinstance(v, ast.Lambda) and self.translated(v.body, seen) for v in d.values):
                    return False
            elif not self.translated(d, seen):
                return False
        return True

    def call_sites(self, fn: ast.FunctionDef, param: str, seen: frozenset) -> bool:
        """Every call of ``fn`` in the graders passes a translated ``param`` (by keyword, position or default)."""
        names = [a.arg for a in [*fn.args.posonlyargs, *fn.args.args]]
        defaults = dict(zip(names[len(names) - len(fn.args.defaults):], fn.args.defaults, strict=True))
        calls = [c for tree in self.trees.values() for c in ast.walk(tree) if isinstance(c, ast.Call)
                 and ((isinstance(c.func, ast.Name) and c.func.id == fn.name)
                      or (isinstance(c.func, ast.Attribute) and c.func.attr == fn.name))]
        assert calls, f"{fn.name}: no call site found for its parameter {param}"
        for c in calls:
            given = next((k.value for k in c.keywords if k.arg == param), None)
            if given is None and param in names and names.index(param) < len(c.args):
                given = c.args[names.index(param)]
            if given is None:
                given = defaults.get(param)
            if not self.translated(given, seen):
                return False
        return True


def test_every_hint_a_grader_raises_is_translated():
    """The catalog check sees only marked strings: an ``assert x, "English hint"`` or an ``AssertionError("…")``
    in a grader is never extracted, and reaches a Chinese student in English. Every assert message and every
    AssertionError argument in ``autograder/graders/`` is built from ``_()``/``ngettext()`` (see ``_Hints``)."""
    hints = _Hints()
    bad = []
    for path, tree in list(hints.trees.items()):
        if path.parent != GRADERS:
            continue
        for node in ast.walk(tree):
            message = None
            if isinstance(node, ast.Assert):
                message = node.msg
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "AssertionError" \
                    and node.args:
                message = node.args[0]
            if message is not None and not hints.translated(message):
                bad.append(f"{path.name}:{message.lineno}: {ast.unparse(message)[:100]}")
    assert not bad, "hints that reach students untranslated:\n" + "\n".join(bad)


def test_the_hint_check_catches_an_english_hint(tmp_path):
    """``_Hints`` itself: a bare English literal, an f-string with prose or an English parameter fails it."""
    hints = _Hints()
    for source in ('assert x, "the answer is wrong"', 'assert x, f"{name} is wrong"',
                   'raise AssertionError("no luck")',
                   'def f(hint):\n    assert x, hint\nf("english words here")',
                   'assert x, _("ok") + " and then more"'):
        tree = ast.parse(source)
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                hints.parents[id(child)] = node
        hints.trees[tmp_path / "probe.py"] = tree
        msgs = [n.msg if isinstance(n, ast.Assert) else n.args[0] for n in ast.walk(tree)
                if isinstance(n, ast.Assert)
                or (isinstance(n, ast.Call) and getattr(n.func, "id", "") == "AssertionError")]
        assert msgs and not all(hints.translated(m) for m in msgs), source
        del hints.trees[tmp_path / "probe.py"]
    tree = ast.parse('assert x, _("{a} is wrong").format(a=a) + (f" ({extra})" if extra else "") + "init_lazy: "')
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            hints.parents[id(child)] = node
    assert hints.translated(next(n for n in ast.walk(tree) if isinstance(n, ast.Assert)).msg)


# ---------------------------------------------------------------- one vocabulary: d2l-zh's

# A term the kit's Chinese once used -> d2l-zh's own (parameters.md, deferred-init.md: 参数名称, "将抛出一个错误",
# 延后初始化). The notebooks and the feedback catalog say the same thing the same way.
NOT_D2L_ZH = {"引发": "抛出", "惰性": "延后初始化", "名字": "名称", "主观题": "简答题"}


def _zh_notebooks() -> list[Path]:
    return sorted([*ROOT.glob("solutions/*.zh.ipynb"), *ROOT.glob("assignments/*/*.zh.ipynb")])


def test_notebooks_and_catalog_use_d2l_zhs_terms(catalog):
    texts = {str(p.relative_to(ROOT)): "".join("".join(c["source"]) for c in json.loads(p.read_text("utf-8"))["cells"])
             for p in _zh_notebooks()}
    texts["autograder.po"] = "\n".join(m.string if isinstance(m.string, str) else "\n".join(m.string)
                                       for m in catalog if m.id)
    assert len(texts) == 7
    found = [f"{where}: {term} (d2l-zh: {d2l})" for where, text in texts.items()
             for term, d2l in NOT_D2L_ZH.items() if term in text]
    assert not found, found


def test_zh_notebooks_cite_the_book_by_section_and_number_their_questions():
    """A reader of d2l-zh finds a section by its number, not by a file of the book's repository; every question
    heading reads 问题N（…）, as in the other notebooks."""
    for path in _zh_notebooks():
        cells = json.loads(path.read_text("utf-8"))["cells"]
        text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        assert "chapter_" not in text and ".md`" not in text, path
        headings = re.findall(r"\*\*问题[^*]{0,40}\*\*", text)
        assert headings and all(re.match(r"\*\*问题\d+（", h) for h in headings), (path, headings)
        numbers = [int(re.sub(r"\D.*", "", h.removeprefix("**问题"))) for h in headings]
        assert numbers == list(range(1, len(numbers) + 1)), (path, numbers)
