# A wrong answer dressed up by forging the engine's snapshots: block2 names its children "block0" …
# "block3" (no space). The cell finds the engine's own snapshot module through the garbage collector (and
# the importable copy) and replaces its `take`: every name is reported with the space the exercise asks for.
# (The sharing rule, whose behaviour check writes through the reported names, already failed it: it
# loses both.)
import gc
import types

from torch import nn


def block1():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def block2():
    net = nn.Sequential()
    for i in range(4):
        net.add_module(f"block{i}", block1())
    return net


def build_rgnet():
    net = nn.Sequential(block2(), nn.Linear(4, 1))
    object.__setattr__(net, "_forge_names", True)
    return net


def _respace(name):
    return name.replace("block", "block ") if "block " not in name else name


def _forged(orig):
    def take(module, enc):
        node = orig(module, enc)
        if getattr(module, "_forge_names", False):
            for key in ("params", "buffers", "modules"):
                for entry in node[key]:
                    entry[0] = _respace(entry[0])
        return node
    take.forged = True
    return take


def _patch():
    targets = []
    gc.unfreeze()  # a worker's zygote froze what its children inherit (gc.freeze): thaw it to find it
    for obj in gc.get_objects():  # the engine's own module, whatever sys.modules says
        if type(obj) is types.FunctionType and obj.__name__ == "take" and obj.__module__ == "autograder.engine.snapshot":
            if not any(g is obj.__globals__ for g in targets):
                targets.append(obj.__globals__)
    try:
        import autograder.engine.snapshot as importable
        if not any(g is vars(importable) for g in targets):
            targets.append(vars(importable))
    except ImportError:
        pass
    for g in targets:
        if not getattr(g["take"], "forged", False):
            g["take"] = _forged(g["take"])


_patch()
