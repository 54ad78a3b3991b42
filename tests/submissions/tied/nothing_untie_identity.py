# untie returns an empty module (net is left unchanged because nothing touched it)
def untie(net):
    return nn.Identity()
