# Correct answers in other styles: torch.Size shapes, a NumPy count, a walk over _modules/_parameters,
# tuples for groups, a loop-built rgnet, and a FrozenHiddenMLP that inherits FixedHiddenMLP's LazyLinear(20)
import numpy as np


def param_shapes(module):
    if any(nn.parameter.is_lazy(p) for p in module.parameters()):
        raise ValueError("uninitialized parameters: run a forward pass first")
    return {name: p.shape for name, p in module.named_parameters()}


def count_parameters(module, trainable_only=False):
    params = list(module.parameters())
    if any(nn.parameter.is_lazy(p) for p in params):
        raise ValueError("uninitialized parameters")
    return np.sum([np.prod(p.shape) for p in params if p.requires_grad or not trainable_only], dtype=np.int64)


def get_parameter(module, name):
    *path, last = name.split(".")
    m = module
    for part in path:
        if part not in m._modules or m._modules[part] is None:
            raise KeyError(name)
        m = m._modules[part]
    if m._parameters.get(last) is None:
        raise KeyError(name)
    return m._parameters[last]


def shared_names(module):
    groups = {}
    for name, p in module.named_parameters(remove_duplicate=False):
        groups[id(p)] = groups.get(id(p), ()) + (name,)
    return [g for g in groups.values() if len(g) >= 2]


def build_rgnet():
    net = nn.Sequential()
    blocks = nn.Sequential()
    for i in range(4):
        block = nn.Sequential()
        for j, layer in enumerate([nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU()]):
            block.add_module(str(j), layer)
        blocks.add_module("block %d" % i, block)
    net.add_module("0", blocks)
    net.add_module("1", nn.Linear(4, 1))
    return net


class FrozenHiddenMLP(FixedHiddenMLP):
    def __init__(self):
        super().__init__()  # rand_weight (a plain tensor) and linear = LazyLinear(20)
        weight = self.rand_weight
        del self.rand_weight
        self.register_buffer("rand_weight", weight)
