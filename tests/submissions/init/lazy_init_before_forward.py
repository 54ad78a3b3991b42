# init_lazy initializes before the forward pass: lazy parameters cannot be initialized yet.
def init_lazy(net, example_input):
    net.apply(init_normal)
    with torch.no_grad():
        net(example_input)
    return net
