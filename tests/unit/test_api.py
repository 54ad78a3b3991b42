"""autograder.api without a sandbox: what is found to grade, which file of a folder is graded, and the
gradings made where nothing can run (nothing submitted, a worker that died)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from autograder import api, i18n
from autograder.engine import results
from autograder.engine.runner import Rule
from autograder.engine.sandbox import Limits


def _touch(path: Path, mtime: float | None = None, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _rule(name: str, question: str, points: float) -> Rule:
    return Rule(name, question, points, "visible", lambda: None, name)


# ------------------------------------------------------------------ pick_submission


def test_an_empty_or_missing_folder_has_no_submission(tmp_path: Path) -> None:
    for folder in (tmp_path, tmp_path / "missing"):
        path, note = api.pick_submission(folder, "access")
        assert path is None
        assert note == ("No submission found: upload your notebook (access.ipynb), a .py file, or the zip that "
                        "the notebook's export cell makes.")


def test_a_single_file_is_graded_and_named(tmp_path: Path) -> None:
    only = _touch(tmp_path / "work" / "mine.py")
    assert api.pick_submission(tmp_path, "access") == (only, "Graded work/mine.py.")


@pytest.mark.parametrize("files, chosen, why", [
    # the notebook named after the assignment beats a newer notebook
    ({"access.ipynb": 100, "other.ipynb": 200}, "access.ipynb", "named access.ipynb"),
    ({"ACCESS.IPYNB": 100, "other.ipynb": 200}, "ACCESS.IPYNB", "named access.ipynb"),
    # then any notebook, the newest first; then a zip; then a .py file
    ({"a.ipynb": 100, "b.ipynb": 200, "c.zip": 300}, "b.ipynb", "the newest notebook"),
    ({"a.zip": 100, "b.zip": 200, "c.py": 300}, "b.zip", "the newest zip"),
    ({"a.py": 200, "b.py": 100}, "a.py", "the newest .py file"),
    # the same kind and time: the path breaks the tie (the last in order), so a regrade picks the same
    ({"a.ipynb": 100, "b.ipynb": 100}, "b.ipynb", "the newest notebook"),
])
def test_of_several_files_one_is_chosen_and_the_note_says_why(tmp_path: Path, files: dict[str, float], chosen: str,
                                                              why: str) -> None:
    for name, mtime in files.items():
        _touch(tmp_path / name, mtime)
    path, note = api.pick_submission(tmp_path, "access")
    assert path == tmp_path / chosen
    others = sorted(set(files) - {chosen})
    assert isinstance(note, i18n.Message) and note.params["count"] == len(files)
    assert note.startswith(f"Graded {chosen} ({why}); {len(files)} submission files were found")
    assert all(o in note.params["others"] for o in others)


def test_the_others_listed_are_at_most_five(tmp_path: Path) -> None:
    for i in range(8):
        _touch(tmp_path / f"s{i}.py", 100 + i)
    path, note = api.pick_submission(tmp_path, "access")
    assert path == tmp_path / "s7.py"
    assert note.params["others"] == "s6.py, s5.py, s4.py, s3.py, s2.py, ..."


def test_hidden_files_checkpoints_links_and_other_suffixes_are_never_picked(tmp_path: Path) -> None:
    _touch(tmp_path / ".hidden.ipynb")
    _touch(tmp_path / ".ipynb_checkpoints" / "access-checkpoint.ipynb")
    _touch(tmp_path / "__MACOSX" / "access.ipynb")
    _touch(tmp_path / "notes.txt")
    outside = _touch(tmp_path.parent / f"{tmp_path.name}-outside" / "secret.ipynb")
    (tmp_path / "link.ipynb").symlink_to(outside)
    assert api.pick_submission(tmp_path, "access")[0] is None
    real = _touch(tmp_path / "sub" / "real.py")
    assert api.pick_submission(tmp_path, "access") == (real, "Graded sub/real.py.")


def test_the_note_is_said_in_the_submissions_language(tmp_path: Path) -> None:
    _touch(tmp_path / "a.py", 100)
    _touch(tmp_path / "b.py", 200)
    _, note = api.pick_submission(tmp_path, "access")
    with i18n.using("zh"):
        said = i18n.render(note)
    assert said != str(note) and "b.py" in said and "a.py" in said


# ------------------------------------------------------------------ find_submissions and read_metadata

METADATA = """\
submission_1001:
  :submitters:
  - :name: Ada Lovelace
    :sid: '42'
    :email: ada@example.org
  - :name: Alan Turing
    :sid: ''
