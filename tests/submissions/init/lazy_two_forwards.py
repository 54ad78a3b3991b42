# init_lazy runs a second forward pass "to check" the materialized net.
def init_lazy(net, example_input):
    with torch.no_grad():
        net(example_input)
        net.apply(init_normal)
        net(example_input)
    return net
