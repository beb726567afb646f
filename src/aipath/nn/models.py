"""Small PyTorch models the labs train: an MLP, a CNN, and three sequence classifiers.

The sequence models share an interface: integer tokens ``(batch, length)`` in, class
logits out, so the RNN, LSTM and Transformer can be compared on the same task.
"""

from __future__ import annotations

import torch
from torch import nn

from aipath.nn.layers import BatchNorm1d, Dropout, conv_output_size


class MLP(nn.Module):
    def __init__(self, n_in: int, hidden: int, n_out: int, dropout: float = 0.0,
                 batch_norm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(n_in, hidden)]
        if batch_norm:
            layers.append(BatchNorm1d(hidden))
        layers += [nn.ReLU(), Dropout(dropout), nn.Linear(hidden, hidden)]
        if batch_norm:
            layers.append(BatchNorm1d(hidden))
        layers += [nn.ReLU(), Dropout(dropout), nn.Linear(hidden, n_out)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


class SmallCNN(nn.Module):
    """conv(3x3, pad 1) -> ReLU -> maxpool(2), twice, then a linear classifier."""

    def __init__(self, size: int = 28, channels: int = 1, n_classes: int = 10,
                 width: int = 16) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        side = conv_output_size(conv_output_size(size, 2, 2), 2, 2)
        self.head = nn.Linear(2 * width * side * side, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


class RecurrentClassifier(nn.Module):
    """Embed tokens, run an RNN or LSTM, classify from the last hidden state."""

    def __init__(self, vocab: int, n_classes: int, hidden: int = 32, cell: str = "lstm") -> None:
        super().__init__()
        assert cell in ("rnn", "lstm")
        self.embed = nn.Embedding(vocab, hidden)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.RNN)(hidden, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(self.embed(tokens))
        return self.head(out[:, -1])


class TransformerClassifier(nn.Module):
    """Token + learned position embeddings, a small encoder, mean-pooled into logits."""

    def __init__(self, vocab: int, n_classes: int, max_len: int, hidden: int = 32,
                 heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.pos = nn.Parameter(torch.randn(max_len, hidden) * 0.02)
        layer = nn.TransformerEncoderLayer(hidden, heads, 2 * hidden, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens) + self.pos[: tokens.shape[1]]
        return self.head(self.encoder(h).mean(dim=1))
