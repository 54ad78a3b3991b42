"""autograder.paths: the package's folders, the kit's checkout, and the assignments its graders define."""
from __future__ import annotations

from pathlib import Path

import pytest

import autograder
from autograder import paths


def test_the_package_folders_are_where_this_package_is() -> None:
    assert paths.PACKAGE == Path(autograder.__file__).resolve().parent
    assert paths.SOURCE_ROOT == paths.PACKAGE.parent
    assert paths.GRADERS == paths.PACKAGE / "graders"


def test_the_checkout_is_the_folder_holding_the_package_here() -> None:
    """These tests run from the kit's repository, so the default checkout is the folder holding the package."""
    repo = paths.checkout()
    assert repo.root == paths.SOURCE_ROOT
    assert repo.solutions == repo.root / "solutions" and repo.solutions.is_dir()
    assert repo.assignments == repo.root / "assignments"
    assert repo.samples == repo.root / "tests" / "submissions"
    assert repo.hostile == repo.root / "tests" / "hostile"
    assert repo.dist == repo.root / "dist"
    assert repo.requirements == repo.root / "requirements.txt"


@pytest.mark.parametrize("present, missing", [
    ((), "no pyproject.toml and no solutions/"),
    (("pyproject.toml",), "no solutions/"),
    (("solutions/",), "no pyproject.toml"),
])
def test_a_folder_without_the_repository_is_not_a_checkout(tmp_path: Path, present: tuple[str, ...],
                                                            missing: str) -> None:
    for name in present:
        (tmp_path / name.rstrip("/")).mkdir() if name.endswith("/") else (tmp_path / name).write_text("")
    with pytest.raises(paths.NotACheckout, match=missing) as caught:
        paths.checkout(tmp_path)
    assert isinstance(caught.value, FileNotFoundError) and str(tmp_path) in str(caught.value)


def test_a_folder_with_the_repository_is_a_checkout(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "solutions").mkdir()
    assert paths.checkout(tmp_path) == paths.Checkout(tmp_path)
    assert paths.checkout(tmp_path).samples == tmp_path / "tests" / "submissions"


def test_assignments_are_the_grader_files_names(tmp_path: Path) -> None:
    for name in ("test_tied.py", "test_access.py", "conftest.py", "zoo.py", "test_.py", "test_notes.txt",
                 "test_init.pyc"):
        (tmp_path / name).write_text("")
    assert paths.assignments(tmp_path) == ("access", "tied")


def test_no_readable_graders_folder_means_no_assignments(tmp_path: Path) -> None:
    assert paths.assignments(tmp_path / "nowhere") == ()


def test_the_package_lists_the_assignments_its_graders_define() -> None:
    assert paths.assignments() == ("access", "init", "tied")
    # the package root is bound into the sandbox, which has no paths.py: it holds no list of its own
    assert not hasattr(autograder, "ASSIGNMENTS")
