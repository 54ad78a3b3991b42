# init_normal with std 0.1 (a standard deviation of 0.1, i.e. a variance of 0.01, instead of std 0.01).
# init_lazy calls init_normal, so it shares the mistake.
def init_normal(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0, std=0.1)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
