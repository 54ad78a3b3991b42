# init_constant acts on every module that has a weight (Conv2d, BatchNorm1d, LayerNorm, Bilinear too).
def init_constant(m):
    if hasattr(m, "weight"):
        nn.init.constant_(m.weight, 1)
        if getattr(m, "bias", None) is not None:
            nn.init.zeros_(m.bias)
