# init_42 assigns a new float32 tensor to .data: a float64 layer becomes float32
# (init_first_last calls init_42, so it shares the mistake).
def init_42(m):
    if isinstance(m, nn.Linear):
        m.weight.data = torch.full(m.weight.shape, 42.0)
