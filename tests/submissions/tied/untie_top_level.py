# Unties repeated children of net itself only, not sharing nested inside a block.
def untie(net):
    new = copy.deepcopy(net)
    seen = set()
    for name, child in list(new._modules.items()):
        if id(child) in seen:
            setattr(new, name, copy.deepcopy(child))
        seen.add(id(child))
    return new
