"""A pre-warmed grading worker: torch, the graders and a zygote started once, then one job per line.

Run by ``pool.py`` (trusted code, with the secret): reads jobs as JSON lines on
stdin, grades each with ``api.grade_one`` (its sandbox children forked from the worker's zygote),
writes the submission's results.json itself, and answers with the gradebook row
on its protocol stream. Nothing else may reach that stream: stray prints go to stderr.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> int:
    """A grading worker: grade the jobs read from stdin one at a time, a line per event on stdout."""
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything printed by accident goes to stderr, never into the protocol
    assignment, limits_json = sys.argv[1], sys.argv[2]
    from ..engine.sandbox import Limits, Zygote

    limits = Limits(**json.loads(limits_json))
    zygote = Zygote(insecure=limits.insecure, limits=limits)  # imports torch in its own process while this one does
    from .. import i18n
    from ..api import grade_one, preload
    from ..engine import results, runner
    from .pool import rule_fields

    preload(pages=False)  # before the first submission's code runs; the pages are the pool's to render

    try:
        rules = runner.rules(assignment)
    except runner.GraderFileError as exc:  # the instructor's to fix: the parent refuses the run with it
        proto.write(json.dumps({"event": "refused", "reason": str(exc)}) + "\n")
        zygote.close()
        return 2
    proto.write(json.dumps({"event": "hello", "rules": [rule_fields(r) for r in rules]}) + "\n")
    try:
        for line in sys.stdin:
            job = json.loads(line)
            path = Path(job["path"]) if job.get("path") else None
            run = results.Run(**job["run"]) if job.get("run") else None
            g, seconds = grade_one(path, assignment, limits, zygote=zygote,
                                   note=i18n.from_portable(job.get("note", "")), total_time=job.get("total_time"),
                                   lang=job.get("lang", i18n.AUTO))
            g.submission = job["name"]
            root = Path(job["root"]) if job.get("root") else None
            results.write_results(g, Path(job["out"]), seconds, run, root=root)
            proto.write(json.dumps({"event": "done", "index": job["index"], "seconds": seconds,
                                    "row": results.gradebook_rows([g], run)[0]}) + "\n")
    finally:
        zygote.close()
    return 0


def run() -> None:
    """The worker process: ``main``, then exit without the interpreter's teardown of torch (half a second
    of every worker, at the end of the class, when its zygote and every sandbox are gone already)."""
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # a crash still says why on stderr, as an uncaught exception would
        import traceback

        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
