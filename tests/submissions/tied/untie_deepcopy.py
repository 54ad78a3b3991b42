# copy.deepcopy alone: new tensors, but the copy is still tied.
def untie(net):
    return copy.deepcopy(net)
