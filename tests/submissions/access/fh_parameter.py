# FrozenHiddenMLP makes rand_weight a frozen Parameter instead of a buffer
class FrozenHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.rand_weight = nn.Parameter(torch.rand(20, 20), requires_grad=False)
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
