"""Test-set metrics per task kind, with the reason where one cannot be computed."""

from __future__ import annotations

import math

import numpy as np
from sklearn import metrics as skm

PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "macro_f1", "regression": "rmse"}
HIGHER_IS_BETTER = {
    "roc_auc": True,
    "pr_auc": True,
    "accuracy": True,
    "f1": True,
    "macro_f1": True,
    "r2": True,
    "log_loss": False,
    "rmse": False,
    "mae": False,
}
METRIC_LABELS = {
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC",
    "accuracy": "Accuracy",
    "f1": "F1",
    "macro_f1": "Macro F1",
    "log_loss": "Log loss",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}
_EPSILON = 1e-7


def metric_label(key: object) -> str:
    """Return the display name of a metric key such as ``roc_auc``."""
    return METRIC_LABELS.get(str(key), str(key))


def predicted_labels(kind: str, predictions: np.ndarray) -> np.ndarray:
    """Class codes from probabilities: 0.5 threshold for binary, argmax for multiclass."""
    if kind == "binary":
        return (predictions >= 0.5).astype(int)
    return predictions.argmax(axis=1)


def task_metrics(
    kind: str, labels: np.ndarray, predictions: np.ndarray, n_classes: int | None = None
) -> tuple[dict[str, float | None], dict[str, str]]:
    """Compute every metric of a task kind on labelled rows.

    Parameters
    ----------
    kind : str
        ``binary``, ``multiclass`` or ``regression``.
    labels : ndarray of shape (n_rows,)
        Class codes or values in original units, no NaN.
    predictions : ndarray of shape (n_rows,) or (n_rows, n_classes)
        Probabilities of the positive class or of each class, or values in original
        units.

    Returns
    -------
    values : dict
        Metric name to value, None where it cannot be computed.
    unavailable : dict
        Metric name to the reason it is None.
    """
    values: dict[str, float | None] = {}
    unavailable: dict[str, str] = {}
    if len(labels) == 0:
        for name in _names(kind):
            values[name] = None
            unavailable[name] = "no labelled test rows"
        return values, unavailable
    if kind == "regression":
        values["rmse"] = float(np.sqrt(np.mean((labels - predictions) ** 2)))
        values["mae"] = float(np.mean(np.abs(labels - predictions)))
        if np.var(labels) > 0:
            values["r2"] = float(skm.r2_score(labels, predictions))
        else:
            values["r2"] = None
            unavailable["r2"] = "every test label has the same value"
        return values, unavailable

    codes = labels.astype(int)
    guessed = predicted_labels(kind, predictions)
    values["accuracy"] = float(np.mean(guessed == codes))
    if kind == "binary":
        probabilities = np.clip(predictions, _EPSILON, 1 - _EPSILON)
        values["f1"] = float(skm.f1_score(codes, guessed, zero_division=0))
        values["log_loss"] = float(skm.log_loss(codes, probabilities, labels=[0, 1]))
        if len(np.unique(codes)) < 2:
            reason = "only one class among the test rows"
            for name in ("roc_auc", "pr_auc"):
                values[name] = None
                unavailable[name] = reason
        else:
            values["roc_auc"] = float(skm.roc_auc_score(codes, predictions))
            values["pr_auc"] = float(skm.average_precision_score(codes, predictions))
    else:
        probabilities = np.clip(predictions, _EPSILON, 1.0)
        probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
        values["macro_f1"] = float(
            skm.f1_score(
                codes,
                guessed,
                average="macro",
                labels=np.unique(codes),
                zero_division=0,
            )
        )
        values["log_loss"] = float(
            skm.log_loss(
                codes,
                probabilities,
                labels=list(range(n_classes or predictions.shape[1])),
            )
        )
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            values[name] = None
            unavailable[name] = "not finite on these predictions"
    return values, unavailable


def _names(kind: str) -> tuple[str, ...]:
    if kind == "binary":
        return ("roc_auc", "pr_auc", "accuracy", "f1", "log_loss")
    if kind == "multiclass":
        return ("accuracy", "macro_f1", "log_loss")
    return ("rmse", "mae", "r2")
