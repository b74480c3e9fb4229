"""Piecewise-linear encoding of numeric inputs on quantile bins.

A scaled number enters the network as itself and as one value per bin of its
training distribution: 0 below the bin, 1 above it, and the position inside it.
The first layer can then give each range of a number its own slope, much as a
tree splits on bins. Bin edges are quantiles of the training rows, fitted once
and kept in the network's state, so predictions on new rows use the same bins.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

_MAX_FIT_ROWS = 200_000  # quantiles from at most this many evenly spaced rows


def quantile_edges(numeric: np.ndarray, n_bins: int) -> list[np.ndarray]:
    """Return the distinct quantile edges of each column of ``numeric``.

    A column with fewer than three distinct edges (a constant or a 0/1 flag) gets
    an empty array, because bins would add nothing to its scaled value. A column
    whose most common value is on more than one bin's share of the rows gets that
    value as an edge and its other bins from the quantiles of the other rows (see
    ``_edges_around_mode``).
    """
    if n_bins < 2 or numeric.shape[0] == 0:
        return [np.empty(0, np.float32) for _ in range(numeric.shape[1])]
    step = max(1, numeric.shape[0] // _MAX_FIT_ROWS)
    sample = np.asarray(numeric[::step], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, n_bins + 1)
    edges = []
    for column in sample.T:
        quantiles = np.quantile(column, levels)
        if np.unique(quantiles).size < quantiles.size:
            quantiles = _edges_around_mode(column, quantiles, n_bins)
        # Distinct after the cast: two float64 quantiles can round to one float32
        # value, and a bin of width 0 would divide by 0 in the encoding.
        distinct = np.unique(quantiles.astype(np.float32))
        edges.append(distinct if distinct.size >= 3 else np.empty(0, np.float32))
    return edges


def _edges_around_mode(
    column: np.ndarray, quantiles: np.ndarray, n_bins: int
) -> np.ndarray:
    """Return edges for a column whose quantiles repeat a value.

    When one value is on most rows (pdays = -1 for "never contacted", a balance of
    0), every quantile below its share equals it, and the rest of the range gets
    the few bins left: 3 for a value on 82% of the rows at 16 bins, where a tree
    may split that range anywhere. The value becomes one edge and the other rows'
    quantiles give ``n_bins - 1`` bins, so the column keeps at most ``n_bins``.
    A column whose most common value is on at most one bin's share keeps
    ``quantiles``.
    """
    values, counts = np.unique(column, return_counts=True)
    top = int(np.argmax(counts))
    if counts[top] * n_bins <= column.size or values.size < 3:
        return quantiles
    others = column[column != values[top]]
    inner = np.quantile(others, np.linspace(0.0, 1.0, n_bins))
    return np.append(inner, values[top])


class PiecewiseLinearEncoding(nn.Module):
    """Map each binned column to one value in [0, 1] per bin it has.

    Columns without edges are left out of the output. A column keeps at most
    ``n_bins`` bins; one whose quantiles coincide (a count with few distinct
    values) has fewer and takes only as many outputs, so no output is a constant
    0 that the first layer would multiply for nothing.

    With ``keep_inputs`` the output starts with every input column unchanged,
    ``len(edges)`` of them, and the bins follow: one gather then builds the whole
    first-layer input, where a concatenation would copy it once more.
    """

    def __init__(
        self, edges: list[np.ndarray], n_bins: int, keep_inputs: bool = False
    ) -> None:
        super().__init__()
        self.n_kept = len(edges) if keep_inputs else 0
        # A kept input is an unbounded "bin" with lower edge 0 and width 1.
        columns: list[int] = list(range(self.n_kept))
        lower: list[np.ndarray] = [np.zeros(self.n_kept, np.float32)]
        inverse_width: list[np.ndarray] = [np.ones(self.n_kept, np.float32)]
        for j, column_edges in enumerate(edges):
            if column_edges.size < 3:
                continue
            capped_edges = np.unique(column_edges[: n_bins + 1].astype(np.float32))
            if capped_edges.size < 3:
                continue
            columns += [j] * (capped_edges.size - 1)
            lower.append(capped_edges[:-1])
            inverse_width.append(1.0 / np.diff(capped_edges))
        self.register_buffer("columns", torch.tensor(columns, dtype=torch.long))
        self.register_buffer("lower", torch.from_numpy(np.concatenate(lower)))
        self.register_buffer(
            "inverse_width", torch.from_numpy(np.concatenate(inverse_width))
        )
        # (x - lower) * inverse_width as one multiply-add: x * inverse_width + shift.
        self.register_buffer("shift", -self.lower * self.inverse_width)

    @property
    def n_outputs(self) -> int:
        return self.lower.numel()

    def forward(self, numeric: torch.Tensor) -> torch.Tensor:
        if self.n_outputs == 0:
            return numeric[:, :0]
        # The inputs and bins need no gradient, so the steps can work in place.
        position = torch.index_select(numeric, 1, self.columns)
        torch.addcmul(self.shift, position, self.inverse_width, out=position)
        position[:, self.n_kept :].clamp_(0.0, 1.0)
        return position
