# block1 uses a hidden width of 16 instead of 8
def block1():
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 4), nn.ReLU())


def block2():
    net = nn.Sequential()
    for i in range(4):
        net.add_module(f"block {i}", block1())
    return net


def build_rgnet():
    return nn.Sequential(block2(), nn.Linear(4, 1))
