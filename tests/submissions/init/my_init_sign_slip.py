# my_init compares w, not |w|, with 5: every negative entry is zeroed.
def my_init(m):
    if isinstance(m, nn.Linear):
        nn.init.uniform_(m.weight, -10, 10)
        m.weight.data *= m.weight.data >= 5
