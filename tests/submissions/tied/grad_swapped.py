# The copies are swapped: W1 at index 4, W2 at index 2.
def grad_contributions(net, X, y):
    S = net[2]
    W1 = S.weight.detach().clone().requires_grad_()
    W2 = S.weight.detach().clone().requires_grad_()
    h = X
    for i, layer in enumerate(net):
        if i == 2:
            h = F.linear(h, W2, S.bias)
        elif i == 4:
            h = F.linear(h, W1, S.bias)
        else:
            h = layer(h)
    return tuple(torch.autograd.grad(F.mse_loss(h, y), [W1, W2]))
