import numpy as np
import pytest
import torch
from helpers_data import related_tasks_frame

from mtl_core.compare import SIDES, run_comparison
from mtl_core.config import CompareConfig
from mtl_core.errors import InputError, MtlError, RunCancelled
from mtl_core.tasks import TaskSpec


def _config(targets=("clicked", "segment", "revenue"), **overrides):
    settings = dict(max_epochs=4, n_bootstrap=50, lightgbm_rounds=100, seed=1)
    settings.update(overrides)
    return CompareConfig(targets=tuple(TaskSpec.parse(t) for t in targets), **settings)


@pytest.fixture(scope="module")
def small_run():
    frame = related_tasks_frame(800)
    frame.loc[::4, "segment"] = None  # a quarter of the rows lack this label
    return frame, run_comparison(frame, _config()).metrics


def test_run_has_every_side_per_task(small_run):
    _, metrics = small_run
    assert [task["name"] for task in metrics["tasks"]] == [
        "clicked",
        "segment",
        "revenue",
    ]
    for task in metrics["tasks"]:
        assert set(task["metrics"]) == set(SIDES)
        assert set(task["comparisons"]) == {"single_task_nn", "lightgbm"}
    segment = metrics["tasks"][1]
    assert set(segment["predicted_classes"]) == set(SIDES)
    assert all(n >= 2 for n in segment["predicted_classes"].values())
    assert not any("every model predicts" in w for w in metrics["run"]["warnings"])


def test_run_metrics_sane(small_run):
    _, metrics = small_run
    clicked, segment, revenue = metrics["tasks"]
    assert clicked["metrics"]["lightgbm"]["roc_auc"] > 0.8
    assert clicked["metrics"]["multitask"]["roc_auc"] > 0.7
    assert segment["metrics"]["lightgbm"]["accuracy"] > 0.6
    # Revenue is about 50 per unit of signal, so a useful model beats its spread.
    assert revenue["metrics"]["lightgbm"]["rmse"] < 30
    assert revenue["metrics"]["lightgbm"]["r2"] > 0.5


def test_run_counts_labelled_rows(small_run):
    frame, metrics = small_run
    segment = metrics["tasks"][1]
    assert segment["labelled_rows"] == int(frame["segment"].notna().sum())
    assert metrics["tasks"][0]["labelled_rows"] == len(frame)


def test_run_records_fit_seconds_and_curves(small_run):
    _, metrics = small_run
    fit = metrics["fit_seconds"]
    assert fit["multitask"] > 0
    assert fit["single_task_nn_total"] == pytest.approx(
        sum(fit["single_task_nn"].values())
    )
    assert len(metrics["learning_curves"]["multitask"]["val_loss"]) >= 1
    assert set(metrics["learning_curves"]["single_task_nn"]) == {
        "clicked",
        "segment",
        "revenue",
    }


def test_run_savings_use_run_times(small_run):
    _, metrics = small_run
    fit = metrics["fit_seconds"]
    saved = metrics["savings"]["training_time_saved"]["result"]["vs_single_task_nn_s"]
    assert saved == pytest.approx(fit["single_task_nn_total"] - fit["multitask"])


def test_run_repeats_with_seed(small_run):
    frame, metrics = small_run
    again = run_comparison(frame, _config()).metrics
    assert again["tasks"] == metrics["tasks"]
    assert again["learning_curves"] == metrics["learning_curves"]


def test_run_leaves_frame_unchanged():
    frame = related_tasks_frame(200)
    before = frame.copy()
    run_comparison(frame, _config(max_epochs=1, n_bootstrap=0))
    assert frame.equals(before)


def test_run_skips_one_class_target():
    frame = related_tasks_frame(300)
    frame["same"] = "x"
    metrics = run_comparison(frame, _config(("clicked", "same"), max_epochs=1)).metrics
    assert [task["name"] for task in metrics["tasks"]] == ["clicked"]
    assert metrics["skipped_tasks"][0]["column"] == "same"
    assert any(
        warning.startswith("only one target ('clicked') can be trained")
        for warning in metrics["run"]["warnings"]
    )


def test_run_rare_positives_gives_na_with_reason():
    frame = related_tasks_frame(300)
    frame["rare"] = "no"
    frame.loc[[5, 150], "rare"] = "yes"
    metrics = run_comparison(frame, _config(("clicked", "rare"), max_epochs=1)).metrics
    rare = metrics["tasks"][1]
    if rare["labelled_test_rows"] and rare["metrics"]["multitask"]["roc_auc"] is None:
        assert (
            rare["unavailable"]["multitask"]["roc_auc"]
            == "only one class among the test rows"
        )
        assert rare["comparisons"]["lightgbm"]["verdict"] == "not_available"
    assert rare["metrics"]["multitask"]["accuracy"] is not None


