"""The results folder (``--out``), written safely: nobody else's folder, no symlink ever followed.

Grading runs with more rights than the students whose files it writes about (often as root), in
a folder a student, or another user of the machine, may have prepared. So:

- ``prepare`` refuses (``UnsafeOutput``, one line) a folder owned by someone else, one that group
  or others can write, or a path that is not a folder; it creates a missing one with mode 0700;
- ``check_apart`` refuses a folder that is, holds or lies inside the submissions graded;
- ``write`` opens every folder below that root without following symlinks (a link at a folder's
  name is replaced by a fresh 0700 folder; a file there is refused, never removed), writes a new 0600
  file beside the target and renames it over the target: a symlink planted at the file's name is
  replaced, never written through; each student's results are readable only by whoever graded.

- ``check_reusable`` refuses a folder that holds the results of another assignment, and one the
  kit cannot write in; ``clear_previous`` removes what the previous run into the folder wrote
  (named in its manifest, ``.autograder.json``), so that a re-run never mixes old and new files;
  links are removed, never followed.

``write`` is the kit's one atomic write (results, Gradescope's results.json, the zips it builds),
and ``zip_entry`` its one way to stamp a zip entry, so that a zip's bytes depend on its contents.

No import of the engine or of torch: ``reports`` uses this too.
"""
from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import zipfile

DIR_MODE, FILE_MODE = 0o700, 0o600
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
MANIFEST = ".autograder.json"  # what the last run wrote here: {"assignment": ..., "entries": [top-level names]}
_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeOutput(OSError):
    """The results folder cannot be used safely; the message says why, in one line."""


