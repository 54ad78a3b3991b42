"""Loading submissions: every format the contract allows, and clear refusals for the rest."""
from __future__ import annotations

import json
import zipfile

import pytest

from autograder.engine.loader import LoadError, load, strip_magics
from conftest import grade_cli, load_gradebook


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
    assert strip_magics("%%time\nx = 1") is None
    assert strip_magics("%matplotlib inline\nx = 1\n!pip install torch\nif x:\n    %time y = 2") == \
        "pass\nx = 1\npass\nif x:\n    pass"


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
