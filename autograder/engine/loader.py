"""Read a submission (.ipynb, .py, or a zip holding one notebook) into code cells.

Nothing in a submission is ever unpickled: notebooks are JSON, zips are read
member by member with size caps, and anything besides the notebook is ignored.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 20 * 1024 * 1024  # a notebook larger than this is not a homework answer
_PERCENT_CELL = re.compile(r"^# ?%%(?!%)")  # jupytext/VS Code percent cell marker


class LoadError(Exception):
    """The submission cannot be read at all; the message says why, for the student."""


@dataclass
class Submission:
    """A readable submission: its code cells in order and the bytes it came from."""

    name: str
    cells: list[str]
    digest: str  # sha256 of the submitted file's bytes
    notes: list[str] = field(default_factory=list)


def strip_magics(source: str) -> str | None:
    """Skip IPython-only syntax: a ``%%`` cell is dropped whole (None); ``%``/``!`` lines become ``pass``.

    Replacing a line (rather than deleting it) keeps line numbers in tracebacks
    and keeps an indented block that held only a magic syntactically valid.
    """
    if source.lstrip().startswith("%%"):
        return None
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass"
        lines.append(line)
    return "\n".join(lines)


def _has_code(cell: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in cell.splitlines())


def _code_cells(sources: list[str]) -> list[str]:
    cells = [strip_magics(s) for s in sources]
    return [c for c in cells if c is not None and c.strip()]


def _notebook_cells(raw: bytes) -> list[str]:
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(f"the notebook is not valid JSON ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise LoadError("the notebook is not a JSON object")
    major = data.get("nbformat")
    if major != 4:
        if not isinstance(major, int) or major < 1:
            raise LoadError("the file is JSON but not a Jupyter notebook (no 'nbformat' version)")
        try:
            import nbformat  # upgrade an old notebook the way nbformat does
        except ImportError:
            raise LoadError(f"nbformat {major} notebooks cannot be upgraded here: save it as nbformat 4") from None
        try:
            data = nbformat.reads(text, as_version=4)
        except Exception as exc:  # nbformat raises many kinds for malformed notebooks
            raise LoadError(f"nbformat {major} notebook could not be upgraded to version 4: {exc}") from None
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise LoadError("the notebook has no list of cells")
    sources = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        if isinstance(src, str):
            sources.append(src)
    return sources


def _python_cells(raw: bytes) -> list[str]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError("the .py file is not UTF-8 text") from None
    return split_percent_cells(text)


def split_percent_cells(text: str) -> list[str]:
    """Split a percent-format script (``# %%`` markers, as jupytext and editors write) into cells."""
    cells, current = [], []
    for line in text.splitlines():
        if _PERCENT_CELL.match(line):
            cells.append("\n".join(current))
            current = []
        else:
            current.append(line)
    cells.append("\n".join(current))
    return cells


def _zip_notebook(raw: bytes) -> tuple[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise LoadError("the zip file is damaged or not a zip") from None
    notebooks = [
        info for info in archive.infolist()
        if info.filename.endswith(".ipynb") and not info.is_dir()
        and "__MACOSX" not in info.filename and ".ipynb_checkpoints" not in info.filename
    ]
    if len(notebooks) != 1:
        found = ", ".join(i.filename for i in notebooks) or "none"
        raise LoadError(f"the zip must hold exactly one notebook (.ipynb); found {len(notebooks)}: {found}")
    info = notebooks[0]
    if info.file_size > MAX_BYTES:
        raise LoadError(f"the notebook in the zip is larger than {MAX_BYTES // 2**20} MiB")
    with archive.open(info) as member:  # read with a cap: the header's size can lie
        data = member.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise LoadError(f"the notebook in the zip is larger than {MAX_BYTES // 2**20} MiB")
    return info.filename, data


def load(path: str | Path) -> Submission:
    """Read one submission file into its code cells; raise LoadError with a student-facing reason."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise LoadError(f"the file is larger than {MAX_BYTES // 2**20} MiB")
        raw = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"the file cannot be read ({exc.strerror or exc})") from None
    digest = hashlib.sha256(raw).hexdigest()
    suffix = path.suffix.lower()
    notes: list[str] = []
    if suffix == ".ipynb":
        sources = _notebook_cells(raw)
    elif suffix == ".py":
        sources = _python_cells(raw)
    elif suffix == ".zip":
        inner, data = _zip_notebook(raw)
        notes.append(f"graded the notebook {inner} from the zip")
        sources = _notebook_cells(data)
    else:
        raise LoadError(f"'{path.name}' is not a notebook (.ipynb), a Python file (.py) or a zip holding one notebook")
    cells = _code_cells(sources)
    if not any(_has_code(c) for c in cells):
        raise LoadError("the submission holds no code (only comments, markdown or magics)")
    return Submission(name=path.name, cells=cells, digest=digest, notes=notes)
