"""The otter notebooks run in a real Jupyter kernel.

For every master notebook, in both editions (`solutions/NAME.ipynb` in English and
`solutions/NAME.zh.ipynb` in Chinese, whose student notebooks are `NAME.ipynb` and `NAME.zh.ipynb`):

(a) the master runs top to bottom without error (its otter test cells call their tests);
(b) the committed student notebook `assignments/NAME/NAME[.zh].ipynb`, with the reference solutions
    pasted into its answer cells, runs without error, every `grader.check` reports that all
    tests passed, and `grader.export()` makes a zip whose public tests pass;
(c) the plain student notebook runs with every `grader.check` reporting failures (in Chinese
    in the Chinese edition), and the kernel survives;
(d) `tied` with Question 1 answered by a custom module class (which the question allows) runs its
    own given cells and passes every check;
(e) one set of hidden graders grades every edition: the student notebooks with the reference
    answers pasted in earn full marks, the same in every edition (through the real CLI).

Kernels are slow to start (and torch to import), so every notebook of the module is executed
once, concurrently, by a module-scoped fixture; the tests only read the results.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Iterator

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.assign import available, editions, master_path, stem
from autograder.samples import ANSWER_TAG, solved_notebook

from conftest import grade_cli

ROOT = Path(__file__).resolve().parents[1]
# Every edition of every assignment, by the stem of its notebooks: "access", "access.zh", ...
EDITIONS = {stem(name, lang): (name, lang) for name in available() for lang in editions(name)}
STEMS = list(EDITIONS)
CJK = re.compile(r"[\u4e00-\u9fff]")

CELL_TIMEOUT = 120  # seconds per cell: generous, CI machines are slow
CHECK = re.compile(r"""^\s*grader\.check\(\s*["']([^"']+)["']\s*\)\s*$""")
EXPORT = re.compile(r"^\s*grader\.export\(", re.MULTILINE)


def student_path(edition: str) -> Path:
    name, _ = EDITIONS[edition]
    return ROOT / "assignments" / name / f"{edition}.ipynb"


def with_solutions(edition: str) -> nbformat.NotebookNode:
    """The committed student notebook with the master's answers pasted in: autograder.samples for
    English (it composes the English samples), the same pasting by cell id for the other editions."""
    name, lang = EDITIONS[edition]
    if lang == "en":
        return nbformat.from_dict(solved_notebook(name, ROOT))
    nb = nbformat.read(student_path(edition), as_version=4)
    master = {c.get("id"): c for c in nbformat.read(master_path(name, lang), as_version=4).cells}
    answers = [c for c in nb.cells if c.cell_type == "code" and ANSWER_TAG in c.metadata.get("tags", [])]
    if not answers:
        raise ValueError(f"{student_path(edition).relative_to(ROOT)} has no answer cells")
    for cell in answers:
        if cell.get("id") not in master:
            raise ValueError(f"answer cell {cell.get('id')!r} has no master cell with that id: run `make assign`")
        cell.source = master[cell.get("id")].source
    return nb


CUSTOM_SHARED_MLP = """\
class SharedMLP(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        super().__init__()
        self.l1 = nn.Linear(in_features, hidden)
        self.s = nn.Linear(hidden, hidden)
        self.l3 = nn.Linear(hidden, out_features)

    def forward(self, x):
        return self.l3(F.relu(self.s(F.relu(self.s(F.relu(self.l1(x)))))))


def build_shared_mlp(in_features=4, hidden=8, out_features=1):
    return SharedMLP(in_features, hidden, out_features)
"""


def with_custom_shared_mlp(edition: str = "tied") -> nbformat.NotebookNode:
    """The solved `tied` notebook (of an edition) whose `build_shared_mlp` answer returns a custom module."""
    nb = with_solutions(edition)
    cells = [c for c in nb.cells if c.cell_type == "code" and "def build_shared_mlp" in c.source]
    assert len(cells) == 1, "the tied notebook should have one build_shared_mlp answer cell"
    cells[0].source = CUSTOM_SHARED_MLP
    return nb


def check_cells(nb: nbformat.NotebookNode) -> list[tuple[str, nbformat.NotebookNode]]:
    """(question, cell) for every `grader.check("question")` cell."""
    found = []
    for cell in nb.cells:
        m = CHECK.match(cell.source) if cell.cell_type == "code" else None
        if m:
            found.append((m.group(1), cell))
    return found


def result_text(cell: nbformat.NotebookNode) -> str:
    """What `grader.check` displayed: the text/plain of the result (otter's summary), errors too."""
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", ""))
        elif out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            parts.append(f"{out.ename}: {out.evalue}")
    return "\n".join(parts)


async def run_notebook(
    nb: nbformat.NotebookNode, filename: str, allow_errors: bool, gate: asyncio.Semaphore
) -> tuple[nbformat.NotebookNode, Path]:
    """Execute `nb` saved as `filename` in a fresh temp dir (the kernel's cwd); return it and the dir."""
    workdir = Path(tempfile.mkdtemp(prefix="nbtest-"))
    # otter.Notebook("NAME.ipynb") reads its tests from the file, and export() zips it
    nbformat.write(nb, workdir / filename)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        startup_timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(workdir)}},
    )
    try:
        async with gate:
            await client.async_execute()
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return nb, workdir


