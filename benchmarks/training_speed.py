"""Training speed: the shared network against T single-task networks, T LightGBM
models and the matrix-multiply speed of this CPU.

Every model is trained with the same functions `mtl_core.compare.run_comparison`
uses (`fit_network`, `fit_lightgbm`) on the same preprocessed rows, so the timings
leave out loading, feature selection and scoring, which both sides share.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from benchmarks.synthetic import make_campaign_frame, task_names
from mtl_core.compare import new_network
from mtl_core.config import CompareConfig
from mtl_core.feature_selection import select_features
from mtl_core.gradient_boosting import bin_features, fit_lightgbm
from mtl_core.network import SharedTrunkNet
from mtl_core.numeric_encoding import quantile_edges
from mtl_core.preprocessing import FeatureMatrices, FeaturePreprocessor
from mtl_core.split import split_rows
from mtl_core.tasks import Task, TaskSpec, resolve_tasks
from mtl_core.training import (
    EVAL_BATCH,
    NetInputs,
    TrainSettings,
    auto_batch_size,
    fit_network,
    start_at_label_shares,
)

logger = logging.getLogger(__name__)

_DEVICE = torch.device("cpu")


@dataclass
class PreparedData:
    """Preprocessed synthetic rows with up to ``max_tasks`` binary tasks."""

    n_rows: int
    tasks: list[Task]
    preprocessor: FeaturePreprocessor
    train: NetInputs
    val: NetInputs
    raw_train: np.ndarray
    raw_val: np.ndarray
    categorical_positions: list[int]
    defaults: CompareConfig
    numeric_edges: list[np.ndarray]

    @property
    def n_train(self) -> int:
        return len(self.train)


@dataclass
class FitTiming:
    """Wall-clock seconds of one fit and the duration of each of its epochs."""

    seconds: float
    epoch_seconds: list[float] = field(default_factory=list)


def prepare(
    n_rows: int, max_tasks: int, seed: int = 0, threads: int | None = None
) -> PreparedData:
    """Make a synthetic table and preprocess it as a comparison run would.

    ``threads`` goes into the run's config, where LightGBM reads it.
    """
    frame = make_campaign_frame(n_rows, max_tasks, seed=seed)
    specs = tuple(TaskSpec(name) for name in task_names(max_tasks))
    defaults = CompareConfig(targets=specs, seed=seed, threads=threads)
    tasks, _ = resolve_tasks(frame, list(specs))
    selection = select_features(frame, tasks)
    split = split_rows(
        tasks, len(frame), defaults.test_fraction, defaults.val_fraction, seed
    )
    preprocessor = FeaturePreprocessor(selection.roles).fit(frame, split.train)
    train = preprocessor.transform(frame, split.train)
    val = preprocessor.transform(frame, split.val)
    n_numeric_sources = len(preprocessor.numeric_columns_)
    n_categorical = len(preprocessor.categorical_columns)
    return PreparedData(
        n_rows=n_rows,
        tasks=tasks,
        preprocessor=preprocessor,
        train=_inputs(train, tasks, split.train),
        val=_inputs(val, tasks, split.val),
        raw_train=train.raw,
        raw_val=val.raw,
        categorical_positions=list(
            range(n_numeric_sources, n_numeric_sources + n_categorical)
        ),
        defaults=defaults,
        numeric_edges=quantile_edges(train.numeric, defaults.numeric_bins),
    )


def _inputs(
    matrices: FeatureMatrices, tasks: list[Task], rows: np.ndarray
) -> NetInputs:
    labels = np.column_stack([task.labels[rows] for task in tasks]).astype(np.float32)
    return NetInputs(
        numeric=torch.from_numpy(matrices.numeric),
        categorical=torch.from_numpy(matrices.categorical),
        labels=torch.from_numpy(labels),
    )


def new_net(data: PreparedData, n_heads: int) -> SharedTrunkNet:
    """Build the network compare.py builds, with the library's default sizes."""
    config = data.defaults
    torch.manual_seed(config.seed)
    return new_network(data.preprocessor, [1] * n_heads, config, data.numeric_edges)


