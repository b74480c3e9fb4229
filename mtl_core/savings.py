"""The five savings figures, computed from a run's measured numbers only.

Every figure is returned with its formula and inputs, so a reader can redo the
arithmetic. Prices are the user's; nothing here is an assumed benchmark.
"""

from __future__ import annotations

import math

from mtl_core.class_counts import FEW_TEST_ROWS, rare_test_class
from mtl_core.sides import SEPARATE_SIDES, SIDES


def _mean(values: list[float]) -> float | None:
    finite = [value for value in values if value is not None and math.isfinite(value)]
    return sum(finite) / len(finite) if finite else None


def _task_efficiency(n_tasks: int, fit: dict) -> dict:
    shared = fit["multitask"]
    separate = fit["single_task_nn_total"]
    ratio = shared / separate if separate > 0 else None
    return {
        "formula": "T separate models replaced by 1 shared model; "
        "time ratio = t_shared / sum(t_single)",
        "inputs": {"T": n_tasks, "t_shared_s": shared, "sum_t_single_s": separate},
        "result": {"models_replaced": n_tasks, "time_ratio": ratio},
        "unit": "models; ratio (below 1 means the shared model trains faster)",
    }


_INTERVAL_VERDICTS = ("shared_better", "separate_better", "no_clear_difference")


def _accuracy_gain(tasks: list[dict]) -> dict:
    per_task = {}
    relative = {side: [] for side in SEPARATE_SIDES}
    auc_points = {side: [] for side in SEPARATE_SIDES}
    verdicts = {side: [] for side in SEPARATE_SIDES}
    left_out = []
    for task in tasks:
        entry = {"metric": task["primary_metric"]}
        # A class under FEW_TEST_ROWS test rows gives no verdict, and its gains,
        # such as an AUC of 0.3 against 0.1 on 2 positives, would swamp the means.
        thin = rare_test_class(task) is not None
        if thin:
            left_out.append(task["name"])
        for side in SEPARATE_SIDES:
            comparison = task["comparisons"].get(side, {})
            verdicts[side].append(comparison.get("verdict"))
            gain = comparison.get("difference")
            entry[f"vs_{side}"] = gain
            if thin:
                continue
            separate_value = task["metrics"].get(side, {}).get(task["primary_metric"])
            if gain is not None and separate_value:
                relative[side].append(100.0 * gain / abs(separate_value))
            if gain is not None and task["primary_metric"] == "roc_auc":
                auc_points[side].append(gain)
        per_task[task["name"]] = entry
    result = {}
    for side in SEPARATE_SIDES:
        result[f"mean_relative_gain_pct_vs_{side}"] = _mean(relative[side])
        result[f"mean_roc_auc_gain_vs_{side}"] = _mean(auc_points[side])
        # A mean of relative gains can be positive while most tasks lost, so the
        # tasks won and lost are counted beside it. Without any interval (no
        # bootstrap) there is nothing to count, so the counts are None, not 0.
        judged = [v for v in verdicts[side] if v in _INTERVAL_VERDICTS]
        better = judged.count("shared_better") if judged else None
        worse = judged.count("separate_better") if judged else None
        result[f"tasks_shared_better_vs_{side}"] = better
        result[f"tasks_shared_worse_vs_{side}"] = worse
    return {
        "formula": "gain = metric_shared - metric_separate (sign flipped where lower is "
        "better); relative gain = gain / |metric_separate|, averaged over tasks "
        f"without a class under {FEW_TEST_ROWS} test rows; "
        "tasks better or worse: comparisons whose 95% interval of the gain lies above "
        "or below 0",
        "inputs": {"per_task": per_task, "tasks_left_out_of_means": left_out},
        "result": result,
        "per_task": per_task,
        "unit": "metric points; percent; tasks",
    }


def _time_saved(fit: dict) -> dict:
    shared = fit["multitask"]
    return {
        "formula": "saved = sum(t_separate) - t_shared",
        "inputs": {
            "t_shared_s": shared,
            "sum_t_single_task_nn_s": fit["single_task_nn_total"],
            "sum_t_lightgbm_s": fit["lightgbm_total"],
        },
        "result": {
            "vs_single_task_nn_s": fit["single_task_nn_total"] - shared,
            "vs_lightgbm_s": fit["lightgbm_total"] - shared,
        },
        "unit": "seconds per training run (negative means the shared model took longer)",
    }


def _cost(fit: dict, n_tasks: int, price_per_hour: float, upkeep: float) -> dict:
    def run_cost(seconds: float) -> float:
        return seconds / 3600.0 * price_per_hour

    shared = fit["multitask"]
    return {
        "formula": "saved per run = (sum(t_separate) - t_shared) / 3600 x price per hour; "
        "saved upkeep per month = (T - 1) x upkeep per model",
        "inputs": {
            "price_per_hour": price_per_hour,
            "upkeep_per_model_month": upkeep,
            "T": n_tasks,
            "t_shared_s": shared,
            "sum_t_single_task_nn_s": fit["single_task_nn_total"],
            "sum_t_lightgbm_s": fit["lightgbm_total"],
        },
        "result": {
            "shared_run_cost": run_cost(shared),
            "single_task_nn_run_cost": run_cost(fit["single_task_nn_total"]),
            "lightgbm_run_cost": run_cost(fit["lightgbm_total"]),
            "saved_per_run_vs_single_task_nn": run_cost(
                fit["single_task_nn_total"] - shared
            ),
            "saved_per_run_vs_lightgbm": run_cost(fit["lightgbm_total"] - shared),
            "saved_upkeep_per_month": (n_tasks - 1) * upkeep,
        },
        "unit": "currency of the price (negative means the shared model costs more)",
    }


def _consistency(tasks: list[dict]) -> dict:
    correct = {side: 0 for side in SIDES}
    total = 0
    for task in tasks:
        if task["kind"] == "regression" or not task.get("correct_predictions"):
            continue
        total += task["test_predictions"]
        for side in SIDES:
            correct[side] += task["correct_predictions"].get(side, 0)
    result = {side: (correct[side] / total if total else None) for side in SIDES}
    return {
        "formula": "consistency = correct predictions / all predictions, "
        "over the classification tasks' test rows",
        "inputs": {"correct": correct, "predictions": total},
        "result": result,
        "unit": "share of predictions",
    }


def compute_savings(
    metrics: dict, price_per_hour: float, upkeep_per_model_month: float
) -> dict:
    """Compute the five savings figures from a run's metrics dict.

    Parameters
    ----------
    metrics : dict
        The run's metrics (``tasks`` and ``fit_seconds`` are read).
    price_per_hour : float
        Price of one compute hour.
    upkeep_per_model_month : float
        Upkeep of one deployed model per month.
    """
    tasks = metrics["tasks"]
    fit = metrics["fit_seconds"]
    return {
        "price_per_hour": price_per_hour,
        "upkeep_per_model_month": upkeep_per_model_month,
        "task_efficiency": _task_efficiency(len(tasks), fit),
        "accuracy_gain": _accuracy_gain(tasks),
        "training_time_saved": _time_saved(fit),
        "cost_reduction": _cost(
            fit, len(tasks), price_per_hour, upkeep_per_model_month
        ),
        "prediction_consistency": _consistency(tasks),
    }
