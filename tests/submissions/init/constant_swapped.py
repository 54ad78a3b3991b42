# init_constant with weight and bias swapped: weight zeros, bias ones.
def init_constant(m):
    if isinstance(m, nn.Linear):
        nn.init.zeros_(m.weight)
        if m.bias is not None:
            nn.init.ones_(m.bias)