def train_settings(
    data: PreparedData, max_epochs: int, patience: int | None = None
) -> TrainSettings:
    """Training settings of a run; ``patience=None`` turns early stopping off."""
    config = data.defaults
    return TrainSettings(
        max_epochs=max_epochs,
        patience=patience if patience is not None else max_epochs,
        batch_size=auto_batch_size(data.n_train),
        learning_rate=config.learning_rate,
        seed=config.seed,
        weight_decay=config.weight_decay,
        averaged_epochs=config.averaged_epochs,
        patience_rows=config.patience_rows if patience is not None else None,
    )


def fit_shared(data: PreparedData, n_tasks: int, settings: TrainSettings) -> FitTiming:
    """Train one shared network on the first ``n_tasks`` tasks."""
    columns = slice(0, n_tasks)
    train = NetInputs(
        data.train.numeric, data.train.categorical, data.train.labels[:, columns]
    )
    val = NetInputs(data.val.numeric, data.val.categorical, data.val.labels[:, columns])
    net = new_net(data, n_tasks)
    start_at_label_shares(net, data.tasks[:n_tasks], train.labels)
    return _timed_fit(net, data.tasks[:n_tasks], train, val, settings)


def fit_single(
    data: PreparedData, task_index: int, settings: TrainSettings
) -> FitTiming:
    """Train one single-task network on the rows labelled for that task.

    compare.py trains each single-task network on its task's labelled rows in the
    same way, by their positions.
    """
    column = slice(task_index, task_index + 1)
    train = NetInputs(
        data.train.numeric, data.train.categorical, data.train.labels[:, column]
    )
    labelled_rows = torch.nonzero(~torch.isnan(train.labels[:, 0])).flatten()
    val = NetInputs(data.val.numeric, data.val.categorical, data.val.labels[:, column])
    task = data.tasks[task_index]
    net = new_net(data, 1)
    start_at_label_shares(net, [task], train.labels)
    return _timed_fit(net, [task], train, val, settings, labelled_rows)


def _timed_fit(net, tasks, train, val, settings, train_rows=None) -> FitTiming:
    ends = [0.0]

    def on_epoch(report) -> None:
        ends.append(report.elapsed_s)

    result = fit_network(
        net, tasks, train, val, settings, _DEVICE, on_epoch, train_rows
    )
    epochs = [
        later - earlier for earlier, later in zip(ends[:-1], ends[1:], strict=True)
    ]
    return FitTiming(result.seconds, epochs)


def fit_lightgbm_models(data: PreparedData, n_tasks: int, shared_bins: bool) -> float:
    """Fit one LightGBM model per task with the library defaults; return the summed
    fit seconds.

    With ``shared_bins`` the features are binned once by ``bin_features`` and that
    time is added to the sum; otherwise each fit bins its own rows, as each
    ``fit_lightgbm`` call without ``binned`` does.
    """
    config = data.defaults
    labels_train = data.train.labels.numpy()
    labels_val = data.val.labels.numpy()
    total = 0.0
    binned = None
    if shared_bins:
        started = time.perf_counter()
        binned = bin_features(
            data.raw_train, data.categorical_positions, config.threads
        )
        total += time.perf_counter() - started
    for i, task in enumerate(data.tasks[:n_tasks]):
        model = fit_lightgbm(
            task,
            data.raw_train,
            labels_train[:, i],
            data.raw_val,
            labels_val[:, i],
            data.categorical_positions,
            seed=config.seed,
            max_rounds=config.lightgbm_rounds,
            threads=config.threads,
            binned=binned,
        )
        total += model.seconds
    return total


