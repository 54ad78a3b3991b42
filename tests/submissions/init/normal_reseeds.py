# init_normal reseeds torch's generator "for reproducibility".
def init_normal(m):
    if isinstance(m, nn.Linear):
        torch.manual_seed(0)
        nn.init.normal_(m.weight, mean=0, std=0.01)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
