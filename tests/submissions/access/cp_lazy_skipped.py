# count_parameters skips lazy parameters and raises only when all of them are lazy
def count_parameters(module, trainable_only=False):
    params = [p for p in module.parameters() if p.requires_grad or not trainable_only]
    if params and all(nn.parameter.is_lazy(p) for p in params):
        raise ValueError("the module is lazy: run a forward pass first")
    return sum(p.numel() for p in params if not nn.parameter.is_lazy(p))
