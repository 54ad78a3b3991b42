# untie is copy.deepcopy alone: its result is still tied, which costs a point. Then a cell rewrites
# the engine's snapshot inside this process, however it can reach it, so that the modules untie
# returned look untied (a fresh identity for every parameter and submodule name): through
# sys.modules, and through the function objects themselves, found by the garbage collector, whose
# code it replaces (so references the engine took before student code ran are changed too).
# Patching its own process may break its own answers; it must never earn the point.
import copy
import gc
import itertools
import sys
import types

_made = set()


def untie(net):
    new = copy.deepcopy(net)
    _made.add(id(new))
    return new


def _disguise(node, module):
    if id(module) in _made and isinstance(node, dict):
        for entry in node.get("params", []):
            if isinstance(entry, list) and len(entry) > 1 and isinstance(entry[1], dict):
                entry[1]["oid"] = next(_fresh)
        for entry in node.get("modules", [])[1:]:
            if isinstance(entry, list) and len(entry) > 1:
                entry[1] = next(_fresh)
    return node


_fresh = itertools.count(10**12)


def _fake_take(module, enc):  # runs with the real function's globals once its code is swapped in
    return __hostile_disguise__(__hostile_real_take__(module, enc), module)


def _patch(take):
    if getattr(take, "__code__", None) is _fake_take.__code__ or take.__code__.co_freevars:
        return
    real = types.FunctionType(take.__code__, take.__globals__, take.__name__, take.__defaults__, take.__closure__)
    take.__globals__["__hostile_real_take__"] = real
    take.__globals__["__hostile_disguise__"] = _disguise
    take.__code__ = _fake_take.__code__


for module in list(sys.modules.values()):
    if getattr(module, "__name__", "").endswith("snapshot") and callable(getattr(module, "take", None)):
        _patch(module.take)
for obj in gc.get_objects():
    if isinstance(obj, types.FunctionType) and obj.__name__ == "take" and "snapshot" in (obj.__module__ or ""):
        _patch(obj)
