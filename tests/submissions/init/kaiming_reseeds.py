# init_kaiming_relu reseeds torch's generator "for reproducibility".
def init_kaiming_relu(m):
    if isinstance(m, nn.Linear):
        torch.manual_seed(0)
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        if m.bias is not None:
            nn.init.zeros_(m.bias)
