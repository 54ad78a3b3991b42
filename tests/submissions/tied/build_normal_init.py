# Re-initialized with d2l's init_normal instead of keeping PyTorch's default.
def build_shared_mlp(in_features=4, hidden=8, out_features=1):
    shared = nn.Linear(hidden, hidden)
    net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                        shared, nn.ReLU(),
                        shared, nn.ReLU(),
                        nn.Linear(hidden, out_features))

    def init_normal(m):
        if type(m) == nn.Linear:
            nn.init.normal_(m.weight, mean=0, std=0.01)
            nn.init.zeros_(m.bias)

    net.apply(init_normal)
    return net