submission_1002:
  submitters:
  - name: Grace Hopper
broken: just a string
"""


def test_a_file_named_explicitly_is_one_submission_whatever_it_is(tmp_path: Path) -> None:
    odd = _touch(tmp_path / "README.md")
    assert api.find_submissions([str(odd)], "access") == [api.Submitted("README.md", odd)]


def test_a_folder_of_files_and_of_student_folders(tmp_path: Path) -> None:
    _touch(tmp_path / "b.ipynb")
    _touch(tmp_path / "a.py")
    _touch(tmp_path / "notes.txt")
    _touch(tmp_path / ".hidden.py")
    _touch(tmp_path / "carol" / "access.ipynb")
    (tmp_path / "dave").mkdir()
    found = api.find_submissions([tmp_path], "access")
    assert [(s.name, s.path) for s in found] == [("a.py", tmp_path / "a.py"), ("b.ipynb", tmp_path / "b.ipynb"),
                                                  ("carol", tmp_path / "carol" / "access.ipynb"), ("dave", None)]
    assert found[2].note == ""  # one file in the folder: nothing to tell
    assert found[3].note.startswith("No submission found")


def test_a_student_folder_with_several_files_keeps_the_note(tmp_path: Path) -> None:
    _touch(tmp_path / "eve" / "x.py", 100)
    _touch(tmp_path / "eve" / "access.ipynb", 50)
    (sub,) = api.find_submissions([tmp_path], "access")
    assert sub.path == tmp_path / "eve" / "access.ipynb"
    assert isinstance(sub.note, i18n.Message) and "others" in sub.note.params


def test_two_submissions_of_one_name_get_their_own(tmp_path: Path) -> None:
    one, two = _touch(tmp_path / "x" / "hw.ipynb"), _touch(tmp_path / "y" / "hw.ipynb")
    found = api.find_submissions([tmp_path / "x", tmp_path / "y", one], "access")
    assert [s.name for s in found] == ["hw.ipynb", "hw.ipynb-2", "hw.ipynb-3"]
    assert [s.path for s in found] == [one, two, one]


def test_a_gradescope_export_names_its_submitters(tmp_path: Path) -> None:
    (tmp_path / api.GRADESCOPE_METADATA).write_text(METADATA)
    _touch(tmp_path / "submission_1001" / "access.ipynb")
    _touch(tmp_path / "submission_1002" / "access.ipynb")
    _touch(tmp_path / "submission_1003" / "access.ipynb")
    found = {s.name: s.submitters for s in api.find_submissions([tmp_path], "access")}
    assert found == {
        "submission_1001": ({"name": "Ada Lovelace", "sid": "42", "email": "ada@example.org"},
                            {"name": "Alan Turing"}),
        "submission_1002": ({"name": "Grace Hopper"},),
        "submission_1003": (),
    }


# What Gradescope's "Export Submissions" writes: Ruby symbols as keys, Ruby-tagged values (a BigDecimal
# score, a hash with indifferent access), a timestamp; a group of two and a student alone.
GRADESCOPE_EXPORT = """\
---
submission_271828182:
  :submitters:
  - :name: Ada Lovelace
    :sid: '1001'
    :email: ada@example.edu
  - :name: Alan Turing
    :sid: '1002'
    :email: alan@example.edu
  :created_at: 2026-11-20 10:00:00.123456000 -08:00
  :score: !ruby/object:BigDecimal 18:0.17e2
  :status: processed
  :results: !ruby/hash:ActiveSupport::HashWithIndifferentAccess
    score: !ruby/object:BigDecimal 18:0.17e2
    tests: []
  :history: []
submission_314159265:
  :submitters:
  - :name: Grace Hopper
    :sid: '1003'
    :email: grace@example.edu
  :created_at: 2026-11-21 09:30:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.15e2
  :status: processed
