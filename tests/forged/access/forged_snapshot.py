# A wrong answer dressed up by forging the engine's snapshots: build_rgnet registers one block1() four times
# (every block shares its layers). The cell finds the engine's own snapshot module through the garbage
# collector (and the importable copy, as a plain monkeypatch would) and replaces its `take`: the net reports
# a distinct object for every name, so nothing looks shared.
import gc
import types

from torch import nn


def block1():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU())


def block2():
    net = nn.Sequential()
    block = block1()
    for i in range(4):
        net.add_module(f"block {i}", block)
    return net


def build_rgnet():
    net = nn.Sequential(block2(), nn.Linear(4, 1))
    object.__setattr__(net, "_forge_untied", True)
    return net


def _forged(orig):
    def take(module, enc):
        node = orig(module, enc)
        if getattr(module, "_forge_untied", False):  # a new oid for every name: nothing looks shared
            for i, entry in enumerate(node["params"]):
                entry[1]["oid"] = 10**9 + entry[1]["oid"] * 1000 + i
            for i, entry in enumerate(node["modules"][1:], 1):
                entry[1] = 10**9 + entry[1] * 1000 + i
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
