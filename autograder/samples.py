"""Sample submissions composed from a master notebook and a mistake.

A mistake file (``tests/submissions/<assignment>/<name>.py``) holds only the
definitions a student got wrong. ``compose`` writes a notebook made of the
master notebook's code cells (the given models, the reference answers) with the
mistake as a last cell, so it overrides exactly those names, as a student's
notebook with that one wrong answer would. ``make demo``, the tests and the
bulk benchmark grade such notebooks.
"""
from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def master_cells(assignment: str) -> list[dict]:
    """The code cells of ``solutions/<assignment>.ipynb`` (outputs dropped)."""
    nb = json.loads((ROOT / "solutions" / f"{assignment}.ipynb").read_text(encoding="utf-8"))
    return [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
             "source": c["source"]} for c in nb["cells"] if c.get("cell_type") == "code"]


def compose(assignment: str, mistake: Path | None, dest: Path) -> Path:
    """Write ``dest`` (.ipynb): the reference answers, then the mistake's code (if any) as the last cell(s)."""
    from .engine.loader import split_percent_cells

    cells = master_cells(assignment)
    if mistake is not None:  # a mistake in percent format (# %%) becomes several cells
        cells += [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": source}
                  for source in split_percent_cells(mistake.read_text(encoding="utf-8")) if source.strip()]
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "language": "python",
          "display_name": "Python 3"}}, "cells": [dict(c, id=f"cell-{i}") for i, c in enumerate(cells)]}
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")
    return dest


def compose_folder(assignment: str, mistakes: Path, dest: Path) -> list[Path]:
    """A notebook per mistake file in ``mistakes`` (``<name>.ipynb``), plus ``reference.ipynb``."""
    out = [compose(assignment, None, dest / "reference.ipynb")]
    for path in sorted(mistakes.glob("*.py")):
        out.append(compose(assignment, path, dest / f"{path.stem}.ipynb"))
    return out
