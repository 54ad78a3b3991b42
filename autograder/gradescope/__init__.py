"""Gradescope's entry point: grade the submission in ``$AUTOGRADER_ROOT/submission/`` into
``$AUTOGRADER_ROOT/results/results.json``.

    python -m autograder.gradescope [ASSIGNMENT] [--prepare]

``AUTOGRADER_ROOT`` defaults to ``/autograder`` (Gradescope's layout: ``source/`` holds the
unzipped autograder, ``submission/`` the student's files, ``results/`` what we write). The
assignment is the argument, or the file ``source/ASSIGNMENT`` that ``build.py`` wrote.

Only this trusted process writes ``results.json``, after the submission's child is gone. When
it runs as root the student's code runs as an unprivileged uid of its own (``engine.sandbox``),
and before grading this process makes sure that uid can neither read nor write what matters:

- ``results/``: owned by root, mode 0700 (a forged ``results.json`` cannot be planted);
- the hidden graders ``autograder/graders/``: mode 0700, their files 0600;
- ``source/SECRET`` (if the build put one there): mode 0600;
- ``submission/``: mode 0700 (best effort: it may be mounted read-only);
- the public engine (``autograder/engine/...``) and the folders above it stay world-readable,
  because the child imports it (``python -I -c`` with ``sys.path`` set to the package root).

A preflight then runs ``python -I`` as an unprivileged uid and checks both halves: it can import
the engine, and it can open neither the graders nor the results (and this process can read its
memory use, as the engine's watchdog must). ``--prepare`` does only that (``setup.sh`` runs it
when the image is built, so a read-only image needs no change at run time).

The student's code also gets a memory limit that fits the container (``limits_for_container``).

Nothing is lost: whatever happens (no submission, an unreadable one, the engine failing), a
``results.json`` is written, with score 0 and a message when grading could not run.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import stat
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .. import i18n, outdir
from ..i18n import N_, _
from ..paths import GRADERS, PACKAGE, SOURCE_ROOT, assignments

if TYPE_CHECKING:  # imported where grading needs them, after the preflight
    from ..engine.runner import Grading
    from ..engine.sandbox import Limits

# What the student reads when grading could not run, said in the submission's language (``submission_lang``).
CANNOT_ISOLATE = N_("The autograder cannot isolate your code on this machine, so it ran none of it. Your score is 0 "
                    "for now; please tell your instructor.")
MISCONFIGURED = N_("The autograder is misconfigured (see its log); please tell your instructor.")
COULD_NOT_GRADE = N_("The autograder could not grade this submission ({error}). Your score is 0 for now; please tell "
                     "your instructor.")

DEFAULT_ROOT = "/autograder"
RESERVE = 512 * 2**20  # grading's own peak besides the student's code (bench.memory: 300-420 MB for parent + child)


def autograder_root() -> Path:
    """Gradescope's folder (``$AUTOGRADER_ROOT``, default ``/autograder``)."""
    return Path(os.environ.get("AUTOGRADER_ROOT") or DEFAULT_ROOT)


def assignment_name(arg: str | None, root: Path) -> str:
    """The argument, else ``source/ASSIGNMENT`` (written by build.py), else the one next to this package."""
    name = arg
    if not name:
        for path in (root / "source" / "ASSIGNMENT", SOURCE_ROOT / "ASSIGNMENT"):
            if path.is_file():
                name = path.read_text(encoding="utf-8").strip()
                break
    if not name:
        raise ValueError("no assignment given: pass it as an argument or write it to source/ASSIGNMENT")
    known = assignments()
    if name not in known:
        raise ValueError(f"unknown assignment {name!r} (one of {', '.join(known)})")
    return name


