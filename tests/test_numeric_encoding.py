"""Quantile bins and the piecewise-linear encoding of numeric inputs."""

import numpy as np
import torch

from mtl_core.network import SharedTrunkNet
from mtl_core.numeric_encoding import PiecewiseLinearEncoding, quantile_edges


def test_edges_skip_flags_and_constants():
    rng = np.random.default_rng(0)
    numeric = np.column_stack(
        [rng.normal(size=1000), rng.integers(0, 2, 1000), np.full(1000, 3.0)]
    ).astype(np.float32)

    edges = quantile_edges(numeric, 4)

    assert edges[0].size == 5
    assert np.all(np.diff(edges[0]) > 0)
    assert edges[1].size == 0
    assert edges[2].size == 0


def test_edges_merge_repeated_quantiles():
    numeric = np.repeat([0.0, 1.0, 2.0, 5.0], [700, 100, 100, 100])[:, None]

    edges = quantile_edges(numeric.astype(np.float32), 8)

    assert list(edges[0]) == [0.0, 1.0, 2.0, 5.0]


def test_edges_spread_past_a_common_value():
    # 82% of rows at -1 (never contacted), the rest spread over 1 to 400 days.
    rng = np.random.default_rng(0)
    column = np.concatenate([np.full(8200, -1.0), rng.uniform(1, 400, 1800)])

    (edges,) = quantile_edges(column[:, None].astype(np.float32), 16)

    # Plain quantiles would leave -1 and 3 bins above it.
    assert edges[0] == -1.0
    assert edges.size == 17
    assert edges[1] == np.float32(column[column > 0].min())
    assert edges[-1] == np.float32(column.max())


def test_edges_keep_quantiles_without_common_value():
    rng = np.random.default_rng(0)
    column = rng.normal(size=(2000, 1))

    (edges,) = quantile_edges(column, 8)

    expected = np.quantile(column[:, 0], np.linspace(0, 1, 9)).astype(np.float32)
    np.testing.assert_array_equal(edges, expected)


def test_encoding_inside_and_outside_bins():
    edges = [np.array([0.0, 1.0, 3.0], np.float32)]
    encoding = PiecewiseLinearEncoding(edges, n_bins=4)
    numeric = torch.tensor([[-1.0], [0.5], [2.0], [9.0]])

    encoded = encoding(numeric)

    # Two bins, [0, 1] and [1, 3]: the column has fewer edges than n_bins allows.
    expected = [[0.0, 0.0], [0.5, 0.0], [1.0, 0.5], [1.0, 1.0]]
    np.testing.assert_allclose(encoded.numpy(), expected)


def test_encoding_outputs_per_column_bins():
    edges = [
        np.array([0.0, 1.0, 2.0], np.float32),
        np.array([0.0, 10.0, 20.0, 30.0, 40.0], np.float32),
        np.array([5.0, 6.0, 7.0, 8.0], np.float32),
    ]
    encoding = PiecewiseLinearEncoding(edges, n_bins=3)

    encoded = encoding(torch.tensor([[1.5, 35.0, 6.5]]))

    # 2 bins, then 3 of the 4 bins (n_bins caps them), then 3 bins.
    assert encoding.n_outputs == 8
    np.testing.assert_allclose(
        encoded.numpy(), [[1.0, 0.5, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0]]
    )


def test_encoding_leaves_out_columns_without_edges():
    edges = [np.empty(0, np.float32), np.array([0.0, 1.0, 2.0], np.float32)]
    encoding = PiecewiseLinearEncoding(edges, n_bins=2)

    encoded = encoding(torch.tensor([[100.0, 1.5]]))

    assert encoding.n_outputs == 2
    np.testing.assert_allclose(encoded.numpy(), [[1.0, 0.5]])


def test_network_input_grows_by_the_encoding():
    edges = [np.array([0.0, 1.0, 2.0, 4.0], np.float32), np.empty(0, np.float32)]
    plain = SharedTrunkNet(2, [], [1], hidden_sizes=(8,), head_size=4)
    binned = SharedTrunkNet(
        2, [], [1], hidden_sizes=(8,), head_size=4, numeric_edges=edges, numeric_bins=3
    )

    assert plain.numeric_layer.in_features == 2
    assert binned.numeric_layer.in_features == 2 + 3
    outputs = binned(torch.tensor([[0.5, 1.0], [3.0, 0.0]]), torch.zeros(2, 0).long())
    assert outputs[0].shape == (2, 1)


def test_bins_stay_with_the_network_state():
    edges = [np.array([0.0, 1.0, 2.0], np.float32)]
    net = SharedTrunkNet(1, [], [1], numeric_edges=edges, numeric_bins=2)

    state = net.state_dict()

    # The kept input first (lower 0, width 1), then the two bins.
    assert state["encoding.lower"].tolist() == [0.0, 0.0, 1.0]
    assert state["encoding.inverse_width"].tolist() == [1.0, 1.0, 1.0]


def test_kept_inputs_come_first_unchanged():
    edges = [np.empty(0, np.float32), np.array([0.0, 1.0, 3.0], np.float32)]
    encoding = PiecewiseLinearEncoding(edges, n_bins=4, keep_inputs=True)
    numeric = torch.tensor([[-7.5, 2.0], [100.0, -1.0]])

    encoded = encoding(numeric)

    # Both inputs as they are, unclamped, then the second column's two bins.
    assert encoding.n_outputs == 4
    np.testing.assert_allclose(
        encoded.numpy(), [[-7.5, 2.0, 1.0, 0.5], [100.0, -1.0, 0.0, 0.0]]
    )


def test_edges_distinct_in_float32():
    # Quantiles 1e-8 apart are distinct as float64 and equal as float32.
    rng = np.random.default_rng(0)
    column = np.concatenate(
        [np.full(30, 1.0), 1.0 + rng.uniform(0, 1e-7, 40), np.linspace(2, 3, 30)]
    )
    (edges,) = quantile_edges(column[:, None], 8)
    assert edges.dtype == np.float32
    assert np.all(np.diff(edges) > 0)
    encoding = PiecewiseLinearEncoding([edges], 8)
    assert torch.isfinite(encoding(torch.from_numpy(column[:, None]).float())).all()


def test_encoding_drops_zero_width_bins():
    edges = np.array([0.0, 1.0, 1.0 + 1e-12, 2.0])  # one float32 value twice
    encoding = PiecewiseLinearEncoding([edges], 8)
    assert encoding.n_outputs == 2
    assert torch.isfinite(encoding.inverse_width).all()
