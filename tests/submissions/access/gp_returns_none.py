# get_parameter returns None for a name that is not a parameter
def get_parameter(module, name):
    return dict(module.named_parameters(remove_duplicate=False)).get(name)
