# count_parameters counts everything in state_dict(), buffers included
def count_parameters(module, trainable_only=False):
    if trainable_only:
        return sum(p.numel() for p in module.parameters() if p.requires_grad)
    return sum(t.numel() for t in module.state_dict().values())
