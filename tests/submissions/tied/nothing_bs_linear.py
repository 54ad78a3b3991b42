# build_shared_mlp returns one nn.Linear(in_features, out_features): default initialization, no shared layer
def build_shared_mlp(in_features=4, hidden=8, out_features=1):
    return nn.Linear(in_features, out_features)
