# init_normal registers a new Parameter instead of changing the values in place.
def init_normal(m):
    if isinstance(m, nn.Linear):
        m.weight = nn.Parameter(torch.randn_like(m.weight) * 0.01)
        if m.bias is not None:
            m.bias = nn.Parameter(torch.zeros_like(m.bias))
