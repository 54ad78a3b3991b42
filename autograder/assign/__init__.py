"""`python -m autograder assign [NAME ...]`: master notebooks -> student notebooks.

For each `solutions/NAME.ipynb` (an otter-assign master notebook) this runs the real
`otter assign` (otter-grader 7.0.0, same interpreter), then

- copies otter's `student/` output to `assignments/NAME/`, normalized so that regenerating
  is byte-for-byte reproducible (otter gives the cells it adds random nbformat ids);
- copies otter's autograder zip (its name holds a timestamp) to
  `dist/otter/NAME-autograder.zip`, with fixed zip timestamps, for `otter run`.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENTS = ROOT / "assignments"
DIST = ROOT / "dist" / "otter"

# Earliest timestamp a zip entry can hold: the zip's bytes then depend on its contents only.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def available(solutions_dir: Path = SOLUTIONS) -> list[str]:
    """Names of the assignments that have a master notebook, sorted."""
    return sorted(p.stem for p in solutions_dir.glob("*.ipynb"))


def _cell_ids(nb: nbformat.NotebookNode, master_ids: set[str]) -> None:
    """Give every cell a deterministic id, in place.

    Cells copied from the master keep its id (a stripped answer cell then shares its id with
    the master's solution cell, which is how tests map one to the other). Cells that otter
    adds (init, check, export, response cells) get a hash of their type and source.
    """
    used: set[str] = set()
    for cell in nb.cells:
        cid = cell.get("id")
        if cid not in master_ids or cid in used:
            digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()[:8]
            cid, n = f"otter-{digest}", 1
            while cid in used or cid in master_ids:
                n += 1
                cid = f"otter-{digest}-{n}"
        cell["id"] = cid
        used.add(cid)


def _normalize_zip(src: Path, dst: Path) -> None:
    """Copy a zip with every entry's timestamp fixed, keeping order, modes and contents."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            fixed.external_attr = info.external_attr  # keeps run_autograder executable
            fixed.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(fixed, zin.read(info))


def assign(
    name: str,
    out_dir: Path,
    *,
    zip_dir: Path | None = DIST,
    run_tests: bool = True,
    solutions_dir: Path = SOLUTIONS,
) -> Path:
    """Run `otter assign` on `solutions_dir/NAME.ipynb` and write the student files.

    Args:
        name: the assignment, the stem of its master notebook.
        out_dir: the directory that receives otter's student output (e.g.
            `assignments/NAME`); it is emptied first so that no stale file survives.
        zip_dir: where to copy otter's autograder zip as `NAME-autograder.zip`; None skips it.
        run_tests: let otter grade the reference solutions with all tests (public and hidden)
            and fail if any does not pass; it does not change the files written.
        solutions_dir: the directory of master notebooks.

    Returns:
        The path of the student notebook, `out_dir/NAME.ipynb`.

    Raises:
        FileNotFoundError: no master notebook for `name`.
        RuntimeError: `otter assign` failed (its output is in the message).
    """
    master = solutions_dir / f"{name}.ipynb"
    if not master.is_file():
        raise FileNotFoundError(f"no master notebook {master}")
    master_ids = {c.get("id") for c in nbformat.read(master, as_version=4).cells}

    with tempfile.TemporaryDirectory(prefix=f"otter-assign-{name}-") as tmp:
        result = Path(tmp) / "result"
        flags = ["--no-pdfs"] + ([] if run_tests else ["--no-run-tests"])
        cmd = [sys.executable, "-m", "otter", "assign", *flags, str(master), str(result)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"otter assign failed on {master}:\n{proc.stdout}\n{proc.stderr}")

        # Build the student files next to otter's output, then swap them in.
        student, staged = result / "student", Path(tmp) / "staged"
        shutil.copytree(student, staged)
        for path in staged.rglob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            _cell_ids(nb, master_ids)
            nbformat.write(nb, path)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, out_dir)

        if zip_dir is not None:
            (ag_zip,) = (result / "autograder").glob(f"{name}-autograder_*.zip")
            _normalize_zip(ag_zip, zip_dir / f"{name}-autograder.zip")

    return out_dir / f"{name}.ipynb"


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate `assignments/NAME/` (and the otter zip) for each NAME."""
    parser = argparse.ArgumentParser(
        prog="python -m autograder assign",
        description="Run otter assign on solutions/NAME.ipynb and write the student notebook to "
        "assignments/NAME/ and the otter autograder zip to dist/otter/NAME-autograder.zip.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="assignments to build (default: every solutions/*.ipynb)"
    )
    parser.add_argument(
        "--no-run-tests",
        action="store_true",
        help="skip grading the reference solutions with otter (faster; same output)",
    )
    args = parser.parse_args(argv)

    known = available()
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"no master notebook for {', '.join(unknown)} (known: {', '.join(known)})")

    for name in args.names or known:
        try:
            path = assign(name, ASSIGNMENTS / name, run_tests=not args.no_run_tests)
        except (OSError, RuntimeError) as e:
            print(f"assign {name}: {e}", file=sys.stderr)
            return 1
        print(f"assign {name}: wrote {path.relative_to(ROOT)} and dist/otter/{name}-autograder.zip")
    return 0
