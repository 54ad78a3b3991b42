# get_parameter returns a copy of the values, not the Parameter
def get_parameter(module, name):
    params = dict(module.named_parameters(remove_duplicate=False))
    if name not in params:
        raise KeyError(name)
    return params[name].clone()
