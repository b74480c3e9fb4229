import pytest

from mtl_core.savings import compute_savings


def _metrics():
    """Two classification tasks and one regression task with round numbers."""
    return {
        "tasks": [
            {
                "name": "clicked",
                "kind": "binary",
                "primary_metric": "roc_auc",
                "metrics": {
                    "multitask": {"roc_auc": 0.80},
                    "single_task_nn": {"roc_auc": 0.75},
                    "lightgbm": {"roc_auc": 0.85},
                },
                "comparisons": {
                    "single_task_nn": {"difference": 0.05},
                    "lightgbm": {"difference": -0.05},
                },
                "correct_predictions": {
                    "multitask": 80,
                    "single_task_nn": 70,
                    "lightgbm": 90,
                },
                "test_predictions": 100,
            },
            {
                "name": "channel",
                "kind": "multiclass",
                "primary_metric": "macro_f1",
                "metrics": {
                    "multitask": {"macro_f1": 0.5},
                    "single_task_nn": {"macro_f1": 0.4},
                    "lightgbm": {"macro_f1": 0.5},
                },
                "comparisons": {
                    "single_task_nn": {"difference": 0.1},
                    "lightgbm": {"difference": 0.0},
                },
                "correct_predictions": {
                    "multitask": 60,
                    "single_task_nn": 50,
                    "lightgbm": 40,
                },
                "test_predictions": 100,
            },
            {
                "name": "revenue",
                "kind": "regression",
                "primary_metric": "rmse",
                "metrics": {
                    "multitask": {"rmse": 9.0},
                    "single_task_nn": {"rmse": 10.0},
                    "lightgbm": {"rmse": 8.0},
                },
                "comparisons": {
                    "single_task_nn": {"difference": 1.0},
                    "lightgbm": {"difference": -1.0},
                },
                "test_predictions": 100,
            },
        ],
        "fit_seconds": {
            "multitask": 1800.0,
            "single_task_nn_total": 5400.0,
            "lightgbm_total": 900.0,
        },
    }


def test_task_efficiency():
    figure = compute_savings(_metrics(), 2.0, 0.0)["task_efficiency"]
    assert figure["result"]["models_replaced"] == 3
    assert figure["result"]["time_ratio"] == pytest.approx(1800 / 5400)


def test_accuracy_gain_relative_mean():
    figure = compute_savings(_metrics(), 2.0, 0.0)["accuracy_gain"]
    # 0.05/0.75, 0.1/0.4 and 1/10, as percentages, averaged.
    expected = 100 * (0.05 / 0.75 + 0.1 / 0.4 + 1.0 / 10.0) / 3
    assert figure["result"][
        "mean_relative_gain_pct_vs_single_task_nn"
    ] == pytest.approx(expected)
    assert figure["result"]["mean_roc_auc_gain_vs_lightgbm"] == pytest.approx(-0.05)
    assert figure["per_task"]["revenue"]["vs_lightgbm"] == -1.0


def test_training_time_saved():
    figure = compute_savings(_metrics(), 2.0, 0.0)["training_time_saved"]
    assert figure["result"]["vs_single_task_nn_s"] == 3600.0
    assert figure["result"]["vs_lightgbm_s"] == -900.0


def test_cost_reduction_at_price():
    figure = compute_savings(_metrics(), 2.0, 15.0)["cost_reduction"]
    # One saved hour at 2.0 an hour; two fewer models at 15.0 a month each.
    assert figure["result"]["saved_per_run_vs_single_task_nn"] == pytest.approx(2.0)
    assert figure["result"]["saved_per_run_vs_lightgbm"] == pytest.approx(-0.5)
    assert figure["result"]["shared_run_cost"] == pytest.approx(1.0)
    assert figure["result"]["saved_upkeep_per_month"] == pytest.approx(30.0)


def test_cost_follows_price():
    cheap = compute_savings(_metrics(), 1.0, 0.0)["cost_reduction"]["result"]
    dear = compute_savings(_metrics(), 3.0, 0.0)["cost_reduction"]["result"]
    assert dear["saved_per_run_vs_single_task_nn"] == pytest.approx(
        3 * cheap["saved_per_run_vs_single_task_nn"]
    )


def test_prediction_consistency():
    figure = compute_savings(_metrics(), 2.0, 0.0)["prediction_consistency"]
    assert figure["inputs"]["predictions"] == 200
    assert figure["result"]["multitask"] == pytest.approx(140 / 200)
    assert figure["result"]["lightgbm"] == pytest.approx(130 / 200)


def test_every_figure_shows_formula_and_inputs():
    savings = compute_savings(_metrics(), 2.0, 0.0)
    for name in (
        "task_efficiency",
        "accuracy_gain",
        "training_time_saved",
        "cost_reduction",
        "prediction_consistency",
    ):
        assert savings[name]["formula"], name
        assert savings[name]["inputs"], name
        assert savings[name]["result"] is not None, name


def test_accuracy_gain_counts_clear_wins_and_losses():
    metrics = _metrics()
    # One large relative win and two clear losses: the mean is still positive.
    verdicts = ["separate_better", "separate_better", "shared_better"]
    for task, verdict in zip(metrics["tasks"], verdicts, strict=True):
        task["comparisons"]["lightgbm"]["verdict"] = verdict
    metrics["tasks"][2]["comparisons"]["lightgbm"]["difference"] = 30.0

    result = compute_savings(metrics, 2.0, 0.0)["accuracy_gain"]["result"]

    assert result["mean_relative_gain_pct_vs_lightgbm"] > 0
    assert result["tasks_shared_better_vs_lightgbm"] == 1
    assert result["tasks_shared_worse_vs_lightgbm"] == 2
    # No verdict recorded against the single-task networks: no count, not 0.
    assert result["tasks_shared_better_vs_single_task_nn"] is None
    assert result["tasks_shared_worse_vs_single_task_nn"] is None


def test_accuracy_gain_without_intervals_counts_none():
    metrics = _metrics()
    for task in metrics["tasks"]:
        task["comparisons"]["lightgbm"]["verdict"] = "not_available"
    metrics["tasks"][0]["comparisons"]["single_task_nn"]["verdict"] = (
        "no_clear_difference"
    )

    result = compute_savings(metrics, 2.0, 0.0)["accuracy_gain"]["result"]

    assert result["tasks_shared_better_vs_lightgbm"] is None
    assert result["tasks_shared_worse_vs_lightgbm"] is None
    assert result["tasks_shared_better_vs_single_task_nn"] == 0
    assert result["tasks_shared_worse_vs_single_task_nn"] == 0


def test_thin_task_left_out_of_means():
    metrics = _metrics()
    clicked = metrics["tasks"][0]
    clicked["classes"] = ["no", "yes"]
    clicked["test_class_counts"] = [98, 2]  # 2 positives: no verdict, no average
    clicked["comparisons"]["lightgbm"]["difference"] = 0.6

    figure = compute_savings(metrics, 1.0, 0.0)["accuracy_gain"]

    assert figure["inputs"]["tasks_left_out_of_means"] == ["clicked"]
    assert figure["per_task"]["clicked"]["vs_lightgbm"] == 0.6
    # Only channel (0 against 0.5) and revenue (-1 against 8) are averaged.
    assert figure["result"]["mean_relative_gain_pct_vs_lightgbm"] == pytest.approx(
        (0.0 - 12.5) / 2
    )
    assert figure["result"]["mean_roc_auc_gain_vs_lightgbm"] is None
