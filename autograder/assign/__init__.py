"""`python -m autograder assign [NAME ...]`: master notebooks -> student notebooks.

Every assignment comes in editions, one master notebook each (otter-assign format):
`solutions/NAME.ipynb` (English, `en`) and `solutions/NAME.zh.ipynb` (Chinese, `zh`). Both have the
same questions, answer names and hidden graders; only the teaching text, the public tests'
messages and the rubrics are in the edition's language. For each edition this runs the real
`otter assign` (otter-grader 7.0.0, same interpreter), then

- copies otter's `student/` output to `assignments/NAME/` (`NAME.ipynb`, `NAME.zh.ipynb`),
  normalized so that regenerating is byte-for-byte reproducible (otter gives the cells it adds
  random nbformat ids);
- translates the few lines that otter writes into the cells it adds (init, export, response
  cells) into the edition's language (`OTTER_TEXT`);
- writes the edition into the student notebook's metadata, `metadata.autograder =
  {"assignment": NAME, "lang": "en" | "zh"}`, so that whoever grades a submission can tell which
  assignment and which language it was made from;
- copies otter's autograder zip (its name holds a timestamp) to
  `dist/otter/NAME-autograder.zip` (`NAME.zh-autograder.zip` for `zh`), with fixed zip
  timestamps, for `otter run`.

The folders are the kit's checkout's (`paths.checkout()`) unless given.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

from .. import outdir, paths

# Edition (its language code, as written to metadata.autograder.lang) -> what follows NAME in the
# file names of its notebooks. English first: it is the edition that every assignment has.
EDITIONS = {"en": "", "zh": ".zh"}
# The key of the student notebook's metadata that says which assignment and edition it is.
METADATA_KEY = "autograder"

# What `otter assign` writes into the cells it adds (otter-grader 7.0.0's
# `otter.assign.cell_factory`), in the other editions' languages. Each English text is replaced
# where it stands; an added cell that keeps English prose fails the build.
OTTER_TEXT = {
    "zh": {
        "# Initialize Otter": "# 初始化 Otter",
        (
            "## Submission\n\nMake sure you have run all cells in your notebook in order before running "
            "the cell below, so that all images/graphs appear in the output. The cell below will "
            "generate a zip file for you to submit."
        ): (
            "## 提交\n\n运行下面的单元格之前，请先按顺序运行笔记本中的所有单元格，让所有图像都"
            "出现在输出中。下面的单元格会生成一个zip文件，供你提交。"
        ),
        " **Please save before exporting!**": "**导出前请先保存笔记本！**",
        "# Save your notebook first, then run this cell to export your submission.":
            "# 请先保存笔记本，再运行这个单元格导出你的提交。",
        "_Type your answer here, replacing this text._": "_请在这里写下你的答案，替换掉这段文字。_",
        "---\n\nTo double-check your work, the cell below will rerun all of the autograder tests.":
            "---\n\n下面的单元格会重新运行所有自动评分测试，供你再检查一遍。",
    },
}
# Four English words in a row: prose that a translation missed.
_ENGLISH_PROSE = re.compile(r"[A-Za-z]+(?:[ ,]+[A-Za-z]+){3,}")


def stem(name: str, lang: str = "en") -> str:
    """The stem of the edition's notebooks: `access` (en), `access.zh` (zh)."""
    if lang not in EDITIONS:
        raise ValueError(f"unknown edition {lang!r} (known: {', '.join(EDITIONS)})")
    return f"{name}{EDITIONS[lang]}"


def _solutions(solutions_dir: Path | None) -> Path:
    """`solutions_dir`, else the checkout's `solutions/` (`paths.NotACheckout` without one)."""
    return paths.checkout().solutions if solutions_dir is None else solutions_dir


def master_path(name: str, lang: str = "en", solutions_dir: Path | None = None) -> Path:
    """The master notebook of an assignment's edition: `solutions/NAME.ipynb`, `solutions/NAME.zh.ipynb`."""
    return _solutions(solutions_dir) / f"{stem(name, lang)}.ipynb"


