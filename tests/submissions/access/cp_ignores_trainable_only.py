# count_parameters ignores trainable_only
def count_parameters(module, trainable_only=False):
    return sum(p.numel() for p in module.parameters())
