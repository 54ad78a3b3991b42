# init_first_last only returns net (returning net in place alone earns nothing)
def init_first_last(net):
    return net
