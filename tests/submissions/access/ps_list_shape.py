# param_shapes gives each shape as a list, not a tuple
def param_shapes(module):
    shapes = {}
    for name, param in module.named_parameters():
        if nn.parameter.is_lazy(param):
            raise ValueError(f"{name} is not initialized yet")
        shapes[name] = list(param.shape)
    return shapes
