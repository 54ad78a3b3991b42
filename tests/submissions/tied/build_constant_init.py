# The shared layer re-initialized to equal (constant) values, so both uses "start the same".
def build_shared_mlp(in_features=4, hidden=8, out_features=1):
    shared = nn.Linear(hidden, hidden)
    nn.init.constant_(shared.weight, 0.1)
    nn.init.zeros_(shared.bias)
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                         shared, nn.ReLU(),
                         shared, nn.ReLU(),
                         nn.Linear(hidden, out_features))
