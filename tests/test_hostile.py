"""Hostile submissions cost at most the question they sit in, fool nothing, and see nothing.

Each file in ``tests/hostile/`` attacks from inside one answer (or at top level) on top of the
reference answers, and ``EXPECTED.json`` says what it must score (a question missing there keeps
full marks; ``null`` means any score: the attack sits in that question and costs only it). The
class is graded once, with ``--jobs 2``, beside an untouched classmate (``reference``):

- bounded misbehaviour: a hang, a hang that swallows interruptions, ``os._exit``, a memory bomb and one
  spread over five processes (each under the per-process limit, together over the sandbox's), a fork
  bomb, monkeypatched comparisons, printed and forged results, an output flood, top-level cells that
  hang and exit;
- reading what is not its own (issue 8): the master notebooks (``steal_solutions`` runs them with no
  answer of its own), a classmate's notebook (``copycat``), the graders, the kit's tests, the class
  and ``--out`` folders, environments holding the secret, command lines (``snoop``);
- reaching out: TCP/UDP/abstract-socket listeners the test opened (``net_exfil``), ptrace and signals
  on the grading processes of this very test run (``signal_parent``), processes meant to outlive
  grading, a setuid-root helper among them (``survivors``), 1.5 GiB into /dev/shm and /tmp
  (``fill_tmp``), forged results written into folders the test planted under /tmp (``fake_results``);
- ``--out`` prepared with links to the test's sentinels where results and the gradebook go;
- the channel and the loader: a 512 MiB forged frame (``huge_frame``), a forged cell index during a
  question (``forged_index``), a forged index then ``os._exit`` at top level (``restart_loop``),
  notebook JSON nested 100,000 deep (``nested_json``, generated here).

Hostile code is told (through ``__HOSTILE__``, replaced by the test's parameters) of the folders,
listeners, markers and pids of this test only, and aims at nothing else: never at the machine's own
folders or at other processes. Every attack is bounded even if the sandbox were broken (the fills by
free space, the survivors and the restart loop by themselves), and the test removes what it finds by
its marker. Limits are lowered (5 s, 1 GiB) through the CLI flags so the attacks stay small on CI.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from autograder.samples import compose

from conftest import ROOT, grade_cli, load_gradebook

HOSTILE = ROOT / "tests" / "hostile"
EXPECTED = json.loads((HOSTILE / "EXPECTED.json").read_text())
TOKEN = secrets.token_hex(6)
# this run's own sandbox uids, so that other graders running here (this test elsewhere included) don't count
UIDS = (lo := 450_000 + 10_000 * secrets.randbelow(100), lo + 10_000)
MARKER = f"autograder-hostile-{TOKEN}"  # in the name of everything the hostile code may leave behind
SECRET = f"hostile-secret-{TOKEN}"
TEMP_FOLDERS = ("/dev/shm", "/tmp", "/var/tmp")


def nested_json(dest: Path) -> None:
    """A notebook whose JSON nests 100,000 lists deep."""
    depth = 100_000
    dest.write_text('{"cells": ' + "[" * depth + "]" * depth
                    + ', "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n')


GENERATED = {"nested_json": nested_json}


# ------------------------------------------------------------------ what the test plants, and cleans up

def folder_state(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for a folder)."""
    return {p.relative_to(folder).as_posix(): (None if p.is_dir() else p.read_bytes())
            for p in sorted(folder.rglob("*"))}


