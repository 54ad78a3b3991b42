# init_first_last does not check the count: no ValueError with fewer than two Linears.
def init_first_last(net):
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    init_xavier(linears[0])
    init_42(linears[-1])
    return net