@dataclass
class SharedVsSeparate:
    """Timings of one table size and task count, over all repeats."""

    n_rows: int
    n_tasks: int
    epochs: int
    batch_size: int
    n_train: int
    shared: list[FitTiming]
    singles: list[list[FitTiming]]  # per repeat, per task

    @property
    def wall_ratio(self) -> float:
        """Median over repeats of shared fit seconds / summed single fit seconds."""
        ratios = [
            shared.seconds / sum(single.seconds for single in singles)
            for shared, singles in zip(self.shared, self.singles, strict=True)
        ]
        return statistics.median(ratios)

    @property
    def epoch_ratio(self) -> float:
        """Median shared epoch / sum over tasks of each task's median epoch.

        Medians over every epoch of every repeat; a burst of load from other
        processes then moves one epoch, not the figure.
        """
        shared = statistics.median(self.shared_epochs)
        separate = 0.0
        for task_index in range(self.n_tasks):
            epochs = [e for run in self.singles for e in run[task_index].epoch_seconds]
            separate += statistics.median(epochs)
        return shared / separate

    @property
    def shared_epochs(self) -> list[float]:
        return [e for run in self.shared for e in run.epoch_seconds]


def shared_vs_separate(
    data: PreparedData, n_tasks: int, epochs: int, repeats: int
) -> SharedVsSeparate:
    """Time the shared network and the T single-task networks, alternating per repeat.

    Early stopping is off, so every network trains exactly ``epochs`` epochs.
    """
    settings = train_settings(data, epochs)
    shared_runs, single_runs = [], []
    for repeat in range(repeats):
        shared_runs.append(fit_shared(data, n_tasks, settings))
        single_runs.append([fit_single(data, i, settings) for i in range(n_tasks)])
        logger.info(
            "%d rows, T=%d, repeat %d: shared %.2f s, singles %.2f s",
            data.n_rows,
            n_tasks,
            repeat + 1,
            shared_runs[-1].seconds,
            sum(single.seconds for single in single_runs[-1]),
        )
    return SharedVsSeparate(
        n_rows=data.n_rows,
        n_tasks=n_tasks,
        epochs=epochs,
        batch_size=settings.batch_size,
        n_train=data.n_train,
        shared=shared_runs,
        singles=single_runs,
    )


@dataclass
class AgainstLightgbm:
    """Shared network with default early stopping against T LightGBM models."""

    n_rows: int
    n_tasks: int
    shared_seconds: list[float]
    shared_epochs: list[int]
    lightgbm_seconds: list[float]  # features binned once for all tasks
    lightgbm_own_bins_seconds: list[float]  # each task's fit bins its own rows

    @property
    def ratio(self) -> float:
        """Median over repeats of shared seconds / summed LightGBM seconds."""
        return _median_ratio(self.shared_seconds, self.lightgbm_seconds)

    @property
    def ratio_own_bins(self) -> float:
        return _median_ratio(self.shared_seconds, self.lightgbm_own_bins_seconds)


def _median_ratio(numerators: list[float], denominators: list[float]) -> float:
    return statistics.median(
        top / bottom for top, bottom in zip(numerators, denominators, strict=True)
    )


def against_lightgbm(data: PreparedData, n_tasks: int, repeats: int) -> AgainstLightgbm:
    """Time the shared network and T LightGBM models, both with library defaults."""
    config = data.defaults
    settings = train_settings(data, config.max_epochs, config.patience)
    result = AgainstLightgbm(data.n_rows, n_tasks, [], [], [], [])
    for _ in range(repeats):
        timing = fit_shared(data, n_tasks, settings)
        result.shared_seconds.append(timing.seconds)
        result.shared_epochs.append(len(timing.epoch_seconds))
        result.lightgbm_seconds.append(
            fit_lightgbm_models(data, n_tasks, shared_bins=True)
        )
        result.lightgbm_own_bins_seconds.append(
            fit_lightgbm_models(data, n_tasks, shared_bins=False)
        )
    return result


@dataclass
class MatmulRate:
    """Seconds of the matrix products of one training step, at the net's shapes."""

    step_seconds: float
    step_flops: float

    @property
    def gflops(self) -> float:
        return self.step_flops / self.step_seconds / 1e9


