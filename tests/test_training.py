import numpy as np
import pytest
import torch
from torch.nn import functional

from mtl_core.errors import MtlError
from mtl_core.network import FastDropout, SharedTrunkNet, TaskHeads
from mtl_core.optimiser import FusedAdamW
from mtl_core.tasks import Task
from mtl_core.training import (
    NetInputs,
    TaskLosses,
    TrainSettings,
    _mean_state,
    _new_optimiser,
    _shuffled_batches,
    fit_network,
    parameter_groups,
    start_at_label_shares,
    weighted_labels,
)


def _tasks():
    return [
        Task("a", "a", "binary", ["0", "1"], np.zeros(1)),
        Task("b", "b", "regression", None, np.zeros(1)),
    ]


def _inputs(n_rows, labels, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return NetInputs(
        numeric=torch.randn(n_rows, 4, generator=generator),
        categorical=torch.randint(0, 3, (n_rows, 1), generator=generator),
        labels=torch.tensor(labels, dtype=torch.float32),
    )


def _settings(max_epochs: int, batch_size: int, seed: int) -> TrainSettings:
    return TrainSettings(
        max_epochs=max_epochs,
        patience=5,
        batch_size=batch_size,
        learning_rate=0.01,
        seed=seed,
    )


def _net():
    torch.manual_seed(0)
    return SharedTrunkNet(4, [3], [1, 1], hidden_sizes=(8,), head_size=4, dropout=0.0)


def test_masked_task_gives_its_head_no_gradient():
    net = _net()
    data = _inputs(3, [[np.nan, 1.0], [np.nan, -0.5], [np.nan, 0.2]])
    outputs = net.joined_outputs(data.numeric, data.categorical)
    loss = TaskLosses(_tasks())(outputs, data.labels)
    loss.backward()
    head_a = [g.abs().sum() for g in net.heads.gradients_of(0)]
    head_b = [g.abs().sum() for g in net.heads.gradients_of(1)]
    trunk = [
        p.grad.abs().sum()
        for name, p in net.named_parameters()
        if not name.startswith("heads.")
    ]
    assert all(float(g) == 0.0 for g in head_a)
    assert any(float(g) > 0.0 for g in head_b)
    assert any(float(g) > 0.0 for g in trunk)


def test_row_missing_one_label_trains_other_head():
    # Every row lacks task a's label; training must still move task b's head.
    net = _net()
    before = [p.detach().clone() for p in net.heads.parameters_of(1)]
    labels = np.column_stack([np.full(64, np.nan), np.linspace(-1, 1, 64)])
    settings = _settings(max_epochs=2, batch_size=16, seed=0)
    fit_network(
        net,
        _tasks(),
        _inputs(64, labels),
        _inputs(16, labels[:16], 1),
        settings,
        torch.device("cpu"),
    )
    after = net.heads.parameters_of(1)
    assert any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))


