"""Where the kit's files are: every path the package computes comes from here.

Grading needs the package alone: ``PACKAGE``, its hidden graders (``GRADERS``) and the folder
holding it (``SOURCE_ROOT``, which the sandboxed child and the pool's workers put on ``sys.path``).

Authoring (``assign``, ``samples``, the rubrics on the free-response page) also reads the kit's
repository: the master notebooks (``solutions/``), the student notebooks (``assignments/``), the
bundled samples (``tests/submissions/``) and the pins (``requirements.txt``). ``checkout()`` finds
it, or raises ``NotACheckout`` where the package is installed without it (a wheel, Gradescope's
zip). Grading itself never calls it.

Only ``pathlib``: nothing here may import the engine or torch.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent  # .../autograder
SOURCE_ROOT = PACKAGE.parent  # the folder holding the package: in a checkout, the repository's root
GRADERS = PACKAGE / "graders"
GRADER_PREFIX = "test_"  # a grader file is GRADERS/test_<assignment>.py


class NotACheckout(FileNotFoundError):
    """The kit's repository is not where it was looked for; the message says what is missing."""


@dataclass(frozen=True)
class Checkout:
    """The kit's repository (a clone): what authoring and the development tools read and write."""

    root: Path  # the repository's top folder, which holds the package

    @property
    def solutions(self) -> Path:
        """The master notebooks: ``NAME.ipynb`` (English) and ``NAME.zh.ipynb`` (Chinese)."""
        return self.root / "solutions"

    @property
    def assignments(self) -> Path:
        """The student notebooks ``otter assign`` made: ``assignments/NAME/NAME[.zh].ipynb``."""
        return self.root / "assignments"

    @property
    def samples(self) -> Path:
        """The bundled mistakes: ``tests/submissions/NAME/<mistake>.py`` and their ``EXPECTED.json``."""
        return self.root / "tests" / "submissions"

    @property
    def hostile(self) -> Path:
        """Submissions that attack the grader: ``tests/hostile/<name>.py``."""
        return self.root / "tests" / "hostile"

    @property
    def dist(self) -> Path:
        """Where built zips go: ``dist/`` (otter's in ``dist/otter/``)."""
        return self.root / "dist"

    @property
    def requirements(self) -> Path:
        """The kit's pinned dependencies."""
        return self.root / "requirements.txt"


def checkout(root: Path | None = None) -> Checkout:
    """The kit's repository at ``root`` (default: the folder holding this package).

    Raises ``NotACheckout`` unless it holds ``pyproject.toml`` and ``solutions/``: the package is
    installed without its repository (a wheel, Gradescope's zip), or ``root`` is some other folder."""
    top = SOURCE_ROOT if root is None else Path(root)
    missing = [name for name, ok in (("pyproject.toml", (top / "pyproject.toml").is_file()),
                                     ("solutions/", (top / "solutions").is_dir())) if not ok]
    if missing:
        raise NotACheckout(f"{top} is not a checkout of the kit (no {' and no '.join(missing)}): "
                           f"this needs the kit's repository, not an installed copy")
    return Checkout(top)


def assignments(graders: Path = GRADERS) -> tuple[str, ...]:
    """Every assignment that has a grader file ``graders/test_<name>.py``, sorted; () where the folder
    cannot be read (as in the sandbox, which sees none of the graders)."""
    try:
        names = os.listdir(graders)
    except OSError:
        return ()
    return tuple(sorted(name[len(GRADER_PREFIX):-3] for name in names if name.startswith(GRADER_PREFIX)
                        and name.endswith(".py") and len(name) > len(GRADER_PREFIX) + 3))
