"""The shared-trunk network: embeddings and numbers in, one head per task out.

A single-task network is the same class with one head, so both sides of the
comparison have the same architecture and the same training budget.
"""

from __future__ import annotations

import torch
from torch import nn


def embedding_size(cardinality: int) -> int:
    """Embedding width for a category count, a common rule of thumb capped at 16."""
    return int(min(16, max(2, round(1.6 * cardinality**0.56))))


class SharedTrunkNet(nn.Module):
    """Shared trunk with one small head per task.

    Parameters
    ----------
    n_numeric : int
        Width of the numeric input.
    cardinalities : list of int
        Embedding table size per categorical column, code 0 included.
    head_outputs : list of int
        Outputs of each task head: 1 for binary and regression, the class count
        for multiclass.
    hidden_sizes : tuple of int
        Widths of the trunk's layers.
    head_size : int
        Width of each head's hidden layer.
    dropout : float
        Dropout after each trunk layer.
    """

    def __init__(
        self,
        n_numeric: int,
        cardinalities: list[int],
        head_outputs: list[int],
        hidden_sizes: tuple[int, ...] = (256, 128),
        head_size: int = 32,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(
            nn.Embedding(size, embedding_size(size)) for size in cardinalities
        )
        width = n_numeric + sum(embedding_size(size) for size in cardinalities)
        if width == 0:
            width = 1  # a constant input, so a run without features still trains
        layers: list[nn.Module] = []
        for size in hidden_sizes:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(width, head_size), nn.ReLU(), nn.Linear(head_size, out))
            for out in head_outputs
        )

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> list[torch.Tensor]:
        """Return each head's raw output, shape ``(batch, n_outputs)``."""
        parts = [numeric]
        parts += [table(categorical[:, i]) for i, table in enumerate(self.embeddings)]
        inputs = torch.cat(parts, dim=1)
        if inputs.shape[1] == 0:
            inputs = torch.ones(numeric.shape[0], 1, device=numeric.device)
        shared = self.trunk(inputs)
        return [head(shared) for head in self.heads]