def test_fit_repeats_exactly_with_seed():
    labels = np.column_stack([np.arange(64) % 2, np.linspace(-1, 1, 64)])
    settings = _settings(max_epochs=3, batch_size=16, seed=3)
    weights = []
    for _ in range(2):
        net = _net()
        fit_network(
            net,
            _tasks(),
            _inputs(64, labels),
            _inputs(16, labels[:16], 1),
            settings,
            torch.device("cpu"),
        )
        weights.append(torch.cat([p.flatten() for p in net.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_early_stopping_and_cancel():
    labels = np.column_stack([np.arange(64) % 2, np.linspace(-1, 1, 64)])
    settings = TrainSettings(
        max_epochs=50, patience=2, batch_size=16, learning_rate=0.01, seed=0
    )
    seen = []

    def stop_at_second(report):
        seen.append(report.epoch)
        return report.epoch < 2

    import pytest

    from mtl_core.errors import RunCancelled

    with pytest.raises(RunCancelled):
        fit_network(
            _net(),
            _tasks(),
            _inputs(64, labels),
            _inputs(16, labels[:16], 1),
            settings,
            torch.device("cpu"),
            stop_at_second,
        )
    assert seen == [1, 2]


def test_patience_spans_at_most_its_rows():
    settings = TrainSettings(
        max_epochs=30,
        patience=5,
        batch_size=1024,
        learning_rate=0.01,
        seed=0,
        patience_rows=200_000,
    )
    assert settings.patience_for(31_000) == 5
    assert settings.patience_for(70_000) == 3
    assert settings.patience_for(1_000_000) == 2
    one_epoch = TrainSettings(30, 1, 1024, 0.01, 0, patience_rows=10)
    assert one_epoch.patience_for(1_000_000) == 1
    assert TrainSettings(30, 5, 1024, 0.01, 0).patience_for(1_000_000) == 5


def test_large_epochs_stop_after_fewer_epochs():
    """With a learning rate of 0 only epoch 1 is a best, so a fit runs 1 + patience."""
    labels = np.column_stack([np.arange(64) % 2, np.linspace(-1, 1, 64)])
    settings = TrainSettings(
        max_epochs=30,
        patience=5,
        batch_size=16,
        learning_rate=0.0,
        seed=0,
        patience_rows=128,
    )
    train, val = _inputs(64, labels), _inputs(16, labels[:16], 1)
    every_row = fit_network(_net(), _tasks(), train, val, settings, torch.device("cpu"))
    assert (every_row.epochs_run, every_row.stop_reason) == (
        3,
        "early stop: no better validation loss for 2 epochs",
    )
    half = fit_network(
        _net(),
        _tasks(),
        train,
        val,
        settings,
        torch.device("cpu"),
        train_rows=torch.arange(32),
    )
    assert half.epochs_run == 5


def test_heads_stay_block_diagonal_in_training():
    net = SharedTrunkNet(4, [3], [1, 3, 1], hidden_sizes=(8,), head_size=4)
    tasks = [
        Task("a", "a", "binary", ["0", "1"], np.zeros(1)),
        Task("b", "b", "multiclass", ["x", "y", "z"], np.zeros(1)),
        Task("c", "c", "regression", None, np.zeros(1)),
    ]
    labels = np.column_stack([np.arange(64) % 2, np.arange(64) % 3, np.ones(64)])
    settings = _settings(max_epochs=2, batch_size=16, seed=0)

    fit_network(
        net,
        tasks,
        _inputs(64, labels),
        _inputs(16, labels[:16], 1),
        settings,
        torch.device("cpu"),
    )

    weight = net.heads.output.weight.detach()
    assert torch.all(weight[net.heads.block_mask == 0] == 0)
    assert torch.all(weight[net.heads.block_mask == 1] != 0)


def test_head_output_uses_own_units_only():
    torch.manual_seed(0)
    heads = TaskHeads(5, 4, [1, 2])
    shared = torch.randn(3, 5)

    outputs = heads.split(heads(shared))

    for index, output in enumerate(outputs):
        hidden_weight, hidden_bias, output_weight, output_bias = heads.parameters_of(
            index
        )
        hidden = torch.relu(shared @ hidden_weight.T + hidden_bias)
        expected = hidden @ output_weight.T + output_bias
        torch.testing.assert_close(output, expected)


def test_train_rows_match_a_copied_subset():
    labels = np.column_stack([np.arange(64) % 2, np.linspace(-1, 1, 64)])
    labels[::3, 0] = np.nan
    data = _inputs(64, labels)
    val = _inputs(16, labels[:16], 1)
    rows = torch.arange(0, 64, 2)
    subset = NetInputs(data.numeric[rows], data.categorical[rows], data.labels[rows])
    settings = _settings(max_epochs=2, batch_size=8, seed=0)
    device = torch.device("cpu")

    by_positions, copied = _net(), _net()
    fit_network(by_positions, _tasks(), data, val, settings, device, train_rows=rows)
    fit_network(copied, _tasks(), subset, val, settings, device)

    for name, weight in by_positions.state_dict().items():
        assert torch.equal(weight, copied.state_dict()[name]), name


def test_batches_reuse_one_buffer():
    data = _inputs(300, np.arange(600, dtype=float).reshape(300, 2))
    order = torch.randperm(300, generator=torch.Generator().manual_seed(3))
    pointers, numeric, labels = set(), [], []

    # 300 rows in batches of 4, gathered 32 batches (128 rows) at a time.
    for batch in _shuffled_batches(data, order, 4, torch.device("cpu")):
        pointers.add(batch.numeric.untyped_storage().data_ptr())
        numeric.append(batch.numeric.clone())
        labels.append(batch.labels.clone())

    assert torch.equal(torch.cat(numeric), data.numeric[order])
    assert torch.equal(torch.cat(labels), data.labels[order])
    assert len(pointers) == 1


def test_dropout_mask_rate_and_scale():
    dropout = FastDropout(0.1)
    inputs = torch.ones(2000, 100, requires_grad=True)

    torch.manual_seed(0)
    outputs = dropout(inputs)
    outputs.sum().backward()

    nonzero = outputs != 0
    assert 0.09 < 1 - nonzero.float().mean().item() < 0.11
    assert torch.all(outputs[nonzero] == torch.tensor(1 / 0.9))
    assert torch.equal(inputs.grad, outputs.detach())
    torch.manual_seed(0)
    assert torch.equal(dropout(inputs), outputs)
    assert dropout.eval()(inputs) is inputs


def _noisy_inputs(n_rows: int, seed: int) -> NetInputs:
    """Rows whose labels follow the first numeric input plus noise."""
    inputs = _inputs(n_rows, np.zeros((n_rows, 2)), seed)
    noise = np.random.default_rng(seed).normal(size=(n_rows, 2))
    signal = inputs.numeric[:, :1].numpy() + noise
    labels = np.column_stack([signal[:, 0] > 0, signal[:, 1]]).astype(np.float32)
    inputs.labels = torch.from_numpy(labels)
    return inputs


def _fit_with_averaging(averaged_epochs: int):
    settings = TrainSettings(
        max_epochs=8,
        patience=8,
        batch_size=16,
        learning_rate=0.1,  # large steps, so epochs land around the optimum
        seed=0,
        averaged_epochs=averaged_epochs,
    )
    net = _net()
    val = _noisy_inputs(48, 1)
    result = fit_network(
        net, _tasks(), _noisy_inputs(96, 0), val, settings, torch.device("cpu")
    )
    with torch.no_grad():
        outputs = net.joined_outputs(val.numeric, val.categorical)
    return result, float(TaskLosses(_tasks())(outputs, val.labels))


def test_averaged_weights_lower_validation_loss():
    best_only, best_loss = _fit_with_averaging(0)
    averaged, averaged_loss = _fit_with_averaging(3)

    # The same training run: averaging only changes the weights kept at the end.
    assert best_only.curve == averaged.curve
    assert best_only.averaged_epochs == [best_only.best_epoch]
    assert best_loss == pytest.approx(min(best_only.curve["val_loss"]), rel=1e-5)
    assert averaged.averaged_epochs[0] == averaged.best_epoch
    assert len(averaged.averaged_epochs) > 1
    assert averaged_loss < best_loss


def test_average_is_the_mean_of_epoch_weights():
    net = _net()
    states = []
    for scale in (1.0, 3.0):
        with torch.no_grad():
            for parameter in net.parameters():
                parameter.fill_(scale)
        states.append({k: v.clone() for k, v in net.state_dict().items()})

    mean = _mean_state(states)

    weight = mean["heads.hidden.weight"]
    assert torch.equal(weight, torch.full_like(weight, 2.0))
    assert torch.equal(mean["encoding.columns"], states[0]["encoding.columns"])


def test_decay_shrinks_only_weight_matrices():
    net = SharedTrunkNet(4, [3, 5], [1, 3], hidden_sizes=(8,), head_size=4)
    optimiser = _new_optimiser(
        net,
        TrainSettings(
            max_epochs=1,
            patience=1,
            batch_size=8,
            learning_rate=0.1,
            seed=0,
            weight_decay=1.0,
        ),
        torch.device("cpu"),
    )
    before = {name: value.detach().clone() for name, value in net.named_parameters()}
    # With zero gradients AdamW's step is its decay alone: p * (1 - lr * decay).
    for parameter in net.parameters():
        parameter.grad = torch.zeros_like(parameter)
    optimiser.step()

    matrices = [name for name, value in net.named_parameters() if value.ndim >= 2]
    vectors = [name for name, value in net.named_parameters() if value.ndim < 2]
    assert "embeddings.weight" in vectors
    assert any(name.endswith("bias") for name in vectors)
    assert len(matrices) >= 3
    for name, value in net.named_parameters():
        expected = before[name] * 0.9 if name in matrices else before[name]
        assert torch.allclose(value, expected), name


def test_fused_steps_match_torch_adamw():
    nets = [_net(), _net()]
    groups = [parameter_groups(net) for net in nets]
    optimisers = [
        FusedAdamW(groups[0], lr=0.01, weight_decay=0.5),
        torch.optim.AdamW(groups[1], lr=0.01, weight_decay=0.5, fused=True),
    ]
    generator = torch.Generator().manual_seed(0)
    for step in range(4):
        gradients = [
            torch.randn(p.shape, generator=generator) for p in nets[0].parameters()
        ]
        for net, optimiser in zip(nets, optimisers, strict=True):
            for parameter, gradient in zip(net.parameters(), gradients, strict=True):
                # In step 2 one parameter has no gradient, as torch allows.
                parameter.grad = None if step == 2 and parameter.ndim == 1 else gradient
            optimiser.step()
    for fused, reference in zip(
        nets[0].parameters(), nets[1].parameters(), strict=True
    ):
        assert torch.equal(fused, reference)
        fused_steps = optimisers[0].state[fused]["step"]
        assert torch.equal(fused_steps, optimisers[1].state[reference]["step"])


def test_fused_step_skips_hook_wrapper():
    net = _net()
    optimiser = FusedAdamW(parameter_groups(net), lr=0.01, weight_decay=0.5)
    for parameter in net.parameters():
        parameter.grad = torch.ones_like(parameter)
    optimiser.step()

    with torch.profiler.profile() as profile:
        optimiser.step()

    names = [event.name for event in profile.events()]
    assert "aten::_fused_adamw_" in names
    assert not any(name.startswith("Optimizer.step") for name in names)


def test_chunk_weights_match_batch_weights():
    labels = torch.tensor(
        [[1, 0], [np.nan, 1], [0, np.nan], [np.nan, np.nan], [1, 1], [0, 0], [1, 2]],
        dtype=torch.float32,
    )

    chunk = weighted_labels(labels, batch_size=3)

    for start in range(0, len(labels), 3):
        batch = weighted_labels(labels[start : start + 3])
        part = chunk[start : start + 3]
        assert torch.equal(part.weights, batch.weights)
        assert torch.equal(part.filled, batch.filled)
    assert chunk.weights[6].tolist() == [1.0, 1.0]  # a last batch of one row
    assert chunk.weights[3].tolist() == [0.0, 0.0]  # both labels missing


def test_joined_losses_match_per_head():
    tasks = [
        Task("a", "a", "binary", ["0", "1"], np.zeros(1)),
        Task("b", "b", "multiclass", ["x", "y", "z"], np.zeros(1)),
        Task("c", "c", "regression", None, np.zeros(1)),
        Task("d", "d", "binary", ["0", "1"], np.zeros(1)),
    ]
    torch.manual_seed(0)
    net = SharedTrunkNet(
        4, [3], [1, 3, 1, 1], hidden_sizes=(8,), head_size=4, dropout=0.0
    )
    data = _inputs(
        32,
        np.column_stack(
            [
                np.arange(32) % 2,
                np.arange(32) % 3,
                np.linspace(-1, 1, 32),
                np.arange(32) % 2,
            ]
        ),
    )
    data.labels[::5, 1] = float("nan")
    known = ~data.labels[:, 1].isnan()
    losses = TaskLosses(tasks)

    joined = losses.per_task_tensor(
        net.joined_outputs(data.numeric, data.categorical), data.labels
    )
    per_head = net(data.numeric, data.categorical)
    expected = [
        functional.binary_cross_entropy_with_logits(
            per_head[0][:, 0], data.labels[:, 0]
        ),
        functional.cross_entropy(per_head[1][known], data.labels[known, 1].long()),
        functional.mse_loss(per_head[2][:, 0], data.labels[:, 2]),
        functional.binary_cross_entropy_with_logits(
            per_head[3][:, 0], data.labels[:, 3]
        ),
    ]
    assert torch.allclose(joined, torch.stack(expected))


def test_loss_not_finite_keeps_best_epoch():
    net = _net()
    labels = np.column_stack([np.tile([0.0, 1.0], 32), np.linspace(-1, 1, 64)])
    data = _inputs(64, labels)
    val = _inputs(32, labels[:32], seed=1)

    def poison_after_epoch_two(report):
        if report.epoch == 2:
            with torch.no_grad():
                next(net.parameters()).fill_(float("nan"))

    result = fit_network(
        net,
        _tasks(),
        data,
        val,
        _settings(max_epochs=10, batch_size=16, seed=0),
        torch.device("cpu"),
        poison_after_epoch_two,
    )
    assert result.epochs_run == 3
    assert "not a finite number in epoch 3" in result.stop_reason
    assert result.best_epoch in (1, 2)
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_loss_not_finite_in_first_epoch_raises():
    net = _net()
    labels = np.column_stack([np.tile([0.0, 1.0], 32), np.linspace(-1, 1, 64)])
    data = _inputs(64, labels)
    data.numeric[5, 0] = float("inf")
    with pytest.raises(MtlError, match="not a finite number in its first epoch"):
        fit_network(
            net,
            _tasks(),
            data,
            _inputs(32, labels[:32], seed=1),
            _settings(max_epochs=3, batch_size=16, seed=0),
            torch.device("cpu"),
        )


def test_heads_start_at_their_label_shares():
    torch.manual_seed(0)
    net = SharedTrunkNet(
        4, [3], [1, 3, 1, 1], hidden_sizes=(8,), head_size=4, dropout=0.0
    )
    tasks = [
        Task("a", "a", "binary", ["0", "1"], np.zeros(1)),
        Task("b", "b", "multiclass", ["x", "y", "z"], np.zeros(1)),
        Task("c", "c", "regression", None, np.zeros(1)),
        Task("d", "d", "binary", ["0", "1"], np.zeros(1)),
    ]
    labels = torch.tensor(
        [
            [1.0, 0.0, 0.3, 0.0],
            [0.0, 0.0, -1.2, 0.0],
            [0.0, 1.0, np.nan, 0.0],
            [0.0, 0.0, 0.9, np.nan],
            [np.nan, 1.0, 0.0, 0.0],
        ]
    )
    regression_bias = net.heads.output.bias[4].item()

    start_at_label_shares(net, tasks, labels)

    bias = net.heads.output.bias.detach()
    # 1 positive among 4 labelled rows; the missing label is not counted.
    assert torch.sigmoid(bias[0]).item() == pytest.approx(0.25)
    # Classes x, y, z seen 3, 2 and 0 times, one row added to each: 4/8, 3/8, 1/8.
    shares = torch.softmax(bias[1:4], dim=0)
    assert shares.tolist() == pytest.approx([0.5, 0.375, 0.125])
    assert bias[4].item() == regression_bias
    # A task with no positive row gets a finite bias at the clipped share.
    assert torch.sigmoid(bias[5]).item() == pytest.approx(1e-4, rel=1e-3)
