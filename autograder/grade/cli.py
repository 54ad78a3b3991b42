"""The command line's parser: ``python -m autograder COMMAND ...``, the program's options and every
command's arguments (``__main__`` runs the command they name; ``grade.main`` parses with it too).

Every usage error is one line on stderr and exit status 2 (``Parser``), found before anything is
graded or written; ``--help`` (of the program or of any command) exits 0 and says what the command
writes and what its exit statuses mean. This module imports no command's code (the package's
``__init__`` is the ``grade`` command), so that both may import it.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from .. import __version__, i18n
from ..engine.sandbox import Limits
from ..paths import assignments

PROG = "python -m autograder"

DESCRIPTION = "Auto-graded exercises for d2l's Parameter Management section: grade, report,\nauthor."
# Every help text fits 79 columns (tests/test_cli.py): the epilogs are laid out by hand, the
# descriptions are wrapped by ``_wrap``.
EPILOG = """\
commands write:
  grade         DIR/<submission>/results.json and feedback, gradebook.csv and
                .json, canvas.csv, summary.html, manual.html and .csv (the
                free-response answers, to grade by hand)
  merge-manual  the points of a filled-in manual.csv into DIR's gradebook and
                feedback
  reports       DIR's feedback and summary.html again, from its results (no
                grading)
  samples       sample submissions: the reference answers and every bundled
                mistake
  assign        assignments/NAME/ (student notebooks) and dist/otter/ from
                solutions/

exit status:
  0  the command ran (for grade: whatever the scores)
  1  merge-manual or reports found nothing to work on (the message says why)
  2  usage error, or nothing could be done safely (one line on stderr says why)

