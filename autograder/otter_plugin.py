"""An otter-grader 7 plugin that adds the kit's hidden graders to otter's own grading.

A course that grades with otter (``otter run``, ``otter grade``, or otter's Gradescope zip)
enables it in the ``# ASSIGNMENT CONFIG`` cell of its master notebook::

    plugins:
      - autograder.otter_plugin.HiddenGraders:
          assignment: access

(``assignment`` may be left out: it defaults to otter's assignment ``name``; a bare
``- autograder.otter_plugin.HiddenGraders`` then works too.) ``otter assign`` copies the
entry into the autograder zip's ``otter_config.json``; from then on otter imports this
module wherever it grades, so this kit must be installed there. ``otter run`` uses the
current environment. For otter's Gradescope zip the kit is not on PyPI: ``bundle`` (the
command ``python -m autograder.otter_plugin ZIP``, or ``make otter-autograder``) builds it as a
wheel, puts it in the zip as ``files/<wheel>``, and adds it and the kit's pinned grading
dependencies to the zip's ``environment.yml``, which otter's ``setup.sh`` installs into
``otter-env`` on Gradescope; and it adds the plugin's entry to the zip's ``otter_config.json``
when the master notebook configured none (the shipped masters do not: their ``otter run`` needs
only otter), so that the zip it writes always runs the hidden graders.

Where the kit is installed as a wheel, its graders sit in ``site-packages``: the kit's sandbox
masks the package folder from the student's code it runs (an empty tmpfs over it), but otter
also runs the notebook itself, unsandboxed, in its own kernel, where that code can read
anything the grading user can, the graders included: under otter, hidden tests are only as
hidden as otter's own.

What it does, per submission:

- ``before_grading`` (before otter executes anything): copies the submission file into a
  private temporary folder and starts the kit's ``api.grade_one`` on that copy in a background thread.
  The student's code runs in the kit's sandbox (a separate, limited child process),
  never in otter's process; grading overlaps otter's own execution of the notebook.
- ``after_grading``: waits for it and adds one otter test file per question of the
  hidden graders, named ``hidden:<question>`` (the prefix is configurable), with one
  test case per grader rule: its points, passed or not, and its hint as the message.
  Otter's total, its ``results.json`` (Gradescope) and ``otter grade``'s CSV include them.
  Rules with ``visibility="visible"`` are public test cases (their hints show in otter's
  "Public Tests" summary); the others are hidden test cases.
- ``generate_report``: one line for otter's PLUGIN REPORT (total, seconds, notes).

If grading fails (the kit cannot start its sandbox, an unknown assignment, a timeout...),
otter still gets its results, never a crash: every hidden question gets 0 points out of
its full value with the error as message, so a failure never inflates the percentage;
if even the assignment's rules cannot be loaded, a single 0-point ``hidden:error`` entry
carries the message.

Plugin options (all optional): ``assignment`` (the kit's assignment name), ``prefix``
(``"hidden:"``), ``limits`` (``Limits`` fields: ``time``, ``memory``, ``processes``,
``output``), ``parallel`` (``true``: grade while otter executes the notebook; ``false``:
grade after otter, so only one torch process at a time, for small containers) and
``timeout`` (seconds to wait for the hidden graders, default 600).
"""
from __future__ import annotations

import json
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from otter.plugins import AbstractOtterPlugin
from otter.test_files import ExceptionTestFile, GradingResults, TestCase, TestCaseResult

if TYPE_CHECKING:
    from .engine.runner import Grading

IMPORTABLE_NAME = "autograder.otter_plugin.HiddenGraders"
PASSED = "✅ Test case passed"
FAILED = "❌ Test case failed"


def test_file(name: str, cases: list[tuple[str, float, bool, bool, str]]) -> ExceptionTestFile:
    """An otter test file holding finished results: ``cases`` are (name, points, hidden, passed, message).

    otter's own ``ExceptionTestFile`` class (nothing of the kit's), so that otter's pickled
    results (``results.pkl``) load where the kit is not installed, e.g. on the host of
    ``otter grade``.
    """
    tcs = [TestCase(name=n, body=None, hidden=h, points=p, success_message=None, failure_message=None)
           for n, p, h, _, _ in cases]
    tf = ExceptionTestFile(name=name, path=name, test_cases=tcs, all_or_nothing=False)
    tf.test_case_results = [TestCaseResult(test_case=tc, message=m, passed=ok)
                            for tc, (_, _, _, ok, m) in zip(tcs, cases, strict=True)]
    return tf


