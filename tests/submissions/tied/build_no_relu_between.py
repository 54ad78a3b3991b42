# The two uses of S follow each other without the ReLU between them: L3(relu(S(S(relu(L1(x)))))).
def build_shared_mlp(in_features=4, hidden=8, out_features=1):
    shared = nn.Linear(hidden, hidden)
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                         shared, shared, nn.ReLU(),
                         nn.Linear(hidden, out_features))
