"""Categorical embeddings looked up from one flat parameter."""

import pytest
import torch

from mtl_core.category_embedding import CategoryEmbeddings, embedding_size
from mtl_core.network import SharedTrunkNet


def _expected_lookup(embeddings, cardinalities, codes):
    widths = [embedding_size(size) for size in cardinalities]
    tables = embeddings.weight.detach().split(
        [size * width for size, width in zip(cardinalities, widths, strict=True)]
    )
    return torch.cat(
        [
            table.view(size, width)[codes[:, j].long()]
            for j, (table, size, width) in enumerate(
                zip(tables, cardinalities, widths, strict=True)
            )
        ],
        dim=1,
    )


def test_each_column_reads_its_own_table():
    cardinalities = [3, 40]
    embeddings = CategoryEmbeddings(cardinalities)
    codes = torch.tensor([[0, 39], [2, 5], [1, 0]], dtype=torch.int32)

    looked_up = embeddings(codes)

    widths = [embedding_size(size) for size in cardinalities]
    assert looked_up.shape == (3, sum(widths))
    assert torch.equal(looked_up, _expected_lookup(embeddings, cardinalities, codes))


def test_gradient_only_reaches_used_rows():
    embeddings = CategoryEmbeddings([4, 4])
    codes = torch.tensor([[1, 3], [1, 0]], dtype=torch.int32)

    embeddings(codes).sum().backward()

    width = embedding_size(4)
    gradient = embeddings.weight.grad.view(2, 4, width)
    # Code 1 of the first column appears twice, codes 3 and 0 of the second once.
    assert torch.equal(gradient[0, :, 0], torch.tensor([0.0, 2.0, 0.0, 0.0]))
    assert torch.equal(gradient[1, :, 0], torch.tensor([1.0, 0.0, 0.0, 1.0]))


def test_no_columns_gives_an_empty_output():
    embeddings = CategoryEmbeddings([])

    looked_up = embeddings(torch.zeros((5, 0), dtype=torch.int32))

    assert looked_up.shape == (5, 0)


@pytest.mark.parametrize(
    ("n_numeric", "cardinalities"),
    [(0, [3, 5]), (3, []), (0, []), (2, [4])],
)
def test_network_trains_with_any_feature_mix(n_numeric, cardinalities):
    net = SharedTrunkNet(n_numeric, cardinalities, [1, 3], hidden_sizes=(8,))
    numeric = torch.randn(6, n_numeric)
    categorical = torch.zeros((6, len(cardinalities)), dtype=torch.int32)

    outputs = net(numeric, categorical)
    sum(output.sum() for output in outputs).backward()

    assert [output.shape for output in outputs] == [(6, 1), (6, 3)]
    # An empty embedding table (no categorical columns) takes no part.
    assert all(p.grad is not None for p in net.parameters() if p.numel())


def test_int16_codes_match_int32():
    # The preprocessor stores codes as int16; the lookup must read them alike.
    embeddings = CategoryEmbeddings([3, 1001])
    codes = torch.tensor([[0, 1000], [2, 5], [1, 0]], dtype=torch.int32)

    assert torch.equal(embeddings(codes.to(torch.int16)), embeddings(codes))


def test_positions_exact_past_float32_integers():
    # 2 x 2 + 1,048,577 x 16 entries: positions past 2**24, where float32 skips
    # odd integers, so the lookup must not compute them in float32.
    cardinalities = [2, 2**20 + 1]
    embeddings = CategoryEmbeddings(cardinalities)
    assert embeddings.weight.numel() > 2**24
    codes = torch.tensor([[1, 2**20], [0, 2**20 - 1], [1, 7]], dtype=torch.int32)

    looked_up = embeddings(codes)

    assert torch.equal(looked_up, _expected_lookup(embeddings, cardinalities, codes))


def test_wide_table_positions_by_gather():
    # Past 64 columns the positions are gathered, not multiplied out.
    cardinalities = [3 + j % 40 for j in range(70)]
    embeddings = CategoryEmbeddings(cardinalities)
    generator = torch.Generator().manual_seed(0)
    codes = torch.stack(
        [torch.randint(0, size, (5,), generator=generator) for size in cardinalities],
        dim=1,
    ).to(torch.int16)

    looked_up = embeddings(codes)

    assert not embeddings.use_product
    assert torch.equal(looked_up, _expected_lookup(embeddings, cardinalities, codes))
