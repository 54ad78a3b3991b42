# init_kaiming_relu assigns new float32 tensors to .data: a float64 layer becomes float32.
import math


def init_kaiming_relu(m):
    if isinstance(m, nn.Linear):
        m.weight.data = torch.randn(m.weight.shape) * math.sqrt(2 / m.in_features)
        if m.bias is not None:
            m.bias.data = torch.zeros(m.bias.shape)
