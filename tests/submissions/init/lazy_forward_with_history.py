# init_lazy materializes with a plain forward pass: it records autograd history (no torch.no_grad()).
def init_lazy(net, example_input):
    net(example_input)
    net.apply(init_normal)
    return net
