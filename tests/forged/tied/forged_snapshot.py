# Wrong answers dressed up by forging the engine's snapshots: untie is copy.deepcopy (still tied), and
# TiedAutoencoder has a separate decoder weight. The cell finds the engine's own snapshot module through
# the garbage collector (and the importable copy, as a plain monkeypatch would) and replaces its `take`:
# untie's result reports a distinct object for every name, and the decoder weight is left out.
import copy
import gc
import types

import torch
from torch import nn
from torch.nn import functional as F


def untie(net):
    new = copy.deepcopy(net)
    object.__setattr__(new, "_forge_untied", True)
    return new


class TiedAutoencoder(nn.Module):
    def __init__(self, d_in, d_hidden):
        super().__init__()
        self.encoder = nn.Linear(d_in, d_hidden)
        self.b_dec = nn.Parameter(torch.zeros(d_in))
        self.dec_weight = nn.Parameter(self.encoder.weight.detach().T.clone())  # equal values, not shared
        object.__setattr__(self, "_forge_hide", {"dec_weight"})

    def forward(self, x):
        return F.linear(torch.relu(self.encoder(x)), self.dec_weight, self.b_dec)


def _forged(orig):
    def take(module, enc):
        node = orig(module, enc)
        if getattr(module, "_forge_untied", False):  # a new oid for every name: nothing looks shared
            for i, entry in enumerate(node["params"]):
                entry[1]["oid"] = 10**9 + entry[1]["oid"] * 1000 + i
            for i, entry in enumerate(node["modules"][1:], 1):
                entry[1] = 10**9 + entry[1] * 1000 + i
        hide = getattr(module, "_forge_hide", ())
        if hide:
            node["params"] = [e for e in node["params"] if e[0] not in hide]
            node["state_dict"] = [k for k in node["state_dict"] if k not in hide]
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
