# Correct, another style: .data with hand-computed bounds, randn-based draws, copy_ of new tensors.
import math


def init_normal(m):
    if isinstance(m, nn.Linear):
        m.weight.data.copy_(torch.randn(m.weight.shape, dtype=m.weight.dtype) * 0.01)
        if m.bias is not None:
            m.bias.data.zero_()


def init_constant(m):
    if isinstance(m, nn.Linear):
        m.weight.data = torch.ones_like(m.weight.data)
        if m.bias is not None:
            m.bias.data = torch.zeros_like(m.bias.data)


def init_xavier(m):
    if isinstance(m, nn.Linear):
        bound = math.sqrt(6.0 / (m.in_features + m.out_features))
        m.weight.data.uniform_(-bound, bound)


def init_42(m):
    if isinstance(m, nn.Linear):
        m.weight.data = torch.full_like(m.weight.data, 42)


def my_init(m):
    if isinstance(m, nn.Linear):
        w = torch.rand_like(m.weight.data) * 20 - 10
        m.weight.data = w * (w.abs() > 5)


def init_kaiming_relu(m):
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight)  # leaky_relu with a = 0 has ReLU's gain, mode fan_in
        if m.bias is not None:
            nn.init.constant_(m.bias, 0.0)


def init_first_last(net):
    linears = [m for _, m in net.named_modules() if isinstance(m, nn.Linear)]
    if len(linears) < 2:
        raise ValueError("init_first_last needs two nn.Linear modules")
    linears[0].apply(init_xavier)
    linears[-1].apply(init_42)
    return net
