# my_init with the comparison reversed: it keeps |w| < 5 and zeroes the rest.
def my_init(m):
    if isinstance(m, nn.Linear):
        nn.init.uniform_(m.weight, -10, 10)
        m.weight.data *= m.weight.data.abs() < 5