Run `python -m autograder COMMAND --help` for a command's options.
"""
# the grade command's --help
GRADE_EPILOG = """\
writes, in DIR:
  <submission>/results.json  Gradescope's results format (one test per rule)
  <submission>/feedback.md   for the student (also feedback.html): points,
                             checks, hints
  gradebook.csv              a row per submission (its submitters, from a
                             Gradescope export's submission_metadata.yml), a
                             points-possible row, a column per question and
                             free-response question, total, status
  gradebook.json             the same, with errors and notes
  canvas.csv                 Canvas's import file, when SIDs are known
  summary.html               the class: rates per question and rule, every
                             failure group
  manual.html, manual.csv    free-response answers with their rubric; fill
                             manual.csv, then run:
                             python -m autograder merge-manual DIR manual.csv
What the previous run into DIR wrote is removed first; DIR must not hold
another assignment's results, nor be, hold or lie inside a PATH.

environment:
  AUTOGRADER_SECRET  key the graders' random probes are derived from (with
                     each submission's bytes): set it, so that students cannot
                     predict the probes and a regrade gives the same scores.
                     Unset, a fixed development key is used, which anyone with
                     the kit can reproduce: grade then warns, once, on stderr

exit status:
  0  grading ran (whatever the scores; the last line counts graded, not
     graded, timed out and grader errors)
  2  nothing was graded: a usage error, an unknown assignment, an unusable
     --out, a grader file the runner refuses (it names the test and why),
     or a sandbox that cannot isolate student code (--insecure grades
     anyway, on a machine you trust: recorded in every results.json and the
     gradebook)
"""


def _wrap(text: str) -> str:
    """A description as lines of at most 79 columns (the help's formatter keeps them as they are)."""
    import textwrap

    return textwrap.fill(text, 79, break_long_words=False, break_on_hyphens=False)


def add_grade_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``grade`` command's arguments."""
    known = assignments()
    parser.add_argument("assignment", choices=known, metavar="ASSIGNMENT", help=f"one of: {', '.join(known)}")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a submission (.ipynb, .py, or a zip holding one notebook), a folder of them, "
                             "or a Gradescope export folder (one subfolder per submission)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="folder for the results, feedback, gradebook and summary (created, mode 0700)")
    parser.add_argument("--jobs", type=int, default=1, metavar="N", help="submissions graded at once (default 1)")
    parser.add_argument("--time-limit", type=float, default=Limits.time, metavar="SECONDS",
                        help="seconds per question (default 10)")
    parser.add_argument("--memory-limit", type=float, default=Limits.memory / 2**30, metavar="GIB",
                        help="GiB (default 2)")
    parser.add_argument("--process-limit", type=int, default=Limits.processes, metavar="N",
                        help="processes (default 64)")
    parser.add_argument("--output-limit", type=float, default=Limits.output / 2**20, metavar="MIB",
                        help="MiB of output per question (default 1)")
    parser.add_argument("--submission-time-limit", type=float, default=None, metavar="SECONDS",
                        help="wall seconds for one submission in all, its cells and checks together "
                             "(default: (questions + 4) x --time-limit)")
    parser.add_argument("--lang", choices=(i18n.AUTO, *i18n.LANGUAGES), default=i18n.AUTO,
                        help="language of what students read (results, feedback): auto (default) takes each "
                             "notebook's own (metadata.autograder.lang), else English; the class pages are in "
                             "this language (English under auto)")
    parser.add_argument("--after-due-date", action="store_true",
                        help="list the checks marked visibility='after_due_date' in the students' feedback "
                             "(default: counted, not shown, as Gradescope does before the due date)")
    parser.add_argument("--insecure", action="store_true",
                        help="grade even where student code cannot be isolated (only on a machine you trust); "
                             "recorded in every results.json and in the gradebook")
    parser.add_argument("--blind", action="store_true",
                        help="leave the submitters' names out of manual.html and manual.csv (anonymous grading "
                             "of the free-response answers)")
    parser.add_argument("--quiet", action="store_true", help="no progress (the last line still gives the counts)")


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line: ``prog: error: message (see --help)``."""

    def error(self, message: str) -> NoReturn:  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> Parser:
    """The whole command line: the program's options and one subparser per command."""
    fmt = argparse.RawDescriptionHelpFormatter
    parser = Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser, required=True)

    grade = sub.add_parser("grade", help="grade submissions; write results, feedback, gradebook and summary",
                           description=_wrap("Grade the submissions of one assignment in a sandbox and write, in DIR, "
                                       "each one's results and feedback and the class's gradebook and summary."),
                           epilog=GRADE_EPILOG, formatter_class=fmt)
    add_grade_arguments(grade)
    grade.set_defaults(usage_error=grade.error)  # grade's own one-line usage errors, for what it checks later

    merge = sub.add_parser("merge-manual", help="fold the free-response points of manual.csv into DIR",
                           description=_wrap("Fold the points (and comments) of a filled-in manual.csv into DIR's "
                                       "gradebook.csv, gradebook.json, canvas.csv and each student's feedback. "
                                       "Empty points are left for later; a run with more points replaces them."),
                           epilog=_wrap("exit status: 0 merged; 1 manual.csv or DIR cannot be used (one line says "
                                  "which line and why; nothing is written); 2 usage error."),
                           formatter_class=fmt)
    merge.add_argument("out", type=Path, metavar="DIR", help="a folder that grade wrote")
    merge.add_argument("csv", type=Path, metavar="CSV", help="manual.csv with its points column filled in")
    merge.add_argument("--after-due-date", action="store_true",
                       help="list the checks marked after_due_date in the rewritten feedback")
    merge.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                       help="language of the rewritten summary (default: the one grade wrote it in)")

    reports = sub.add_parser("reports", help="rewrite DIR's feedback and summary.html from its results",
                             description=_wrap("Rewrite every feedback.md/html and summary.html of DIR from its "
                                         "results.json files and gradebook.json, without grading again: e.g. with "
                                         "--after-due-date once the due date has passed."),
                             epilog=_wrap("exit status: 0 written; 1 DIR has no readable gradebook.json; "
                                          "2 usage error."),
                             formatter_class=fmt)
    reports.add_argument("out", type=Path, metavar="DIR", help="a folder that grade wrote")
    reports.add_argument("--after-due-date", action="store_true",
                         help="list the checks marked after_due_date (and their hints) in the feedback")
    reports.add_argument("--lang", choices=i18n.LANGUAGES, default=None,
                         help="language of the summary (default: the one grade wrote it in)")

    samples = sub.add_parser("samples", help="write sample submissions (reference answers, bundled mistakes)",
                             description=_wrap("Write DEST/reference.ipynb (the student notebook of the --lang "
                                               "edition with the reference answers) and DEST/<mistake>.ipynb for "
                                               "every bundled mistake."),
                             epilog="exit status: 0 written; 2 usage error.", formatter_class=fmt)
    samples.add_argument("assignment", choices=assignments(), metavar="ASSIGNMENT",
                         help=f"one of: {', '.join(assignments())}")
    samples.add_argument("dest", type=Path, metavar="DEST", help="folder to write the notebooks into")
    samples.add_argument("--lang", choices=i18n.LANGUAGES, default=i18n.DEFAULT,
                         help="the edition whose student notebook the samples are made from: en (default) or zh "
                              "(NAME.zh.ipynb, graded in Chinese)")

    assign = sub.add_parser("assign", help="regenerate assignments/ and dist/otter/ from solutions/ (otter assign)",
                            description=_wrap("Run otter assign on every edition of solutions/NAME.ipynb and write the "
                                        "student notebooks to assignments/NAME/ and otter's zips to dist/otter/."),
                            epilog="exit status: 0 written; 1 otter assign failed; 2 usage error.",
                            formatter_class=fmt)
    assign.add_argument("names", nargs="*", metavar="NAME", help="assignments to build (default: all)")
    assign.add_argument("--no-run-tests", action="store_true",
                        help="skip grading the reference solutions with otter (faster; same output)")
    return parser
