# Gradients zeroed right after the step ("ready for the next epoch"), then recorded: all zero.
def train_shared_mlp(net, X, y, epochs, lr):
    optimizer = torch.optim.SGD(net.parameters(), lr)
    history = {"loss": [], "grad_norm": {name: [] for name, _ in net.named_parameters()}}
    for epoch in range(epochs):
        loss = F.mse_loss(net(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=False)
        history["loss"].append(loss.item())
        for name, p in net.named_parameters():
            history["grad_norm"][name].append(p.grad.norm().item())
    return history
