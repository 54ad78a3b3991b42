"""Sample submissions: the student notebook with the reference answers, plus a mistake.

``solved_notebook`` pastes the master notebook's answers into the committed
student notebook (``assignments/<a>/<a>.ipynb``, or the Chinese edition's
``<a>.zh.ipynb`` with ``lang="zh"``): ``python -m autograder assign``
keeps the master's cell ids, so each answer cell (otter's ``otter_answer_cell``
tag) has the id of the master cell it was stripped from. The result is what a
student who got everything right submits, otter metadata included.

A mistake file (``tests/submissions/<a>/<name>.py``) holds only the definitions a
student got wrong; ``compose`` appends it (split on ``# %%`` markers) as the last
cells, so it overrides exactly those names. ``make demo``, the tests and the
benchmarks grade such notebooks.

Authoring, not grading: the notebooks and mistakes are read from the kit's checkout, ``root``
(default ``paths.checkout()``, which raises ``paths.NotACheckout`` where the kit is installed
without its repository).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

from . import i18n, paths

ANSWER_TAG = "otter_answer_cell"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def stem(assignment: str, lang: str = "en") -> str:
    """The file name stem of an edition's notebooks: ``access`` (English), ``access.zh`` (Chinese)."""
    return assignment if lang == "en" else f"{assignment}.{lang}"


def solved_notebook(assignment: str, root: Path | None = None, lang: str = "en") -> dict:
    """The committed student notebook of the ``lang`` edition with every code answer cell replaced by
    its master's cell, both read from the checkout at ``root`` (default: ``paths.checkout()``)."""
    name = stem(assignment, lang)
    repo = paths.checkout(root)
    student = _read(repo.assignments / assignment / f"{name}.ipynb")
    master = {c.get("id"): c for c in _read(repo.solutions / f"{name}.ipynb")["cells"]}
    nb = copy.deepcopy(student)
    answers = [c for c in nb["cells"]
               if c["cell_type"] == "code" and ANSWER_TAG in c.get("metadata", {}).get("tags", [])]
    if not answers:
        raise ValueError(f"assignments/{assignment}: the student notebook has no answer cells")
    for cell in answers:
        source = master.get(cell.get("id"))
        if source is None:
            raise ValueError(f"answer cell {cell.get('id')!r} has no master cell with that id: run `make assign`")
        cell["source"] = source["source"]
    for cell in nb["cells"]:  # nbformat's on-disk form may split sources into lines
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return nb


def compose(assignment: str, mistake: Path | None, dest: Path, lang: str = "en", root: Path | None = None) -> Path:
    """Write ``dest`` (.ipynb): the solved student notebook of the ``lang`` edition (from the checkout at
    ``root``), then the mistake's code (if any) as the last cells."""
    from .engine.loader import split_percent_cells

    nb = solved_notebook(assignment, root, lang)
    if mistake is not None:
        sources = [s for s in split_percent_cells(mistake.read_text(encoding="utf-8")) if s.strip()]
        nb["cells"] += [{"cell_type": "code", "id": f"mistake-{i}", "metadata": {}, "execution_count": None,
                         "outputs": [], "source": source} for i, source in enumerate(sources)]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
    return dest


def compose_folder(assignment: str, mistakes: Path, dest: Path, lang: str = "en",
                   root: Path | None = None) -> list[Path]:
    """A notebook per mistake file in ``mistakes`` (``<name>.ipynb``), plus ``reference.ipynb``, all of
    the ``lang`` edition (from the checkout at ``root``)."""
    out = [compose(assignment, None, dest / "reference.ipynb", lang, root)]
    for path in sorted(mistakes.glob("*.py")):
        out.append(compose(assignment, path, dest / f"{path.stem}.ipynb", lang, root))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.samples ASSIGNMENT DEST``: compose the reference and every bundled mistake."""
    import argparse
    import sys

    from .paths import assignments

    known = assignments()
    parser = argparse.ArgumentParser(prog="python -m autograder.samples", description=main.__doc__)
    parser.add_argument("assignment", choices=known, metavar="ASSIGNMENT", help=f"one of: {', '.join(known)}")
    parser.add_argument("dest", type=Path)
    parser.add_argument("--lang", choices=i18n.LANGUAGES, default=i18n.DEFAULT,
                        help="the edition's notebooks (default en)")
    args = parser.parse_args(argv)
    try:
        repo = paths.checkout()
    except paths.NotACheckout as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 2
    if args.dest.exists() and not args.dest.is_dir():
        print(f"autograder: {args.dest} exists and is not a folder", file=sys.stderr)
        return 2
    try:
        args.dest.mkdir(parents=True, exist_ok=True)
        made = compose_folder(args.assignment, repo.samples / args.assignment, args.dest, args.lang, repo.root)
    except OSError as exc:
        print(f"autograder: cannot write the samples into {args.dest} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    print(f"{len(made)} sample submissions in {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
