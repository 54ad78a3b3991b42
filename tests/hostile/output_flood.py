# count_parameters prints far more than the output limit, then answers correctly.
def count_parameters(module, trainable_only=False):
    for _ in range(40_000):
        print("x" * 100)
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
