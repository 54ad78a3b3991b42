# init_xavier also zeroes the bias (init_first_last calls init_xavier, so it shares the mistake).
def init_xavier(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
