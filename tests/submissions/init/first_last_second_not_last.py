# init_first_last gives 42 to the second Linear instead of the last.
def init_first_last(net):
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    if len(linears) < 2:
        raise ValueError("need at least two nn.Linear modules")
    init_xavier(linears[0])
    init_42(linears[1])
    return net
