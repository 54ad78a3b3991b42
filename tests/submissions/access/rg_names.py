# block2 names its children "block0" … "block3" (no space)
def block2():
    net = nn.Sequential()
    for i in range(4):
        net.add_module(f"block{i}", block1())
    return net


def build_rgnet():
    return nn.Sequential(block2(), nn.Linear(4, 1))
