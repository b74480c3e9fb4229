"""One LightGBM model per task, early-stopped on the shared validation rows."""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

from mtl_core.plural import counted
from mtl_core.tasks import Task

logger = logging.getLogger(__name__)

_EARLY_STOPPING_ROUNDS = 50


@dataclass
class BoostedTask:
    """A fitted booster and what it took."""

    booster: lgb.Booster
    seconds: float
    best_iteration: int


def _params(task: Task, seed: int, threads: int | None) -> dict:
    params = {
        "learning_rate": 0.05,
        "max_bin": 255,
        "num_leaves": 31,
        "min_data_in_leaf": 20,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }
    if threads:
        params["num_threads"] = threads
    if task.kind == "binary":
        params.update(objective="binary", metric="binary_logloss")
    elif task.kind == "multiclass":
        params.update(
            objective="multiclass", metric="multi_logloss", num_class=len(task.classes)
        )
    else:
        params.update(objective="regression", metric="l2")
    return params


def bin_features(
    raw_train: np.ndarray, categorical_positions: list[int], threads: int | None = None
) -> lgb.Dataset:
    """Bin the training features once so that every task's booster can reuse the bins.

    LightGBM bins each Dataset it is given: it finds every feature's bin edges and
    maps every value. One Dataset per task repeats that T times on the same rows;
    ``fit_lightgbm(..., binned=...)`` takes each task's labelled rows from this one
    with ``Dataset.subset`` instead. The bin edges then come from all training rows,
    not only the rows labelled for a task.

    The returned Dataset keeps no reference to ``raw_train``, so the caller can
    free it. Each subset then copies only bins from LightGBM's own memory, not the
    raw rows.

    Parameters
    ----------
    raw_train : ndarray of shape (n_train, n_raw)
        Unscaled features, as passed to ``fit_lightgbm``.
    categorical_positions : list of int
        Columns of ``raw_train`` that hold category codes.
    """
    params = {"verbosity": -1}
    if threads:
        params["num_threads"] = threads
    dataset = lgb.Dataset(
        raw_train,
        categorical_feature=categorical_positions or "auto",
        params=params,
        free_raw_data=True,
    )
    return dataset.construct()


def fit_lightgbm(
    task: Task,
    raw_train: np.ndarray | None,
    labels_train: np.ndarray,
    raw_val: np.ndarray,
    labels_val: np.ndarray,
    categorical_positions: list[int],
    seed: int,
    max_rounds: int,
    threads: int | None = None,
    on_round: Callable[[int], bool | None] | None = None,
    binned: lgb.Dataset | None = None,
) -> BoostedTask:
    """Fit one booster on the rows that carry this task's label.

    Regression labels arrive standardised, so the booster predicts in the same units
    as the networks. ``on_round`` is called every 10 rounds; returning False stops
    the fit early (the caller then raises RunCancelled). ``binned``, from
    ``bin_features(raw_train, ...)``, reuses bins made once for all tasks, and
    ``raw_train`` may then be None. The returned seconds include taking this
    task's subset but not making the bins.
    """
    if binned is None and raw_train is None:
        raise ValueError(
            "fit_lightgbm requires raw_train or binned, but both are None: pass the "
            "training features"
        )
    started = time.perf_counter()
    train_rows = ~np.isnan(labels_train)
    val_rows = ~np.isnan(labels_val)
    params = _params(task, seed, threads)
    if binned is not None:
        # NOTE: lightgbm 4.7 drops a label set on a subset before it is
        # constructed, so the subset is constructed first.
        dataset = binned.subset(np.flatnonzero(train_rows)).construct()
        dataset.set_label(labels_train[train_rows])
    else:
        dataset = lgb.Dataset(
            raw_train[train_rows],
            label=labels_train[train_rows],
            categorical_feature=categorical_positions or "auto",
            free_raw_data=True,
        )
    callbacks = [lgb.early_stopping(_EARLY_STOPPING_ROUNDS, verbose=False)]
    if on_round is not None:

        def _progress(env: lgb.callback.CallbackEnv) -> None:
            if env.iteration % 10 == 0 and on_round(env.iteration) is False:
                raise lgb.callback.EarlyStopException(
                    env.iteration, env.evaluation_result_list
                )

        callbacks.append(_progress)
    valid_sets = []
    if val_rows.sum() > 0:
        valid_sets = [
            lgb.Dataset(
                raw_val[val_rows], label=labels_val[val_rows], reference=dataset
            )
        ]
    else:
        callbacks = callbacks[1:]
    with warnings.catch_warnings():
        # Each task's objective differs from the shared bins' parameters by design.
        warnings.filterwarnings(
            "ignore", message="Overriding the parameters from Reference"
        )
        booster = lgb.train(
            params,
            dataset,
            num_boost_round=max_rounds,
            valid_sets=valid_sets,
            callbacks=callbacks,
        )
    seconds = time.perf_counter() - started
    best = booster.best_iteration or booster.current_iteration()
    logger.info(
        "LightGBM for %r: %s in %.1f s", task.name, counted(best, "round"), seconds
    )
    return BoostedTask(booster, seconds, best)


def predict_lightgbm(model: BoostedTask, task: Task, raw: np.ndarray) -> np.ndarray:
    """Predict in the same form as the networks (see ``predict_network``)."""
    values = model.booster.predict(raw, num_iteration=model.best_iteration)
    return np.asarray(values, dtype=np.float64)