def _parse(path: Path) -> tuple[str, str] | None:
    """(NAME, lang) of a master notebook's path, or None when its name is no edition's."""
    for lang, suffix in sorted(EDITIONS.items(), key=lambda kv: -len(kv[1])):  # `.zh` before ``
        if path.stem.endswith(suffix):
            name = path.stem[: len(path.stem) - len(suffix)]
            if name and "." not in name:
                return name, lang
    return None


def available(solutions_dir: Path | None = None) -> list[str]:
    """Names of the assignments that have a master notebook (in any edition), sorted."""
    return sorted({parsed[0] for p in _solutions(solutions_dir).glob("*.ipynb") if (parsed := _parse(p))})


def editions(name: str, solutions_dir: Path | None = None) -> list[str]:
    """The editions (`en`, `zh`) that have a master notebook for `name`, in `EDITIONS` order."""
    return [lang for lang in EDITIONS if master_path(name, lang, solutions_dir).is_file()]


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


def _localize(nb: nbformat.NotebookNode, master_ids: set[str], lang: str) -> None:
    """Translate, in place, the text that otter put into the cells it added (those whose id is
    not the master's) into the edition's language; English needs nothing.

    Raises:
        RuntimeError: an added cell still has English prose in its markdown or in a comment (a
            new otter version writes something that `OTTER_TEXT` does not know yet).
    """
    if lang == "en":
        return
    table = OTTER_TEXT[lang]
    for cell in nb.cells:
        if cell.get("id") in master_ids:
            continue
        for english, translated in table.items():
            cell.source = cell.source.replace(english, translated)
        prose = cell.source if cell.cell_type == "markdown" else "\n".join(
            line for line in cell.source.splitlines() if line.lstrip().startswith("#"))
        if _ENGLISH_PROSE.search(prose):
            raise RuntimeError(f"otter added text with no {lang} translation: {cell.source[:100]!r}")


