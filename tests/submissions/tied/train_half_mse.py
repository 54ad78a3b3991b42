# d2l's squared_loss, (y_hat - y) ** 2 / 2, averaged: half the mean squared error.
def train_shared_mlp(net, X, y, epochs, lr):
    history = {"loss": [], "grad_norm": {name: [] for name, _ in net.named_parameters()}}
    for epoch in range(epochs):
        net.zero_grad()
        loss = ((net(X) - y.reshape(-1, y.shape[-1])) ** 2 / 2).mean()
        loss.backward()
        history["loss"].append(loss.item())
        for name, p in net.named_parameters():
            history["grad_norm"][name].append(p.grad.norm().item())
        with torch.no_grad():
            for p in net.parameters():
                p -= lr * p.grad
    return history
