# Unties net itself in place, then returns a copy: net is no longer tied.
def _untie_in_place(module, seen):
    for name, child in list(module._modules.items()):
        if id(child) in seen:
            child = copy.deepcopy(child)
            setattr(module, name, child)
        seen[id(child)] = child
        _untie_in_place(child, seen)


def untie(net):
    _untie_in_place(net, {id(net): net})
    return copy.deepcopy(net)
