# Correct answers in another style: named Sequential children, a manual update with grads zeroed in
# place and NumPy numbers recorded, untie by copying every child, parts from two copies of S.
import collections

import numpy as np


def build_shared_mlp(in_features=4, hidden=8, out_features=1):
    S = nn.Linear(hidden, hidden)
    return nn.Sequential(collections.OrderedDict([
        ("inp", nn.Linear(in_features, hidden)), ("act1", nn.ReLU()),
        ("shared", S), ("act2", nn.ReLU()),
        ("shared_again", S), ("act3", nn.ReLU()),
        ("out", nn.Linear(hidden, out_features))]))


def train_shared_mlp(net, X, y, epochs, lr):
    params = dict(net.named_parameters())
    history = {"loss": [], "grad_norm": {name: [] for name in params}}
    for _ in range(epochs):
        for p in params.values():
            if p.grad is not None:
                p.grad.zero_()
        loss = ((net(X) - y) ** 2).mean()
        loss.backward()
        history["loss"].append(np.float64(loss.item()))
        for name, p in params.items():
            history["grad_norm"][name].append(np.linalg.norm(p.grad.numpy()))
        for p in params.values():
            p.data -= lr * p.grad.data
    return history


def _copy_children(module):
    for name, child in list(module._modules.items()):
        if child is not None:
            fresh = copy.deepcopy(child)
            _copy_children(fresh)
            module._modules[name] = fresh
    return module


def untie(net):
    return _copy_children(copy.deepcopy(net))


def grad_contributions(net, X, y):
    first, second = copy.deepcopy(net[2]), copy.deepcopy(net[2])
    layers = list(net)
    layers[2], layers[4] = first, second
    F.mse_loss(nn.Sequential(*layers)(X), y).backward()
    return first.weight.grad, second.weight.grad


class TiedAutoencoder(nn.Module):
    def __init__(self, d_in, d_hidden):
        super().__init__()
        self.W = nn.Parameter(torch.randn(d_hidden, d_in) / math.sqrt(d_in))
        self.b_enc = nn.Parameter(torch.zeros(d_hidden))
        self.b_dec = nn.Parameter(torch.zeros(d_in))

    def forward(self, x):
        return F.linear(torch.relu(F.linear(x, self.W, self.b_enc)), self.W.T, self.b_dec)
