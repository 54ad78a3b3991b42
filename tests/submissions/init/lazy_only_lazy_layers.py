# init_lazy initializes only the modules that were lazy: a Linear that was not lazy keeps its values.
def init_lazy(net, example_input):
    lazy = [m for m in net.modules() if isinstance(m, nn.LazyLinear)]
    with torch.no_grad():
        net(example_input)
    for m in lazy:
        init_normal(m)
    return net
