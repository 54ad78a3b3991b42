"""The committed student notebooks are what `make assign` makes, and they give nothing away.

For every master notebook `solutions/NAME.ipynb`:
- regenerating it with the real `otter assign` gives `assignments/NAME/` byte for byte;
- the student notebook holds no reference solution and no hidden test.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml
from otter.assign.tests_manager import BEGIN_TEST_CONFIG_REGEX, END_TEST_CONFIG_REGEX

from autograder.assign import assign, main

ROOT = Path(__file__).resolve().parents[1]
MASTERS = sorted((ROOT / "solutions").glob("*.ipynb"))
NAMES = [p.stem for p in MASTERS]

STALE = "assignments/{name}/ is stale (or missing): run `make assign` and commit the result"
MARKER = re.compile(r"#\s*(BEGIN|END)\s+SOLUTION|#\s*SOLUTION\b")


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", NAMES)
def test_student_files_are_up_to_date(tmp_path: Path, name: str) -> None:
    """`otter assign` on the master reproduces the committed `assignments/NAME/` exactly."""
    committed = ROOT / "assignments" / name
    assert committed.is_dir(), STALE.format(name=name)
    # run_tests=False: otter's own grading of the solutions does not change the files
    assign(name, tmp_path / name, zip_dir=None, run_tests=False)
    fresh, old = files(tmp_path / name), files(committed)
    assert sorted(fresh) == sorted(old), STALE.format(name=name) + f"\nfiles: {sorted(old)} != {sorted(fresh)}"
    differ = [f for f in fresh if fresh[f] != old[f]]
    assert not differ, STALE.format(name=name) + f"\ndiffering: {differ}"


def blocks(master: nbformat.NotebookNode, kind: str) -> list[list[nbformat.NotebookNode]]:
    """The cells inside each `# BEGIN <KIND>` ... `# END <KIND>` raw-cell block of the master."""
    begin, end = (re.compile(rf"#\s+{b}\s+{kind}", re.IGNORECASE) for b in ("begin", "end"))
    found, current = [], None
    for cell in master.cells:
        if cell.cell_type == "raw" and begin.match(cell.source):
            current = []
        elif cell.cell_type == "raw" and end.match(cell.source):
            found.append(current)
            current = None
        elif current is not None:
            current.append(cell)
    return found


def split_solution(source: str) -> tuple[list[str], set[str]]:
    """A master cell's solution lines (inside `# BEGIN/END SOLUTION`, or `... # SOLUTION` without
    the marker) and its other lines, stripped; comments and blank lines are left out."""
    solution, other, inside = [], set(), False
    for line in source.splitlines():
        if re.search(r"#\s*BEGIN\s+SOLUTION", line):
            inside = True
        elif re.search(r"#\s*END\s+SOLUTION", line):
            inside = False
        elif inside or re.search(r"#\s*SOLUTION\s*$", line):
            solution.append(re.sub(r"#\s*SOLUTION\s*$", "", line).strip())
        else:
            other.add(line.strip())
    return [line for line in solution if line and not line.startswith("#")], other


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_has_no_solutions(name: str) -> None:
    """No solution marker, solution line or markdown solution reaches the student notebook."""
    master = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    path = ROOT / "assignments" / name / f"{name}.ipynb"
    assert path.is_file(), STALE.format(name=name)
    student = nbformat.read(path, as_version=4)
    by_id = {c.get("id"): c for c in student.cells}

    for cell in student.cells:
        assert not MARKER.search(cell.source), f"solution marker left in cell {cell.get('id')!r}"
        assert cell.cell_type != "raw" or not re.match(r"#\s+(BEGIN|END|ASSIGNMENT)", cell.source), (
            f"otter config cell left in the student notebook: {cell.source[:60]!r}"
        )

    for solution_cells in blocks(master, "solution"):
        for cell in solution_cells:
            if cell.cell_type == "markdown":  # a written answer (and its rubric): dropped whole
                assert cell.get("id") not in by_id and all(
                    cell.source not in c.source for c in student.cells
                ), f"markdown solution {cell.get('id')!r} is in the student notebook"
                continue
            # The answer cell keeps the master cell's id: compare lines with the very same cell,
            # since given code elsewhere may legitimately repeat a solution line.
            answer = by_id.get(cell.get("id"))
            assert answer is not None, STALE.format(name=name) + f"\nno answer cell {cell.get('id')!r}"
            solution, other = split_solution(cell.source)
            kept = {line.strip() for line in answer.source.splitlines()} - other
            leaked = [line for line in solution if line in kept]
            assert not leaked, f"solution lines in answer cell {cell.get('id')!r}: {leaked}"


def split_test_config(source: str) -> tuple[dict, list[str]]:
    """A test cell's `# BEGIN TEST CONFIG` block (parsed as otter does) and the code after it."""
    lines = source.strip().splitlines()
    if lines and re.match(BEGIN_TEST_CONFIG_REGEX, lines[0], re.IGNORECASE):
        end = next(i for i, line in enumerate(lines) if re.match(END_TEST_CONFIG_REGEX, line, re.IGNORECASE))
        return yaml.safe_load("\n".join(lines[1:end])) or {}, lines[end + 1 :]
    return {}, lines


def is_hidden(cell: nbformat.NotebookNode) -> bool:
    """otter's rule: `hidden: true` in the test config, else a first comment line saying hidden."""
    config, _ = split_test_config(cell.source)
    first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
    default = first.startswith("#") and bool(re.search(r"\bhidden\b", first, re.IGNORECASE))
    return bool(config.get("hidden", default))


def unparsed_lines(source: str) -> set[str]:
    """Code lines as otter stores tests: through ast.unparse (no comments, normalized quotes)."""
    try:
        tree = ast.parse("\n".join(split_test_config(source)[1]))
    except SyntaxError:  # IPython magics and the like: nothing to compare
        return set()
    return {line.strip() for line in ast.unparse(tree).splitlines() if len(line.strip()) >= 20}


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_has_no_hidden_tests(name: str) -> None:
    """The tests shipped in the student notebook are the public ones only."""
    master = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    path = ROOT / "assignments" / name / f"{name}.ipynb"
    assert path.is_file(), STALE.format(name=name)
    student = nbformat.read(path, as_version=4)
    tests = student.metadata.get("otter", {}).get("tests", {})
    for test in tests.values():  # otter's own flag, in either test format
        if isinstance(test, dict):
            assert not any(c.get("hidden") for s in test["suites"] for c in s["cases"]), test["name"]
        else:
            assert "hidden=True" not in test, f"hidden test case shipped: {test[:200]}"

    # And no line that only a hidden test of the master has (lines shared with public tests or
    # other cells are fine): catches a hidden test shipped under another flag.
    hidden = [c for block in blocks(master, "tests") for c in block if is_hidden(c)]
    hidden_ids = {c.get("id") for c in hidden}
    public = set().union(*(unparsed_lines(c.source) for c in master.cells if c.get("id") not in hidden_ids))
    shipped = "\n".join(t if isinstance(t, str) else json.dumps(t) for t in tests.values())
    for cell in hidden:
        leaked = [line for line in unparsed_lines(cell.source) - public if line in shipped]
        assert not leaked, f"hidden test {cell.get('id')!r} is in the student notebook: {leaked[:3]}"


def test_unknown_assignment_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-assignment"])
    assert exit_info.value.code == 2
    assert "no master notebook" in capsys.readouterr().err
