# "Both uses contribute equally": half of the total each.
def grad_contributions(net, X, y):
    net.zero_grad()
    F.mse_loss(net(X), y).backward()
    g = net[2].weight.grad.detach().clone()
    return g / 2, g / 2