def prepare(out: Path) -> Path:
    """Check ``out`` (creating it, mode 0700, when missing) and return its resolved absolute path.

    Refused: a symlink someone else made, anything but a folder, a folder owned by another user,
    or one that group or others can write (they could plant links or swap files in it)."""
    path = Path(os.path.abspath(out))
    me = os.geteuid()
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            pass  # made meanwhile: checked below like any existing folder
        except OSError as exc:
            raise UnsafeOutput(f"{out}: cannot create it ({exc.strerror})") from None
        st = os.lstat(path)
    except OSError as exc:
        raise UnsafeOutput(f"{out}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        if st.st_uid != me:
            raise UnsafeOutput(f"{out} is a symbolic link that belongs to someone else (uid {st.st_uid})")
        try:
            st = os.stat(path)
        except OSError as exc:
            raise UnsafeOutput(f"{out} is a symbolic link to nowhere usable ({exc.strerror})") from None
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeOutput(f"{out} exists and is not a folder")
    if st.st_uid != me:
        raise UnsafeOutput(f"{out} belongs to someone else (uid {st.st_uid}); use a folder of your own")
    if st.st_mode & 0o022:
        raise UnsafeOutput(f"{out} can be written by other users (mode {stat.S_IMODE(st.st_mode):o}): "
                           f"run chmod go-w on it, or use another folder")
    return Path(os.path.realpath(path))


def _parts(rel: str | os.PathLike) -> list[str]:
    parts = PurePosixPath(os.fspath(rel)).parts
    if not parts or any(p in ("", ".", "..", "/") or "/" in p for p in parts):
        raise UnsafeOutput(f"not a plain relative path inside the results folder: {os.fspath(rel)!r}")
    return list(parts)


def _open_subdir(parent: int, name: str) -> int:
    """Open folder ``name`` in ``parent`` without following a link. A symlink there is replaced by the
    folder; a file there is refused (``UnsafeOutput``), never unlinked: the kit removes only what its
    manifest says it wrote (``clear_previous``)."""
    me = os.geteuid()
    for _ in range(3):
        try:
            fd = os.open(name, _NOFOLLOW_DIR, dir_fd=parent)
        except FileNotFoundError:
            try:
                os.mkdir(name, DIR_MODE, dir_fd=parent)
            except FileExistsError:
                pass
            continue
        except OSError as exc:
            if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            try:
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISLNK(st.st_mode):  # a file the kit did not write (clear_previous removed what it did)
                raise UnsafeOutput(f"{name} in the results folder is a file, not a folder of results: it is left "
                                   f"alone (move it away, or use another folder)") from None
            try:  # a symlink at the folder's name: unlinked (the link, never what it points to), the folder made
                os.unlink(name, dir_fd=parent)
            except FileNotFoundError:
                pass
            continue
        st = os.fstat(fd)
        if st.st_uid != me:
            os.close(fd)
            raise UnsafeOutput(f"{name} in the results folder belongs to someone else (uid {st.st_uid})")
        if stat.S_IMODE(st.st_mode) != DIR_MODE:
            os.fchmod(fd, DIR_MODE)
        return fd
    raise UnsafeOutput(f"{name} in the results folder keeps changing")


def _open_parent(root: Path, parts: list[str]) -> int:
    """A descriptor of the folder that will hold ``parts[-1]``: the root, then each folder below it."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in parts[:-1]:
            sub = _open_subdir(fd, name)
            os.close(fd)
            fd = sub
    except BaseException:
        os.close(fd)
        raise
    return fd


def write(root: Path, rel: str | os.PathLike, data: str | bytes, mode: int = FILE_MODE) -> Path:
    """Write ``root/rel`` atomically with ``mode`` (default 0600; folders below ``root`` 0700), following
    no link below ``root``: a reader never sees half a file, and nothing planted there is written through."""
    parts = _parts(rel)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    dfd = _open_parent(root, parts)
    name = parts[-1]
    tmp = f".{name}.{secrets.token_hex(6)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE,
                     dir_fd=dfd)
        try:
            os.fchmod(fd, mode)  # whatever the umask
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        try:
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)  # replaces a symlink, never follows it
        except IsADirectoryError:
            raise UnsafeOutput(f"{'/'.join(parts)} in the results folder is a folder, not a file") from None
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=dfd)
        except OSError:
            pass
        raise
    finally:
        os.close(dfd)
    return Path(root, *parts)


def read_text(root: Path, rel: str | os.PathLike) -> str:
    """Read ``root/rel`` following no link below ``root`` (``OSError`` when it is missing or a link)."""
    parts = _parts(rel)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for name in parts[:-1]:
            sub = os.open(name, _NOFOLLOW_DIR, dir_fd=fd)
            os.close(fd)
            fd = sub
        ffd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    finally:
        os.close(fd)
    with os.fdopen(ffd, "r", encoding="utf-8") as f:
        return f.read()


def _readable_json(root: Path, rel: str) -> dict | None:
    """``root/rel`` as a JSON object, read without following links; None when missing or unusable."""
    try:
        data = json.loads(read_text(root, rel))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def previous_assignment(root: Path) -> str | None:
    """The assignment whose results the folder holds (its manifest, else its gradebook.json), or None."""
    for rel in (MANIFEST, "gradebook.json"):
        data = _readable_json(root, rel)
        if data is not None and isinstance(data.get("assignment"), str):
            return data["assignment"]
    return None


def check_reusable(root: Path, assignment: str) -> None:
    """Refuse (``UnsafeOutput``) a results folder this run must not use: one holding the results of
    another assignment (a re-run would delete them), or one the kit cannot create files in (a
    read-only folder or file system). A folder ``prepare`` accepted; nothing is left behind."""
    other = previous_assignment(root)
    if other is not None and other != assignment:
        raise UnsafeOutput(f"{root} holds the results of assignment '{other}', not '{assignment}': "
                           f"use another folder (a re-run replaces what a folder holds)")
    probe = f".autograder-probe-{secrets.token_hex(6)}"
    try:
        dfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE,
                         dir_fd=dfd)
            os.close(fd)
            os.unlink(probe, dir_fd=dfd)
        finally:
            os.close(dfd)
    except OSError as exc:
        raise UnsafeOutput(f"{root} is not writable ({exc.strerror or exc})") from None


def check_apart(root: Path | str, paths: list[str] | list[Path]) -> None:
    """Refuse (``UnsafeOutput``) a results folder that is one of the submission ``paths``, lies inside
    one, or holds one: grading writes a folder per submission there and clears the previous run's, so
    the students' files could be replaced. Real paths (links resolved) are compared both ways."""
    out = Path(os.path.realpath(root))
    for p in paths:
        real = Path(os.path.realpath(p))
        if out == real or out.is_relative_to(real) or real.is_relative_to(out):
            where = ("is" if out == real else "is inside" if out.is_relative_to(real) else "holds")
            raise UnsafeOutput(f"{root} {where} the submissions {p}: use a results folder apart from them")


def conflicts(root: Path, names: list[str]) -> list[str]:
    """The ``names`` (submissions' folders to be written in ``root``) at which something other than a
    folder or a link sits that the previous run did not write (its manifest does not list it): writing
    the folder would need it removed, and the kit removes only what it wrote."""
    manifest = _readable_json(root, MANIFEST) or {}
    ours = set(n for n in manifest.get("entries") or [] if isinstance(n, str))
    found = []
    for name in names:
        if name in ours:
            continue
        try:
            st = os.lstat(Path(root, name))
        except OSError:
            continue
        if not (stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode)):
            found.append(name)
    return found


