"""manual.html's "Download manual.csv" button in a real browser, headless Chromium (Debian's package), driven
through the DevTools protocol over ``--remote-debugging-pipe`` (JSON messages ended by a NUL byte on file
descriptors 3 and 4: no port, no extra package).

The page is the one ``manual.write`` writes, loaded as it is, with its Content-Security-Policy: its one
script runs only because the policy allows its sha256. The test types points and comments into the fields
(``Input.insertText`` into the focused field, as a keyboard would), clicks the button with the mouse
(``Input.dispatchMouseEvent`` at its position), lets Chromium save the Blob download into a folder
(``Browser.setDownloadBehavior``), and then:

- the downloaded file has the header, rows and quoting of the manual.csv ``grade`` wrote (with the
  ``submitters`` column, or without it for ``--blind``), formula-leading cells quoted as the writer does;
- ``manual.read_points`` accepts it, and ``merge-manual`` (``manual.merge``) puts the points into
  gradebook.json/.csv and the comment into the student's feedback;
- a points field out of range stops the download with a message, and nothing is saved;
- no Content-Security-Policy violation is reported; and a control copy of the page whose script differs by
  one character (the same policy) is refused by Chromium: no button, a violation reported.

Skipped, saying why, where Chromium is not installed (``make test`` installs it when run as root).
"""
from __future__ import annotations

import csv
import fcntl
import io
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from autograder import manual

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install "
                                                          "chromium; `make test` installs it when run as root)")
NAMES = {"submission_1.ipynb": "Ada Lovelace; Alan Turing", "=evil.ipynb": "=HYPERLINK(\"x\")"}
COMMENT = '=SUM(A1) looks like a formula, has a comma, "quotes"\nand a second line'