def test_run_counts_test_rows_per_class(small_run):
    _, metrics = small_run
    clicked, segment, revenue = metrics["tasks"]

    assert sum(clicked["test_class_counts"]) == clicked["labelled_test_rows"]
    assert len(segment["test_class_counts"]) == len(segment["classes"])
    assert sum(segment["test_class_counts"]) == segment["labelled_test_rows"]
    assert "test_class_counts" not in revenue


def test_run_warns_on_rare_test_class(caplog):
    frame = related_tasks_frame(400)
    frame["rare"] = "no"
    frame.loc[::40, "rare"] = "yes"  # 10 rows in all, so only a few test rows
    config = _config(("clicked", "rare"), max_epochs=1)

    metrics = run_comparison(frame, config).metrics

    rare = metrics["tasks"][1]
    assert rare["test_class_counts"][1] < 10
    assert any("task 'rare' has only" in text for text in metrics["run"]["warnings"])
    assert not any("task 'clicked'" in text for text in metrics["run"]["warnings"])
    assert "task 'rare' has only" in caplog.text  # the CLI prints these log lines


def test_run_regression_in_billions_finite():
    frame = related_tasks_frame(300)
    frame["revenue"] = frame["revenue"] * 1e8 + 5e9
    metrics = run_comparison(
        frame, _config(("clicked", "revenue"), max_epochs=2)
    ).metrics
    revenue = metrics["tasks"][1]
    assert all(
        np.isfinite(v) for v in metrics["learning_curves"]["multitask"]["train_loss"]
    )
    # Reported in original units: errors are of the order of the spread (about 5e9).
    assert 1e8 < revenue["metrics"]["multitask"]["rmse"] < 1e11


def test_run_cancel_raises():
    frame = related_tasks_frame(200)
    with pytest.raises(RunCancelled):
        run_comparison(
            frame, _config(max_epochs=3), progress=lambda event: event.epoch < 1
        )


def test_run_progress_covers_every_stage():
    frame = related_tasks_frame(200)
    stages = []
    run_comparison(
        frame,
        _config(("clicked", "revenue"), max_epochs=1, n_bootstrap=0),
        progress=lambda event: stages.append(event.stage),
    )
    assert list(dict.fromkeys(stages)) == [
        "multitask",
        "single_task_nn:clicked",
        "single_task_nn:revenue",
        "lightgbm:clicked",
        "lightgbm:revenue",
        "scoring",
    ]


def test_run_too_few_rows_rejected():
    frame = related_tasks_frame(20)
    with pytest.raises(InputError, match="at least 30 are needed"):
        run_comparison(frame, _config(("clicked",)))


def test_result_predicts_new_rows_with_fitted_transform():
    frame = related_tasks_frame(300)
    result = run_comparison(frame, _config(max_epochs=2, n_bootstrap=0))
    new_rows = related_tasks_frame(20, seed=5).drop(
        columns=["clicked", "segment", "revenue"]
    )
    predicted = result.predict(new_rows)
    assert list(predicted.columns) == [
        "clicked: P(yes)",
        "segment: P(high)",
        "segment: P(low)",
        "segment: P(mid)",
        "revenue",
    ]
    assert predicted.notna().all().all()
    assert np.allclose(predicted.filter(like="segment").sum(axis=1), 1.0, atol=1e-5)


def test_concurrent_runs_match_lone_run():
    import threading

    frame = related_tasks_frame(300)
    config = _config(("clicked", "revenue"), max_epochs=3, n_bootstrap=20)
    lone = run_comparison(frame, config).metrics["tasks"]
    results = [None, None]

    def work(slot):
        results[slot] = run_comparison(frame, config).metrics["tasks"]

    threads = [threading.Thread(target=work, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert results[0] == lone
    assert results[1] == lone


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"weight_decay": -0.1}, "invalid weight_decay -0.1"),
        ({"weight_decay": float("nan")}, "invalid weight_decay nan"),
        ({"averaged_epochs": -1}, "averaged_epochs"),
        ({"patience_rows": 0}, "invalid patience_rows 0"),
    ],
)
def test_config_rejects_bad_training_settings(setting, message):
    with pytest.raises(InputError, match=message):
        CompareConfig(targets=(TaskSpec("clicked"),), **setting)


def test_metrics_list_the_averaged_epochs():
    frame = related_tasks_frame(300)

    result = run_comparison(frame, _config(max_epochs=4, n_bootstrap=0))

    averaged = result.metrics["run"]["averaged_epochs"]
    epochs_run = result.metrics["run"]["epochs_run"]
    assert 1 <= len(averaged["multitask"]) <= 6
    assert max(averaged["multitask"]) <= epochs_run["multitask"]
    assert set(averaged["single_task_nn"]) == set(epochs_run["single_task_nn"])


