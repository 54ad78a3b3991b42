# Gradient norms keyed by module names (named_modules), weight only.
def train_shared_mlp(net, X, y, epochs, lr):
    history = {"loss": [], "grad_norm": {}}
    for epoch in range(epochs):
        net.zero_grad()
        loss = F.mse_loss(net(X), y)
        loss.backward()
        history["loss"].append(loss.item())
        for name, m in net.named_modules():
            if isinstance(m, nn.Linear):
                history["grad_norm"].setdefault(name, []).append(m.weight.grad.norm().item())
        with torch.no_grad():
            for p in net.parameters():
                p -= lr * p.grad
    return history
