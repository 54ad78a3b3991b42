# get_parameter defers to torch's Module.get_parameter, which raises AttributeError, not KeyError
def get_parameter(module, name):
    return module.get_parameter(name)
