# param_shapes does not check for lazy parameters: .shape raises RuntimeError for them
def param_shapes(module):
    return {name: tuple(param.shape) for name, param in module.named_parameters()}