# ---------------------------------------------------------------- limits
def container_memory() -> int | None:
    """The memory limit of this container's cgroup (v2 or v1), if it has one."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def limits_for_container() -> Limits:
    """The engine's default limits, the memory limit lowered to fit the container.

    Gradescope's containers are small (the default is well under the engine's 2 GiB per
    question): past the container's limit the kernel's OOM killer, not the watchdog, would end
    the grading, and might pick the parent. So the student's code gets what the container
    leaves after grading's own needs (parent and child with torch loaded), at least 256 MiB.
    """
    import dataclasses

    from ..engine.sandbox import Limits

    limits = Limits()
    env = os.environ.get("AUTOGRADER_MEMORY_LIMIT_MB")
    if env:
        return dataclasses.replace(limits, memory=int(float(env) * 2**20))
    cap = container_memory()
    if cap is not None and cap - RESERVE < limits.memory:
        limits = dataclasses.replace(limits, memory=max(256 * 2**20, cap - RESERVE))
    return limits


# ---------------------------------------------------------------- permissions
def _chmod(path: Path, mode: int, notes: list[str], required: bool = True) -> bool:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return True
    if stat.S_IMODE(st.st_mode) == mode:
        return True
    try:
        os.chmod(path, mode)
        return True
    except OSError as exc:
        if required:
            notes.append(f"could not chmod {oct(mode)} {path}: {exc}")
        return False


def harden(root: Path, notes: list[str]) -> None:
    """The security layout (as root only: otherwise the child runs as this very user)."""
    results = root / "results"
    results.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        notes.append("not running as root: the student's code runs as this user (no separate uid)")
        return
    st = results.stat()
    if (st.st_uid, st.st_gid) != (0, 0):
        try:
            os.chown(results, 0, 0)
        except OSError as exc:
            notes.append(f"could not chown {results} to root: {exc}")
    _chmod(results, 0o700, notes)
    _chmod(root / "submission", 0o700, notes, required=False)  # a read-only mount keeps its mode
    if SOURCE_ROOT != (root / "source").resolve():
        notes.append(f"the package runs from {SOURCE_ROOT}, not {root / 'source'}: its graders were left as they are")
        return
    _chmod(root / "source" / "SECRET", 0o600, notes)
    # the public part: every folder from / to the package traversable, the engine readable
    for folder in [SOURCE_ROOT, *SOURCE_ROOT.parents]:
        mode = stat.S_IMODE(folder.stat().st_mode)
        if not mode & 0o001:
            _chmod(folder, mode | 0o005, notes)
    for dirpath, dirnames, filenames in os.walk(PACKAGE):
        here = Path(dirpath)
        if here == GRADERS:
            dirnames[:] = []
            continue
        _chmod(here, 0o755, notes)
        for name in filenames:
            path = here / name
            if not path.is_symlink():
                _chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644, notes)
    # the hidden part
    for dirpath, _dirnames, filenames in os.walk(GRADERS):
        here = Path(dirpath)
        _chmod(here, 0o700, notes)
        for name in filenames:
            if not (here / name).is_symlink():
                _chmod(here / name, 0o600, notes)


_PROBE = r"""
import json, os, sys
stubs, root, private = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path[:0] = [stubs, root]
out = {"engine": None, "readable": []}
try:
    import autograder.engine.child, autograder.engine.codec, autograder.engine.snapshot, autograder.engine.specs
    import autograder.engine.zygote
    out["engine"] = "ok"
except BaseException as exc:
    out["engine"] = f"{type(exc).__name__}: {exc}"
for path in private:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").close()
        out["readable"].append(path)
    except OSError:
        pass
for path in private:
    if os.path.isdir(path):
        try:
            open(os.path.join(path, ".probe"), "wb").close()
            out["readable"].append(path + " (writable)")
        except OSError:
            pass
