"""Read a submission (.ipynb, .py, or a zip holding one notebook) into code cells.

Nothing in a submission is ever unpickled: notebooks are JSON, zips are read
member by member with size caps, and anything besides the notebook is ignored.

Limits bound the code, not the file: saved outputs are dropped as soon as the
notebook is parsed, so a notebook of up to ``MAX_BYTES`` is graded whatever its
outputs weigh; its code may hold at most ``MAX_CELLS`` cells and ``MAX_CODE``
bytes (far beyond any homework, far below what the channel to the child carries).

IPython syntax is handled as Jupyter would run it, as far as grading needs:
``%``/``!`` lines are skipped; a cell that starts with ``%%time`` or ``%%capture``
runs its body; any other cell magic skips its cell (and a note says which).
Jupyter's script export (``jupyter nbconvert --to script``: ``# In[ ]:`` markers,
magics as ``get_ipython()`` calls) is read back into the same cells.

A notebook made by ``make assign`` says which edition it is (``metadata.autograder.lang``):
``Submission.lang``; a script exported from one ("Download as Python") keeps its otter init cell,
``grader = otter.Notebook("access.zh.ipynb")``, whose file name says the same, and the assignment
(``script_origin``).
What the loader tells the student (notes, the reason a submission cannot be
read, the labels that name cells) is in the language ``i18n.choose`` picks from the ``lang``
requested and that metadata.
"""
from __future__ import annotations

import ast
import hashlib
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import i18n
from ..i18n import _

MAX_BYTES = 128 * 2**20  # the file (or the notebook in a zip): outputs included
MAX_CODE = 2 * 2**20  # the code of all cells together, in UTF-8 bytes
MAX_CELLS = 2000  # code cells
RUN_BODY = ("time", "capture")  # cell magics whose body runs as Python; every other one skips its cell

_PERCENT_CELL = re.compile(r"^# ?%%(?!%)")  # jupytext/VS Code percent cell marker
_SCRIPT_CELL = re.compile(r"^# In\[[ 0-9]*\]:\s*$")  # nbconvert --to script cell marker
_MAGIC_LINE = re.compile(r"^\s*(?:[%!]|[\w.]+(?:\s*,\s*[\w.]+)*\s*=\s*[%!])")  # %time f(), !ls, x = !ls
# The init cell of a student notebook, as a script keeps it: ``grader = otter.Notebook("access.zh.ipynb")``.
# The notebook's file name is its edition (``NAME.LANG.ipynb``; ``NAME.ipynb`` is English): a .py has no metadata.
_OTTER_INIT = re.compile(r"""^[ \t]*\w+[ \t]*=[ \t]*otter\.Notebook\([ \t]*(?:nb_path[ \t]*=[ \t]*)?["']"""
                         r"""(?:[^"'\n]*/)?([\w-]+)(?:\.([\w-]+))?\.ipynb["']""", re.M)
_GET_IPYTHON = re.compile(r"^\s*(?:[\w.]+(?:\s*,\s*[\w.]+)*\s*=\s*)?get_ipython\(\)\.")


class LoadError(Exception):
    """The submission cannot be read at all; the message says why, for the student, in ``lang``."""

    lang: str = i18n.DEFAULT  # the language of the message (set by ``load``)


@dataclass
class Submission:
    """A readable submission: its code cells in order, where each came from, and the bytes' digest."""

    name: str
    cells: list[str]
    digest: str  # sha256 of the submitted file's bytes
    notes: list[str] = field(default_factory=list)  # informational: never an error
    labels: list[str] = field(default_factory=list)  # per cell: where the student finds it
    assignment: str | None = None  # the assignment a notebook's otter metadata names
    lang: str | None = None  # the edition's language its ``metadata.autograder.lang`` names (None: says none)

    def where(self, index: int) -> str:
        """The cell at ``index`` as the student sees it (``the code cell starting "…"``)."""
        return self.labels[index] if 0 <= index < len(self.labels) else _("code cell {number}").format(number=index + 1)


