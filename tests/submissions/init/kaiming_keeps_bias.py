# init_kaiming_relu forgets the bias.
def init_kaiming_relu(m):
    if isinstance(m, nn.Linear):
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
