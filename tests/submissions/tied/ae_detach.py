# The decoder uses W.detach(): no gradient reaches W through the decoder.
class TiedAutoencoder(nn.Module):
    def __init__(self, d_in, d_hidden):
        super().__init__()
        self.encoder = nn.Linear(d_in, d_hidden)
        self.b_dec = nn.Parameter(torch.zeros(d_in))

    def forward(self, x):
        h = torch.relu(self.encoder(x))
        return h @ self.encoder.weight.detach() + self.b_dec
