"""Run a whole comparison: one shared multitask network against one network and one
LightGBM model per task, all on the same split, scored on the same test rows."""

from __future__ import annotations

import datetime
import logging
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import lightgbm
import numpy as np
import pandas as pd
import sklearn
import torch

from mtl_core.bootstrap import compare_sides
from mtl_core.class_counts import (
    one_class_caution,
    rare_class_caution,
    withhold_one_class_verdicts,
    withhold_thin_verdicts,
)
from mtl_core.config import CompareConfig
from mtl_core.errors import InputError, MtlError
from mtl_core.feature_selection import SOURCE_COLUMN, select_features
from mtl_core.gradient_boosting import bin_features, fit_lightgbm, predict_lightgbm
from mtl_core.memory_release import release_free_memory
from mtl_core.metrics import (
    HIGHER_IS_BETTER,
    PRIMARY_METRIC,
    predicted_labels,
    task_metrics,
)
from mtl_core.network import SharedTrunkNet
from mtl_core.numeric_encoding import quantile_edges
from mtl_core.preprocessing import FeatureMatrices, FeaturePreprocessor
from mtl_core.progress import ProgressCallback, ProgressTracker
from mtl_core.savings import compute_savings
from mtl_core.sides import SIDE_LABELS, SIDES
from mtl_core.split import (
    check_row_count,
    duplicate_groups,
    duplicate_rows_phrase,
    split_grouped_rows,
)
from mtl_core.tasks import (
    Task,
    in_column_order,
    resolve_tasks,
    single_target_warning,
)
from mtl_core.training import (
    NetInputs,
    TrainSettings,
    auto_batch_size,
    fit_network,
    predict_network,
    resolve_device,
    start_at_label_shares,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_LIGHTGBM_STAGE_WEIGHT = 0.3
_SCORING_STAGE_WEIGHT = 0.1
_RUN_LOCK = threading.Lock()


@dataclass
class LabelScale:
    """Standardisation of a regression target, fitted on training rows."""

    mean: float = 0.0
    std: float = 1.0

    def forward(self, values: np.ndarray) -> np.ndarray:
        return (values - self.mean) / self.std

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return values * self.std + self.mean


@dataclass
class ComparisonResult:
    """A finished run: the metrics dict plus the fitted shared model and transform."""

    metrics: dict
    preprocessor: FeaturePreprocessor
    multitask_net: SharedTrunkNet
    tasks: list[Task]
    label_scales: list[LabelScale]

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predict every task for new rows with the shared model and its fitted transform.

        Returns one column per regression task (original units), one per binary task
        (probability of the positive class) and one per class of a multiclass task.
        """
        matrices = self.preprocessor.transform(frame)
        empty = np.full((len(frame), len(self.tasks)), np.nan, dtype=np.float32)
        inputs = _net_inputs(matrices, empty)
        device = next(self.multitask_net.parameters()).device
        outputs = predict_network(self.multitask_net, inputs, self.tasks, device)
        columns = {}
        for task, scale, values in zip(
            self.tasks, self.label_scales, outputs, strict=True
        ):
            if task.kind == "regression":
                columns[task.name] = scale.inverse(values)
            elif task.kind == "binary":
                columns[f"{task.name}: P({task.classes[1]})"] = values
            else:
                for code, name in enumerate(task.classes):
                    columns[f"{task.name}: P({name})"] = values[:, code]
        return pd.DataFrame(columns, index=frame.index)


def _label_matrix(
    tasks: list[Task], rows: np.ndarray, scales: list[LabelScale]
) -> np.ndarray:
    matrix = np.empty((len(rows), len(tasks)), dtype=np.float32)
    for i, (task, scale) in enumerate(zip(tasks, scales, strict=True)):
        labels = task.labels[rows]
        matrix[:, i] = scale.forward(labels) if task.kind == "regression" else labels
    return matrix


def _fit_label_scales(tasks: list[Task], train_rows: np.ndarray) -> list[LabelScale]:
    scales = []
    for task in tasks:
        if task.kind != "regression":
            scales.append(LabelScale())
            continue
        values = task.labels[train_rows]
        values = values[~np.isnan(values)]
        std = float(values.std()) if values.size else 1.0
        scales.append(
            LabelScale(float(values.mean()) if values.size else 0.0, std or 1.0)
        )
    return scales


def _net_inputs(matrices: FeatureMatrices, labels: np.ndarray) -> NetInputs:
    return NetInputs(
        numeric=torch.from_numpy(matrices.numeric),
        categorical=torch.from_numpy(matrices.categorical),
        labels=torch.from_numpy(labels),
    )


def _part_inputs(
    preprocessor: FeaturePreprocessor,
    frame: pd.DataFrame,
    order: np.ndarray,
    labels: np.ndarray,
    parts: dict[str, slice],
) -> dict[str, NetInputs]:
    """Transform the rows in ``order`` once and return each part's inputs as views."""
    numeric, categorical = preprocessor.network_features(frame, order)
    return {
        part: NetInputs(
            numeric=torch.from_numpy(numeric[span]),
            categorical=torch.from_numpy(categorical[span]),
            labels=torch.from_numpy(labels[span]),
        )
        for part, span in parts.items()
    }


def planned_stages(tasks: list[Task]) -> list[tuple[str, str, float]]:
    """Return the stages of a run in order: machine name, label and relative weight."""
    stages = [("multitask", "Shared multitask model", 1.0)]
    for task in tasks:
        stages.append(
            (f"single_task_nn:{task.name}", f"Single-task network for {task.name}", 1.0)
        )
    for task in tasks:
        stages.append(
            (
                f"lightgbm:{task.name}",
                f"LightGBM for {task.name}",
                _LIGHTGBM_STAGE_WEIGHT,
            )
        )
    stages.append(("scoring", "Scoring on the test rows", _SCORING_STAGE_WEIGHT))
    return stages


def new_network(
    preprocessor: FeaturePreprocessor,
    head_outputs: list[int],
    config: CompareConfig,
    numeric_edges: list[np.ndarray],
) -> SharedTrunkNet:
    """Build a network of the run's architecture with one head per output size.

    The shared and the single-task networks of a run come from here, so both sides
    have the same trunk, heads and numeric encoding.
    """
    return SharedTrunkNet(
        n_numeric=preprocessor.n_numeric,
        cardinalities=preprocessor.cardinalities,
        head_outputs=head_outputs,
        hidden_sizes=config.hidden_sizes,
        head_size=config.head_size,
        dropout=config.dropout,
        numeric_edges=numeric_edges,
        numeric_bins=config.numeric_bins,
    )


def _train_networks(
    tasks, preprocessor, train, val, test, config, tracker, device, batch_size
):
    """Train the shared network and one network per task; return test predictions."""
    settings = TrainSettings(
        max_epochs=config.max_epochs,
        patience=config.patience,
        patience_rows=config.patience_rows,
        batch_size=batch_size,
        learning_rate=config.learning_rate,
        seed=config.seed,
        time_budget_s=config.time_budget_s,
        weight_decay=config.weight_decay,
        averaged_epochs=config.averaged_epochs,
    )

    def on_epoch(report):
        return tracker.update(report.epoch, report.max_epochs, report.val_loss_per_task)

    edges = quantile_edges(train.numeric.numpy(), config.numeric_bins)
    tracker.start("multitask")
    torch.manual_seed(config.seed)
    shared_net = new_network(
        preprocessor, [task.n_outputs for task in tasks], config, edges
    )
    start_at_label_shares(shared_net, tasks, train.labels)
    shared_fit = fit_network(shared_net, tasks, train, val, settings, device, on_epoch)
    release_free_memory()
    predictions = {"multitask": predict_network(shared_net, test, tasks, device)}

    single_fits = {}
    single_predictions = []
    for i, task in enumerate(tasks):
        tracker.start(f"single_task_nn:{task.name}")
        torch.manual_seed(config.seed)
        net = new_network(preprocessor, [task.n_outputs], config, edges)
        column = slice(i, i + 1)
        own = [
            NetInputs(d.numeric, d.categorical, d.labels[:, column])
            for d in (train, val, test)
        ]
        labelled_rows = torch.nonzero(~torch.isnan(own[0].labels[:, 0])).flatten()
        start_at_label_shares(net, [task], own[0].labels)
        single_fits[task.name] = fit_network(
            net, [task], own[0], own[1], settings, device, on_epoch, labelled_rows
        )
        single_predictions.append(predict_network(net, own[2], [task], device)[0])
        release_free_memory()
    predictions["single_task_nn"] = single_predictions
    return shared_net, shared_fit, single_fits, predictions


def _train_boosters(tasks, frame, rows, labels, preprocessor, config, tracker):
    """Fit one LightGBM model per task; return fit seconds and test predictions.

    ``rows`` and ``labels`` map each part (train, val, test) to its row positions
    in ``frame`` and its label matrix. The unscaled features are made here one part
    at a time, so the training rows' matrix is freed as soon as it is binned.
    """
    n_numeric_sources = len(preprocessor.numeric_columns_)
    categorical_positions = list(
        range(
            n_numeric_sources, n_numeric_sources + len(preprocessor.categorical_columns)
        )
    )
    seconds = {}
    predictions = []
    raw_val = raw_test = binned = None
    binning_seconds = 0.0
    for i, task in enumerate(tasks):
        stage = f"lightgbm:{task.name}"
        tracker.start(stage)
        if binned is None:
            raw_train = preprocessor.raw_features(frame, rows["train"])
            # Bin the features once for all tasks. The first task's time includes it.
            started = time.perf_counter()
            binned = bin_features(raw_train, categorical_positions, config.threads)
            binning_seconds = time.perf_counter() - started
            del raw_train
            release_free_memory()
            raw_val = preprocessor.raw_features(frame, rows["val"])
            raw_test = preprocessor.raw_features(frame, rows["test"])
        model = fit_lightgbm(
            task,
            None,
            labels["train"][:, i],
            raw_val,
            labels["val"][:, i],
            categorical_positions,
            seed=config.seed,
            max_rounds=config.lightgbm_rounds,
            threads=config.threads,
            on_round=lambda rounds: tracker.update(rounds, config.lightgbm_rounds),
            binned=binned,
        )
        seconds[task.name] = model.seconds + binning_seconds
        binning_seconds = 0.0
        predictions.append(predict_lightgbm(model, task, raw_test))
    return seconds, predictions


def _score_task(task, i, test_rows, predictions, scale, config) -> dict:
    """Metrics, intervals and verdicts of one task on its labelled test rows."""
    labels = task.labels[test_rows]
    labelled = ~np.isnan(labels)
    labels = labels[labelled]
    side_predictions = {}
    for side in SIDES:
        values = predictions[side][i][labelled]
        if not np.isfinite(values).all():
            raise MtlError(
                f"{SIDE_LABELS[side]} predicted values that are not finite numbers "
                f"for {task.name!r}, so they cannot be scored. Exclude columns with "
                "extreme values, or run again with another seed"
            )
        side_predictions[side] = (
            scale.inverse(values) if task.kind == "regression" else values
        )
    metrics, unavailable, correct, predicted_classes = {}, {}, {}, {}
    for side, values in side_predictions.items():
        metrics[side], reasons = task_metrics(
            task.kind, labels, values, len(task.classes) if task.classes else None
        )
        if reasons:
            unavailable[side] = reasons
        if task.kind != "regression":
            predicted = predicted_labels(task.kind, values)
            correct[side] = int(np.sum(predicted == labels.astype(int)))
            predicted_classes[side] = int(np.unique(predicted).size)
    primary = PRIMARY_METRIC[task.kind]
    intervals, differences = compare_sides(
        task.kind,
        labels,
        side_predictions,
        {side: metrics[side].get(primary) for side in SIDES},
        len(task.classes) if task.classes else 0,
        config.n_bootstrap,
        config.seed,
    )
    entry = {
        "name": task.name,
        "column": task.column,
        "kind": task.kind,
        "classes": task.classes,
        "labelled_rows": int(task.labelled.sum()),
        "labelled_test_rows": int(labelled.sum()),
        "primary_metric": primary,
        "higher_is_better": HIGHER_IS_BETTER[primary],
        "metrics": metrics,
        "unavailable": unavailable,
        "metric_intervals": {side: [iv.low, iv.high] for side, iv in intervals.items()},
        "comparisons": {side: vars(diff) for side, diff in differences.items()},
        "test_predictions": int(labelled.sum()),
    }
    if task.kind != "regression":
        entry["correct_predictions"] = correct
        entry["predicted_classes"] = predicted_classes
        entry["test_class_counts"] = np.bincount(
            labels.astype(int), minlength=len(task.classes)
        ).tolist()
        withhold_thin_verdicts(entry)
        withhold_one_class_verdicts(entry)
    return entry


def _versions() -> dict:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "lightgbm": lightgbm.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


def run_comparison(
    frame: pd.DataFrame,
    config: CompareConfig,
    progress: ProgressCallback | None = None,
    file_info: list[dict] | None = None,
    on_queued: Callable[[], None] | None = None,
) -> ComparisonResult:
    """Train and score every model of a comparison on ``frame``.

    Parameters
    ----------
    frame : DataFrame
        Loaded rows; it is read, never modified.
    config : CompareConfig
        Targets and settings.
    progress : callable, optional
        Receives a ProgressEvent per epoch and stage; returning False cancels the run
        with RunCancelled.
    file_info : list of dict, optional
        Per input file: name, delimiter, encoding, rows, columns, for the report.
    on_queued : callable, optional
        Called once, before waiting, when another run in this process is under
        way: runs queue, and this one starts when that one ends.
    """
    # torch's random generator and thread count are process-wide, so two runs in one
    # process (two dashboard sessions) would change each other's results. They queue.
    if not _RUN_LOCK.acquire(blocking=False):
        if on_queued is not None:
            on_queued()
        _RUN_LOCK.acquire()
    try:
        previous_threads = torch.get_num_threads()
        if config.threads:
            torch.set_num_threads(config.threads)
        try:
            return _run(frame, config, progress, file_info)
        finally:
            torch.set_num_threads(previous_threads)
    finally:
        _RUN_LOCK.release()


def _run(frame, config, progress, file_info) -> ComparisonResult:
    tasks, skipped = resolve_tasks(frame, list(config.targets))
    tasks = in_column_order(tasks, frame)
    selection = select_features(
        frame, tasks, config.exclude, tuple(item.column for item in skipped)
    )
    if not selection.roles:
        left_out = ", ".join(map(repr, selection.listed_exclusions())) or "none"
        raise InputError(
            f"no feature column is left to learn from (columns left out: {left_out}): "
            f"{selection.no_features_advice(len(config.targets))}"
        )
    check_row_count(len(frame))
    groups = duplicate_groups(frame, frame.attrs.get("source_column", SOURCE_COLUMN))
    split = split_grouped_rows(
        tasks, groups, config.test_fraction, config.val_fraction, config.seed
    )
    # Task labels, feature checks and the split leave freed blocks behind.
    release_free_memory()
    warnings = list(selection.warnings)
    if len(tasks) == 1:
        warnings.append(single_target_warning(tasks[0].name))
    if split.n_duplicate_rows:
        warnings.append(
            f"{duplicate_rows_phrase(split.n_duplicate_rows)}; each copy was kept in "
            "the same part of the split as its original, so no test row was seen in "
            "training"
        )
    rows = {"train": split.train, "val": split.val, "test": split.test}
    # Rows are laid out train, then validation, then test, so that each part of a
    # feature matrix is a slice of it and no part is copied.
    order = np.concatenate([split.train, split.val, split.test])
    ends = np.cumsum([len(split.train), len(split.val), len(split.test)])
    parts = {
        "train": slice(0, ends[0]),
        "val": slice(ends[0], ends[1]),
        "test": slice(ends[1], ends[2]),
    }
    preprocessor = FeaturePreprocessor(selection.roles).fit(frame, split.train)
    scales = _fit_label_scales(tasks, split.train)
    label_matrix = _label_matrix(tasks, order, scales)
    labels = {part: label_matrix[span] for part, span in parts.items()}
    inputs = _part_inputs(preprocessor, frame, order, label_matrix, parts)
    release_free_memory()
    device = resolve_device(config.device)
    batch_size = config.batch_size or auto_batch_size(len(split.train))
    tracker = ProgressTracker(planned_stages(tasks), progress)

    shared_net, shared_fit, single_fits, predictions = _train_networks(
        tasks,
        preprocessor,
        inputs["train"],
        inputs["val"],
        inputs["test"],
        config,
        tracker,
        device,
        batch_size,
    )
    # Free the networks' inputs before LightGBM's unscaled matrices are made.
    del inputs
    release_free_memory()
    lightgbm_seconds, predictions["lightgbm"] = _train_boosters(
        tasks, frame, rows, labels, preprocessor, config, tracker
    )

    tracker.start("scoring")
    task_entries = []
    for i, task in enumerate(tasks):
        entry = _score_task(task, i, split.test, predictions, scales[i], config)
        task_entries.append(entry)
        for caution in (rare_class_caution(entry), one_class_caution(entry)):
            if caution:
                logger.warning(caution)
                warnings.append(caution)
        tracker.update(i + 1, len(tasks))
    single_seconds = {name: fit.seconds for name, fit in single_fits.items()}
    fit_seconds = {
        "multitask": shared_fit.seconds,
        "single_task_nn": single_seconds,
        "single_task_nn_total": sum(single_seconds.values()),
        "lightgbm": lightgbm_seconds,
        "lightgbm_total": sum(lightgbm_seconds.values()),
    }
    # The targets in task order, which is the columns' order, not the order picked.
    settings = config.settings() | {
        "targets": [task.name for task in tasks],
        "batch_size_used": batch_size,
    }
    metrics = {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "created_utc": datetime.datetime.now(datetime.UTC).isoformat(
                timespec="seconds"
            ),
            "seed": config.seed,
            "n_rows": len(frame),
            "n_train": len(split.train),
            "n_val": len(split.val),
            "n_test": len(split.test),
            "stratified_on": split.stratified_on,
            "files": file_info or [],
            "features": [role.column for role in selection.roles],
            "excluded_columns": [vars(item) for item in selection.excluded],
            "warnings": warnings,
            "settings": settings,
            "device": str(device),
            "versions": _versions(),
            "epochs_run": {
                "multitask": shared_fit.epochs_run,
                "single_task_nn": {
                    name: fit.epochs_run for name, fit in single_fits.items()
                },
            },
            "averaged_epochs": {
                "multitask": shared_fit.averaged_epochs,
                "single_task_nn": {
                    name: fit.averaged_epochs for name, fit in single_fits.items()
                },
            },
        },
        "tasks": task_entries,
        "skipped_tasks": [vars(item) for item in skipped],
        "fit_seconds": fit_seconds,
        "learning_curves": {
            "multitask": shared_fit.curve,
            "single_task_nn": {name: fit.curve for name, fit in single_fits.items()},
        },
    }
    metrics["savings"] = compute_savings(
        metrics, config.price_per_hour, config.upkeep_per_model_month
    )
    return ComparisonResult(metrics, preprocessor, shared_net, tasks, scales)
