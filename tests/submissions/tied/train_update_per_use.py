# Updates layer by layer: the shared layer sits at two indices, so it is updated twice per epoch.
def train_shared_mlp(net, X, y, epochs, lr):
    history = {"loss": [], "grad_norm": {name: [] for name, _ in net.named_parameters()}}
    for epoch in range(epochs):
        net.zero_grad()
        loss = F.mse_loss(net(X), y)
        loss.backward()
        history["loss"].append(loss.item())
        for name, p in net.named_parameters():
            history["grad_norm"][name].append(p.grad.norm().item())
        with torch.no_grad():
            for layer in net:
                if isinstance(layer, nn.Linear):
                    layer.weight -= lr * layer.weight.grad
                    layer.bias -= lr * layer.bias.grad
    return history