class HiddenGraders(AbstractOtterPlugin):
    """Adds the kit's hidden pytest graders' scores to otter's results (see the module docstring)."""

    def __init__(self, submission_path: str | None, submission_metadata: dict[str, Any] | None,
                 plugin_config: dict[str, Any] | None) -> None:
        super().__init__(submission_path, submission_metadata, plugin_config or {})
        cfg = self.plugin_config if isinstance(self.plugin_config, dict) else {}
        self.assignment: str | None = cfg.get("assignment")
        self.prefix: str = str(cfg.get("prefix", "hidden:"))
        self.parallel: bool = bool(cfg.get("parallel", True))
        self.timeout: float = float(cfg.get("timeout", 600))
        self.limits_config: dict = dict(cfg.get("limits") or {})
        self._thread: threading.Thread | None = None
        self._outcome: tuple[Any, float] | BaseException | None = None
        self._tmp: str | None = None
        self._copy: Path | None = None
        self._report = ""

    # -------------------------------------------------------------- assign / generate time
    def during_generate(self, otter_config: dict[str, Any], assignment: Any) -> None:
        """Fail ``otter assign``/``otter generate`` early if the kit does not know the assignment."""
        from .paths import assignments

        name, known = self.assignment or otter_config.get("assignment_name"), assignments()
        if name not in known:
            raise ValueError(f"{IMPORTABLE_NAME}: no hidden graders for assignment {name!r} "
                             f"(known: {', '.join(known)}); set the plugin's 'assignment' option")

    # -------------------------------------------------------------- grading time
    def before_grading(self, config: Any) -> None:
        """Snapshot the submission before otter runs any of it, and start grading it (if ``parallel``)."""
        if self.assignment is None:
            self.assignment = getattr(config, "assignment_name", None)
        self._snapshot()
        if self.parallel and self._copy is not None:
            self._thread = threading.Thread(target=self._grade, name="hidden-graders", daemon=True)
            self._thread.start()

    def after_grading(self, results: GradingResults) -> None:
        """Wait for the hidden graders and add their results to otter's."""
        try:
            if self._copy is None and self._outcome is None:
                self._snapshot()  # before_grading did not run (otter called grade_notebook directly)
            if self._thread is None and self._outcome is None:
                self._grade()  # not parallel: grade now, otter's kernel is gone
            elif self._thread is not None:
                self._thread.join(self.timeout)
                if self._thread.is_alive():
                    self._outcome = TimeoutError(f"the hidden graders did not finish in {self.timeout:g} s")
            outcome = self._outcome
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome is None:
                raise RuntimeError("the hidden graders did not run")
            grading, seconds = outcome
            self._merge(results, grading, seconds)
        except BaseException as exc:  # never let otter crash: the hidden questions score 0
            self._fail(results, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        finally:
            if self._thread is None or not self._thread.is_alive():
                self._cleanup()

    def generate_report(self) -> str | None:
        """otter's hook: the hidden graders' report for the PDF and the log (None when there is nothing)."""
        return self._report or None

    # -------------------------------------------------------------- internals
    def _snapshot(self) -> None:
        """Copy the submission file to a private folder: what otter's unsandboxed execution of the
        notebook does to the original afterwards cannot change what the hidden graders see."""
        if self._copy is not None:
            return
        try:
            src = Path(self.submission_path or "")
            if not src.is_file():
                raise FileNotFoundError(f"no submission file at {str(src)!r}")
            self._tmp = tempfile.mkdtemp(prefix="otter-hidden-graders-")
            self._copy = Path(self._tmp) / src.name
            shutil.copyfile(src, self._copy)
        except BaseException as exc:
            self._outcome = exc

    def _grade(self) -> None:
        """Run the kit's grading of the copy (in the calling thread); store (Grading, seconds) or the error."""
        if isinstance(self._outcome, BaseException):
            return
        try:
            from .api import grade_one
            from .engine.sandbox import Limits
            from .paths import assignments

            known = assignments()
            if self.assignment not in known:
                raise ValueError(f"no hidden graders for assignment {self.assignment!r} "
                                 f"(known: {', '.join(known)})")
            self._outcome = grade_one(self._copy, self.assignment, Limits(**self.limits_config))
        except BaseException as exc:
            self._outcome = exc

    def _merge(self, results: GradingResults, grading: Grading, seconds: float) -> None:
        by_question: dict[str, list] = {q: [] for q in grading.questions}
        for r in grading.results:
            by_question.setdefault(r.rule.question, []).append(r)
        for question, rule_results in by_question.items():
            name = self.prefix + question
            results.results[name] = test_file(name, [
                (r.rule.doc.splitlines()[0] if r.rule.doc else r.rule.name, r.rule.points,
                 r.rule.visibility != "visible", r.passed, PASSED if r.passed else f"{FAILED}\n{r.hint}")
                for r in rule_results])
        summary = (f"hidden graders ({grading.assignment}): {grading.total:g}/{grading.max_total:g} in {seconds:.1f} s "
                   f"(kit: {Path(__file__).resolve().parent})")
        notes = "\n".join(f"  {e}" for e in grading.errors)
        self._report = summary + ("\n" + notes if notes else "")
        if grading.errors:  # cell errors and the like: the student sees them, as in the kit's own results
            extra = "Hidden graders:\n" + "\n".join(grading.errors)
            results.set_output(f"{results.output}\n\n{extra}" if results.output else extra)

    def _fail(self, results: GradingResults, message: str) -> None:
        """0 points for every hidden question (out of its full value), or one 0-point entry if
        even the questions are unknown; the message says why."""
        text = f"{FAILED}\nthe hidden graders could not grade this submission: {message}"
        try:
            from .engine import runner

            rules = runner.rules(self.assignment) if self.assignment else []
        except BaseException:
            rules = []
        if rules:
            by_question: dict[str, list] = {}
            for rule in rules:
                by_question.setdefault(rule.question, []).append(rule)
            for question, qrules in by_question.items():
                name = self.prefix + question
                results.results[name] = test_file(name, [
                    (r.doc.splitlines()[0] if r.doc else r.name, r.points, r.visibility != "visible", False, text)
                    for r in qrules])
        else:
            name = self.prefix + "error"
            results.results[name] = test_file(name, [("hidden graders", 0, False, False, text)])
        self._report = f"hidden graders ({self.assignment}): FAILED: {message}"

    def _cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


# ------------------------------------------------------------------ otter's Gradescope zip

ENV_MARK = "# added by autograder.otter_plugin.bundle"


def build_wheel(dest: Path) -> Path:
    """Build the kit as a wheel (``pip wheel`` of this checkout, no dependencies) into ``dest``
    (``paths.NotACheckout`` where the kit is installed without its repository)."""
    import subprocess
    import sys

    from .paths import checkout

    root = checkout().root
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(dest), str(root)], check=True)
    (wheel,) = sorted(dest.glob("d2l_param_autograder-*.whl"))
    return wheel


