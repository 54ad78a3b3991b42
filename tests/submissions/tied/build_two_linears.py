# Two Linear(hidden, hidden) layers given equal values: equal is not shared.
def build_shared_mlp(in_features=4, hidden=8, out_features=1):
    s1 = nn.Linear(hidden, hidden)
    s2 = nn.Linear(hidden, hidden)
    s2.load_state_dict(s1.state_dict())  # "the same" layer
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                         s1, nn.ReLU(),
                         s2, nn.ReLU(),
                         nn.Linear(hidden, out_features))
