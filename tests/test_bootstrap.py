import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from mtl_core.bootstrap import (
    compare_sides,
    verdict,
    weighted_macro_f1,
    weighted_rmse,
    weighted_roc_auc,
)


def test_weighted_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) + 0.3 * labels, 1)  # rounding makes ties
    weights = np.ones((1, 300))
    assert weighted_roc_auc(weights, labels, scores)[0] == pytest.approx(
        roc_auc_score(labels, scores)
    )


def test_weighted_auc_equals_resampled_rows():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    scores = rng.random(200) + 0.5 * labels
    picks = rng.integers(0, 200, 200)
    weights = np.bincount(picks, minlength=200)[None, :].astype(float)
    assert weighted_roc_auc(weights, labels, scores)[0] == pytest.approx(
        roc_auc_score(labels[picks], scores[picks])
    )


def test_weighted_auc_one_class_is_nan():
    weights = np.ones((1, 4))
    assert np.isnan(weighted_roc_auc(weights, np.zeros(4, int), np.arange(4.0))[0])


def test_weighted_macro_f1_matches_sklearn():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, 150)
    guessed = np.where(rng.random(150) < 0.6, labels, rng.integers(0, 3, 150))
    weights = np.ones((1, 150))
    assert weighted_macro_f1(weights, labels, guessed, 3)[0] == pytest.approx(
        f1_score(labels, guessed, average="macro")
    )


def test_weighted_rmse():
    weights = np.array([[1.0, 1.0, 2.0]])
    value = weighted_rmse(weights, np.array([0.0, 0.0, 0.0]), np.array([1.0, 1.0, 2.0]))
    assert value[0] == pytest.approx(np.sqrt((1 + 1 + 8) / 4))


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0.01, 0.03, "shared_better"),
        (-0.03, -0.01, "separate_better"),
        (-0.01, 0.02, "no_clear_difference"),
        (None, None, "not_available"),
    ],
    ids=["above-zero", "below-zero", "spans-zero", "missing"],
)
def test_verdict(low, high, expected):
    assert verdict(low, high) == expected


def test_compare_sides_finds_clear_winner():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 2000).astype(float)
    good = labels + rng.normal(0, 0.5, 2000)
    poor = labels + rng.normal(0, 2.0, 2000)
    points = {
        "multitask": roc_auc_score(labels, good),
        "lightgbm": roc_auc_score(labels, poor),
    }
    intervals, differences = compare_sides(
        "binary", labels, {"multitask": good, "lightgbm": poor}, points, 0, 300, seed=0
    )
    assert differences["lightgbm"].verdict == "shared_better"
    assert differences["lightgbm"].difference == pytest.approx(
        points["multitask"] - points["lightgbm"]
    )
    assert (
        intervals["multitask"].low < points["multitask"] < intervals["multitask"].high
    )


def test_compare_sides_lower_is_better_sign():
    rng = np.random.default_rng(4)
    labels = rng.normal(size=500)
    close = labels + rng.normal(0, 0.1, 500)
    far = labels + rng.normal(0, 1.0, 500)
    points = {
        "multitask": float(np.sqrt(np.mean((labels - far) ** 2))),
        "single_task_nn": float(np.sqrt(np.mean((labels - close) ** 2))),
    }
    _, differences = compare_sides(
        "regression",
        labels,
        {"multitask": far, "single_task_nn": close},
        points,
        0,
        200,
        0,
    )
    assert differences["single_task_nn"].difference < 0
    assert differences["single_task_nn"].verdict == "separate_better"


def test_compare_sides_repeats_with_seed():
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 300).astype(float)
    scores = {"multitask": rng.random(300), "lightgbm": rng.random(300)}
    points = {"multitask": 0.5, "lightgbm": 0.5}
    first = compare_sides("binary", labels, scores, points, 0, 100, seed=9)
    second = compare_sides("binary", labels, scores, points, 0, 100, seed=9)
    assert first == second


def test_compare_sides_without_resamples_says_why():
    labels = np.array([1.0, 2.0, 3.0, 4.0])
    predictions = {"multitask": labels + 1.0, "single_task_nn": labels + 1.0}

    _, differences = compare_sides(
        "regression",
        labels,
        predictions,
        {"multitask": 1.0, "single_task_nn": 1.0},
        0,
        0,
        0,
    )

    difference = differences["single_task_nn"]
    assert difference.verdict == "not_available"
    assert difference.reason == (
        "no interval, because the bootstrap resamples were set to 0"
    )


def test_equal_sides_give_unsigned_zero_interval():
    rng = np.random.default_rng(5)
    labels = rng.normal(size=200)
    same = labels + rng.normal(0, 0.5, 200)
    point = float(np.sqrt(np.mean((labels - same) ** 2)))

    _, differences = compare_sides(
        "regression",
        labels,
        {"multitask": same, "single_task_nn": same.copy()},
        {"multitask": point, "single_task_nn": point},
        0,
        200,
        0,
    )

    difference = differences["single_task_nn"]
    assert str(difference.difference) == "0.0"
    assert str(difference.ci_low) == "0.0"
    assert str(difference.ci_high) == "0.0"
