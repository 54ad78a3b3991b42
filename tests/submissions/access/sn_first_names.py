# shared_names groups what named_parameters() yields: a shared parameter shows up under its first name only
def shared_names(module):
    names = {}
    for name, param in module.named_parameters():
        names.setdefault(id(param), []).append(name)
    return [group for group in names.values() if len(group) > 1]
