# Correct answers in other styles: RuntimeError turned into ValueError, a set of parameters,
# torch's get_parameter with KeyError, OrderedDict-built Sequentials, torch.mm in forward
from collections import OrderedDict


def param_shapes(module):
    shapes = {}
    for name, p in module.named_parameters():
        try:
            shapes[name] = tuple(int(d) for d in p.shape)
        except RuntimeError as exc:  # an UninitializedParameter has no shape
            raise ValueError(f"{name} is uninitialized") from exc
    return shapes


def count_parameters(module, trainable_only=False):
    # numel() raises ValueError for an uninitialized parameter
    return sum(p.numel() for p in set(module.parameters()) if p.requires_grad or not trainable_only)


def get_parameter(module, name):
    try:
        return module.get_parameter(name)
    except AttributeError as exc:
        raise KeyError(name) from exc


def shared_names(module):
    first_seen, names = [], {}
    for name, p in module.named_parameters(remove_duplicate=False):
        if p not in names:
            names[p] = []
            first_seen.append(p)
        names[p].append(name)
    return [tuple(names[p]) for p in first_seen if len(names[p]) > 1]


def build_rgnet():
    def blk():
        return nn.Sequential(OrderedDict([("0", nn.Linear(4, 8)), ("1", nn.ReLU()),
                                          ("2", nn.Linear(8, 4)), ("3", nn.ReLU())]))
    return nn.Sequential(nn.Sequential(OrderedDict((f"block {i}", blk()) for i in range(4))), nn.Linear(4, 1))


class FrozenHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(20, 20)
        self.register_buffer("rand_weight", torch.rand((20, 20)), persistent=True)

    def forward(self, X):
        X = self.linear(X)
        X = torch.relu(torch.mm(X, self.rand_weight) + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X = X / 2
        return X.sum()
