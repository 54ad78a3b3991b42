# shared_names sorts the groups alphabetically instead of by first appearance
def shared_names(module):
    names = {}
    for name, param in module.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), []).append(name)
    return sorted(group for group in names.values() if len(group) > 1)
