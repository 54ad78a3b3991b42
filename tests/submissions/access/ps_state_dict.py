# param_shapes walks state_dict(): buffers (BatchNorm's running_mean) come along
def param_shapes(module):
    if any(nn.parameter.is_lazy(p) for p in module.parameters()):
        raise ValueError("run a forward pass first")
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}
