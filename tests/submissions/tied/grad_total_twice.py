# net[2] and net[4] are one layer: both "parts" are the whole gradient.
def grad_contributions(net, X, y):
    net.zero_grad()
    F.mse_loss(net(X), y).backward()
    return net[2].weight.grad.clone(), net[4].weight.grad.clone()