def test_networks_use_patience_rows():
    """With a learning rate of 0 only epoch 1 is a best, so a fit runs 1 + patience."""
    frame = related_tasks_frame(300)
    config = _config(max_epochs=30, n_bootstrap=0, learning_rate=0.0, patience_rows=1)

    epochs_run = run_comparison(frame, config).metrics["run"]["epochs_run"]

    assert epochs_run["multitask"] == 3
    assert set(epochs_run["single_task_nn"].values()) == {3}


def test_thin_class_gets_no_verdict():
    frame = related_tasks_frame(300)
    frame["rare"] = np.where(np.arange(300) % 20 == 0, "yes", "no")

    tasks = run_comparison(frame, _config(("clicked", "rare"))).metrics["tasks"]
    rare = next(task for task in tasks if task["name"] == "rare")
    clicked = next(task for task in tasks if task["name"] == "clicked")

    assert min(rare["test_class_counts"]) < 10
    for comparison in rare["comparisons"].values():
        assert comparison["verdict"] == "not_available"
        assert "a verdict needs at least 10 of each class" in comparison["reason"]
        assert comparison["ci_low"] is not None
    assert min(clicked["test_class_counts"]) >= 10
    assert all(c["verdict"] != "not_available" for c in clicked["comparisons"].values())


def test_run_rejects_predictions_not_finite(monkeypatch):
    import mtl_core.compare as compare

    real_predict = compare.predict_network

    def shared_predicts_nan(net, data, tasks, device):
        predictions = real_predict(net, data, tasks, device)
        if len(tasks) > 1:  # the shared network; single-task networks have one
            predictions[0][:] = np.nan
        return predictions

    monkeypatch.setattr(compare, "predict_network", shared_predicts_nan)
    frame = related_tasks_frame(300)
    with pytest.raises(MtlError, match="Shared multitask model predicted values"):
        run_comparison(frame, _config(("clicked", "revenue"), max_epochs=1))


def test_classification_networks_start_at_label_shares(monkeypatch):
    import mtl_core.compare as compare

    real_fit = compare.fit_network
    started = []

    def record_start(net, tasks, train, val, settings, *args):
        rows = args[2] if len(args) > 2 else slice(None)
        clicked = train.labels[rows, 0]
        share = float(clicked[~clicked.isnan()].mean())
        started.append((torch.sigmoid(net.heads.output.bias[0]).item(), share))
        return real_fit(net, tasks, train, val, settings, *args)

    monkeypatch.setattr(compare, "fit_network", record_start)
    frame = related_tasks_frame(300)
    run_comparison(frame, _config(("clicked", "revenue"), max_epochs=1))

    # The shared network, then the single-task network of clicked.
    assert len(started) == 3
    for start, share in started[:2]:
        assert start == pytest.approx(share, rel=1e-5)


def test_target_order_does_not_change_results():
    frame = related_tasks_frame(300)
    listed = run_comparison(frame, _config(("revenue", "clicked"), max_epochs=2))
    swapped = run_comparison(frame, _config(("clicked", "revenue"), max_epochs=2))

    # Both train in the columns' order: clicked, then revenue.
    assert [task["name"] for task in listed.metrics["tasks"]] == ["clicked", "revenue"]
    assert listed.metrics["tasks"] == swapped.metrics["tasks"]
    # The settings list the targets in the same order as the tasks.
    assert listed.metrics["run"]["settings"]["targets"] == ["clicked", "revenue"]
    assert swapped.metrics["run"]["settings"]["targets"] == ["clicked", "revenue"]


def test_one_class_predictions_get_no_verdict():
    from mtl_core.class_counts import withhold_one_class_verdicts

    tie = {"verdict": "no_clear_difference", "ci_low": 0.0, "ci_high": 0.0}
    task = {
        "name": "loan",
        "kind": "multiclass",
        "classes": ["no", "unknown", "yes"],
        "predicted_classes": {"multitask": 1, "single_task_nn": 1, "lightgbm": 2},
        "comparisons": {"single_task_nn": dict(tie), "lightgbm": dict(tie)},
    }

    withhold_one_class_verdicts(task)

    single = task["comparisons"]["single_task_nn"]
    assert single["verdict"] == "not_available"
    assert single["reason"].startswith("both models predict one class")
    assert task["comparisons"]["lightgbm"]["verdict"] == "no_clear_difference"


def test_absent_class_named_in_verdict_reason():
    from mtl_core.class_counts import withhold_thin_verdicts

    task = {
        "name": "channel",
        "classes": ["email", "sms", "web"],
        "test_class_counts": [40, 0, 35],
        "comparisons": {"lightgbm": {"verdict": "shared_better", "reason": None}},
    }

    withhold_thin_verdicts(task)

    comparison = task["comparisons"]["lightgbm"]
    assert comparison["verdict"] == "not_available"
    assert comparison["reason"].startswith("no test row of class 'sms'")
