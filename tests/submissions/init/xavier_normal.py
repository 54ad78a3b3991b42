# Xavier normal instead of Xavier uniform (init_first_last calls init_xavier, so it shares the mistake).
def init_xavier(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_normal_(m.weight)
