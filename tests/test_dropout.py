from contextlib import nullcontext

import numpy as np
import torch

from mtl_core.dropout import FastDropout, pcg64_states, seeds_in_bulk


def test_pcg64_states_match_numpy():
    seeds = [0, 1, 2**32 - 1, 2**32, 2**62 - 1, 2**64 - 1]
    seeds += np.random.default_rng(0).integers(0, 2**62, 300).tolist()

    states = pcg64_states(seeds)

    for seed, (state, increment) in zip(seeds, states, strict=True):
        expected = np.random.PCG64(seed).state["state"]
        assert state == expected["state"], seed
        assert increment == expected["inc"], seed


def test_bulk_draw_matches_single_draws():
    torch.manual_seed(3)
    single = [int(torch.randint(0, 2**62, (1,))) for _ in range(70)]
    after_single = torch.get_rng_state()

    torch.manual_seed(3)
    bulk = torch.randint(0, 2**62, (70,)).tolist()

    assert bulk == single
    assert torch.equal(torch.get_rng_state(), after_single)


def _masks(layers, shapes, in_bulk):
    """Return the outputs of the layers called in turn on ones of ``shapes``,
    and torch's RNG state after them."""
    torch.manual_seed(7)
    net = torch.nn.Sequential(*layers)
    outputs = []
    with seeds_in_bulk(net) if in_bulk else nullcontext():
        for index, shape in enumerate(shapes):
            layer = layers[index % len(layers)]
            layer.train(index % 5 != 4)  # every fifth call in evaluation mode
            outputs.append(layer(torch.ones(shape)))
    return outputs, torch.get_rng_state()


def test_bulk_seeds_give_same_masks():
    layers = [FastDropout(0.1), FastDropout(0.3)]
    # 150 calls cross two bulk draws of 64 seeds, and the shapes vary.
    shapes = [(3 + index % 4, 8 + index % 3) for index in range(150)]

    expected, expected_state = _masks(layers, shapes, in_bulk=False)
    outputs, state = _masks(layers, shapes, in_bulk=True)

    for got, want in zip(outputs, expected, strict=True):
        assert torch.equal(got, want)
    assert torch.equal(state, expected_state)
    assert all(layer.seeds is None for layer in layers)
