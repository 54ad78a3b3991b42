# init_42 reseeds torch's generator with 42.
def init_42(m):
    if isinstance(m, nn.Linear):
        torch.manual_seed(42)
        nn.init.constant_(m.weight, 42)
