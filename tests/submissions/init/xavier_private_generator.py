# init_xavier draws from a torch.Generator of its own: torch.manual_seed does not reproduce it.
import math

_gen = torch.Generator().manual_seed(2024)


def init_xavier(m):
    if isinstance(m, nn.Linear):
        a = math.sqrt(6 / (m.in_features + m.out_features))
        with torch.no_grad():
            m.weight.uniform_(-a, a, generator=_gen)
