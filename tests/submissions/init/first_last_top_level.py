# init_first_last looks only at the top-level children: a nested first Linear is missed.
def init_first_last(net):
    linears = [m for m in net.children() if isinstance(m, nn.Linear)]
    if len(linears) < 2:
        raise ValueError("need at least two nn.Linear modules")
    init_xavier(linears[0])
    init_42(linears[-1])
    return net
