# Records the shared layer under both of its names (remove_duplicate=False).
def train_shared_mlp(net, X, y, epochs, lr):
    names = [name for name, _ in net.named_parameters(remove_duplicate=False)]
    history = {"loss": [], "grad_norm": {name: [] for name in names}}
    for epoch in range(epochs):
        net.zero_grad()
        loss = F.mse_loss(net(X), y)
        loss.backward()
        history["loss"].append(loss.item())
        for name, p in net.named_parameters(remove_duplicate=False):
            history["grad_norm"][name].append(p.grad.norm().item())
        with torch.no_grad():
            for p in net.parameters():
                p -= lr * p.grad
    return history
