"""Loading submissions: every format the contract allows, and clear refusals for the rest."""
from __future__ import annotations

import json
import zipfile

import pytest

from autograder.engine.loader import MAX_CELLS, MAX_CODE, LoadError, load, strip_magics
from conftest import ROOT, grade_cli, load_gradebook


def _nb(cells, nbformat=4):
    return json.dumps({"nbformat": nbformat, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": t, "metadata": {}, "source": s, **({"outputs": [], "execution_count": None}
                                  if t == "code" else {})} for t, s in cells]})


def test_notebook_code_cells_in_order(tmp_path):
    p = tmp_path / "a.ipynb"
    p.write_text(_nb([("markdown", "# hi"), ("code", ["x = 1\n", "y = 2"]), ("raw", "z"), ("code", "w = 3")]))
    sub = load(p)
    assert sub.cells == ["x = 1\ny = 2", "w = 3"] and len(sub.digest) == 64


def test_magics_and_shell_lines_skipped():
    assert strip_magics("%matplotlib inline\nx = 1\n!pip install torch\nif x:\n    %time y = 2\nfiles = !ls") == \
        "pass\nx = 1\npass\nif x:\n    pass\npass"


def test_time_and_capture_cells_run_their_body_other_cell_magics_are_skipped_and_named(tmp_path):
    assert strip_magics("%%time\nx = 1\n%time y = 2") == "x = 1\npass"
    assert strip_magics("%%capture out --no-stderr\nz = 3") == "z = 3"
    assert strip_magics("%%bash\nls") is None and strip_magics("%%timeit\nw = 1") is None
    p = tmp_path / "a.ipynb"
    p.write_text(_nb([("code", "%%time\ndef f():\n    return 1"), ("code", "%%bash\necho hi"),
                      ("code", "%%capture\ng = f()")]))
    sub = load(p)
    assert sub.cells == ["def f():\n    return 1", "g = f()"]
    assert sub.notes == ['the code cell starting "%%bash" (code cell 2) was skipped: the cell magic %%bash does '
                         'not run when grading (only %%time and %%capture cells run, as plain Python)']


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
    p = tmp_path / "access.py"
    p.write_text(NBCONVERT_SCRIPT)
    sub = load(p)
    assert [c.strip() for c in sub.cells] == ["pass\nimport torch\npass\npass", "def f(x):\n    return x + 1\npass",
                                              "if True:\n    pass\n    r = f(2)"]
    assert sub.labels[0] == 'the code cell starting "get_ipython().run_line_magic(\'matplotlib\', \'inline\')" (line 10)'
    assert len(sub.notes) == 1 and "(line 25) was skipped: the cell magic %%bash" in sub.notes[0]
    namespace: dict = {}
    for cell in sub.cells:  # the cells run as plain Python: no get_ipython, no NameError
        exec(cell.replace("import torch", ""), namespace)
    assert namespace["r"] == 3


def test_cells_are_located_by_their_first_line(tmp_path):
    p = tmp_path / "a.ipynb"
    p.write_text(_nb([("code", "\n\ndef param_shapes(module):\n    pass"), ("code", "x = 1")]))
    sub = load(p)
    assert sub.where(0) == 'the code cell starting "def param_shapes(module):" (code cell 1)'
    q = tmp_path / "a.py"
    q.write_text("a = 1\n# %%\n\n# comment\nb = 2\n")
    assert load(q).where(1) == 'the code cell starting "b = 2" (line 5)'


def test_notebook_names_its_assignment_through_otter_metadata(tmp_path):
    p = tmp_path / "a.ipynb"
    nb = json.loads(_nb([("code", "x = 1")]))
    nb["metadata"]["otter"] = {"assignment_name": "init", "OK_FORMAT": False}
    p.write_text(json.dumps(nb))
    assert load(p).assignment == "init"
    q = tmp_path / "b.ipynb"
    q.write_text(_nb([("code", "x = 1")]))
    assert load(q).assignment is None


def test_large_outputs_do_not_matter(tmp_path):
    """A notebook of over 100 MiB, nearly all saved outputs, is graded: the limits bound the code."""
    nb = json.loads(_nb([("code", "x = 1")]))
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "y" * 2**20}] * 101
    p = tmp_path / "big.ipynb"
    p.write_text(json.dumps(nb))
    assert p.stat().st_size > 100 * 2**20
    assert load(p).cells == ["x = 1"]


def test_code_is_bounded(tmp_path):
    p = tmp_path / "many.ipynb"
    p.write_text(_nb([("code", f"x{i} = {i}") for i in range(MAX_CELLS + 1)]))
    with pytest.raises(LoadError, match=f"at most {MAX_CELLS}"):
        load(p)
    q = tmp_path / "long.py"
    q.write_text("x = 1\n" + "# " + "z" * MAX_CODE + "\n")
    with pytest.raises(LoadError, match="MiB of code"):
        load(q)


