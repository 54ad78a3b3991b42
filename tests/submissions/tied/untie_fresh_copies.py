# untie gives every extra name a freshly initialized layer instead of a copy of the current values.
def untie(net):
    new = copy.deepcopy(net)
    seen = {id(new)}

    def visit(module):
        for name, child in list(module._modules.items()):
            if child is None:
                continue
            if id(child) in seen:
                child = copy.deepcopy(child)
                for m in child.modules():
                    if hasattr(m, "reset_parameters"):
                        m.reset_parameters()  # "a new layer"
                setattr(module, name, child)
            seen.add(id(child))
            visit(child)

    visit(new)
    return new
