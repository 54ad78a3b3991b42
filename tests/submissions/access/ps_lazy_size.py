# param_shapes uses .size(), which gives torch.Size([0]) for an uninitialized parameter: nothing raises
def param_shapes(module):
    return {name: tuple(param.size()) for name, param in module.named_parameters()}
