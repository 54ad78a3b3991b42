# FrozenHiddenMLP with neither rand_weight nor linear: its forward only sums its input
class FrozenHiddenMLP(nn.Module):
    def forward(self, X):
        return X.sum()