def _normalize_zip(src: Path, dst: Path) -> None:
    """Copy a zip with every entry's timestamp fixed (``outdir.zip_entry``), keeping order, modes and contents."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():  # external_attr kept: run_autograder stays executable
            zout.writestr(outdir.zip_entry(info.filename, external_attr=info.external_attr), zin.read(info))


def assign(
    name: str,
    out_dir: Path,
    *,
    lang: str = "en",
    zip_dir: Path | None = None,
    run_tests: bool = True,
    solutions_dir: Path | None = None,
) -> Path:
    """Run `otter assign` on one edition's master notebook and write its student files.

    Args:
        name: the assignment, e.g. `access`.
        out_dir: the directory that receives otter's student output for this edition; it is
            emptied first so that no stale file survives. (`assign_all` puts every edition of
            an assignment into one directory.)
        lang: the edition, a key of `EDITIONS`: `en` (`solutions/NAME.ipynb`) or `zh`
            (`solutions/NAME.zh.ipynb`).
        zip_dir: where to copy otter's autograder zip as `NAME-autograder.zip` (en) or
            `NAME.zh-autograder.zip` (zh), e.g. the checkout's `dist/otter/`; None skips it.
        run_tests: let otter grade the reference solutions with all tests (public and hidden)
            and fail if any does not pass; it does not change the files written.
        solutions_dir: the directory of master notebooks (default: the checkout's `solutions/`).

    Returns:
        The path of the student notebook, `out_dir/NAME.ipynb` or `out_dir/NAME.zh.ipynb`.

    Raises:
        FileNotFoundError: no master notebook for this edition of `name`.
        ValueError: an unknown edition.
        RuntimeError: `otter assign` failed (its output is in the message).
    """
    master = master_path(name, lang, solutions_dir)
    if not master.is_file():
        raise FileNotFoundError(f"no master notebook {master}")
    master_ids = {c.get("id") for c in nbformat.read(master, as_version=4).cells}
    notebook = f"{stem(name, lang)}.ipynb"

    with tempfile.TemporaryDirectory(prefix=f"otter-assign-{stem(name, lang)}-") as tmp:
        result = Path(tmp) / "result"
        flags = ["--no-pdfs"] + ([] if run_tests else ["--no-run-tests"])
        cmd = [sys.executable, "-m", "otter", "assign", *flags, str(master), str(result)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"otter assign failed on {master}:\n{proc.stdout}\n{proc.stderr}")

        # Build the student files next to otter's output, then swap them in.
        student, staged = result / "student", Path(tmp) / "staged"
        shutil.copytree(student, staged)
        if not (staged / notebook).is_file():
            raise RuntimeError(f"otter assign made no student notebook {notebook} from {master}")
        for path in staged.rglob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            _localize(nb, master_ids, lang)
            _cell_ids(nb, master_ids)
            if path == staged / notebook:
                nb.metadata[METADATA_KEY] = {"assignment": name, "lang": lang}
            nbformat.write(nb, path)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staged, out_dir)

        if zip_dir is not None:
            # otter names its zip after the master's file, not after the config's `name`
            (ag_zip,) = (result / "autograder").glob(f"{stem(name, lang)}-autograder_*.zip")
            _normalize_zip(ag_zip, zip_dir / f"{stem(name, lang)}-autograder.zip")

    return out_dir / notebook


def assign_all(
    name: str,
    out_dir: Path,
    *,
    zip_dir: Path | None = None,
    run_tests: bool = True,
    solutions_dir: Path | None = None,
) -> list[Path]:
    """`assign` every edition of `name` into one directory (emptied first, written only once
    every edition has been built); the student notebooks' paths, in `EDITIONS` order.

    Raises:
        FileNotFoundError: no master notebook for `name` in any edition.
        RuntimeError: `otter assign` failed, or two editions wrote one file with different bytes.
    """
    langs = editions(name, solutions_dir)
    if not langs:
        raise FileNotFoundError(f"no master notebook {master_path(name, 'en', solutions_dir)}")
    with tempfile.TemporaryDirectory(prefix=f"assign-{name}-") as tmp:
        merged = Path(tmp) / "merged"
        merged.mkdir()
        for lang in langs:
            built = assign(name, Path(tmp) / lang, lang=lang, zip_dir=zip_dir, run_tests=run_tests,
                           solutions_dir=solutions_dir).parent
            for path in sorted(p for p in built.rglob("*") if p.is_file()):
                target = merged / path.relative_to(built)
                if target.exists() and target.read_bytes() != path.read_bytes():
                    raise RuntimeError(f"editions of {name} disagree on {path.relative_to(built)}")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(merged, out_dir)
    return [out_dir / f"{stem(name, lang)}.ipynb" for lang in langs]


def main(argv: list[str] | None = None) -> int:
    """Command line: regenerate `assignments/NAME/` (every edition) and the otter zips for each NAME."""
    parser = argparse.ArgumentParser(
        prog="python -m autograder assign",
        description="Run otter assign on every edition of solutions/NAME.ipynb (NAME.ipynb in English, "
        "NAME.zh.ipynb in Chinese) and write the student notebooks to assignments/NAME/ and otter's "
        "autograder zips to dist/otter/.",
    )
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="assignments to build (default: every one in solutions/)"
    )
    parser.add_argument(
        "--no-run-tests",
        action="store_true",
        help="skip grading the reference solutions with otter (faster; same output)",
    )
    args = parser.parse_args(argv)

    try:
        repo = paths.checkout()
    except paths.NotACheckout as e:
        print(f"assign: {e}", file=sys.stderr)
        return 1
    known = available(repo.solutions)
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"no master notebook for {', '.join(unknown)} (known: {', '.join(known)})")

    for name in args.names or known:
        try:
            made = assign_all(name, repo.assignments / name, zip_dir=repo.dist / "otter",
                              run_tests=not args.no_run_tests, solutions_dir=repo.solutions)
        except (OSError, RuntimeError) as e:
            print(f"assign {name}: {e}", file=sys.stderr)
            return 1
        wrote = ", ".join(str(p.relative_to(repo.root)) for p in made)
        print(f"assign {name}: wrote {wrote} (otter autograder zips in dist/otter/)")
    return 0