def first_line(source: str, width: int = 60) -> str:
    """The first non-blank line of a cell, shortened for a message."""
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def _label(source: str, number: int, line: int | None = None) -> str:
    """How the student finds a cell: its first line, and its number (a notebook) or line (a .py file)."""
    where = _("line {line}").format(line=line) if line is not None else _("code cell {number}").format(number=number)
    return _('the code cell starting "{first_line}" ({where})').format(first_line=first_line(source), where=where)


def cell_magic(source: str) -> tuple[str, str] | None:
    """(magic name, body) when the cell starts with a cell magic (``%%name args``), else None."""
    stripped = source.lstrip()
    if not stripped.startswith("%%"):
        return None
    head, _, body = stripped.partition("\n")
    name = head[2:].split(None, 1)[0] if head[2:].strip() else ""
    return name, body


def strip_magics(source: str) -> str | None:
    """Skip IPython-only syntax: a cell magic other than ``%%time``/``%%capture`` drops the cell (None);
    those two run their body; ``%``/``!`` lines (``x = !ls`` too) become ``pass``.

    Replacing a line (rather than deleting it) keeps line numbers in tracebacks
    and keeps an indented block that held only a magic syntactically valid.
    """
    magic = cell_magic(source)
    if magic is not None:
        name, body = magic
        if name not in RUN_BODY:
            return None
        source = body
    lines = []
    for line in source.splitlines():
        if _MAGIC_LINE.match(line):
            stripped = line.lstrip()
            line = line[: len(line) - len(stripped)] + "pass"
        lines.append(line)
    return "\n".join(lines)


def _has_code(cell: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in cell.splitlines())


# ------------------------------------------------------------------ notebooks


def _parse_json(raw: bytes) -> Any:
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return json.loads(raw)  # bytes: no decoded copy of a large notebook's outputs
    except RecursionError:
        raise LoadError(_("the notebook's JSON is nested far too deeply to be a notebook")) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(_("the notebook is not valid JSON ({error})").format(
            error=f"{exc.__class__.__name__}: {exc}")) from None


# per code cell: (source, the text its label quotes, its number, its first line in a .py file or None)
Found = list[tuple[str, str, int, "int | None"]]


def _notebook(raw: bytes) -> tuple[Found, str | None, str | None]:
    """((source, source, number, None) per code cell, the assignment named in otter's metadata, the edition's
    language named in ``metadata.autograder.lang``)."""
    data = _parse_json(raw)
    if not isinstance(data, dict):
        raise LoadError(_("the notebook is not a JSON object"))
    major = data.get("nbformat")
    if major != 4:
        if not isinstance(major, int) or isinstance(major, bool) or major < 1:
            raise LoadError(_("the file is JSON but not a Jupyter notebook (no 'nbformat' version)"))
        try:
            import nbformat  # upgrade an old notebook the way nbformat does
        except ImportError:
            raise LoadError(_("nbformat {major} notebooks cannot be upgraded here: save it as nbformat 4").format(
                major=major)) from None
        try:
            data = nbformat.reads(json.dumps(data), as_version=4)
        except RecursionError:
            raise LoadError(_("the notebook's JSON is nested far too deeply to be a notebook")) from None
        except Exception as exc:  # nbformat raises many kinds for malformed notebooks
            raise LoadError(_("nbformat {major} notebook could not be upgraded to version 4: {error}").format(
                major=major, error=exc)) from None
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise LoadError(_("the notebook has no list of cells"))
    found: Found = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        cell.pop("outputs", None)  # outputs never matter: let them go now
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(s for s in src if isinstance(s, str))
        if isinstance(src, str):
            found.append((src, src, len(found) + 1, None))
    metadata = data.get("metadata")
    otter = metadata.get("otter") if isinstance(metadata, dict) else None
    name = otter.get("assignment_name") if isinstance(otter, dict) else None
    edition = metadata.get("autograder") if isinstance(metadata, dict) else None
    lang = i18n.normalize(edition.get("lang")) if isinstance(edition, dict) else None
    return found, name if isinstance(name, str) and name else None, lang


# ------------------------------------------------------------------ Python files