@pytest.fixture(scope="module")
def executed() -> Iterator[dict[tuple[str, str], object]]:
    """(edition, "master" | "solved" | "blank" | "custom") -> (executed notebook, workdir) or the exception."""
    jobs: dict[tuple[str, str], tuple[nbformat.NotebookNode, str, bool] | ValueError] = {}
    for edition, (name, lang) in EDITIONS.items():
        master = nbformat.read(master_path(name, lang), as_version=4)
        jobs[edition, "master"] = (master, f"{edition}.ipynb", False)
        if student_path(edition).is_file():
            student = nbformat.read(student_path(edition), as_version=4)
            try:
                jobs[edition, "solved"] = (with_solutions(edition), f"{edition}.ipynb", False)
            except ValueError as e:
                jobs[edition, "solved"] = e
            # no export in the blank run: nothing to learn from it, and it costs a second kernel
            blank = copy.deepcopy(student)
            blank.cells = [c for c in blank.cells if not EXPORT.search(c.source)]
            jobs[edition, "blank"] = (blank, f"{edition}.ipynb", True)
            if name == "tied":
                jobs[edition, "custom"] = (with_custom_shared_mlp(edition), f"{edition}.ipynb", False)

    async def run_all() -> list[object]:
        gate = asyncio.Semaphore(max(2, os.cpu_count() or 2))
        todo = [run_notebook(*job, gate) if isinstance(job, tuple) else _raise(job) for job in jobs.values()]
        return await asyncio.gather(*todo, return_exceptions=True)

    results = dict(zip(jobs, asyncio.run(run_all()), strict=True))
    yield results
    for value in results.values():
        if isinstance(value, tuple):
            shutil.rmtree(value[1], ignore_errors=True)


async def _raise(error: BaseException) -> None:
    raise error


def get(executed: dict, name: str, variant: str) -> tuple[nbformat.NotebookNode, Path]:
    if (name, variant) not in executed:
        pytest.fail(f"no student notebook {student_path(name).relative_to(ROOT)}: run `make assign`", pytrace=False)
    value = executed[name, variant]
    if isinstance(value, BaseException):
        pytest.fail(f"{variant} notebook of {name!r} failed:\n{value}", pytrace=False)
    return value


@pytest.mark.parametrize("name", STEMS)
def test_master_runs(executed, name: str) -> None:
    """(a) The master notebook, test cells included, runs top to bottom without error."""
    get(executed, name, "master")


@pytest.mark.parametrize("name", STEMS)
def test_solved_student_notebook_passes(executed, name: str) -> None:
    """(b) The student notebook with the reference solutions pasted in passes every check."""
    nb, workdir = get(executed, name, "solved")
    checks = check_cells(nb)
    assert checks, "the student notebook has no grader.check cells"
    failed = [
        f"grader.check({q!r}) did not pass:\n{result_text(cell)}"
        for q, cell in checks
        if not result_text(cell).startswith(f"{q} results: All test cases passed!")
    ]
    assert not failed, "\n\n".join(failed)

    # grader.export(): a zip holding the notebook, whose public tests otter re-ran and passed
    exports = [c for c in nb.cells if c.cell_type == "code" and EXPORT.search(c.source)]
    assert exports, "the student notebook has no grader.export() cell"
    zips = list(workdir.glob(f"{name}_*.zip"))
    assert len(zips) == 1, f"grader.export() made {len(zips)} zip files"
    assert f"{name}.ipynb" in zipfile.ZipFile(zips[0]).namelist()
    report = result_text(exports[0])
    assert "Your submission received the following results" in report, report
    for q, _ in checks:
        assert f"{q} results: All test cases passed!" in report, report


@pytest.mark.parametrize("name", STEMS)
def test_blank_student_notebook_reports_failures(executed, name: str) -> None:
    """(c) Without solutions, every check reports failed tests and the kernel survives."""
    nb, _ = get(executed, name, "blank")
    checks = check_cells(nb)
    assert checks, "the student notebook has no grader.check cells"
    for q, cell in checks:
        text = result_text(cell)
        assert text.startswith(f"{q} results:") and "Test case failed" in text, (
            f"grader.check({q!r}) on the blank notebook should report failures, got:\n{text}"
        )
        if EDITIONS[name][1] == "zh":  # the student reads why in the notebook's language
            assert CJK.search(text), f"grader.check({q!r}) in {name} fails without a Chinese message:\n{text}"


@pytest.mark.parametrize("name", [e for e, (n, _) in EDITIONS.items() if n == "tied"])
def test_tied_custom_module_runs_the_notebooks_own_cells(executed, name: str) -> None:
    """(d) Question 1 allows any module class: the notebook's given cells work with one, and every check passes."""
    nb, _ = get(executed, name, "custom")
    failed = [f"grader.check({q!r}):\n{result_text(cell)}" for q, cell in check_cells(nb)
              if not result_text(cell).startswith(f"{q} results: All test cases passed!")]
    assert not failed, "\n\n".join(failed)


def test_hidden_graders_give_every_edition_full_marks(tmp_path: Path) -> None:
    """(e) The solved student notebook of every edition but English (whose reference answers
    tests/test_submissions.py grades), its given cells and all, earns full marks from the same
    hidden graders: the editions differ in words, not in what they ask."""
    others = {edition: name for edition, (name, lang) in EDITIONS.items() if lang != "en"}
    for edition in others:
        (tmp_path / edition).mkdir()
        nbformat.write(with_solutions(edition), tmp_path / edition / f"{edition}.ipynb")
    with concurrent.futures.ThreadPoolExecutor(max(1, len(others))) as pool:  # a grading process per notebook
        runs = dict(zip(others, pool.map(
            lambda e: grade_cli(others[e], [tmp_path / e / f"{e}.ipynb"], tmp_path / e / "out"), others), strict=True))
    for edition, run in runs.items():
        assert run.returncode == 0, run.stderr
        (row,) = json.loads((tmp_path / edition / "out" / "gradebook.json").read_text())["submissions"]
        lost = {q: v for q, v in row["questions"].items() if v["score"] != v["max_score"]}
        assert not row["errors"] and row["total"] == row["max_total"], f"{edition}: lost {lost}, errors {row['errors']}"