"""


def test_a_real_gradescope_export_with_ruby_tags_names_its_submitters(tmp_path: Path, capsys) -> None:
    (tmp_path / api.GRADESCOPE_METADATA).write_text(GRADESCOPE_EXPORT)
    assert api.read_metadata(tmp_path) == {
        "submission_271828182": [{"name": "Ada Lovelace", "sid": "1001", "email": "ada@example.edu"},
                                 {"name": "Alan Turing", "sid": "1002", "email": "alan@example.edu"}],
        "submission_314159265": [{"name": "Grace Hopper", "sid": "1003", "email": "grace@example.edu"}],
    }
    assert capsys.readouterr().err == ""


def test_an_unknown_tag_constructs_nothing(tmp_path: Path) -> None:
    """The loader stays safe: a Python tag is read as the plain value it tags, never run."""
    (tmp_path / api.GRADESCOPE_METADATA).write_text(
        "s:\n  :submitters:\n  - :name: !!python/object/apply:os.system ['echo pwned']\n")
    assert api.read_metadata(tmp_path) == {"s": [{"name": "['echo pwned']"}]}


@pytest.mark.parametrize("text", ["", "- a list\n", "a: 1\n"])
def test_unusable_metadata_names_nobody(tmp_path: Path, text: str) -> None:
    (tmp_path / api.GRADESCOPE_METADATA).write_text(text)
    assert api.read_metadata(tmp_path) == {}


def test_unreadable_metadata_says_so_in_one_line(tmp_path: Path, capsys) -> None:
    (tmp_path / api.GRADESCOPE_METADATA).write_text(": not yaml: [")
    assert api.read_metadata(tmp_path) == {}
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("autograder: warning:") and "cannot be read" in err[0], err


def test_metadata_behind_a_link_is_not_read(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.yml"
    real.write_text(METADATA)
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / api.GRADESCOPE_METADATA).symlink_to(real)
    assert api.read_metadata(tmp_path / "export") == {}


# ------------------------------------------------------------------ gradings where nothing runs


def test_the_time_budget_is_each_question_plus_four() -> None:
    assert api.time_budget(Limits(), 6) == 100
    assert api.time_budget(Limits(time=2.5), 0) == 10


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_not_graded_fails_every_rule_saying_why(lang: str) -> None:
    rules = [_rule("test_a", "q1", 1.0), _rule("test_b", "q2", 2.0), _rule("test_c", "q1", 0.5)]
    with i18n.using(lang):
        g = api.not_graded("access", "s.ipynb", rules, "the grading process died")
        why = i18n._("not graded: {reason}").format(reason="the grading process died")
    assert g.questions == ["q1", "q2"] and g.submission == "s.ipynb"
    assert [r.rule for r in g.results] == rules and not any(r.passed for r in g.results)
    assert all(r.hint == why for r in g.results) and g.errors == [why]
    assert results.status(g) == ("not graded", "the grading process died")
    assert (g.total, g.max_total) == (0.0, 3.5)
    assert g.question_scores() == {"q1": (0.0, 1.5), "q2": (0.0, 2.0)}


def test_a_batch_has_the_rules_questions_and_points() -> None:
    rules = [_rule("test_a", "q2", 1.0), _rule("test_b", "q1", 2.0), _rule("test_c", "q2", 0.25)]
    batch = api.Batch.of([{"submission": "x"}], rules)
    assert batch == api.Batch([{"submission": "x"}], ["q2", "q1"], {"q2": 1.25, "q1": 2.0})


def test_nothing_submitted_is_graded_without_a_sandbox() -> None:
    """``grade_one(None)``: every rule of the assignment fails with the note; no child is started
    (tests/unit forbids processes)."""
    note = i18n.defer("No submission found: upload your notebook ({notebook}), a .py file, or the zip that "
                      "the notebook's export cell makes.", notebook="access.ipynb")
    g, seconds = api.grade_one(None, "access", Limits(), note=note, lang="zh")
    assert g.lang == "zh" and seconds >= 0
    assert g.not_graded and "access.ipynb" in g.not_graded and g.not_graded != str(note)  # said in Chinese
    assert g.results and not any(r.passed for r in g.results)
    assert g.questions == list(dict.fromkeys(r.rule.question for r in g.results))


def test_an_empty_class_has_the_assignments_columns(tmp_path: Path) -> None:
    batch = api.grade_many("access", [], tmp_path)
    from autograder.engine import runner

    rules = runner.rules("access")
    assert batch.rows == [] and batch.questions == runner.questions("access")
    assert sum(batch.points.values()) == pytest.approx(sum(r.points for r in rules))
    assert os.listdir(tmp_path) == []
