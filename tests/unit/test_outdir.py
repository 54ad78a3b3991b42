"""autograder.outdir's two shared writers: the atomic write (with its mode) and the zip entry stamp.
(Refusing unsafe results folders is tested end to end in tests/test_parent.py.)"""
from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path

import pytest

from autograder import outdir


def test_write_is_atomic_with_the_mode_asked_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        private = outdir.write(tmp_path, "a/results.json", "{}\n")
        public = outdir.write(tmp_path, "dist.zip", b"PK", mode=0o644)
    finally:
        os.umask(old)
    assert private == tmp_path / "a" / "results.json" and private.read_text() == "{}\n"
    assert stat.S_IMODE(private.stat().st_mode) == outdir.FILE_MODE
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == outdir.DIR_MODE
    assert stat.S_IMODE(public.stat().st_mode) == 0o644 and public.read_bytes() == b"PK"
    assert sorted(os.listdir(tmp_path)) == ["a", "dist.zip"], "no temporary file is left behind"


def test_write_replaces_a_planted_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.json").symlink_to(victim)
    outdir.write(tmp_path / "out", "results.json", "new")
    assert victim.read_text() == "keep"
    assert not (tmp_path / "out" / "results.json").is_symlink()


def test_a_file_at_a_folders_name_is_refused_never_unlinked(tmp_path: Path) -> None:
    """A student's notebook where a submission's folder goes (``--out`` = the submissions) is kept."""
    (tmp_path / "a.ipynb").write_text("the student's work")
    with pytest.raises(outdir.UnsafeOutput, match="is a file"):
        outdir.write(tmp_path, "a.ipynb/results.json", "{}")
    assert (tmp_path / "a.ipynb").read_text() == "the student's work"


def test_a_link_at_a_folders_name_is_replaced_not_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a").symlink_to(tmp_path / "elsewhere")
    outdir.write(tmp_path / "out", "a/results.json", "{}")
    assert (tmp_path / "out" / "a").is_dir() and not (tmp_path / "out" / "a").is_symlink()
    assert os.listdir(tmp_path / "elsewhere") == []


@pytest.mark.parametrize("out, path", [(".", "."), ("subs/out", "subs"), ("out", "out/a.ipynb"),
                                       ("link", "subs")])
def test_a_results_folder_overlapping_the_submissions_is_refused(tmp_path: Path, out: str, path: str) -> None:
    (tmp_path / "subs").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "subs")
    with pytest.raises(outdir.UnsafeOutput, match="submissions"):
        outdir.check_apart(tmp_path / out, [tmp_path / path])


def test_a_results_folder_apart_from_the_submissions_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "subs").mkdir()
    outdir.check_apart(tmp_path / "subs-out", [tmp_path / "subs", tmp_path / "subs2" / "a.ipynb"])


def test_conflicts_are_files_the_previous_run_did_not_write(tmp_path: Path) -> None:
    for name in ("mine.ipynb", "listed.ipynb"):
        (tmp_path / name).write_text("x")
    (tmp_path / "folder").mkdir()
    (tmp_path / outdir.MANIFEST).write_text('{"assignment": "access", "entries": ["listed.ipynb"]}')
    names = ["mine.ipynb", "listed.ipynb", "folder", "absent"]
    assert outdir.conflicts(tmp_path, names) == ["mine.ipynb"]


def _zip(entries: list[zipfile.ZipInfo]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for info in entries:
            zf.writestr(info, b"data")
    return buf.getvalue()


def test_zip_entries_are_stamped_so_that_the_bytes_depend_on_the_contents() -> None:
    run = outdir.zip_entry("run_autograder", 0o755)
    assert run.date_time == outdir.ZIP_EPOCH == (1980, 1, 1, 0, 0, 0)
    assert run.compress_type == zipfile.ZIP_DEFLATED and run.create_system == 3
    assert run.external_attr >> 16 == stat.S_IFREG | 0o755
    assert outdir.zip_entry("setup.sh").external_attr >> 16 == stat.S_IFREG | 0o644
    copied = outdir.zip_entry("x", external_attr=0o123 << 16)
    assert copied.external_attr == 0o123 << 16
    assert _zip([outdir.zip_entry("a", 0o600)]) == _zip([outdir.zip_entry("a", 0o600)])
    with zipfile.ZipFile(io.BytesIO(_zip([run]))) as zf:
        (info,) = zf.infolist()
    assert info.date_time == outdir.ZIP_EPOCH and stat.S_IMODE(info.external_attr >> 16) == 0o755
