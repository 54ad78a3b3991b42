"""Bulk grading for ``api.grade_many``: a pool of pre-warmed workers (``worker.py``), a progress bar,
and nothing lost.

Each worker grades one submission at a time. A worker that dies or overruns its
deadline (an engine failure: student code is bounded by the sandbox's limits) is
replaced; its submission still gets a results.json and a gradebook row saying
what happened. Rows come back in submission order, so a rerun writes the same gradebook.
"""
from __future__ import annotations

import dataclasses
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable

from .. import i18n
from ..engine.runner import GraderFileError, Rule, not_graded, question_order, time_budget
from ..engine.sandbox import STARTUP_LIMIT, Limits
from ..engine.student import MAX_RESTARTS
from ..paths import SOURCE_ROOT as ROOT  # the folder holding the autograder package this process runs

if TYPE_CHECKING:
    from ..api import Submitted  # never imported here: api imports this module (grade_many)
    from ..engine.results import Run

STARTUP = 120.0  # seconds for a worker to import torch and the graders on a loaded machine


def worker_command(assignment: str, limits: Limits) -> list[str]:
    """The worker's command line: ``-I`` (no PYTHON* variables, no user site, and on every Python,
    3.10 included, nothing of the working folder on ``sys.path``: what ``-P`` adds on 3.11), then
    the kit's own root, which is all ``python -m`` from that folder gave it."""
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"from autograder.grade.worker import run; run()")
    return [sys.executable, "-I", "-c", code, assignment, json.dumps(dataclasses.asdict(limits))]


class Worker:
    """One grading worker process (``worker.py``): jobs in on its stdin, a line per event out on its stdout."""

    def __init__(self, assignment: str, limits: Limits) -> None:
        self.proc = subprocess.Popen(worker_command(assignment, limits),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, cwd=ROOT)
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both pipes (PIPE above)
        self.stdin: IO[str] = self.proc.stdin
        self.stdout: IO[str] = self.proc.stdout
        self.job: int | None = None
        self.deadline = time.monotonic() + STARTUP
        self.ready = False  # until its hello: torch and the graders imported

    def send(self, job: dict[str, Any], deadline: float) -> None:
        """Hand the worker a job, due by ``deadline`` (``time.monotonic``)."""
        self.job, self.deadline = job["index"], deadline
        self.stdin.write(json.dumps(job) + "\n")
        self.stdin.flush()

    def stop(self) -> None:
        """Kill the worker and whatever it started (its zygote's bwrap and the zygote, whose death
        ends every sandbox it forked): a killed worker cannot end them itself, and a bwrap started a
        moment before may not have armed its die-with-parent signal yet."""
        import psutil

        if self.proc.poll() is None:
            try:
                below = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.Error:
                below = []
            self.proc.kill()
            for child in below:
                try:
                    child.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(below, timeout=10)
        self.proc.wait()


def _deadline(budget: float) -> float:
    """When a worker's job is overdue: the submission's own time budget (which the worker enforces)
    plus room for every child's startup and the loading and writing around it."""
    return time.monotonic() + budget + STARTUP_LIMIT * (MAX_RESTARTS + 2) + 30


class Progress:
    """Progress on stderr: a tqdm bar on a terminal (80 columns at most, an ETA, and the problems so
    far: submissions not graded, timed out or with grader errors); one plain line per submission
    otherwise (a log, CI), saying its score and status. ``ready()`` restarts the clock once the
    workers have started, so that the rate and ETA leave out their start-up."""

    def __init__(self, total: int, enabled: bool, stream: IO[str] | None = None) -> None:
        self.total, self.done, self.problems, self.enabled = total, 0, 0, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.tty = enabled and self.stream.isatty()
        self.bar = None
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=self.stream, ncols=80, unit="sub", dynamic_ncols=False, leave=True,
                            # tqdm puts ", " before a postfix itself
                            bar_format="{n_fmt}/{total_fmt} |{bar}| {elapsed}<{remaining}{postfix}")
            self.bar.set_postfix_str("0 problems", refresh=False)
        self._restarted = False

    def ready(self) -> None:
        """The first worker is ready: from now on the clock measures grading, not start-up."""
        if self.bar is not None and not self._restarted and self.done == 0:
            self.bar.reset(total=self.total)
            self.bar.set_postfix_str("0 problems", refresh=False)
        self._restarted = True

    def step(self, name: str, row: dict[str, Any]) -> None:
        """One more submission graded (``row``: its gradebook row)."""
        self.done += 1
        status = row.get("status", "graded")
        if status != "graded":
            self.problems += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(f"{self.problems} problem{'s' * (self.problems != 1)}", refresh=False)
            self.bar.update(1)
            if self.done == self.total:
                self.bar.close()
        else:
            print(f"[{self.done}/{self.total}] {name}: {row['total']:g}/{row['max_total']:g} {status}",
                  file=self.stream, flush=True)

    def close(self) -> None:
        """Close the bar (a plain log has nothing to close)."""
        if self.bar is not None:
            self.bar.close()


def rule_fields(rule: Rule) -> dict[str, Any]:
    """What a worker says of a rule in its hello (all but the function, which stays in the worker)."""
    return {"name": rule.name, "question": rule.question, "points": rule.points, "visibility": rule.visibility,
            "doc": rule.doc, "needs": list(rule.needs)}


