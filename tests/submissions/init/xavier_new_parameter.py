# init_xavier registers a new Parameter (init_first_last calls init_xavier, so it shares the mistake).
def init_xavier(m):
    if isinstance(m, nn.Linear):
        m.weight = nn.Parameter(nn.init.xavier_uniform_(torch.empty_like(m.weight)))
