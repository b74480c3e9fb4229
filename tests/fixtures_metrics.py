"""Hand-built metrics dict in the metrics.json schema (version 1) for report tests.

Three tasks: a binary task with per-side metric intervals, a multiclass task whose
LightGBM log loss is unavailable, and a regression task where the shared model
loses to LightGBM.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

DEFAULT_TASK_NAMES = ("subscribed", "channel", "revenue")


def make_metrics(
    task_names: Sequence[str] = DEFAULT_TASK_NAMES,
    class_names: Sequence[str] = ("email", "phone", "web"),
) -> dict[str, Any]:
    """Return a new metrics dict with the given binary, multiclass and regression names.

    Parameters
    ----------
    task_names : sequence of 3 str
        Names (and target columns) of the binary, multiclass and regression tasks.
    class_names : sequence of str
        Classes of the multiclass task.
    """
    binary, multiclass, regression = task_names
    classes = list(class_names)
    per_task_gain = {
        binary: {
            "metric": "roc_auc",
            "vs_single_task_nn": 0.007,
            "vs_lightgbm": -0.003,
        },
        multiclass: {
            "metric": "macro_f1",
            "vs_single_task_nn": 0.014,
            "vs_lightgbm": -0.007,
        },
        regression: {
            "metric": "rmse",
            "vs_single_task_nn": -24.5,
            "vs_lightgbm": -132.2,
        },
    }
    metrics: dict[str, Any] = {
        "schema_version": 1,
        "run": {
            "created_utc": "2024-05-02T09:14:03Z",
            "seed": 0,
            "n_rows": 45211,
            "n_train": 31647,
            "n_val": 4521,
            "n_test": 9043,
            "files": [
                {
                    "name": "bank-full.csv",
                    "delimiter": ";",
                    "encoding": "utf-8",
                    "n_rows": 45211,
                    "n_columns": 19,
                }
            ],
            "features": ["age", "job", "marital", "balance", "housing", "loan"],
            "excluded_columns": [
                {"column": "ID", "reason": "identifier: every value is unique"},
                {"column": "duration", "reason": "known only after the call ends"},
            ],
            "settings": {
                "max_epochs": 30,
                "batch_size": 512,
                "learning_rate": 0.001,
                "patience": 5,
                "n_bootstrap": 1000,
            },
            "device": "cpu",
            "versions": {
                "python": "3.11.9",
                "torch": "2.3.0",
                "lightgbm": "4.3.0",
                "sklearn": "1.5.0",
            },
        },
        "tasks": [
            {
                "name": binary,
                "column": binary,
                "kind": "binary",
                "classes": ["no", "yes"],
                "labelled_rows": 45211,
                "labelled_test_rows": 9043,
                "primary_metric": "roc_auc",
                "higher_is_better": True,
                "metrics": {
                    "multitask": {
                        "roc_auc": 0.912,
                        "pr_auc": 0.581,
                        "accuracy": 0.903,
                        "f1": 0.512,
                        "log_loss": 0.221,
                    },
                    "single_task_nn": {
                        "roc_auc": 0.905,
                        "pr_auc": 0.562,
                        "accuracy": 0.901,
                        "f1": 0.497,
                        "log_loss": 0.229,
                    },
                    "lightgbm": {
                        "roc_auc": 0.915,
                        "pr_auc": 0.598,
                        "accuracy": 0.907,
                        "f1": 0.531,
                        "log_loss": 0.214,
                    },
                },
                "metric_intervals": {
                    "multitask": [0.905, 0.919],
                    "single_task_nn": [0.897, 0.913],
                    "lightgbm": [0.908, 0.922],
                },
                "unavailable": {},
                "comparisons": {
                    "single_task_nn": {
                        "metric": "roc_auc",
                        "difference": 0.007,
                        "ci_low": 0.002,
                        "ci_high": 0.012,
                        "verdict": "shared_better",
                    },
                    "lightgbm": {
                        "metric": "roc_auc",
                        "difference": -0.003,
                        "ci_low": -0.008,
                        "ci_high": 0.002,
                        "verdict": "no_clear_difference",
                    },
                },
                "correct_predictions": {
                    "multitask": 8166,
                    "single_task_nn": 8148,
                    "lightgbm": 8202,
                },
                "test_predictions": 9043,
            },
            {
                "name": multiclass,
                "column": multiclass,
                "kind": "multiclass",
                "classes": classes,
                "labelled_rows": 38120,
                "labelled_test_rows": 7624,
                "primary_metric": "macro_f1",
                "higher_is_better": True,
                "metrics": {
                    "multitask": {
                        "accuracy": 0.642,
                        "macro_f1": 0.611,
                        "log_loss": 0.842,
                    },
                    "single_task_nn": {
                        "accuracy": 0.628,
                        "macro_f1": 0.597,
                        "log_loss": 0.861,
                    },
                    "lightgbm": {
                        "accuracy": 0.645,
                        "macro_f1": 0.618,
                        "log_loss": None,
                    },
                },
                "unavailable": {
                    "lightgbm": {
                        "log_loss": (
                            f"class {classes[-1]!r} has no training rows, so LightGBM"
                            " gives it no probability"
                        )
                    }
                },
                "comparisons": {
                    "single_task_nn": {
                        "metric": "macro_f1",
                        "difference": 0.014,
                        "ci_low": 0.005,
                        "ci_high": 0.023,
                        "verdict": "shared_better",
                    },
                    "lightgbm": {
                        "metric": "macro_f1",
                        "difference": -0.007,
                        "ci_low": -0.016,
                        "ci_high": 0.002,
                        "verdict": "no_clear_difference",
                    },
                },
                "correct_predictions": {
                    "multitask": 4895,
                    "single_task_nn": 4788,
                    "lightgbm": 4918,
                },
                "test_predictions": 7624,
            },
            {
                "name": regression,
                "column": regression,
                "kind": "regression",
                "classes": None,
                "labelled_rows": 45211,
                "labelled_test_rows": 9043,
                "primary_metric": "rmse",
                "higher_is_better": False,
                "metrics": {
                    "multitask": {"rmse": 1234.5, "mae": 702.1, "r2": 0.412},
                    "single_task_nn": {"rmse": 1210.0, "mae": 688.4, "r2": 0.435},
                    "lightgbm": {"rmse": 1102.3, "mae": 611.9, "r2": 0.531},
                },
                "unavailable": {},
                "comparisons": {
                    "single_task_nn": {
                        "metric": "rmse",
                        "difference": -24.5,
                        "ci_low": -58.0,
                        "ci_high": 10.1,
                        "verdict": "no_clear_difference",
                    },
                    "lightgbm": {
                        "metric": "rmse",
                        "difference": -132.2,
                        "ci_low": -185.9,
                        "ci_high": -80.4,
                        "verdict": "separate_better",
                    },
                },
                "test_predictions": 9043,
            },
        ],
        "skipped_tasks": [
            {"column": "default", "reason": "only one class among the labelled rows"}
        ],
        "fit_seconds": {
            "multitask": 42.7,
            "single_task_nn": {binary: 18.2, multiclass: 15.9, regression: 14.1},
            "single_task_nn_total": 48.2,
            "lightgbm": {binary: 2.4, multiclass: 2.6, regression: 1.3},
            "lightgbm_total": 6.3,
        },
        "learning_curves": {
            "multitask": {
                "epoch": [1, 2, 3, 4, 5, 6],
                "train_loss": [2.91, 2.41, 2.22, 2.13, 2.08, 2.05],
                "val_loss": [2.62, 2.35, 2.24, 2.19, 2.18, 2.19],
            },
            "single_task_nn": {
                binary: {
                    "epoch": [1, 2, 3, 4],
                    "train_loss": [0.35, 0.26, 0.24, 0.23],
                    "val_loss": [0.28, 0.24, 0.23, 0.23],
                },
                multiclass: {
                    "epoch": [1, 2, 3, 4, 5],
                    "train_loss": [1.02, 0.93, 0.89, 0.87, 0.86],
                    "val_loss": [0.95, 0.90, 0.88, 0.87, 0.87],
                },
                regression: {
                    "epoch": [1, 2, 3],
                    "train_loss": [1.21, 0.98, 0.93],
                    "val_loss": [1.05, 0.97, 0.96],
                },
            },
        },
        "savings": {
            "price_per_hour": 2.5,
            "upkeep_per_model_month": 10.0,
            "task_efficiency": {
                "formula": (
                    "T separate models replaced by 1 shared model; "
                    "time ratio = t_shared / sum(t_single)"
                ),
                "inputs": {"T": 3, "t_shared_s": 42.7, "sum_t_single_s": 48.2},
                "result": {"models_replaced": 3, "time_ratio": 0.8859},
                "unit": "models; ratio (below 1 means the shared model trains faster)",
            },
            "accuracy_gain": {
                "formula": (
                    "gain = metric_shared - metric_separate (sign flipped where lower"
                    " is better); relative gain = gain / |metric_separate|, averaged"
                    " over tasks"
                ),
                "inputs": {"per_task": per_task_gain},
                "result": {
                    "mean_relative_gain_pct_vs_single_task_nn": 0.3,
                    "mean_relative_gain_pct_vs_lightgbm": -4.44,
                    "mean_roc_auc_gain_vs_single_task_nn": 0.007,
                    "mean_roc_auc_gain_vs_lightgbm": -0.003,
                },
                "per_task": per_task_gain,
                "unit": "metric points; percent",
            },
            "training_time_saved": {
                "formula": "saved = sum(t_separate) - t_shared",
                "inputs": {
                    "t_shared_s": 42.7,
                    "sum_t_single_task_nn_s": 48.2,
                    "sum_t_lightgbm_s": 6.3,
                },
                "result": {"vs_single_task_nn_s": 5.5, "vs_lightgbm_s": -36.4},
                "unit": (
                    "seconds per training run (negative means the shared model took"
                    " longer)"
                ),
            },
            "cost_reduction": {
                "formula": (
                    "saved per run = (sum(t_separate) - t_shared) / 3600 x price per"
                    " hour; saved upkeep per month = (T - 1) x upkeep per model"
                ),
                "inputs": {
                    "price_per_hour": 2.5,
                    "upkeep_per_model_month": 10.0,
                    "T": 3,
                    "t_shared_s": 42.7,
                    "sum_t_single_task_nn_s": 48.2,
                    "sum_t_lightgbm_s": 6.3,
                },
                "result": {
                    "shared_run_cost": 0.02965,
                    "single_task_nn_run_cost": 0.03347,
                    "lightgbm_run_cost": 0.004375,
                    "saved_per_run_vs_single_task_nn": 0.00382,
                    "saved_per_run_vs_lightgbm": -0.02528,
                    "saved_upkeep_per_month": 20.0,
                },
                "unit": (
                    "currency of the price (negative means the shared model costs more)"
                ),
            },
            "prediction_consistency": {
                "formula": (
                    "consistency = correct predictions / all predictions, over the"
                    " classification tasks' test rows"
                ),
                "inputs": {
                    "correct": {
                        "multitask": 13061,
                        "single_task_nn": 12936,
                        "lightgbm": 13120,
                    },
                    "predictions": 16667,
                },
                "result": {
                    "multitask": 0.7837,
                    "single_task_nn": 0.7761,
                    "lightgbm": 0.7872,
                },
                "unit": "share of predictions",
            },
        },
    }
    return copy.deepcopy(metrics)
