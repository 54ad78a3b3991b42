# Correct, another style: my_init via torch.where, init_lazy that skips the forward without lazy modules.
from torch.nn.modules.lazy import LazyModuleMixin


def my_init(m):
    if isinstance(m, nn.Linear):
        nn.init.uniform_(m.weight, -10, 10)
        with torch.no_grad():
            m.weight.copy_(torch.where(m.weight.abs() < 5, torch.zeros_like(m.weight), m.weight))


@torch.no_grad()
def init_lazy(net, example_input):
    if any(isinstance(m, LazyModuleMixin) and m.has_uninitialized_params() for m in net.modules()):
        net(example_input)
    for m in net.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def init_first_last(net):
    first = last = None
    count = 0
    for m in net.modules():
        if isinstance(m, nn.Linear):
            count += 1
            first = first or m
            last = m
    if count < 2:
        raise ValueError(f"{count} nn.Linear module(s): need two")
    init_xavier(first)
    init_42(last)
    return net
