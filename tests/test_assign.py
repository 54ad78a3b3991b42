"""The committed student notebooks are what `make assign` makes, and they give nothing away.

Every assignment has an English master `solutions/NAME.ipynb` and a Chinese one
`solutions/NAME.zh.ipynb` (its editions). For every assignment:
- regenerating every edition with the real `otter assign` gives `assignments/NAME/` byte for byte;
- each student notebook says its assignment and edition in `metadata.autograder`;
- the editions ask the same questions: same names, points, answer names and signatures;
- no student notebook holds a reference solution or a hidden test;
- the Chinese public tests fail with Chinese messages.
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

from autograder.assign import EDITIONS, assign, assign_all, available, editions, main, master_path, stem

ROOT = Path(__file__).resolve().parents[1]
NAMES = available()
# (assignment, edition) for every master notebook, e.g. ("access", "zh") for solutions/access.zh.ipynb
EDITIONS_OF = [(name, lang) for name in NAMES for lang in editions(name)]
EDITION_IDS = [stem(name, lang) for name, lang in EDITIONS_OF]
CJK = re.compile(r"[\u4e00-\u9fff]")

STALE = "assignments/{name}/ is stale (or missing): run `make assign` and commit the result"
MARKER = re.compile(r"#\s*(BEGIN|END)\s+SOLUTION|#\s*SOLUTION\b")


def files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_every_assignment_has_both_editions() -> None:
    """The kit promises an English and a Chinese edition of every assignment."""
    assert NAMES, "no master notebook in solutions/"
    for name in NAMES:
        assert editions(name) == list(EDITIONS), f"{name}: editions {editions(name)}, expected {list(EDITIONS)}"


@pytest.mark.parametrize("name", NAMES)
def test_student_files_are_up_to_date(tmp_path: Path, name: str) -> None:
    """`otter assign` on every edition's master reproduces the committed `assignments/NAME/` exactly."""
    committed = ROOT / "assignments" / name
    assert committed.is_dir(), STALE.format(name=name)
    # run_tests=False: otter's own grading of the solutions does not change the files
    assign_all(name, tmp_path / name, zip_dir=None, run_tests=False)
    fresh, old = files(tmp_path / name), files(committed)
    assert sorted(fresh) == sorted(old), STALE.format(name=name) + f"\nfiles: {sorted(old)} != {sorted(fresh)}"
    differ = [f for f in fresh if fresh[f] != old[f]]
    assert not differ, STALE.format(name=name) + f"\ndiffering: {differ}"


def blocks(master: nbformat.NotebookNode, kind: str) -> list[list[nbformat.NotebookNode]]:
    """The cells inside each `# BEGIN <KIND>` ... `# END <KIND>` raw-cell block of the master."""
    begin, end = (re.compile(rf"#\s+{b}\s+{kind}", re.IGNORECASE) for b in ("begin", "end"))
    found: list[list[nbformat.NotebookNode]] = []
    current: list[nbformat.NotebookNode] | None = None
    for cell in master.cells:
        if cell.cell_type == "raw" and begin.match(cell.source):
            current = []
        elif cell.cell_type == "raw" and end.match(cell.source):
            assert current is not None, f"an # END {kind} without its # BEGIN {kind}"
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


def student_path(name: str, lang: str) -> Path:
    return ROOT / "assignments" / name / f"{stem(name, lang)}.ipynb"


@pytest.mark.parametrize("name, lang", EDITIONS_OF, ids=EDITION_IDS)
def test_student_notebook_says_its_edition(name: str, lang: str) -> None:
    """`metadata.autograder` names the assignment and the language the notebook was made in."""
    path = student_path(name, lang)
    assert path.is_file(), STALE.format(name=name)
    metadata = nbformat.read(path, as_version=4).metadata
    assert metadata.get("autograder") == {"assignment": name, "lang": lang}, STALE.format(name=name)
    # both editions are one otter assignment (export zips, otter's own name check)
    assert metadata["otter"]["assignment_name"] == name