def test_deeply_nested_json_is_refused_with_a_reason(tmp_path):
    p = tmp_path / "deep.ipynb"
    p.write_text('{"nbformat": 4, "cells": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(LoadError, match="nested far too deeply"):
        load(p)


def test_python_percent_cells(tmp_path):
    p = tmp_path / "a.py"
    p.write_text("a = 1\n# %%\nb = 2\n# %% [markdown]\n#%%\nc = 3\n")
    assert load(p).cells == ["a = 1", "b = 2", "c = 3"]


def test_zip_with_one_notebook_ignores_the_rest(tmp_path):
    p = tmp_path / "export.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hw/access.ipynb", _nb([("code", "x = 1")]))
        z.writestr(".OTTER_LOG", b"\x80\x04not-to-be-unpickled")
        z.writestr("data.pkl", b"\x80\x04")
    sub = load(p)
    assert sub.cells == ["x = 1"] and "access.ipynb" in sub.notes[0]


def test_old_notebook_is_upgraded(tmp_path):
    p = tmp_path / "old.ipynb"
    p.write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": "x = 41 + 1", "language": "python", "outputs": []}]}]}))
    assert load(p).cells == ["x = 41 + 1"]


@pytest.mark.parametrize("name,content,reason", [
    ("broken.ipynb", "{not json", "not valid JSON"),
    ("list.ipynb", "[1, 2]", "not a JSON object"),
    ("plain.ipynb", '{"a": 1}', "not a Jupyter notebook"),
    ("empty.ipynb", _nb([("markdown", "only words")]), "no code"),
    ("magic_only.ipynb", _nb([("code", "%%bash\nls")]), "no code"),
    ("binary.py", b"\xff\xfe\x00", "not UTF-8"),
    ("essay.docx", "hello", "not a notebook"),
    ("bad.zip", "PK not really", "damaged"),
])
def test_unreadable_inputs_are_refused_with_a_reason(tmp_path, name, content, reason):
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(LoadError, match=reason):
        load(p)


def test_zip_with_two_notebooks_is_refused(tmp_path):
    p = tmp_path / "two.zip"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.ipynb", _nb([("code", "x = 1")]))
        z.writestr("b.ipynb", _nb([("code", "x = 2")]))
    with pytest.raises(LoadError, match="exactly one notebook"):
        load(p)


def test_unreadable_submissions_get_a_row_and_results_through_the_cli(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.ipynb").write_text("{oops")
    (tmp_path / "in" / "empty.py").write_text("# nothing here\n")
    (tmp_path / "in" / "notes.zip").write_bytes(b"PK\x03\x04garbage")
    run = grade_cli("access", [tmp_path / "in"], tmp_path / "out")
    assert run.returncode == 0, run.stderr
    book = load_gradebook(tmp_path / "out")
    assert set(book) == {"broken.ipynb", "empty.py", "notes.zip"}
    for name, row in book.items():
        assert row["total"] == 0 and row["max_total"] > 0
        assert row["errors"] and row["errors"][0].startswith("not graded:"), row
        results = json.loads((tmp_path / "out" / name / "results.json").read_text())
        assert results["score"] == 0 and results["tests"] and "not graded" in results["output"]


def test_cli_refuses_bad_arguments(tmp_path):
    assert grade_cli("nosuch", [tmp_path], tmp_path / "o").returncode != 0
    assert grade_cli("access", [tmp_path / "missing.ipynb"], tmp_path / "o").returncode != 0
    assert grade_cli("access", [tmp_path], tmp_path / "o", "--jobs", "0").returncode != 0


def test_what_the_student_is_told_hangs_wrong_assignment_notes(tmp_path):
    """A hang says so; a notebook made for another assignment is told so; a note is not an error."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "hang.py").write_text("def param_shapes(module):\n    while True:\n        pass\n")
    init = json.loads((ROOT / "assignments" / "init" / "init.ipynb").read_text())
    (tmp_path / "in" / "other.ipynb").write_text(json.dumps(init))
    with zipfile.ZipFile(tmp_path / "in" / "export.zip", "w") as z:
        z.writestr("access.ipynb", _nb([("code", "def count_parameters(module, trainable_only=False):\n    return 0")]))
    run = grade_cli("access", [tmp_path / "in"], tmp_path / "out", "--time-limit", "2")
    assert run.returncode == 0, run.stderr
    book = load_gradebook(tmp_path / "out")
    hang = book["hang.py"]
    assert any("param_shapes" in e and "did not finish within 2 s" in e for e in hang["errors"]), hang["errors"]
    feedback = (tmp_path / "out" / "hang.py" / "feedback.md").read_text()
    assert "ran without errors" not in feedback and "did not finish" in feedback
    assert any("made for the assignment 'init'" in e for e in book["other.ipynb"]["errors"]), book["other.ipynb"]
    exported = book["export.zip"]
    assert exported["errors"] == [] and any("graded the notebook access.ipynb" in n for n in exported["notes"])
    assert "ran without errors" in (tmp_path / "out" / "export.zip" / "feedback.md").read_text()
