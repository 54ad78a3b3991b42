# Correct answers in other styles: explicit loops, NumPy-integer shapes, a LazyLinear(20),
# a shared ReLU inside rgnet's blocks (it has no parameters, so nothing is shared)
import numpy as np


def param_shapes(module):
    out = {}
    for name, p in module.named_parameters():
        if isinstance(p, nn.parameter.UninitializedParameter):
            raise ValueError("lazy")
        out[name] = tuple(np.array(p.shape, dtype=np.int64))
    return out


def count_parameters(module, trainable_only=False):
    seen, total = set(), np.int64(0)
    for _, p in module.named_parameters(remove_duplicate=False):
        if nn.parameter.is_lazy(p):
            raise ValueError("lazy")
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total


def get_parameter(module, name):
    for n, p in module.named_parameters(remove_duplicate=False):
        if n == name:
            return p
    raise KeyError(name)


def shared_names(module):
    result = []
    ids = []
    for name, p in module.named_parameters(remove_duplicate=False):
        if id(p) in ids:
            result[ids.index(id(p))].append(name)
        else:
            ids.append(id(p))
            result.append([name])
    return [g for g in result if len(g) > 1]


_relu = nn.ReLU()


def build_rgnet():
    outer = nn.Sequential()
    for i in range(4):
        outer.add_module(f"block {i}", nn.Sequential(nn.Linear(4, 8), _relu, nn.Linear(8, 4), _relu))
    return nn.Sequential(outer, nn.Linear(4, 1))


class FrozenHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("rand_weight", torch.rand(20, 20))
        self.linear = nn.LazyLinear(20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(torch.matmul(X, self.rand_weight) + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
