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
