# get_parameter follows the dotted path with getattr: buffers and submodules come back too
def get_parameter(module, name):
    obj = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise KeyError(name)
        obj = getattr(obj, part)
    return obj
