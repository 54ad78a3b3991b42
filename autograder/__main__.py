"""Command line: ``python -m autograder {grade,assign} ...`` (one folder per command)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"grade": "autograder.grade", "assign": "autograder.assign"}
    if not argv or argv[0] not in commands:
        print("usage: python -m autograder {grade,assign} ...", file=sys.stderr)
        print("  grade ASSIGNMENT PATH... --out DIR [--jobs N]   grade submissions", file=sys.stderr)
        print("  assign [NAME...]                                 regenerate assignments/ from solutions/", file=sys.stderr)
        return 2
    import importlib

    return importlib.import_module(commands[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