def environment_pins() -> list[str]:
    """The kit's pinned grading dependencies (``gradescope.build.GRADING``), as pip lines."""
    from .gradescope.build import GRADING, _canon, kit_pins

    pins = kit_pins()
    return [f"{pins[_canon(n)][0]}=={pins[_canon(n)][1]}" for n in GRADING if _canon(n) in pins]


def plugin_config(config: dict, assignment: str | None = None) -> dict:
    """otter's ``otter_config.json`` with the ``HiddenGraders`` entry in its ``plugins`` (everything else
    kept; an entry already there, in either of otter's forms, is left as it is). ``assignment`` defaults
    to the config's ``assignment_name``; ``ValueError`` when the kit has no graders for it."""
    from .paths import assignments

    plugins = list(config.get("plugins") or [])
    if any(p == IMPORTABLE_NAME or (isinstance(p, dict) and IMPORTABLE_NAME in p) for p in plugins):
        return config
    name = assignment or config.get("assignment_name")
    if name not in assignments():
        raise ValueError(f"the zip's otter_config.json names assignment {name!r}, for which the kit has no hidden "
                         f"graders ({', '.join(assignments())}): pass --assignment")
    return {**config, "plugins": [*plugins, {IMPORTABLE_NAME: {"assignment": name}}]}


