# get_parameter returns a deep copy (a Parameter, but not the registered one)
import copy


def get_parameter(module, name):
    params = dict(module.named_parameters(remove_duplicate=False))
    if name not in params:
        raise KeyError(name)
    return copy.deepcopy(params[name])
