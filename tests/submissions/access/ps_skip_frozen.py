# param_shapes keeps only trainable parameters
def param_shapes(module):
    shapes = {}
    for name, param in module.named_parameters():
        if nn.parameter.is_lazy(param):
            raise ValueError(f"{name} is not initialized yet")
        if param.requires_grad:
            shapes[name] = tuple(param.shape)
    return shapes
