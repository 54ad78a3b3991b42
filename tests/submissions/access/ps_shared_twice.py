# param_shapes lists a shared parameter under every name
def param_shapes(module):
    shapes = {}
    for name, param in module.named_parameters(remove_duplicate=False):
        if nn.parameter.is_lazy(param):
            raise ValueError(f"{name} is not initialized yet")
        shapes[name] = tuple(param.shape)
    return shapes
