# my_init registers a new Parameter built with torch.where.
def my_init(m):
    if isinstance(m, nn.Linear):
        w = torch.empty_like(m.weight).uniform_(-10, 10)
        m.weight = nn.Parameter(torch.where(w.abs() < 5, torch.zeros_like(w), w))
