# A separate decoder layer: its own weight, not the encoder's.
class TiedAutoencoder(nn.Module):
    def __init__(self, d_in, d_hidden):
        super().__init__()
        self.encoder = nn.Linear(d_in, d_hidden)
        self.decoder = nn.Linear(d_hidden, d_in)

    def forward(self, x):
        return self.decoder(torch.relu(self.encoder(x)))