def _remove(root: Path, name: str) -> None:
    """Remove ``root/name`` (a plain name): a link or file is unlinked, never followed; a folder of
    ours is removed with everything in it (``shutil.rmtree`` walks by descriptor, following no link)."""
    _parts(name)
    dfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISDIR(st.st_mode):
            if st.st_uid != os.geteuid():
                raise UnsafeOutput(f"{name} in the results folder belongs to someone else (uid {st.st_uid})")
            shutil.rmtree(Path(root, name))
        else:
            os.unlink(name, dir_fd=dfd)
    finally:
        os.close(dfd)


def clear_previous(root: Path) -> list[str]:
    """Remove what the previous run into ``root`` wrote (its manifest's entries; for a folder written
    before manifests, the submissions and files its readable gradebook.json names). Anything else
    in the folder is left alone. Returns the names removed."""
    manifest = _readable_json(root, MANIFEST)
    if manifest is not None and isinstance(manifest.get("entries"), list):
        names = [n for n in manifest["entries"] if isinstance(n, str)]
    else:
        book = _readable_json(root, "gradebook.json") or {}
        submissions = book.get("submissions")
        rows = submissions if isinstance(submissions, list) else []
        names = [r["submission"] for r in rows if isinstance(r, dict) and isinstance(r.get("submission"), str)]
        if book:
            names += ["gradebook.json", "gradebook.csv", "summary.html", "summary-scores.png",
                      "summary-questions.png"]
    removed = []
    for name in dict.fromkeys(names):
        if name in (MANIFEST, "") or "/" in name or name in (".", ".."):
            continue
        _remove(root, name)
        removed.append(name)
    return removed


def write_manifest(root: Path, assignment: str, entries: list[str]) -> None:
    """Record what this run writes into ``root`` (before writing it: a run stopped half-way is
    still cleared by the next). ``entries`` are top-level names: submissions' folders and files."""
    write(root, MANIFEST, json.dumps({"assignment": assignment, "entries": sorted(set(entries))}, indent=1) + "\n")


def zip_entry(name: str, mode: int = 0o644, external_attr: int | None = None) -> zipfile.ZipInfo:
    """A deflated zip entry stamped ``ZIP_EPOCH``, so that a zip's bytes depend on its contents alone: a
    regular file with unix permissions ``mode``, or the attributes ``external_attr`` of another zip's entry."""
    import zipfile

    info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix: unzip honours the mode
    info.external_attr = (stat.S_IFREG | mode) << 16 if external_attr is None else external_attr
    return info
