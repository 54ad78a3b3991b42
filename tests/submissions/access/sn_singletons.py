# shared_names keeps parameters that have a single name
def shared_names(module):
    names = {}
    for name, param in module.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), []).append(name)
    return list(names.values())
