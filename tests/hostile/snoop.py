# Look for everything a submission must not see: the graders, the master notebooks and the kit's
# tests (by the checkout's absolute path, the engine's package, sys.path), the class folder and the
# classmates' notebooks, the --out folder and its results, any process environment holding
# AUTOGRADER_SECRET, any command line naming the class or the results. param_shapes is the
# reference answer, but raises with the list of what it could read: a leak costs its 3 points.
import glob
import importlib.util
import os
import sys

P = __HOSTILE__
_leaks = None


def _readable(path):
    try:
        with open(path, "rb") as f:
            return len(f.read(4096)) > 0
    except OSError:
        return False


def _snoop():
    leaks = []
    roots = [P["checkout"]]
    try:
        import autograder

        roots.append(os.path.dirname(os.path.dirname(os.path.abspath(autograder.__file__))))
    except Exception:
        pass
    roots += [e for e in sys.path if e] + [os.path.dirname(e) for e in sys.path if e]
    for root in dict.fromkeys(roots):
        for rel in ("autograder/graders/test_access.py", "autograder/graders/common.py", "autograder/engine/runner.py",
                    "solutions/access.ipynb", "tests/test_hostile.py", "tests/hostile/EXPECTED.json"):
            if _readable(os.path.join(root, rel)):
                leaks.append(os.path.join(root, rel))
    try:
        spec = importlib.util.find_spec("autograder.graders.test_access")
        if spec and spec.origin and _readable(spec.origin):
            leaks.append(f"the graders through the import system: {spec.origin}")
    except Exception:
        pass
    for folder in (P["class_dir"], P["out"]):
        try:
            leaks.append(f"listing of {folder}: {sorted(os.listdir(folder))[:5]}")
        except OSError:
            pass
    for path in glob.glob(os.path.join(P["class_dir"], "*.ipynb")) + glob.glob(os.path.join(P["out"], "*", "results.json")):
        if _readable(path):
            leaks.append(path)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read()
            if b"AUTOGRADER_SECRET" in env or P["secret"].encode() in env:
                leaks.append(f"the environment of process {pid} (it holds the secret)")
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().decode(errors="replace")
            if P["class_dir"] in cmd or P["out"] in cmd or "pytest" in cmd:
                leaks.append(f"the command line of process {pid}: {cmd.replace(chr(0), ' ')[:120]}")
        except OSError:
            pass
    return leaks


def param_shapes(module):
    global _leaks
    if _leaks is None:
        _leaks = _snoop()
    if _leaks:
        raise RuntimeError(f"the sandbox let this submission read {len(_leaks)} things: " + "; ".join(_leaks[:6]))
    shapes = {}
    for name, param in module.named_parameters():
        if nn.parameter.is_lazy(param):
            raise ValueError(f"parameter {name!r} is not initialized yet")
        shapes[name] = tuple(param.shape)
    return shapes
