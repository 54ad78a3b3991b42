# Correct answers in another style: a custom module, torch.optim.SGD with grads set to None and
# 0-dimensional tensors recorded, untie by walking the registry, parts from each use's output gradient.
class SharedMLP(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        super().__init__()
        self.l1 = nn.Linear(in_features, hidden)
        self.s = nn.Linear(hidden, hidden)
        self.l3 = nn.Linear(hidden, out_features)

    def forward(self, x):
        h = F.relu(self.l1(x))
        h = F.relu(self.s(h))
        h = F.relu(self.s(h))
        return self.l3(h)


def build_shared_mlp(in_features=4, hidden=8, out_features=1):
    return SharedMLP(in_features, hidden, out_features)


def train_shared_mlp(net, X, y, epochs, lr):
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    losses, norms = [], {name: [] for name, _ in net.named_parameters()}
    for _ in range(epochs):
        for p in net.parameters():
            p.grad = None
        loss = loss_fn(net(X), y)
        loss.backward()
        losses.append(loss.detach())
        for name, p in net.named_parameters():
            norms[name].append(torch.linalg.vector_norm(p.grad))
        optimizer.step()
    return {"loss": losses, "grad_norm": norms}


def untie(net):
    new = copy.deepcopy(net)
    seen = {id(new)}
    keep = [new]

    def visit(module):
        for name, child in list(module._modules.items()):
            if child is None:
                continue
            if id(child) in seen:
                child = copy.deepcopy(child)
                module._modules[name] = child
            seen.add(id(child))
            keep.append(child)
            visit(child)

    visit(new)
    return new


def grad_contributions(net, X, y):
    inputs, outputs = [], []
    h = X
    for i, layer in enumerate(net):
        if i in (2, 4):
            inputs.append(h.detach())
            h = layer(h)
            outputs.append(h)
        else:
            h = layer(h)
    grads = torch.autograd.grad(F.mse_loss(h, y), outputs)
    g_first, g_second = (g.T @ x for g, x in zip(grads, inputs))
    return g_first.detach(), g_second.detach()


class TiedAutoencoder(nn.Module):
    def __init__(self, d_in, d_hidden):
        super().__init__()
        self.encoder = nn.Linear(d_in, d_hidden)
        bound = 1 / math.sqrt(d_hidden)
        self.b_dec = nn.Parameter(torch.empty(d_in).uniform_(-bound, bound))

    def forward(self, x):
        h = F.relu(self.encoder(x))
        return F.linear(h, self.encoder.weight.t(), self.b_dec)
