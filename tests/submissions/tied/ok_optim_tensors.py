# Correct answers in another style: the loss tensor itself recorded, optimizer.zero_grad(), build via
# add_module, untie that re-creates repeated children from the original's state, parts via hooks.
def build_shared_mlp(in_features=4, hidden=8, out_features=1):
    net = nn.Sequential()
    shared = nn.Linear(hidden, hidden)
    for name, layer in [("0", nn.Linear(in_features, hidden)), ("1", nn.ReLU()), ("2", shared), ("3", nn.ReLU()),
                        ("4", shared), ("5", nn.ReLU()), ("6", nn.Linear(hidden, out_features))]:
        net.add_module(name, layer)
    return net


def train_shared_mlp(net, X, y, epochs, lr):
    opt = torch.optim.SGD(net.parameters(), lr)
    out = {"loss": [], "grad_norm": {}}
    for _ in range(epochs):
        opt.zero_grad()
        loss = F.mse_loss(net(X), y)
        loss.backward()
        out["loss"].append(loss)
        for name, p in net.named_parameters():
            out["grad_norm"].setdefault(name, []).append(p.grad.pow(2).sum().sqrt())
        opt.step()
    return out


def untie(net):
    def rebuild(module, seen):
        for name, child in list(module._modules.items()):
            if child is None:
                continue
            if child in seen:
                child = copy.deepcopy(child)
                module._modules[name] = child
            seen.append(child)
            rebuild(child, seen)
        return module
    return rebuild(copy.deepcopy(net), [])


def grad_contributions(net, X, y):
    S = net[2]
    seen = []
    handle = S.register_forward_hook(lambda m, inp, out: seen.append((inp[0], out)))
    try:
        loss = F.mse_loss(net(X), y)
    finally:
        handle.remove()
    (x1, o1), (x2, o2) = seen
    d1, d2 = torch.autograd.grad(loss, [o1, o2])
    return (d1.T @ x1).detach(), (d2.T @ x2).detach()


class TiedAutoencoder(nn.Module):
    def __init__(self, d_in, d_hidden):
        super().__init__()
        enc = nn.Linear(d_in, d_hidden)
        self.W = enc.weight
        self.b_enc = enc.bias
        self.b_dec = nn.Parameter(torch.zeros(d_in))

    def forward(self, x):
        return torch.relu(x @ self.W.T + self.b_enc) @ self.W + self.b_dec
