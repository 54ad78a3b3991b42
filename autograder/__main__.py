"""Command line: ``python -m autograder COMMAND ...``, one argparse parser with a subcommand each.

Every usage error is one line on stderr and exit status 2, found before anything is graded
or written; ``--help`` (of the program or of any command) exits 0 and says what the command
writes and what its exit statuses mean.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

PROG = "python -m autograder"

DESCRIPTION = "Auto-graded exercises for d2l's Parameter Management section: grade, report, author."
EPILOG = """\
commands write:
  grade         DIR/<submission>/results.json and feedback, gradebook.csv/.json, canvas.csv,
                summary.html, manual.html/.csv (free-response answers to grade by hand)
  merge-manual  the points of a filled-in manual.csv into DIR's gradebook and feedback
  reports       DIR's feedback and summary.html again, from its results (no grading)
  samples       sample submissions: the reference answers and every bundled mistake
  assign        assignments/NAME/ (student notebooks) and dist/otter/ from solutions/

exit status:
  0  the command ran (for grade: whatever the scores)
  1  merge-manual or reports found nothing to work on (the message says why)
  2  usage error, or nothing could be done safely (one line on stderr says why)

Run `python -m autograder COMMAND --help` for a command's options.
"""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line: ``prog: error: message (see --help)``."""

    def error(self, message: str) -> NoReturn:  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _assignments() -> tuple[str, ...]:
    from .paths import assignments

    return assignments()


def build_parser() -> Parser:
    """The whole command line: the program's options and one subparser per command."""
    from . import __version__
    from .grade import EPILOG as GRADE_EPILOG, add_arguments

    fmt = argparse.RawDescriptionHelpFormatter
    parser = Parser(prog=PROG, description=DESCRIPTION, epilog=EPILOG, formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser, required=True)

    grade = sub.add_parser("grade", help="grade submissions; write results, feedback, gradebook and summary",
                           description="Grade the submissions of one assignment in a sandbox and write, in DIR, "
                                       "each one's results and feedback and the class's gradebook and summary.",
                           epilog=GRADE_EPILOG, formatter_class=fmt)
    add_arguments(grade)
    grade.set_defaults(usage_error=grade.error)  # grade's own one-line usage errors, for what it checks later

    merge = sub.add_parser("merge-manual", help="fold the free-response points of manual.csv into DIR",
                           description="Fold the points (and comments) of a filled-in manual.csv into DIR's "
                                       "gradebook.csv, gradebook.json, canvas.csv and each student's feedback. "
                                       "Empty points are left for later; a run with more points replaces them.",
                           epilog="exit status: 0 merged; 1 manual.csv or DIR cannot be used (one line says "
                                  "which line and why; nothing is written); 2 usage error.",
                           formatter_class=fmt)
    merge.add_argument("out", type=Path, metavar="DIR", help="a folder that grade wrote")
    merge.add_argument("csv", type=Path, metavar="CSV", help="manual.csv with its points column filled in")
    merge.add_argument("--after-due-date", action="store_true",
                       help="list the checks marked after_due_date in the rewritten feedback")

    reports = sub.add_parser("reports", help="rewrite DIR's feedback and summary.html from its results",
                             description="Rewrite every feedback.md/html and summary.html of DIR from its "
                                         "results.json files and gradebook.json, without grading again: e.g. with "
                                         "--after-due-date once the due date has passed.",
                             epilog="exit status: 0 written; 1 DIR has no readable gradebook.json; 2 usage error.",
                             formatter_class=fmt)
    reports.add_argument("out", type=Path, metavar="DIR", help="a folder that grade wrote")
    reports.add_argument("--after-due-date", action="store_true",
                         help="list the checks marked after_due_date (and their hints) in the feedback")

    samples = sub.add_parser("samples", help="write sample submissions (reference answers, bundled mistakes)",
                             description="Write DEST/reference.ipynb (the student notebook with the reference "
                                         "answers) and DEST/<mistake>.ipynb for every bundled mistake.",
                             epilog="exit status: 0 written; 2 usage error.", formatter_class=fmt)
    samples.add_argument("assignment", choices=_assignments(), metavar="ASSIGNMENT",
                         help=f"one of: {', '.join(_assignments())}")
    samples.add_argument("dest", type=Path, metavar="DEST", help="folder to write the notebooks into")

    assign = sub.add_parser("assign", help="regenerate assignments/ and dist/otter/ from solutions/ (otter assign)",
                            description="Run otter assign on every edition of solutions/NAME.ipynb and write the "
                                        "student notebooks to assignments/NAME/ and otter's zips to dist/otter/.",
                            epilog="exit status: 0 written; 1 otter assign failed; 2 usage error.",
                            formatter_class=fmt)
    assign.add_argument("names", nargs="*", metavar="NAME", help="assignments to build (default: all)")
    assign.add_argument("--no-run-tests", action="store_true",
                        help="skip grading the reference solutions with otter (faster; same output)")
    return parser


def _merge_manual(args: argparse.Namespace) -> int:
    from . import outdir
    from .manual import MergeError, merge

    try:
        out = outdir.prepare(args.out) if args.out.is_dir() else None
    except outdir.UnsafeOutput as exc:
        print(f"autograder: refusing {args.out}: {exc}", file=sys.stderr)
        return 2
    if out is None:
        print(f"autograder: {args.out} is not a folder that grade wrote", file=sys.stderr)
        return 1
    try:
        merged, empty = merge(out, args.csv, after_due_date=args.after_due_date)
    except MergeError as exc:
        print(f"autograder: {exc}", file=sys.stderr)
        return 1
    print(f"{merged} free-response score(s) merged, {empty} still empty; gradebook in {args.out / 'gradebook.csv'}",
          file=sys.stderr)
    return 0


def _reports(args: argparse.Namespace) -> int:
    from . import outdir
    from .reports import write_reports

    try:
        out = outdir.prepare(args.out) if args.out.is_dir() else None
        if out is None:
            raise OSError(f"{args.out} is not a folder")
        write_reports(out, summary=True, after_due_date=args.after_due_date)
    except outdir.UnsafeOutput as exc:
        print(f"autograder: refusing {args.out}: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"autograder: {args.out} has no readable gradebook.json ({exc})", file=sys.stderr)
        return 1
    print(f"feedback and summary rewritten in {args.out}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder``: run the command ``argv`` names; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.command == "grade":
        from .grade import run

        return run(args, args.usage_error)
    if args.command == "merge-manual":
        return _merge_manual(args)
    if args.command == "reports":
        return _reports(args)
    if args.command == "samples":
        from .samples import main as samples_main

        return samples_main([args.assignment, str(args.dest)])
    from .assign import main as assign_main

    return assign_main([*args.names, *(["--no-run-tests"] if args.no_run_tests else [])])


if __name__ == "__main__":
    code = main()
    # Every file is written and closed by now; skip the interpreter's teardown of torch
    # (half a second, a third of a cold grading).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