def _script_cell(source: str) -> str:
    """A cell of nbconvert's script export back in IPython syntax: ``get_ipython()`` calls become the
    magics they came from (a cell magic's body is a string literal; ``%``/``!`` lines become ``pass``)."""
    lines = source.splitlines()
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith("get_ipython().run_cell_magic("):
            try:
                call = ast.parse(line.strip(), mode="eval").body
                if not isinstance(call, ast.Call):  # e.g. the call's value added to something: not a magic
                    break
                name, args, body = (ast.literal_eval(a) for a in call.args)
            except (SyntaxError, ValueError, TypeError):
                break
            if isinstance(name, str) and isinstance(args, str) and isinstance(body, str):
                return "\n".join([f"%%{name} {args}".rstrip(), *body.splitlines()])
        break
    return "\n".join(line[: len(line) - len(line.lstrip())] + "pass" if _GET_IPYTHON.match(line) else line
                     for line in lines)


_MAGIC_CALLS = {"run_cell_magic": "%%", "run_line_magic": "%", "system": "!", "getoutput": "!"}


def _magic_text(line: str) -> str | None:
    """A ``get_ipython()`` call of nbconvert's export as the student wrote it (``%%bash``, ``%matplotlib
    inline``, ``!ls``), to quote the cell it starts; None for any other line."""
    try:
        call = ast.parse(line.strip(), mode="eval").body
    except SyntaxError:
        return None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in _MAGIC_CALLS
            and isinstance(call.func.value, ast.Call) and isinstance(call.func.value.func, ast.Name)
            and call.func.value.func.id == "get_ipython" and call.args
            and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in call.args)):
        return None
    args = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    prefix = _MAGIC_CALLS[call.func.attr]
    if prefix == "!":
        return f"!{args[0]}"
    return f"{prefix}{args[0]} {args[1] if len(args) > 1 else ''}".rstrip()


def split_cells(text: str) -> tuple[list[tuple[int, str]], bool]:
    """Split a script into (first line number, source) cells: by nbconvert's ``# In[ ]:`` markers when
    it has them (then the second value is True), else by ``# %%`` percent markers (jupytext, editors),
    else one cell. Sources are as written (see ``_script_cell``)."""
    script = any(_SCRIPT_CELL.match(line) for line in text.splitlines())
    marker = _SCRIPT_CELL if script else _PERCENT_CELL
    cells: list[tuple[int, str]] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(text.splitlines(), 1):
        if marker.match(line):
            cells.append((start, "\n".join(current)))
            current, start = [], number + 1
        else:
            current.append(line)
    cells.append((start, "\n".join(current)))
    return cells, script


def split_percent_cells(text: str) -> list[str]:
    """The sources of a script's cells in IPython syntax (see ``split_cells``)."""
    cells, script = split_cells(text)
    return [_script_cell(s) if script else s for _, s in cells]


def script_origin(text: str) -> tuple[str | None, str | None]:
    """The assignment and edition a script says it was exported from: the notebook its otter init cell names
    (``otter.Notebook("access.zh.ipynb")`` is access's Chinese edition, ``otter.Notebook("access.ipynb")`` its
    English one), or (None, None) when it names none (the first such line counts)."""
    m = _OTTER_INIT.search(text)
    if m is None:
        return None, None
    return m[1], i18n.normalize(m[2]) if m[2] else i18n.DEFAULT


