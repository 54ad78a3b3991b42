# count_parameters multiplies the shape: RuntimeError (not ValueError) for a lazy parameter
import math


def count_parameters(module, trainable_only=False):
    return sum(math.prod(p.shape) for p in module.parameters() if p.requires_grad or not trainable_only)
