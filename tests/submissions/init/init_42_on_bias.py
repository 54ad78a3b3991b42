# init_42 sets the bias to 42 instead of the weight (init_first_last calls init_42, so it shares the mistake).
def init_42(m):
    if isinstance(m, nn.Linear) and m.bias is not None:
        nn.init.constant_(m.bias, 42)