def step_matmul_shapes(
    net: SharedTrunkNet, batch_size: int
) -> list[tuple[int, int, int]]:
    """Return (m, k, n) of every matrix product in one forward and backward pass.

    Each linear layer of width ``in -> out`` costs one forward product
    ``(batch x in) @ (in x out)`` and two backward products, for the input
    gradient and the weight gradient, so a step is 3x the forward FLOPs. The
    layer over the numeric inputs has no input gradient, because the inputs are
    data.
    """
    shapes = []
    for module in net.modules():
        if isinstance(module, torch.nn.Linear):
            fan_in, fan_out = module.in_features, module.out_features
            shapes.append((batch_size, fan_in, fan_out))  # forward
            if module is not net.numeric_layer:
                shapes.append((batch_size, fan_out, fan_in))  # input gradient
            shapes.append((fan_in, batch_size, fan_out))  # weight gradient
    return shapes


def forward_matmul_shapes(
    net: SharedTrunkNet, batch_size: int
) -> list[tuple[int, int, int]]:
    """Return (m, k, n) of every matrix product of one forward pass, as when
    the validation rows are scored."""
    return [
        (batch_size, module.in_features, module.out_features)
        for module in net.modules()
        if isinstance(module, torch.nn.Linear)
    ]


def measure_matmul(shapes: list[tuple[int, int, int]], repeats: int = 5) -> MatmulRate:
    """Time torch.matmul at each shape and add up the median times of one step."""
    generator = torch.Generator().manual_seed(0)
    total_seconds = 0.0
    total_flops = 0.0
    for m, k, n in shapes:
        left = torch.randn(m, k, generator=generator)
        right = torch.randn(k, n, generator=generator)
        calls = max(3, int(2e8 / (2 * m * k * n)))  # about 0.2 GFLOP per timing
        torch.matmul(left, right)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(calls):
                torch.matmul(left, right)
            times.append((time.perf_counter() - started) / calls)
        total_seconds += statistics.median(times)
        total_flops += 2.0 * m * k * n
    return MatmulRate(total_seconds, total_flops)


@dataclass
class HardwareUse:
    """Training throughput of the shared network against its FLOP-bound rate.

    The bound is the time the matrix products of one epoch take at the speed
    torch.matmul reaches at their shapes. They are those of every training step
    and those of the forward pass over the validation rows that ends the epoch.
    """

    n_rows: int
    n_tasks: int
    batch_size: int
    validation_rows: int
    rows_per_second: float
    allowed_rows_per_second: float
    matmul_gflops: float
    flops_per_row: float

    @property
    def ratio(self) -> float:
        return self.rows_per_second / self.allowed_rows_per_second


def hardware_use(data: PreparedData, timings: SharedVsSeparate) -> HardwareUse:
    """Compare the shared network's rows per second with what its FLOPs allow.

    Throughput is training rows over the median epoch, whose time includes the
    pass over the validation rows that ends each epoch, so the bound counts that
    pass's products too. FLOPs per row are the epoch's FLOPs over its training
    rows.
    """
    net = new_net(data, timings.n_tasks)
    step = measure_matmul(step_matmul_shapes(net, timings.batch_size))
    n_val = len(data.val)
    val_batch = max(1, min(EVAL_BATCH, n_val))
    scoring = measure_matmul(forward_matmul_shapes(net, val_batch))
    steps = timings.n_train / timings.batch_size
    passes = n_val / val_batch
    epoch_seconds = steps * step.step_seconds + passes * scoring.step_seconds
    epoch_flops = steps * step.step_flops + passes * scoring.step_flops
    observed = timings.n_train / statistics.median(timings.shared_epochs)
    return HardwareUse(
        n_rows=data.n_rows,
        n_tasks=timings.n_tasks,
        batch_size=timings.batch_size,
        validation_rows=n_val,
        rows_per_second=observed,
        allowed_rows_per_second=timings.n_train / epoch_seconds,
        matmul_gflops=epoch_flops / epoch_seconds / 1e9,
        flops_per_row=epoch_flops / timings.n_train,
    )
