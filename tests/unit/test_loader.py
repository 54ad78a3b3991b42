"""autograder/engine/loader.py on its own: every format a submission may come in, split into the cells the
child will run, and a clear refusal (``LoadError``) for everything else. Files only, no sandbox.

The end-to-end side (what the CLI writes for an unreadable submission, a hang, a notebook of another
assignment) is in ``tests/test_loader.py``.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from autograder.engine import loader
from autograder.engine.loader import (
    MAX_CELLS,
    MAX_CODE,
    LoadError,
    cell_magic,
    first_line,
    load,
    split_cells,
    split_percent_cells,
    strip_magics,
)

HAN = re.compile(r"[\u4e00-\u9fff]")


def _nb_data(cells: list[tuple[str, Any]], nbformat: int = 4, metadata: dict | None = None) -> dict:
    """A notebook's JSON: one cell per (cell type, source)."""
    return {"nbformat": nbformat, "nbformat_minor": 5, "metadata": metadata or {},
            "cells": [{"cell_type": t, "metadata": {}, "source": s,
                       **({"outputs": [], "execution_count": None} if t == "code" else {})} for t, s in cells]}


def _nb(cells: list[tuple[str, Any]], nbformat: int = 4, metadata: dict | None = None) -> str:
    return json.dumps(_nb_data(cells, nbformat, metadata))


def _write(path: Path, content: str | bytes) -> Path:
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


# ------------------------------------------------------------------ notebooks


def test_notebook_code_cells_in_order(tmp_path):
    p = _write(tmp_path / "a.ipynb",
               _nb([("markdown", "# hi"), ("code", ["x = 1\n", "y = 2"]), ("raw", "z"), ("code", "w = 3")]))
    sub = load(p)
    assert sub.cells == ["x = 1\ny = 2", "w = 3"]
    assert sub.name == "a.ipynb" and sub.digest == hashlib.sha256(p.read_bytes()).hexdigest()
    assert sub.notes == [] and sub.assignment is None and sub.lang is None


def test_notebook_cells_that_are_not_code_or_not_text_are_left_out(tmp_path):
    """Malformed cells are skipped, not fatal: a non-dict cell, a source of another type, non-strings in a list."""
    nb = _nb_data([("code", ["a = 1\n", 7, None, "b = 2"]), ("code", 42), ("code", "c = 3")])
    nb["cells"].insert(0, "not a cell")
    nb["cells"].append({"source": "d = 4"})  # no cell_type
    sub = load(_write(tmp_path / "a.ipynb", json.dumps(nb)))
    assert sub.cells == ["a = 1\nb = 2", "c = 3"]
    assert sub.where(1) == 'the code cell starting "c = 3" (code cell 2)', "numbered among the readable code cells"


def test_blank_code_cells_are_dropped_and_numbering_follows_the_notebook(tmp_path):
    sub = load(_write(tmp_path / "a.ipynb", _nb([("code", ""), ("code", "   \n"), ("code", "x = 1")])))
    assert sub.cells == ["x = 1"] and sub.labels == ['the code cell starting "x = 1" (code cell 3)']


def test_a_byte_order_mark_and_an_upper_case_suffix_are_accepted(tmp_path):
    sub = load(_write(tmp_path / "A.IPYNB", b"\xef\xbb\xbf" + _nb([("code", "x = 1")]).encode()))
    assert sub.cells == ["x = 1"]


def test_outputs_do_not_count_as_code(tmp_path):
    """Saved outputs of three times the code limit: the limits bound the code. (A notebook of over 100 MiB,
    as the README promises, is loaded in tests/test_loader.py: too slow for this layer.)"""
    nb = _nb_data([("code", "x = 1")])
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "y" * MAX_CODE}] * 3
    p = _write(tmp_path / "big.ipynb", json.dumps(nb))
    assert p.stat().st_size > 3 * MAX_CODE
    assert load(p).cells == ["x = 1"]


