"""autograder.grade.pool's progress display (no worker is started here)."""
from __future__ import annotations

import io
import re

from autograder.grade.pool import Progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_fits_80_columns_and_its_postfix_follows_the_eta_with_a_plain_comma() -> None:
    screen = _Terminal()
    progress = Progress(3, True, screen)
    progress.ready()
    progress.step("a.ipynb", {"status": "graded", "total": 17, "max_total": 17})
    progress.step("b.ipynb", {"status": "not graded", "total": 0, "max_total": 17})
    assert progress.bar is not None
    progress.bar.refresh()  # tqdm draws at most every 0.1 s: draw now
    frames = [f for f in re.split(r"[\r\n]", re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", screen.getvalue())) if f.strip()]
    assert frames and all(len(f) <= 80 for f in frames), frames
    assert re.search(r"\d\d:\d\d<[\d:?]+, 1 problem$", frames[-1].rstrip()), frames[-1]
    assert not any(" ," in f for f in frames), frames
    progress.close()


def test_without_a_terminal_each_submission_is_one_plain_line() -> None:
    log = io.StringIO()
    progress = Progress(2, True, log)
    progress.step("a.ipynb", {"status": "graded", "total": 17, "max_total": 17})
    assert log.getvalue() == "[1/2] a.ipynb: 17/17 graded\n"