def marked_processes(marker: str) -> list[tuple[int, str]]:
    """(pid, command line) of every live process whose command line names ``marker``."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                text = f.read()
        except OSError:
            continue
        if marker.encode() in text:
            found.append((int(p), text.replace(b"\0", b" ").decode(errors="replace")[:200]))
    return found


def marked_files(marker: str) -> list[Path]:
    """Files named after ``marker`` in the machine's temporary folders and one level below."""
    found = []
    for top in TEMP_FOLDERS:
        for folder in [Path(top), *(p for p in _entries(Path(top)) if p.is_dir() and not p.is_symlink())]:
            found += [p for p in _entries(folder) if p.name.startswith(marker) and not p.is_dir()]
    return found


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def kill_marked(marker: str) -> None:
    for pid, _ in marked_processes(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# --out prepared by someone hoping grading writes through links: each name a link to a sentinel of the test's
OUT_LINKS = {"reference.ipynb/results.json": "results", "reference.ipynb/feedback.md": "feedback",
             "gradebook.json": "gradebook", "gradebook.csv": "csv", "summary.html": "summary"}
OUT_FOLDER_LINK = "snoop.ipynb"  # a link to a sentinel folder where a submission's results folder goes


def plant_out(out: Path, sentinels: Path) -> Path:
    (sentinels / "folder").mkdir(parents=True)
    (sentinels / "folder" / "keep.txt").write_text("keep\n")
    (out / "reference.ipynb").mkdir(parents=True)
    os.chmod(out, 0o700)
    os.chmod(out / "reference.ipynb", 0o700)
    for rel, name in OUT_LINKS.items():
        (sentinels / name).write_text(f"sentinel {name}\n")
        os.symlink(sentinels / name, out / rel)
    os.symlink(sentinels / "folder", out / OUT_FOLDER_LINK)
    return sentinels


@dataclass
class World:
    """What the test planted for the hostile code to try: folders open to everyone under /tmp, and listeners."""

    base: Path  # the class (in/) and --out (out/) folders, world-readable
    sentinels: list[Path]
    counter: Path
    planted: dict[str, dict] = field(default_factory=dict)
    listeners: dict[str, socket.socket] = field(default_factory=dict)

    def params(self) -> dict:
        ports = {name: s.getsockname()[1] for name, s in self.listeners.items() if name != "unix"}
        return {"checkout": str(ROOT), "class_dir": str(self.base / "in"), "out": str(self.base / "out"),
                "sentinels": [str(p) for p in self.sentinels], "counter": str(self.counter),
                "tcp4": ports["tcp4"], "tcp6": ports.get("tcp6"), "udp4": ports["udp4"],
                "unix": MARKER + "-unix", "marker": MARKER, "secret": SECRET,
                "test_pid": os.getpid()}


def _listeners() -> dict[str, socket.socket]:
    out = {}
    out["tcp4"] = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    out["tcp4"].bind(("127.0.0.1", 0))
    try:
        six = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        six.bind(("::1", 0))
        out["tcp6"] = six
    except OSError:  # no IPv6 loopback here: the IPv4 one stands for both
        pass
    out["udp4"] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    out["udp4"].bind(("127.0.0.1", 0))
    out["unix"] = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    out["unix"].bind("\0" + MARKER + "-unix")
    for s in out.values():
        if s.type == socket.SOCK_STREAM:
            s.listen(16)
    return out


@pytest.fixture(scope="module")
def world():
    made: list[Path] = []
    listeners: dict[str, socket.socket] = {}
    try:
        def folder(kind: str, mode: int) -> Path:
            path = Path(tempfile.mkdtemp(prefix=f"{MARKER}-{kind}-", dir="/tmp"))
            made.append(path)
            os.chmod(path, mode)
            return path

        base = folder("class", 0o755)  # readable by anyone: only the sandbox may keep student code out
        (base / "in").mkdir()
        os.chmod(base / "in", 0o755)
        sentinels = []
        for _ in range(2):
            top = folder("sentinel", 0o777)
            (top / "planted.txt").write_text("planted by tests/test_hostile.py\n")
            (top / "sub").mkdir()
            os.chmod(top / "sub", 0o777)
            sentinels += [top, top / "sub"]
        counter = folder("counter", 0o777)
        links = plant_out(base / "out", base / "out-sentinels")
        listeners = _listeners()
        w = World(base=base, sentinels=sentinels, counter=counter, listeners=listeners)
        w.planted = {str(p): folder_state(p) for p in sentinels + [counter, links]}
        yield w
    finally:
        for s in listeners.values():
            s.close()
        kill_marked(MARKER)
        for path in marked_files(MARKER):
            try:
                path.unlink()
            except OSError:
                pass
        for path in made:
            shutil.rmtree(path, ignore_errors=True)


@dataclass
class Graded:
    run: subprocess.CompletedProcess[str]
    book: dict | None
    base: Path
    finished: float  # time.monotonic() when the CLI returned

    def row(self, name: str) -> dict:
        assert self.book is not None, f"no gradebook was written: exit {self.run.returncode}; {self.run.stderr[-2000:]}"
        assert f"{name}.ipynb" in self.book, f"{name} has no gradebook row"
        return self.book[f"{name}.ipynb"]

    def results(self, name: str) -> dict:
        path = self.base / "out" / f"{name}.ipynb" / "results.json"
        assert path.is_file(), f"{name} has no results.json"
        return json.loads(path.read_text())


def failed_hints(results: dict, question: str) -> str:
    return " | ".join(t["output"] for t in results["tests"] if question in t["tags"] and t["status"] == "failed")


@pytest.fixture(scope="module")
def graded(world):
    base = world.base
    params = world.params()
    for name in EXPECTED:
        dest = base / "in" / f"{name}.ipynb"
        if name in GENERATED:
            GENERATED[name](dest)
        else:
            text = (HOSTILE / f"{name}.py").read_text().replace("__HOSTILE__", repr(params))
            source = base / "src" / f"{name}.py"
            source.parent.mkdir(exist_ok=True)
            source.write_text(text)
            compose("access", source, dest)
        os.chmod(dest, 0o644)
    run = grade_cli("access", [base / "in"], base / "out", "--jobs", "2", "--time-limit", "5", "--memory-limit", "1",
                    env={"AUTOGRADER_SANDBOX_UIDS": "-".join(map(str, UIDS)), "AUTOGRADER_SECRET": SECRET})
    finished = time.monotonic()
    book = load_gradebook(base / "out") if (base / "out" / "gradebook.json").is_file() else None
    return Graded(run, book, base, finished)


# ------------------------------------------------------------------ every submission: its scores

def test_grading_finished_normally(graded):
    assert graded.run.returncode == 0, graded.run.stderr[-3000:]
    assert graded.book is not None and set(graded.book) == {f"{n}.ipynb" for n in EXPECTED}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_attack_costs_only_its_question(graded, name):
    row, results = graded.row(name), graded.results(name)
    for q, got in row["questions"].items():
        want = EXPECTED[name].get("scores", {}).get(q, got["max_score"])
        if want is None:  # the attack sits here: any score
            continue
        assert got["score"] == want, (f"{name}: {q} scored {got['score']}, expected {want}; "
                                      f"hints: {failed_hints(results, q)[:600]}; errors: {row['errors']}")
    for q, phrase in EXPECTED[name].get("hint", {}).items():
        hints = failed_hints(results, q)
        assert phrase in hints, f"{name}: hints for {q} should say {phrase!r}: {hints}"
    assert results["score"] == row["total"], "results.json and the gradebook must agree"


# ------------------------------------------------------------------ forged results

def test_forged_and_printed_results_fool_nothing(graded):
    results = graded.results("fake_results")
    assert results["score"] == graded.row("fake_results")["total"] < graded.row("fake_results")["max_total"]
    assert all(t["max_score"] <= 1 for t in results["tests"]), "a forged test entry got in"
    out = graded.base / "out"
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    ours = {"gradebook.csv", "gradebook.json", "summary.html", "summary-scores.png", "summary-questions.png",
            "manual.html", "manual.csv", "manual.json", ".autograder.json",  # free-response pages; the run's manifest
            *(f"{n}.ipynb/{f}" for n in EXPECTED for f in ("results.json", "feedback.md", "feedback.html"))}
    assert written == ours, f"unexpected files: {written ^ ours}"
    assert json.loads((out / "gradebook.json").read_text())["assignment"] == "access"


def test_nothing_arrived_in_the_folders_planted_outside(graded, world):
    """fake_results tried to write into folders anyone may write to (and restart_loop to count its runs in one):
    the sandbox must not even see them."""
    for folder, before in world.planted.items():
        after = folder_state(Path(folder))
        assert after == before, f"hostile code wrote into {folder}: {sorted(after)}"
    assert not (graded.base / "in" / "results.json").exists() and not (graded.base / "in" / "gradebook.json").exists()


def test_symlinks_planted_in_out_are_never_followed(graded, world):
    """--out held links to the test's sentinels where results, feedback, the gradebook and a submission's
    folder go: the sentinels are unchanged (checked with the other planted folders above), and each name
    now holds grading's own file or folder."""
    out = graded.base / "out"
    assert folder_state(graded.base / "out-sentinels") == world.planted[str(graded.base / "out-sentinels")]
    for rel in [*OUT_LINKS, OUT_FOLDER_LINK]:
        assert not (out / rel).is_symlink(), f"{rel} is still a link: grading left it or wrote through it"
    assert (out / "reference.ipynb" / "results.json").is_file() and (out / OUT_FOLDER_LINK / "results.json").is_file()
    results = json.loads((out / "reference.ipynb" / "results.json").read_text())
    assert results["score"] == graded.row("reference")["total"]


# ------------------------------------------------------------------ cells, processes, network, files

def test_hung_and_exiting_cells_are_reported(graded):
    errors = " ".join(graded.row("top_level_mayhem")["errors"])
    assert "did not finish in time" in errors and "skipped" in errors, errors


def test_no_sandbox_process_survives(graded):
    leftover = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                status = open(f"/proc/{p}/status").read()
                uid = int(status.split("Uid:")[1].split()[0])
            except (OSError, IndexError, ValueError):
                continue
            # a zombie has exited: it runs nothing and holds nothing but its pid until this machine's init reaps it
            if UIDS[0] <= uid < UIDS[1] and "\nState:\tZ" not in status:
                leftover.append((p, uid))
    assert not leftover, f"sandbox processes still alive: {leftover}"


def test_no_process_survives_setsid_double_fork_or_setuid(graded):
    """survivors left a Python ignoring signals, a sleep and a setuid-root helper, each after setsid and a
    double fork; a moment after grading ends, none may be alive."""
    deadline = graded.finished + 3.0  # kills are asynchronous; a zombie has no command line and does not count
    while (alive := marked_processes(MARKER)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive, f"processes of the sandbox outlived grading: {alive}"


def test_nothing_reached_the_listeners(graded, world):
    arrived = []
    for name, s in world.listeners.items():
        s.settimeout(0.3)
        while True:
            try:
                if s.type == socket.SOCK_DGRAM:
                    data, peer = s.recvfrom(4096)
                    arrived.append((name, peer, data))
                    continue
                conn, peer = s.accept()
            except (socket.timeout, BlockingIOError):
                break
            with conn:
                conn.settimeout(0.3)
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
            arrived.append((name, peer, data))
    assert not arrived, f"the sandbox reached the test's listeners: {arrived}"


def test_filled_tmp_is_bounded_and_gone(graded):
    """fill_tmp wrote up to 1.5 GiB into /dev/shm (shared_names) and /tmp (count_parameters): either the write
    failed inside the sandbox (full marks) or the memory limit counted it (0, a memory hint); and nothing it
    wrote is left in the machine's temporary folders."""
    row, results = graded.row("fill_tmp"), graded.results("fill_tmp")
    for q in ("shared_names", "count_parameters"):
        got, hints = row["questions"][q], failed_hints(results, q)
        assert "FILLED" not in hints, f"{q}: the writes went through and nothing counted them: {hints}"
        assert got["score"] == got["max_score"] or (got["score"] == 0 and "memory" in hints), (q, got, hints)
    left = marked_files(MARKER)
    assert not left, f"files written by the sandbox outlived it: {[str(p) for p in left[:5]]} ({len(left)} files)"


# ------------------------------------------------------------------ the channel and the loader

@pytest.mark.parametrize("name, question", [("huge_frame", "count_parameters"), ("forged_index", "get_parameter")])
def test_forged_frames_get_a_clear_message(graded, name, question):
    hints = failed_hints(graded.results(name), question)
    assert hints and re.search(r"channel|frame|larger than|too large|malformed|garbage", hints), (
        f"{name}: {question} should say its forged frame was refused: {hints!r}")


def test_restart_loop_is_bounded_and_reported(graded, world):
    row, results = graded.row("restart_loop"), graded.results("restart_loop")
    restarts = [int(n) for e in row["errors"] for n in re.findall(r"restarted (\d+) time", e)]
    assert all(n <= 10 for n in restarts), f"the child was restarted without end: {row['errors']}"
    assert row["errors"], "the restarts and the cell that caused them must be reported"
    assert results.get("execution_time", 0) <= 60, f"one submission took {results.get('execution_time')} s"
    assert not os.listdir(world.counter), "the cell could count its runs outside the sandbox"


def test_deeply_nested_json_gets_a_clear_message(graded):
    errors = " ".join(graded.row("nested_json")["errors"])
    assert "not graded" in errors and "died" not in errors, errors