@pytest.mark.parametrize("name, lang", EDITIONS_OF, ids=EDITION_IDS)
def test_a_never_run_notebook_downloads_as_a_python_script(tmp_path: Path, name: str, lang: str) -> None:
    """Jupyter's "Download as Python" (`jupyter nbconvert --to script`) names the file from the notebook's
    `language_info`: without `file_extension` a notebook never run in a kernel became a `.txt`, which
    `grade` refuses. The student notebooks carry a kernel's whole `language_info`, so it is a `.py`."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "script", "--output-dir", str(tmp_path),
                          str(student_path(name, lang))], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert [p.suffix for p in tmp_path.iterdir()] == [".py"], (list(tmp_path.iterdir()), STALE.format(name=name))
    assert "# In[ ]:" in next(tmp_path.iterdir()).read_text(encoding="utf-8")


def questions(nb: nbformat.NotebookNode) -> list[dict]:
    """The `# BEGIN QUESTION` configs of a master, in order."""
    return [yaml.safe_load(c.source.split("\n", 1)[1]) for c in nb.cells
            if c.cell_type == "raw" and re.match(r"#\s+BEGIN\s+QUESTION", c.source, re.IGNORECASE)]


def answer_signatures(nb: nbformat.NotebookNode) -> dict[str, str]:
    """Top-level name -> signature (`def`: its arguments; `class`: its `__init__`'s) of every
    function or class that the master's solution blocks define."""
    found = {}
    for cells in blocks(nb, "solution"):
        for cell in cells:
            if cell.cell_type != "code":
                continue
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[node.name] = ast.unparse(node.args)
                elif isinstance(node, ast.ClassDef):
                    init = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
                    found[node.name] = "class " + (ast.unparse(init[0].args) if init else "")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_editions_ask_the_same_questions(name: str) -> None:
    """Every edition has the English master's questions (names, points, manual or not), in the same
    order, and its solutions define the same names with the same signatures: one set of hidden
    graders grades them all."""
    en = nbformat.read(master_path(name, "en"), as_version=4)
    for lang in editions(name):
        other = nbformat.read(master_path(name, lang), as_version=4)
        assert questions(other) == questions(en), f"{stem(name, lang)}: questions differ from {name}'s"
        assert answer_signatures(other) == answer_signatures(en), f"{stem(name, lang)}: answers differ from {name}'s"


@pytest.mark.parametrize("name, lang", EDITIONS_OF, ids=EDITION_IDS)
def test_student_notebook_has_no_solutions(name: str, lang: str) -> None:
    """No solution marker, solution line or markdown solution reaches the student notebook."""
    master = nbformat.read(master_path(name, lang), as_version=4)
    path = student_path(name, lang)
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


@pytest.mark.parametrize("name, lang", EDITIONS_OF, ids=EDITION_IDS)
def test_student_notebook_has_no_hidden_tests(name: str, lang: str) -> None:
    """The tests shipped in the student notebook are the public ones only."""
    master = nbformat.read(master_path(name, lang), as_version=4)
    path = student_path(name, lang)
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


def assert_messages(source: str) -> list[ast.expr]:
    """The messages that some test code fails with: of its `assert` statements, and the
    arguments of the exceptions it raises (`raise AssertionError("...")`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assert) and node.msg is not None:
            found.append(node.msg)
        elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            found.extend(node.exc.args)
    return found


def message_text(msg: ast.expr) -> str:
    """The literal text of an assert message: a string, an f-string's constant parts, or
    (for `"..." + x` and `"...".format(...)`) the strings in it."""
    return "".join(n.value for n in ast.walk(msg) if isinstance(n, ast.Constant) and isinstance(n.value, str))


def doctest_code(code: str) -> str:
    """The Python code of an OK-format test case (its `>>> ` and `... ` lines, prompts removed)."""
    return "\n".join(line[4:] for line in code.splitlines() if line.startswith((">>> ", "... ")))


@pytest.mark.parametrize("name", [n for n, lang in EDITIONS_OF if lang == "zh"])
def test_chinese_public_tests_speak_chinese(name: str) -> None:
    """What `grader.check` prints in the Chinese notebook is Chinese: every public test's failure
    message (its `assert` messages, and otter's `failure_message` where a test sets one)."""
    path = student_path(name, "zh")
    assert path.is_file(), STALE.format(name=name)
    tests = nbformat.read(path, as_version=4).metadata["otter"]["tests"]
    assert tests, "the Chinese notebook ships no public tests"
    english = []
    for question, test in tests.items():
        sources = ([test] if isinstance(test, str)
                   else [doctest_code(c["code"]) for s in test["suites"] for c in s["cases"]])
        messages = [message_text(m) for source in sources for m in assert_messages(source)]
        messages += re.findall(r'failure_message="([^"]*)"', "\n".join(sources))
        assert messages, f"{question}: no assert message to show"
        english += [f"{question}: {m!r}" for m in messages if not CJK.search(m)]
    assert not english, "public test messages without Chinese:\n" + "\n".join(english)


def test_unknown_assignment_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-assignment"])
    assert exit_info.value.code == 2
    assert "no master notebook" in capsys.readouterr().err


def test_unknown_edition_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown edition"):
        assign(NAMES[0], tmp_path / "out", lang="fr", zip_dir=None, run_tests=False)
