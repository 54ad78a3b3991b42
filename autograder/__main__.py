"""Command line: ``python -m autograder COMMAND ...``, one argparse parser with a subcommand each
(``grade/cli.py``); this module runs the command it names.

Every usage error is one line on stderr and exit status 2, found before anything is graded
or written; ``--help`` (of the program or of any command) exits 0 and says what the command
writes and what its exit statuses mean.
"""
from __future__ import annotations

import argparse
import os
import sys


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
        merged, empty = merge(out, args.csv, after_due_date=args.after_due_date, lang=args.lang)
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
        write_reports(out, summary=True, lang=args.lang, after_due_date=args.after_due_date)
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
    from .grade.cli import build_parser

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

        return samples_main([args.assignment, str(args.dest), "--lang", args.lang])
    from .assign import main as assign_main

    return assign_main([*args.names, *(["--no-run-tests"] if args.no_run_tests else [])])


if __name__ == "__main__":
    code = main()
    # Every file is written and closed by now; skip the interpreter's teardown of torch
    # (half a second, a third of a cold grading).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
