"""The child's own optimizer (``child.SGD``): what ``torch.optim.SGD(params, lr)`` does, without it."""
from __future__ import annotations

import copy
import warnings

import pytest
import torch
from torch import nn

from autograder.engine import child


def _net() -> nn.Module:
    torch.manual_seed(0)
    shared = nn.Linear(3, 3)
    return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), shared, nn.ReLU(), shared, nn.Linear(3, 1))


def _train(net: nn.Module, make, params) -> list[torch.Tensor]:
    opt = make(params(net), 0.1)
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(1))
    for _ in range(3):
        opt.zero_grad()
        net(x).pow(2).mean().backward()
        opt.step()
    return [p.detach().clone() for p in net.parameters()]


@pytest.mark.parametrize("params", [lambda n: n.parameters(),  # a shared layer listed once
                                    lambda n: list(n.parameters()) + [n[0].weight]],  # one listed twice
                         ids=["parameters", "duplicate"])
def test_sgd_updates_exactly_as_torch_optim_sgd(params) -> None:
    net = _net()
    ours = _train(copy.deepcopy(net), child.SGD, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about the duplicate
        theirs = _train(copy.deepcopy(net), lambda p, lr: torch.optim.SGD(p, lr=lr), params)
    assert all(torch.equal(a, b) for a, b in zip(ours, theirs, strict=True))


def test_sgd_leaves_a_parameter_without_grad_alone() -> None:
    frozen = nn.Parameter(torch.ones(2))
    child.SGD([frozen], 0.5).step()
    assert torch.equal(frozen, torch.ones(2))


@pytest.mark.parametrize("params", [torch.ones(2, requires_grad=True), [], [1.0],
                                    [torch.ones(2, requires_grad=True) * 2]],
                         ids=["a tensor", "empty", "not a tensor", "non-leaf"])
def test_sgd_refuses_what_torch_optim_sgd_refuses(params) -> None:
    with pytest.raises((TypeError, ValueError)) as theirs:
        torch.optim.SGD(params, lr=0.1)
    with pytest.raises(type(theirs.value)) as ours:
        child.SGD(params, 0.1)
    assert str(ours.value) == str(theirs.value)
