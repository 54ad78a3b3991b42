# block2 registers one block1() four times: all blocks share their layers
def block2():
    net = nn.Sequential()
    block = block1()
    for i in range(4):
        net.add_module(f"block {i}", block)
    return net


def build_rgnet():
    return nn.Sequential(block2(), nn.Linear(4, 1))
