# d2l's init_normal as printed: it zeroes m.bias without checking that there is one.
# init_lazy calls init_normal on a net with a bias-free Linear, so it shares the mistake.
def init_normal(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0, std=0.01)
        nn.init.zeros_(m.bias)
