# init_lazy materializes with a forward and a backward pass: it leaves .grad behind.
def init_lazy(net, example_input):
    net(example_input).sum().backward()
    net.apply(init_normal)
    return net