def _python(raw: bytes) -> tuple[Found, str | None, str | None]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError(_("the .py file is not UTF-8 text")) from None
    out: Found = []
    cells, script = split_cells(text)
    for start, src in cells:
        if not _has_code(src):
            continue  # comments only (nbconvert's header, markdown): nothing to run
        lines = src.splitlines()
        first = next((i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")), 0)
        quoted = (_magic_text(lines[first]) if script else None) or lines[first]
        out.append((_script_cell(src) if script else src, quoted, len(out) + 1, start + first))
    assignment, edition = script_origin(text)
    return out, assignment, edition


# ------------------------------------------------------------------ zips


def _zip_notebook(raw: bytes) -> tuple[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile:
        raise LoadError(_("the zip file is damaged or not a zip")) from None
    notebooks = [
        info for info in archive.infolist()
        if info.filename.endswith(".ipynb") and not info.is_dir()
        and "__MACOSX" not in info.filename and ".ipynb_checkpoints" not in info.filename
    ]
    if len(notebooks) != 1:
        found = ", ".join(i.filename for i in notebooks) or "-"
        raise LoadError(_("the zip must hold exactly one notebook (.ipynb); found {count}: {names}").format(
            count=len(notebooks), names=found))
    info = notebooks[0]
    too_big = _("the notebook in the zip is larger than {mib} MiB (outputs included)").format(mib=MAX_BYTES // 2**20)
    if info.file_size > MAX_BYTES:
        raise LoadError(too_big)
    try:
        with archive.open(info) as member:  # read with a cap: the header's size can lie
            data = member.read(MAX_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise LoadError(_("the notebook in the zip cannot be read ({error})").format(error=exc)) from None
    if len(data) > MAX_BYTES:
        raise LoadError(too_big)
    return info.filename, data


# ------------------------------------------------------------------ load


def _code_cells(found: Found, notes: list[str]) -> tuple[list[str], list[str]]:
    """The cells to run and their labels; a skipped cell magic gets a note naming its cell."""
    cells, labels = [], []
    for source, quoted, number, line in found:
        label = _label(quoted, number, line)
        code = strip_magics(source)
        if code is None:
            magic = cell_magic(source)
            notes.append(_("{cell} was skipped: the cell magic %%{magic} does not run when grading (only %%time "
                           "and %%capture cells run, as plain Python)").format(cell=label,
                                                                              magic=magic[0] if magic else ""))
            continue
        if code.strip():
            cells.append(code)
            labels.append(label)
    return cells, labels


def load(path: str | Path, lang: str = i18n.AUTO) -> Submission:
    """Read one submission file into its code cells; raise LoadError with a student-facing reason.

    ``lang`` is the language requested for what the student reads (``--lang``): ``auto`` for the
    notebook's own (``Submission.lang``), as ``i18n.choose`` decides. A LoadError says in ``.lang``
    which language its message is in."""
    path = Path(path)
    with i18n.using(i18n.choose(lang, None)) as said:  # until the notebook says its language
        try:
            raw = _read(path)
            digest = hashlib.sha256(raw).hexdigest()
            suffix = path.suffix.lower()
            notes: list[str] = []
            assignment = edition = inner = None
            if suffix == ".ipynb":
                found, assignment, edition = _notebook(raw)
            elif suffix == ".py":  # no metadata: the notebook its otter init cell names says assignment and edition
                found, assignment, edition = _python(raw)
            elif suffix == ".zip":
                inner, data = _zip_notebook(raw)
                del raw
                found, assignment, edition = _notebook(data)
            else:
                raise LoadError(_("'{name}' is not a notebook (.ipynb), a Python file (.py) or a zip holding one "
                                  "notebook").format(name=path.name))
        except LoadError as exc:
            exc.lang = said
            raise
    with i18n.using(i18n.choose(lang, edition)) as said:
        try:
            if inner is not None:
                notes.append(_("graded the notebook {name} from the zip").format(name=inner))
            cells, labels = _code_cells(found, notes)
            _check_size(cells)
        except LoadError as exc:
            exc.lang = said
            raise
    return Submission(name=path.name, cells=cells, digest=digest, notes=notes, labels=labels, assignment=assignment,
                      lang=edition)


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise LoadError(_("the file is larger than {mib} MiB (outputs included)").format(mib=MAX_BYTES // 2**20))
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(_("the file cannot be read ({error})").format(error=exc.strerror or exc)) from None


def _check_size(cells: list[str]) -> None:
    """LoadError for a submission with no code, or more code than is graded."""
    if not any(_has_code(c) for c in cells):
        raise LoadError(_("the submission holds no code (only comments, markdown or magics)"))
    if len(cells) > MAX_CELLS:
        raise LoadError(_("the submission has {count} code cells; at most {limit} are graded").format(
            count=len(cells), limit=MAX_CELLS))
    size = sum(len(c.encode("utf-8", "surrogatepass")) for c in cells)
    if size > MAX_CODE:
        raise LoadError(_("the submission holds {size:.1f} MiB of code; at most {limit} MiB are graded (outputs do "
                          "not count)").format(size=size / 2**20, limit=MAX_CODE // 2**20))
