# count_parameters starts its total at 0.0, so it returns a float, not an integer
def count_parameters(module, trainable_only=False):
    total = 0.0
    for p in module.parameters():
        if p.requires_grad or not trainable_only:
            total += p.numel()
    return total
