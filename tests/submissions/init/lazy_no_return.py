# init_lazy forgets to return the net.
def init_lazy(net, example_input):
    with torch.no_grad():
        net(example_input)
    net.apply(init_normal)