class DevTools:
    """Chromium with ``--remote-debugging-pipe``: it reads commands from its fd 3 and writes replies and
    events to its fd 4."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        to_child, self._to_w = os.pipe()
        self._from_r, from_child = os.pipe()
        # moved above 3 and 4, so that the child's dup2 onto 3 and 4 overwrites neither; they reach chromium
        # as its only inheritable descriptors besides 0-2 (Python opens every other one close-on-exec, so
        # close_fds=False passes nothing else)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_child, from_child)]
        os.close(to_child)
        os.close(from_child)

        def onto_3_and_4() -> None:
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            close_fds=False, preexec_fn=onto_3_and_4, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        for fd in high:
            os.close(fd)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium said nothing in time")
            if select.select([self._from_r], [], [], left)[0]:
                chunk = os.read(self._from_r, 1 << 16)
                if not chunk:
                    raise EOFError(f"chromium closed the pipe: {self.proc.stderr.read()[-2000:]!r}")  # type: ignore[union-attr]
                self._buf += chunk
        message, self._buf = self._buf.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, timeout: float = 60, **params: Any) -> dict:
        self._id += 1
        command: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            command["sessionId"] = session
        os.write(self._to_w, json.dumps(command).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            message = self._read(deadline)
            if message.get("id") == self._id:
                assert "error" not in message, (method, message["error"])
                return message["result"]
            self.events.append(message)

    def wait(self, wanted: Callable[[dict], bool], timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for message in self.events:
            if wanted(message):
                return message
        while True:
            message = self._read(deadline)
            self.events.append(message)
            if wanted(message):
                return message

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (OSError, EOFError, TimeoutError, AssertionError):
            pass
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)


class Page:
    """A tab showing a file, its console and security messages collected."""

    def __init__(self, browser: DevTools, path: Path, downloads: Path) -> None:
        self.browser = browser
        browser.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=str(downloads),
                     eventsEnabled=True)
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=self.session)
        browser.send("Page.navigate", session=self.session, url=path.as_uri())
        browser.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == self.session)

    def js(self, expression: str) -> Any:
        done = self.browser.send("Runtime.evaluate", session=self.session, expression=expression,
                                 returnByValue=True)
        assert "exceptionDetails" not in done, done
        return done["result"].get("value")

    def type_into(self, element_id: str, text: str) -> None:
        self.js(f"document.getElementById({json.dumps(element_id)}).value = ''")
        self.js(f"document.getElementById({json.dumps(element_id)}).focus()")
        self.browser.send("Input.insertText", session=self.session, text=text)

    def click(self, element_id: str) -> None:
        box = self.js(f"(() => {{ const r = document.getElementById({json.dumps(element_id)})"
                      ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
        for kind in ("mousePressed", "mouseReleased"):
            self.browser.send("Input.dispatchMouseEvent", session=self.session, type=kind, x=box[0], y=box[1],
                              button="left", clickCount=1)

    def messages(self) -> list[str]:
        """What the page logged: console messages, exceptions, and Chromium's security reports (a CSP refusal)."""
        said = []
        for m in self.browser.events:
            if m.get("sessionId") != self.session:
                continue
            if m.get("method") == "Log.entryAdded":
                said.append(m["params"]["entry"]["text"])
            elif m.get("method") == "Runtime.consoleAPICalled":
                said.append(" ".join(str(a.get("value", "")) for a in m["params"]["args"]))
            elif m.get("method") == "Runtime.exceptionThrown":
                said.append(json.dumps(m["params"]["exceptionDetails"])[:500])
        return said


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = DevTools(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


def _graded(out: Path, named: bool) -> Path:
    """A results folder as ``grade`` leaves it for two submissions of ``access``: gradebook.json/.csv, a
    results.json each, and manual.html/.csv (the submitters named, unless ``named`` is false)."""
    from autograder.engine.results import write_gradebook

    out.mkdir(mode=0o700)
    rows = []
    for name in NAMES:
        tests = [{"name": "param_shapes: every parameter", "score": 1.0, "max_score": 1.0, "status": "passed",
                  "output": "", "visibility": "visible", "tags": ["param_shapes"]}]
        (out / name).mkdir(mode=0o700)
        (out / name / "results.json").write_text(json.dumps({"score": 1.0, "output": "Graded.", "tests": tests}))
        rows.append({"submission": name, "total": 1.0, "max_total": 1.0, "status": "graded", "errors": [],
                     "questions": {"param_shapes": {"score": 1.0, "max_score": 1.0}},
                     "manual": {"rand_weight_role": {"score": None, "max_score": 2.0}}})
    write_gradebook("access", rows, out, ["param_shapes"], manual=manual.questions("access"))
    answers = {"submission_1.ipynb": {"lang": "en", "answers": {"rand_weight_role": "Buffers are <b>not</b> trained."}},
               "=evil.ipynb": {"lang": "en", "answers": {"rand_weight_role": "=1+1"}}}
    manual.write(out, "access", answers, submitters=NAMES if named else None)
    return out


def _field(page: Page, submission: str, kind: str = "points") -> str:
    """The id of a submission's points field (or, with ``kind="comment"``, its comment field)."""
    found = page.js("Array.from(document.querySelectorAll('input.points')).filter(f => f.dataset.submission === "
                    f"{json.dumps(submission)}).map(f => f.id + ' ' + f.dataset.comment)[0]")
    assert found, submission
    return found.split()[0 if kind == "points" else 1]


def _download(browser: DevTools, page: Page, downloads: Path) -> str:
    before = len(browser.events)
    page.click("download-csv")
    done = browser.wait(lambda m: m.get("method") == "Browser.downloadProgress"
                        and m["params"]["state"] in ("completed", "canceled") and browser.events.index(m) >= before)
    assert done["params"]["state"] == "completed", done
    path = Path(done["params"]["filePath"])
    assert path.parent == downloads and path.name == "manual.csv", path
    return path.read_text(encoding="utf-8")


def test_points_typed_into_the_page_download_as_a_manual_csv_that_merge_manual_folds_in(browser, tmp_path):
    out = _graded(tmp_path / "out", named=True)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page = Page(browser, out / "manual.html", downloads)
    assert page.js("document.getElementById('download-csv').hidden") is False  # the script ran: CSP allowed it

    page.type_into(_field(page, "=evil.ipynb"), "5")  # out of 0..2: refused, nothing saved
    page.click("download-csv")
    assert page.js("document.getElementById('download-status').textContent").startswith("A points field holds")

    page.type_into(_field(page, "submission_1.ipynb"), "1.5")
    page.type_into(_field(page, "submission_1.ipynb", "comment"), COMMENT)
    page.type_into(_field(page, "=evil.ipynb"), "2")
    text = _download(browser, page, downloads)
    assert page.js("document.getElementById('download-status').textContent").startswith("manual.csv downloaded")
    assert [p.name for p in downloads.iterdir()] == ["manual.csv"]  # the refused click saved nothing

    written = list(csv.reader(io.StringIO((out / "manual.csv").read_text())))
    got = list(csv.reader(io.StringIO(text)))
    assert got[0] == written[0] == ["submission", "submitters", "question", "points", "max_points", "comment"]
    assert [r[:3] + r[4:5] for r in got] == [r[:3] + r[4:5] for r in written]  # same rows, quoted alike
    assert [r[0] for r in got[1:]] == ["submission_1.ipynb", "'=evil.ipynb"]
    assert got[2][1] == "'=HYPERLINK(\"x\")"
    assert [r[3] for r in got[1:]] == ["1.5", "2"] and got[1][5] == "'" + COMMENT and got[2][5] == ""
    assert text.endswith("\n") and "\r" not in text.replace(COMMENT, "")
    assert not [m for m in page.messages() if "Content Security Policy" in m or "Refused" in m], page.messages()

    saved = tmp_path / "manual.csv"
    saved.write_text(text, encoding="utf-8")
    assert manual.read_points(saved, "access", list(NAMES)) == {
        "submission_1.ipynb": {"rand_weight_role": {"score": 1.5, "comment": COMMENT}},
        "=evil.ipynb": {"rand_weight_role": {"score": 2.0, "comment": ""}}}
    assert manual.merge(out, saved) == (2, 0)
    book = {r["submission"]: r for r in json.loads((out / "gradebook.json").read_text())["submissions"]}
    assert book["submission_1.ipynb"]["manual"]["rand_weight_role"] == {"score": 1.5, "max_score": 2.0,
                                                                         "comment": COMMENT}
    assert book["=evil.ipynb"]["manual"]["rand_weight_role"]["score"] == 2.0
    table = list(csv.DictReader((out / "gradebook.csv").open(encoding="utf-8")))
    assert [(r["submission"], r["rand_weight_role"]) for r in table] == [
        ("Points Possible", "2"), ("submission_1.ipynb", "1.5"), ("'=evil.ipynb", "2")]
    assert "=SUM(A1) looks like a formula" in (out / "submission_1.ipynb" / "feedback.md").read_text()


def test_a_blind_page_downloads_without_the_submitters(browser, tmp_path):
    out = _graded(tmp_path / "out", named=False)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page = Page(browser, out / "manual.html", downloads)
    page.type_into(_field(page, "=evil.ipynb"), "0.5")
    got = list(csv.reader(io.StringIO(_download(browser, page, downloads))))
    assert got == list(csv.reader((out / "manual.csv").open()))[:1] + [
        ["submission_1.ipynb", "rand_weight_role", "", "2", ""], ["'=evil.ipynb", "rand_weight_role", "0.5", "2", ""]]
    assert manual.read_points(downloads / "manual.csv", "access", list(NAMES)) == {
        "=evil.ipynb": {"rand_weight_role": {"score": 0.5, "comment": ""}}}


def test_a_script_the_policy_does_not_hash_is_refused(browser, tmp_path):
    """The control: the same page and policy, its script changed by one character. Chromium refuses to run
    it (so the real page's button works only through its hash), and says so."""
    out = _graded(tmp_path / "out", named=True)
    page_text = (out / "manual.html").read_text()
    assert page_text.count('"use strict";') == 1
    control = out / "control.html"
    control.write_text(page_text.replace('"use strict";', '"use strict"; '))
    page = Page(browser, control, tmp_path)
    assert page.js("document.getElementById('download-csv').hidden") is True
    assert page.js("typeof window.manualCsv") == "undefined"
    browser.wait(lambda m: m.get("sessionId") == page.session and m.get("method") == "Log.entryAdded"
                 and "Content Security Policy" in m["params"]["entry"]["text"], timeout=10)