def bundle(zip_path: Path, out: Path | None = None, wheel: Path | None = None, assignment: str | None = None) -> Path:
    """Add the kit to one of otter's autograder zips (``otter assign``'s ``*-autograder.zip``):
    the wheel as ``files/<wheel>``, in ``environment.yml``'s ``pip:`` list the wheel (as it lies
    on Gradescope: ``/autograder/source/files/...``) and the kit's pinned grading dependencies, and
    in ``otter_config.json`` the ``HiddenGraders`` plugin entry (``plugin_config``), without which otter
    would never run the hidden graders (the shipped master notebooks configure no plugin).
    Writes ``out`` atomically (default: replaces ``zip_path``); returns it. Otter's entries keep their
    order and dates; the wheel's is stamped as the kit stamps every entry (``outdir.zip_entry``)."""
    import io
    import tempfile
    import zipfile

    from . import outdir

    out = out or zip_path
    with tempfile.TemporaryDirectory() as tmp:
        wheel = wheel or build_wheel(Path(tmp))
        with zipfile.ZipFile(zip_path) as src:
            entries = [(info, src.read(info)) for info in src.infolist()]
        names = {info.filename for info, _ in entries}
        if "environment.yml" not in names or "otter_config.json" not in names:
            raise ValueError(f"{zip_path}: no environment.yml or otter_config.json: not an otter autograder zip")
        target = f"files/{wheel.name}"
        lines = [ENV_MARK, f"/autograder/source/{target}", *environment_pins()]
        fresh = []
        for info, data in entries:
            if info.filename.startswith("files/d2l_param_autograder-"):
                continue  # an earlier bundle's wheel
            if info.filename == "environment.yml":
                data = _add_pip_lines(data.decode("utf-8"), lines).encode("utf-8")
            elif info.filename == "otter_config.json":
                data = (json.dumps(plugin_config(json.loads(data), assignment), indent=2) + "\n").encode("utf-8")
            fresh.append((info, data))
        fresh.append((outdir.zip_entry(target, 0o644), wheel.read_bytes()))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
            for info, data in fresh:
                dst.writestr(info, data)
        outdir.write(out.parent, out.name, buf.getvalue(), mode=0o644)
    return out


def _add_pip_lines(env: str, lines: list[str]) -> str:
    """``environment.yml`` with ``lines`` at the end of its ``pip:`` list (an earlier bundle's replaced)."""
    kept, skipping = [], False
    for line in env.splitlines():
        if line.strip() == f"- {ENV_MARK}" or line.strip() == ENV_MARK:
            skipping = True
            continue
        if skipping and line.startswith("      - "):
            continue
        skipping = False
        kept.append(line)
    if not any(line.strip() == "- pip:" for line in kept):
        kept.append("  - pip:")
    at = max(i for i, line in enumerate(kept) if line.strip() == "- pip:") + 1
    while at < len(kept) and kept[at].startswith("      - "):
        at += 1
    block = [f"      {ENV_MARK}"] + [f"      - {x}" for x in lines[1:]]
    return "\n".join(kept[:at] + block + kept[at:]) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.otter_plugin ZIP [--out ZIP]``: put the kit into an otter autograder zip."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m autograder.otter_plugin", description=main.__doc__)
    parser.add_argument("zip", type=Path, help="an otter autograder zip (dist/otter/NAME-autograder.zip)")
    parser.add_argument("--out", type=Path, default=None, help="where to write it (default: in place)")
    parser.add_argument("--assignment", default=None,
                        help="the kit's assignment for the plugin entry (default: the zip's assignment_name)")
    args = parser.parse_args(argv)
    if not args.zip.is_file():
        parser.error(f"no such file: {args.zip}")
    try:
        path = bundle(args.zip, args.out, assignment=args.assignment)
    except (ValueError, OSError) as exc:  # NotACheckout is an OSError
        print(f"autograder: {exc}")
        return 1
    print(f"the kit (a wheel), its pinned dependencies and the HiddenGraders plugin entry are in {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