def rule_from(fields: dict[str, Any]) -> Rule:
    """A rule as a worker's hello listed it (``rule_fields``), without its function."""
    return Rule(fields["name"], fields["question"], fields["points"], fields["visibility"], _in_worker,
                fields["doc"], tuple(fields.get("needs", ())))


def _in_worker(**fixtures: Any) -> None:
    """The function of a rule a worker listed: it stays in the worker, the only process that runs it."""
    raise RuntimeError("a rule listed by a grading worker runs only in that worker")


def run_pool(assignment: str, subs: list[Submitted], out: Path, jobs: int, limits: Limits, progress: bool,
             run: Run, total_time: float | None = None, lang: str = i18n.AUTO,
             prepare: Callable[[], None] | None = None) -> tuple[list[dict[str, Any]], list[Rule]]:
    """Grade ``subs`` with ``jobs`` workers; returns (gradebook rows in submission order, the rules).

    ``out`` is a results folder ``outdir.prepare`` accepted; ``run`` (``results.Run``) is recorded in
    every results.json; ``total_time`` is each submission's budget (default ``time_budget``); ``lang`` is
    ``--lang`` (each worker decides a submission's language with ``i18n.choose``). ``prepare`` runs
    once the workers are started and before any submission is handed to one (``api.preload``: this
    process's imports, done while the workers import torch, and still before any student code runs)."""
    from ..engine import results

    root = os.path.abspath(out)

    queue = list(range(len(subs)))
    rows: list[dict[str, Any] | None] = [None] * len(subs)
    bar = Progress(len(subs), progress)
    sel = selectors.DefaultSelector()
    workers: list[Worker] = []
    rules: list[Rule] = []

    def start() -> None:
        w = Worker(assignment, limits)
        workers.append(w)
        sel.register(w.stdout, selectors.EVENT_READ, w)

    def retire(w: Worker, reason: str) -> None:
        sel.unregister(w.stdout)
        workers.remove(w)
        w.stop()
        if w.job is not None and rows[w.job] is None and rules:
            name = subs[w.job].name
            with i18n.using(i18n.choose(lang, None)):  # its notebook was never read: the language asked for
                g = not_graded(assignment, name, rules, i18n.render(reason))
            g.lang = i18n.choose(lang, None)
            this = budgeted()
            results.write_results(g, out / name, run=this, root=out)
            row = rows[w.job] = results.gradebook_rows([g], this)[0]
            bar.step(name, row)
        elif w.job is not None and not rules:
            queue.insert(0, w.job)  # the worker died before it could say anything: try again
        if queue:
            start()

    def budgeted() -> Run:
        """The run, with the submission's time budget (known once a worker has listed the rules)."""
        questions = len(question_order(rules))
        return dataclasses.replace(run, time_budget=total_time or time_budget(limits, questions))

    def dispatch(w: Worker) -> None:
        if queue:
            i = queue.pop(0)
            name, path, note = subs[i].name, subs[i].path, subs[i].note
            this = budgeted()
            assert this.time_budget is not None  # budgeted() always sets it
            # absolute: the worker runs in the kit's folder, not in the one the paths were given from
            w.send({"index": i, "name": name, "path": os.path.abspath(path) if path else None, "lang": lang,
                    "note": note.portable() if isinstance(note, i18n.Message) else note,
                    "out": os.path.join(root, name), "root": root, "run": dataclasses.asdict(this),
                    "total_time": this.time_budget}, _deadline(this.time_budget))
        else:  # nothing left to hand out: the worker ends its zygote and exits while the others finish
            w.job = None
            if not w.stdin.closed:
                w.stdin.close()

    for _ in range(min(jobs, len(subs))):
        start()
    attempts = 0
    try:
        if prepare is not None:  # inside: should it fail, the workers started are ended below
            prepare()
        while any(r is None for r in rows):
            if not workers:
                attempts += 1
                if attempts > 3:
                    raise RuntimeError("grading workers could not start")
                start()
            for key, _ in sel.select(timeout=0.5):
                w: Worker = key.data
                line = w.stdout.readline()
                if not line:
                    retire(w, i18n.defer("the grading process died while grading this submission"))
                    continue
                msg = json.loads(line)
                if msg["event"] == "refused":  # the grader file cannot be used: nothing is graded
                    raise GraderFileError(str(msg.get("reason")))
                if msg["event"] == "hello":
                    rules, w.ready = [rule_from(r) for r in msg["rules"]], True
                    bar.ready()
                    dispatch(w)
                elif msg["event"] == "done":
                    rows[msg["index"]] = msg["row"]
                    bar.step(subs[msg["index"]].name, msg["row"])
                    dispatch(w)
            now = time.monotonic()
            for w in list(workers):
                if (w.job is not None or not w.ready) and now > w.deadline:
                    retire(w, i18n.defer("grading this submission took far longer than its time limits allow"))
    finally:
        bar.close()
        for w in workers:
            if not w.stdin.closed:
                w.stdin.close()  # the worker's loop ends and it stops its zygote
        for w in workers:
            try:  # let it end its zygote's sandbox itself, so that nothing outlives grading
                w.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
            w.stop()
    return [r for r in rows if r is not None], rules
