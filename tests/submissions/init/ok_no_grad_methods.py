# Correct, another style: tensor methods under torch.no_grad(), fill_/zero_, a Bernoulli-free mask.
import math


def init_normal(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.weight.normal_(0, 0.01)
            if m.bias is not None:
                m.bias.zero_()


def init_constant(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.weight.fill_(1)
            if m.bias is not None:
                m.bias.zero_()


def init_xavier(m):
    if isinstance(m, nn.Linear):
        fan_out, fan_in = m.weight.shape
        a = math.sqrt(6 / (fan_in + fan_out))
        with torch.no_grad():
            m.weight.uniform_(-a, a)


def init_42(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.weight.fill_(42)


def my_init(m):
    if isinstance(m, nn.Linear):
        print("Init", *[(name, param.shape) for name, param in m.named_parameters()][0])
        with torch.no_grad():
            m.weight.uniform_(-10, 10)
            m.weight[m.weight.abs() < 5] = 0


def init_kaiming_relu(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            m.weight.normal_(0, math.sqrt(2 / m.in_features))
            if m.bias is not None:
                m.bias.zero_()