def test_old_notebook_is_upgraded(tmp_path):
    p = _write(tmp_path / "old.ipynb", json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": "x = 41 + 1", "language": "python", "outputs": []}]}]}))
    assert load(p).cells == ["x = 41 + 1"]


def test_deeply_nested_json_is_refused_with_a_reason(tmp_path):
    p = _write(tmp_path / "deep.ipynb", '{"nbformat": 4, "cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(LoadError, match="nested far too deeply"):
        load(p)


# ------------------------------------------------------------------ the notebook's metadata


def test_a_notebook_names_its_assignment_through_otter_metadata(tmp_path):
    """The loader reports the assignment the notebook was made for; grading one made for another says so."""
    named = _nb([("code", "x = 1")], metadata={"otter": {"assignment_name": "init", "OK_FORMAT": False}})
    assert load(_write(tmp_path / "a.ipynb", named)).assignment == "init"
    assert load(_write(tmp_path / "b.ipynb", _nb([("code", "x = 1")]))).assignment is None
    for odd in ("", 3, None, ["init"]):  # a name that is no name names nothing
        nb = _nb([("code", "x = 1")], metadata={"otter": {"assignment_name": odd}})
        assert load(_write(tmp_path / "c.ipynb", nb)).assignment is None, odd
    for otter in ("init", ["init"], None):  # otter's metadata of the wrong shape
        notebook = _write(tmp_path / "d.ipynb", _nb([("code", "x = 1")], metadata={"otter": otter}))
        assert load(notebook).assignment is None
    broken = _nb_data([("code", "x = 1")])
    broken["metadata"] = "not a dict"
    assert load(_write(tmp_path / "e.ipynb", json.dumps(broken))).assignment is None
    zipped = _zip(tmp_path / "export.zip", {"hw/init.ipynb": named})
    assert load(zipped).assignment == "init"
    assert load(_write(tmp_path / "f.py", "x = 1\n")).assignment is None


def test_the_edition_language_is_read_and_spoken(tmp_path):
    """``metadata.autograder.lang`` says the edition; notes and labels are in it under ``--lang auto``."""
    zh = _nb([("code", "x = 1"), ("code", "%%bash\nls")], metadata={"autograder": {"lang": "zh-CN"}})
    sub = load(_write(tmp_path / "zh.ipynb", zh))
    assert sub.lang == "zh" and sub.cells == ["x = 1"]
    assert HAN.search(sub.notes[0]) and HAN.search(sub.labels[0]), (sub.notes, sub.labels)
    english = load(_write(tmp_path / "zh2.ipynb", zh), lang="en")  # what --lang asks wins
    assert english.lang == "zh" and "was skipped" in english.notes[0]
    assert load(_write(tmp_path / "x.ipynb", _nb([("code", "x = 1")], metadata={"autograder": "zh"}))).lang is None


def test_a_script_downloaded_from_a_zh_notebook_says_its_edition(tmp_path):
    """Jupyter's "Download as Python" keeps no metadata, but keeps the otter init cell: the notebook it names
    (``access.zh.ipynb``) is the edition, so a Chinese student's script gets Chinese feedback."""
    script = ("#!/usr/bin/env python\n# coding: utf-8\n\n# In[ ]:\n\n\n# 初始化Otter\nimport otter\n"
              'grader = otter.Notebook("access.zh.ipynb")\n\n\n# In[ ]:\n\n\nx = 1\n\n\n# In[ ]:\n\n\n'
              "get_ipython().run_cell_magic('bash', '', 'ls\\n')\n")
    sub = load(_write(tmp_path / "access.py", script))
    assert sub.lang == "zh" and sub.cells[-1].strip() == "x = 1"
    assert HAN.search(sub.notes[0]) and HAN.search(sub.labels[0]), (sub.notes, sub.labels)
    assert "was skipped" in load(_write(tmp_path / "forced.py", script), lang="en").notes[0]  # --lang wins
    assert sub.assignment == "access"  # and the assignment: a script for another one is told so
    assert "“%%bash”" in sub.notes[0], sub.notes  # the skipped cell quoted as written, not as the export's call
    assert '"%%bash"' in load(_write(tmp_path / "forced2.py", script), lang="en").notes[0]
    english = 'import otter\ngrader = otter.Notebook("access.ipynb")\nx = 1\n'
    assert load(_write(tmp_path / "en.py", english)).lang == "en"
    assert load(_write(tmp_path / "tied.py", english.replace("access", "tied"))).assignment == "tied"
    for other in ("x = 1\n", '# grader = otter.Notebook("access.zh.ipynb")\nx = 1\n',
                  's = """\ngrader = otter.Notebook("init.fr.ipynb")\n"""\n'):
        assert load(_write(tmp_path / "none.py", other)).lang is None, other


def test_a_refusal_says_which_language_it_is_in(tmp_path):
    p = _write(tmp_path / "broken.ipynb", "{not json")
    with pytest.raises(LoadError) as en:
        load(p)
    with pytest.raises(LoadError) as zh:
        load(p, lang="zh")
    assert en.value.lang == "en" and "not valid JSON" in str(en.value)
    assert zh.value.lang == "zh" and HAN.search(str(zh.value))
    empty = _write(tmp_path / "empty.ipynb", _nb([("markdown", "words")], metadata={"autograder": {"lang": "zh"}}))
    with pytest.raises(LoadError) as late:  # found once the notebook said its language: said in it
        load(empty)
    assert late.value.lang == "zh" and HAN.search(str(late.value))


# ------------------------------------------------------------------ magics


def test_magics_and_shell_lines_skipped():
    assert strip_magics("%matplotlib inline\nx = 1\n!pip install torch\nif x:\n    %time y = 2\nfiles = !ls") == \
        "pass\nx = 1\npass\nif x:\n    pass\npass"
    assert strip_magics("a, b = !ls\nself.out = %env\nx = 100 % 7") == "pass\npass\nx = 100 % 7"


def test_cell_magic_is_the_first_line_only():
    assert cell_magic("%%time\nx = 1") == ("time", "x = 1")
    assert cell_magic("\n  %%capture out --no-stderr\nz = 3\n") == ("capture", "z = 3\n")
    assert cell_magic("%%\nx = 1") == ("", "x = 1")
    assert cell_magic("x = 1\n%%time") is None and cell_magic("%time x = 1") is None


def test_time_and_capture_cells_run_their_body_other_cell_magics_are_skipped_and_named(tmp_path):
    assert strip_magics("%%time\nx = 1\n%time y = 2") == "x = 1\npass"
    assert strip_magics("%%capture out --no-stderr\nz = 3") == "z = 3"
    assert strip_magics("%%bash\nls") is None and strip_magics("%%timeit\nw = 1") is None
    assert strip_magics("%%\nx = 1") is None, "a cell magic without a name is not one that runs"
    p = _write(tmp_path / "a.ipynb", _nb([("code", "%%time\ndef f():\n    return 1"), ("code", "%%bash\necho hi"),
                                          ("code", "%%capture\ng = f()")]))
    sub = load(p)
    assert sub.cells == ["def f():\n    return 1", "g = f()"]
    assert sub.notes == ['the code cell starting "%%bash" (code cell 2) was skipped: the cell magic %%bash does '
                         'not run when grading (only %%time and %%capture cells run, as plain Python)']


def test_a_cell_of_only_magics_keeps_nothing_to_run(tmp_path):
    sub = load(_write(tmp_path / "a.ipynb", _nb([("code", "%matplotlib inline"), ("code", "x = 1")])))
    assert sub.cells == ["pass", "x = 1"], "a % line becomes pass: line numbers and blocks stay valid"


# ------------------------------------------------------------------ Python files


def test_python_percent_cells(tmp_path):
    p = _write(tmp_path / "a.py", "a = 1\n# %%\nb = 2\n# %% [markdown]\n#%%\nc = 3\n")
    assert load(p).cells == ["a = 1", "b = 2", "c = 3"]


def test_split_cells_gives_each_cells_first_line():
    assert split_cells("a = 1\n# %%\nb = 2\n\n# %% two\nc = 3") == ([(1, "a = 1"), (3, "b = 2\n"), (6, "c = 3")], False)
    assert split_cells("x = 1\ny = 2\n") == ([(1, "x = 1\ny = 2")], False), "no marker: one cell"
    assert split_cells("# %%% not a marker\nx = 1") == ([(1, "# %%% not a marker\nx = 1")], False)


def test_nbconvert_markers_win_over_percent_markers():
    """A script with ``# In[ ]:`` markers is nbconvert's: a ``# %%`` in it is a comment of its cell."""
    text = "# In[1]:\n\nx = 1\n# %%\ny = 2\n# In[ ]:\nz = 3\n"
    assert split_cells(text) == ([(1, ""), (2, "\nx = 1\n# %%\ny = 2"), (7, "z = 3")], True)


def test_a_byte_order_mark_and_comment_only_cells(tmp_path):
    p = _write(tmp_path / "a.py", b"\xef\xbb\xbf# header comment\n# %%\n# only words\n# %%\nx = 1\n")
    sub = load(p)
    assert sub.cells == ["x = 1"] and sub.labels == ['the code cell starting "x = 1" (line 5)']


def test_cells_are_located_by_their_first_line(tmp_path):
    p = _write(tmp_path / "a.ipynb", _nb([("code", "\n\ndef param_shapes(module):\n    pass"), ("code", "x = 1")]))
    sub = load(p)
    assert sub.where(0) == 'the code cell starting "def param_shapes(module):" (code cell 1)'
    assert sub.where(5) == "code cell 6", "an index beyond the labels still names a cell"
    q = _write(tmp_path / "a.py", "a = 1\n# %%\n\n# comment\nb = 2\n")
    assert load(q).where(1) == 'the code cell starting "b = 2" (line 5)'


def test_first_line_is_the_first_non_blank_line_shortened():
    assert first_line("\n   \n  x = 1  \ny = 2") == "x = 1"
    assert first_line("") == ""
    long = "z" * 100
    assert first_line(long) == "z" * 59 + "…" and len(first_line(long, width=10)) == 10


NBCONVERT_SCRIPT = """#!/usr/bin/env python
# coding: utf-8

# # Parameter access
# Some markdown.

# In[1]:


get_ipython().run_line_magic('matplotlib', 'inline')
import torch
get_ipython().system('pip install torch')
files = get_ipython().getoutput('ls')


# In[ ]:


get_ipython().run_cell_magic('time', '', 'def f(x):\\n    return x + 1\\n%time y = f(1)\\n')


# In[ ]:


get_ipython().run_cell_magic('bash', '', 'echo hi\\n')


# In[3]:


if True:
    get_ipython().run_line_magic('time', 'q = 2')
    r = f(2)
"""


def test_nbconvert_script_export_is_read_as_its_cells(tmp_path):
    """`jupyter nbconvert --to script` (Jupyter's "Download as Python"): `# In[ ]:` markers, magics as get_ipython()."""
    sub = load(_write(tmp_path / "access.py", NBCONVERT_SCRIPT))
    assert [c.strip() for c in sub.cells] == ["pass\nimport torch\npass\npass", "def f(x):\n    return x + 1\npass",
                                              "if True:\n    pass\n    r = f(2)"]
    assert sub.labels[0] == 'the code cell starting "%matplotlib inline" (line 10)'  # as the student wrote it
    assert len(sub.notes) == 1 and "(line 25) was skipped: the cell magic %%bash" in sub.notes[0]
    namespace: dict = {}
    for cell in sub.cells:  # the cells run as plain Python: no get_ipython, no NameError
        exec(cell.replace("import torch", ""), namespace)
    assert namespace["r"] == 3


def test_split_percent_cells_gives_nbconvert_cells_back_in_ipython_syntax():
    cells = split_percent_cells(NBCONVERT_SCRIPT)
    assert cells[2].strip() == "%%time\ndef f(x):\n    return x + 1\n%time y = f(1)"
    assert cells[3].strip() == "%%bash\necho hi"
    assert split_percent_cells("a = 1\n# %%\nget_ipython().system('ls')") == ["a = 1", "get_ipython().system('ls')"], \
        "outside nbconvert's export, get_ipython() is the student's own code"


def test_a_cell_magic_call_that_is_not_literal_is_not_run():
    """nbconvert writes string literals; anything else is not a magic to rebuild, and runs as nothing."""
    text = "# In[1]:\nget_ipython().run_cell_magic(name, '', body)\n"
    assert split_percent_cells(text) == ["", "pass"]


def test_a_cell_magic_call_inside_an_expression_is_not_a_magic():
    """Only a line that is the call itself is rebuilt; one that uses the call's value runs as nothing
    (it used to stop the loader with an AttributeError)."""
    text = "# In[1]:\nget_ipython().run_cell_magic('bash', '', 'echo hi') + 1\n"
    assert split_percent_cells(text) == ["", "pass"]


# ------------------------------------------------------------------ zips


def test_zip_with_one_notebook_ignores_the_rest(tmp_path):
    p = _zip(tmp_path / "export.zip", {"hw/access.ipynb": _nb([("code", "x = 1")]),
                                       ".OTTER_LOG": b"\x80\x04not-to-be-unpickled", "data.pkl": b"\x80\x04",
                                       "__MACOSX/hw/._access.ipynb": b"\x00\x05",
                                       "hw/.ipynb_checkpoints/access-checkpoint.ipynb": _nb([("code", "old = 1")]),
                                       "hw/dir.ipynb/": b""})
    sub = load(p)
    assert sub.cells == ["x = 1"] and sub.notes == ["graded the notebook hw/access.ipynb from the zip"]
    assert sub.name == "export.zip" and sub.digest == hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize("members,found", [
    ({"a.ipynb": _nb([("code", "x = 1")]), "b.ipynb": _nb([("code", "x = 2")])}, "found 2: a.ipynb, b.ipynb"),
    ({"notes.txt": "no notebook"}, "found 0: -"),
])
def test_zip_without_exactly_one_notebook_is_refused(tmp_path, members, found):
    with pytest.raises(LoadError, match=f"exactly one notebook \\(.ipynb\\); {found}"):
        load(_zip(tmp_path / "hw.zip", members))


def test_the_notebook_in_a_zip_is_bounded_not_the_zip(tmp_path, monkeypatch):
    p = tmp_path / "hw.zip"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.ipynb", _nb([("code", "x = 1")]) + " " * 4096)
    monkeypatch.setattr(loader, "MAX_BYTES", 4096)  # the zip is small, the notebook in it is not
    assert p.stat().st_size < 4096
    with pytest.raises(LoadError, match="notebook in the zip is larger than"):
        load(p)


def test_a_zip_member_that_cannot_be_read_is_refused(tmp_path):
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.ipynb", _nb([("code", "x = 1")]) * 20)
    data = bytearray(raw.getvalue())
    start = 30 + len("a.ipynb")  # the local header, then the deflated bytes: damage them
    data[start:start + 40] = b"\xff" * 40
    with pytest.raises(LoadError, match="notebook in the zip cannot be read"):
        load(_write(tmp_path / "hw.zip", bytes(data)))


def test_the_zips_notebook_is_checked_as_a_notebook(tmp_path):
    with pytest.raises(LoadError, match="not valid JSON"):
        load(_zip(tmp_path / "hw.zip", {"a.ipynb": "{oops"}))


# ------------------------------------------------------------------ limits and refusals


def test_code_is_bounded(tmp_path):
    at_limit = _write(tmp_path / "ok.ipynb", _nb([("code", f"x{i} = {i}") for i in range(MAX_CELLS)]))
    assert len(load(at_limit).cells) == MAX_CELLS
    p = _write(tmp_path / "many.ipynb", _nb([("code", f"x{i} = {i}") for i in range(MAX_CELLS + 1)]))
    with pytest.raises(LoadError, match=f"at most {MAX_CELLS}"):
        load(p)
    q = _write(tmp_path / "long.py", "x = 1\n" + "# " + "z" * MAX_CODE + "\n")
    with pytest.raises(LoadError, match="MiB of code"):
        load(q)


def test_code_size_is_counted_in_utf8_bytes(tmp_path):
    """Characters of 3 UTF-8 bytes: a third as many of them fill the limit."""
    fits = "x = 1\n# " + "中" * (MAX_CODE // 3 - 20)
    assert load(_write(tmp_path / "fits.py", fits)).cells
    with pytest.raises(LoadError, match="MiB of code"):
        load(_write(tmp_path / "over.py", "x = 1\n# " + "中" * (MAX_CODE // 3 + 1)))


def test_the_file_size_is_bounded_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_BYTES", 1024)
    p = _write(tmp_path / "big.ipynb", _nb([("code", "x = 1")]) + " " * 1024)
    with pytest.raises(LoadError, match="the file is larger than"):
        load(p)


@pytest.mark.parametrize("name,content,reason", [
    ("broken.ipynb", "{not json", "not valid JSON"),
    ("list.ipynb", "[1, 2]", "not a JSON object"),
    ("plain.ipynb", '{"a": 1}', "not a Jupyter notebook"),
    ("bool.ipynb", '{"nbformat": true, "cells": []}', "not a Jupyter notebook"),
    ("zero.ipynb", '{"nbformat": 0, "cells": []}', "not a Jupyter notebook"),
    ("no_cells.ipynb", '{"nbformat": 4, "cells": {}}', "no list of cells"),
    ("latin1.ipynb", b'{"nbformat": 4, "cells": ["\xe9"]}', "not valid JSON"),
    ("empty.ipynb", _nb([("markdown", "only words")]), "no code"),
    ("comments.ipynb", _nb([("code", "# a comment\n\n# another")]), "no code"),
    ("magic_only.ipynb", _nb([("code", "%%bash\nls")]), "no code"),
    ("binary.py", b"\xff\xfe\x00", "not UTF-8"),
    ("empty.py", "# nothing here\n", "no code"),
    ("essay.docx", "hello", "not a notebook"),
    ("bad.zip", "PK not really", "damaged"),
])
def test_unreadable_inputs_are_refused_with_a_reason(tmp_path, name, content, reason):
    with pytest.raises(LoadError, match=reason):
        load(_write(tmp_path / name, content))


def test_a_missing_file_is_refused_with_a_reason(tmp_path):
    with pytest.raises(LoadError, match="cannot be read"):
        load(tmp_path / "missing.ipynb")
