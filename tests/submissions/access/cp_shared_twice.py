# count_parameters counts a shared parameter once per name
def count_parameters(module, trainable_only=False):
    return sum(p.numel() for _, p in module.named_parameters(remove_duplicate=False)
               if p.requires_grad or not trainable_only)