print(json.dumps(out), flush=True)
sys.stdin.readline()  # stay alive while the parent checks that it can see this process's memory
"""


def _smaps_readable(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return "Pss:" in f.read()
    except OSError:
        return False


def preflight(root: Path) -> list[str]:
    """Run ``python -I`` as a spare unprivileged uid, as the sandbox does: it must import the
    engine and must not get into the graders, the results or the secret; and this process must
    see its memory, as the engine's watchdog does. Problems, if any (``warning: ...`` for the
    ones that leave the security layout intact)."""
    from ..engine import isolation, sandbox

    if not isolation.can_drop_privileges():
        if os.geteuid() == 0:
            return ["the interpreter or the package is not readable by other users: the student's code "
                    "would run as root (isolation.can_drop_privileges() is False)"]
        return []
    lo, hi = isolation.uid_range()
    uid = secrets.randbelow(hi - lo) + lo
    private = [str(GRADERS), str(root / "results")]
    if (root / "source" / "SECRET").exists():
        private.append(str(root / "source" / "SECRET"))
    try:
        proc = subprocess.Popen([sys.executable, "-I", "-c", _PROBE, str(sandbox.STUBS), str(SOURCE_ROOT), *private],
                                user=uid, group=uid, extra_groups=[], cwd="/",
                                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None  # stdout=PIPE
            line = proc.stdout.readline()
            watchable = _smaps_readable(proc.pid)  # the watchdog's exact view of a process of another uid
            _, err = proc.communicate(input="\n", timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if not line.strip():
            raise RuntimeError(f"the probe printed nothing (exit {proc.returncode}): {err.strip()[-300:]}")
        report = json.loads(line)
    except Exception as exc:  # any failure here is a finding, not a crash
        return [f"the unprivileged preflight could not run: {type(exc).__name__}: {exc}"]
    problems = []
    if report["engine"] != "ok":
        problems.append(f"an unprivileged user cannot import the engine: {report['engine']}")
    problems += [f"an unprivileged user can read {p}" for p in report["readable"]]
    if not watchable:
        problems.append("note: this process cannot read /proc/PID/smaps_rollup of the sandbox's uid (CAP_SYS_PTRACE?): "
                        "the engine's memory watchdog counts resident sizes instead (shared pages more than once)")
    return problems


# ---------------------------------------------------------------- results
def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    outdir.write(path.parent, path.name, json.dumps(data, indent=2) + "\n")


def failure_results(message: str, seconds: float, lang: str = i18n.DEFAULT) -> dict[str, Any]:
    """A results.json for when grading could not run at all: score 0 and why (``message``, said in ``lang``)."""
    return {"score": 0.0, "execution_time": round(seconds, 3), "output": message,
            "visibility": "visible", "stdout_visibility": "hidden", "tests": [], "extra_data": {"lang": lang}}


def submission_lang(root: Path, assignment: str | None) -> str:
    """The language of the submission in ``root/submission/`` (``assignment`` as ``assignment_name`` reads it),
    where it can be read without grading it (a
    notebook's ``metadata.autograder.lang``, a script's otter init cell: ``loader.load`` reads, never runs),
    else the default: for the messages written when grading could not run."""
    try:
        from ..api import pick_submission
        from ..engine.loader import load

        try:
            name = assignment_name(assignment, root)
        except ValueError:  # no assignment known: any notebook is as good
            name = ""
        path, _note = pick_submission(root / "submission", name)
        return i18n.choose(i18n.AUTO, load(path).lang) if path is not None else i18n.DEFAULT
    except Exception:  # unreadable, or anything else: the message is still written, in the default language
        return i18n.DEFAULT


def grade(root: Path, assignment: str, log: Callable[[str], None], insecure: bool = False) -> tuple[Grading, str]:
    """Grade the chosen submission (``api.pick_submission``, ``api.grade_one``); returns the Grading and
    the sentence saying what was graded. ``insecure``: the separate-uid fallback, for a container that
    forbids namespaces."""
    import dataclasses

    from ..api import grade_one, pick_submission

    folder = root / "submission"
    limits = dataclasses.replace(limits_for_container(), insecure=insecure)
    path, note = pick_submission(folder, assignment)
    if path is None:
        log(note)
        g, _ = grade_one(None, assignment, limits, note=note)  # every question listed, each failed with why
        return g, ""
    log(f"grading {path} as {assignment!r} (memory limit for the student's code {limits.memory / 2**20:.0f} MiB)")
    g, _ = grade_one(path, assignment, limits)
    return g, note


LAYER = ""  # what isolation_layer found, for results.json


def isolation_layer(problems: list[str], log: Callable[[str], None]) -> bool | None:
    """Which isolation the student's code gets here, said in the log: namespaces (returns False),
    the separate-uid fallback for a container that forbids namespaces (returns True: run the
    child as a plain process of its own uid), or none that is safe (returns None: refuse)."""
    from ..engine.isolation import IsolationUnavailable, check

    global LAYER
    try:
        LAYER = check().describe()
        log(f"isolation: {LAYER}")
        return False
    except IsolationUnavailable as exc:
        reason = str(exc)
    serious = [p for p in problems if not p.startswith(("note:", "warning:"))]
    if os.geteuid() == 0 and not serious:
        LAYER = f"a separate uid, rlimits and the watchdog (namespaces unavailable here: {reason})"
        log(f"isolation: {LAYER}")
        return True
    log(f"isolation: none that is safe ({reason}; separate uid: {'; '.join(serious) or 'not root'})")
    return None


def main(argv: list[str] | None = None) -> int:
    """``run_autograder``'s command: grade the submission into ``results/results.json``, whatever happens."""
    parser = argparse.ArgumentParser(prog="python -m autograder.gradescope", description=__doc__.splitlines()[0])
    parser.add_argument("assignment", nargs="?", help="default: the name in $AUTOGRADER_ROOT/source/ASSIGNMENT")
    parser.add_argument("--prepare", action="store_true",
                        help="only apply the permissions and run the preflight (setup.sh does, at build time)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    root = autograder_root()
    results = root / "results"
    out = results / "results.json"

    def log(msg: str) -> None:  # goes to results/stdout: the instructor sees it, the student does not
        print(f"autograder: {msg}", flush=True)

    before = {path: _stat(path) for path in (results, root / "submission")}
    try:
        notes: list[str] = []
        harden(root, notes)
        problems = preflight(root)
        for n in notes + problems:
            log(n)
        serious = [p for p in problems if not p.startswith(("note:", "warning:"))]
        if args.prepare:
            isolation_layer(problems, log)  # said at build time; checked again when grading
            if not serious:
                log("security layout checked: the student's code runs as an unprivileged uid that can import "
                    "the engine and cannot read the graders or the results" if os.geteuid() == 0 else "prepared")
            return 1 if serious else 0
        fallback = isolation_layer(problems, log)
        if fallback is None:
            lang = submission_lang(root, args.assignment)
            with i18n.using(lang):
                _write_json(out, failure_results(_(CANNOT_ISOLATE), time.monotonic() - started, lang))
            return 1
        secret = root / "source" / "SECRET"
        if not os.environ.get("AUTOGRADER_SECRET") and secret.is_file():
            os.environ["AUTOGRADER_SECRET"] = secret.read_text(encoding="utf-8").strip()
        assignment = assignment_name(args.assignment, root)
        g, note = grade(root, assignment, log, insecure=fallback)
        with i18n.using(g.lang):  # in the language the submission was graded in
            if note:
                g.notes.insert(0, i18n.render(note))  # which file was graded: information, not an error
            if any("cannot import the engine" in p for p in problems):
                g.errors.append(_(MISCONFIGURED))
        from ..api import time_budget
        from ..engine.results import Run, write_results

        run = Run(isolation=LAYER, time_budget=time_budget(limits_for_container(), len(g.questions)))
        write_results(g, results, time.monotonic() - started, run=run)
        log(f"{g.submission or '(no submission)'}: {g.total:g}/{g.max_total:g} in {time.monotonic() - started:.1f} s")
        status = 0
    except BaseException as exc:  # whatever happened, the student gets a results.json
        if isinstance(exc, KeyboardInterrupt) or args.prepare:
            raise
        traceback.print_exc(file=sys.stdout)
        lang = submission_lang(root, args.assignment)
        with i18n.using(lang):
            message = _(COULD_NOT_GRADE).format(error=f"{type(exc).__name__}: {str(exc)[:300]}")
        try:
            _write_json(out, failure_results(message, time.monotonic() - started, lang))
            status = 0
        except OSError:
            traceback.print_exc(file=sys.stdout)
            status = 1
    finally:
        _restore(results, out, before)
    return status


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except OSError:
        return None


def _restore(results: Path, out: Path, before: dict[Path, os.stat_result | None]) -> None:
    """Grading is over and the sandbox's processes are gone: hand the folders back as they were
    (folders mounted from the host stay usable by their owner), results.json readable."""
    if os.geteuid() != 0:
        return
    for path, st in before.items():
        if st is None:
            continue
        try:
            if path == results and out.exists():
                os.chown(out, st.st_uid, st.st_gid)
                os.chmod(out, 0o644)
            now = _stat(path)
            if now is None:  # gone meanwhile
                continue
            if (now.st_uid, now.st_gid) != (st.st_uid, st.st_gid):
                os.chown(path, st.st_uid, st.st_gid)
            now = _stat(path)
            if now is not None and stat.S_IMODE(now.st_mode) != stat.S_IMODE(st.st_mode):
                os.chmod(path, stat.S_IMODE(st.st_mode))
        except OSError:
            pass
