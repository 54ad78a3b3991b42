# param_shapes raises only when every parameter is lazy (all() where any() was meant)
def param_shapes(module):
    if all(nn.parameter.is_lazy(p) for p in module.parameters()):
        raise ValueError("the module is lazy: run a forward pass first")
    shapes = {}
    for name, param in module.named_parameters():
        if not nn.parameter.is_lazy(param):
            shapes[name] = tuple(param.shape)
    return shapes
