"""Choose feature columns: drop targets, IDs, free text, constants and target copies."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtl_core.errors import InputError
from mtl_core.tasks import Task, column_hint

logger = logging.getLogger(__name__)

SOURCE_COLUMN = "source_file"
_ID_NAME = re.compile(
    r"(^|[\s_.\-])(id|uuid|guid|key)$|^id[\s_.\-]|[a-z]Id$|[a-z]ID$", re.I
)
# Share of distinct values above which a text column is treated as an identifier or
# free text rather than a category.
_HIGH_CARDINALITY_SHARE = 0.5
_FREE_TEXT_MEAN_LENGTH = 25
# Agreement with a target above which a feature is taken to copy it.
_LEAK_EXCLUDE = 0.99
_LEAK_WARN = 0.9
_LEAK_SAMPLE_ROWS = 50_000
# Columns with a smaller share of values present carry too little to learn from.
_MIN_PRESENT_SHARE = 0.01


@dataclass(frozen=True)
class ColumnRole:
    """Role of one column in the models: ``numeric``, ``boolean``, ``date`` or
    ``categorical``."""

    column: str
    role: str


@dataclass(frozen=True)
class ExcludedColumn:
    column: str
    reason: str


_BY_USER = "excluded by the user"
_SOURCE = "records the file each row came from"


@dataclass(frozen=True)
class FeatureSelection:
    roles: list[ColumnRole]
    excluded: list[ExcludedColumn]
    warnings: list[str]

    def listed_exclusions(self) -> list[str]:
        """Return the excluded columns to show a user.

        The column that records each row's file is left out, because the loader
        adds it and the user never chose it.
        """
        return [item.column for item in self.excluded if item.reason != _SOURCE]

    def excluded_by_user(self) -> list[str]:
        """Return the columns the user chose to exclude."""
        return [item.column for item in self.excluded if item.reason == _BY_USER]

    def no_features_advice(self, n_targets: int) -> str:
        """Return what to do when no feature is left, in lower case.

        Excluding fewer columns helps only where the user excluded some, and
        choosing fewer targets only where there are several.
        """
        advice = ["add columns that describe the customers"]
        if n_targets > 1:
            advice.append("choose fewer targets")
        if self.excluded_by_user():
            advice.append("exclude fewer columns")
        return ", or ".join(advice)


def looks_like_id(series: pd.Series, name: str) -> bool:
    """Tell whether a column identifies rows: unique per row, or named like an id
    with many distinct values."""
    present = series.dropna()
    continuous = pd.api.types.is_float_dtype(
        series
    ) or pd.api.types.is_datetime64_any_dtype(series)
    if len(present) < 20 or continuous:
        unique_share = 0.0
    else:
        unique_share = present.nunique() / len(present)
    if unique_share == 1.0:
        return True
    return (
        bool(_ID_NAME.search(name.strip())) and unique_share > _HIGH_CARDINALITY_SHARE
    )


def _text_role(series: pd.Series) -> str | None:
    present = series.dropna().astype(str)
    if present.empty:
        return None
    unique_share = present.nunique() / len(present)
    if unique_share <= _HIGH_CARDINALITY_SHARE:
        return "categorical"
    if (
        present.str.len().mean() >= _FREE_TEXT_MEAN_LENGTH
        or present.str.contains(" ").mean() > 0.5
    ):
        return "free_text"
    return "high_cardinality"


def column_role(series: pd.Series) -> str | None:
    """Return the feature role of a column, or a reason word when it cannot be one."""
    if series.isna().all():
        return "empty"
    if series.notna().mean() < _MIN_PRESENT_SHARE:
        return "nearly_empty"
    if series.nunique(dropna=True) < 2 and not series.isna().any():
        return "constant"
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return _text_role(series)


_REASONS = {
    "empty": "every value is missing",
    "nearly_empty": "fewer than 1% of its values are present",
    "constant": "the same value in every row",
    "free_text": "free text (many distinct long values); text is not modelled",
    "high_cardinality": "nearly every row has its own value, like an identifier",
}


def _agreement(feature: pd.Series, task: Task) -> float:
    """Measure how closely a feature determines a task's labels, from 0 to 1."""
    labelled = task.labelled & feature.notna().to_numpy()
    if labelled.sum() < 10:
        return 0.0
    labels = task.labels[labelled]
    values = feature[labelled]
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float).to_numpy()
        finite = np.isfinite(numbers)
        numbers, labels = numbers[finite], labels[finite]
        if numbers.size < 10 or np.std(numbers) == 0 or np.std(labels) == 0:
            return 0.0
        if task.kind == "regression":
            return float(abs(np.corrcoef(numbers, labels)[0, 1]))
        if task.kind == "binary":
            # A number that is 0 on every negative row and positive on every
            # positive one (revenue against converted) correlates at about 0.8
            # only, so the classes' separation by rank counts as well.
            correlation = abs(np.corrcoef(numbers, labels)[0, 1])
            return float(max(correlation, _rank_separation(numbers, labels)))
    if task.kind == "regression" or values.nunique() > 0.5 * len(values):
        return 0.0
    # Share of rows whose label is the majority label of their feature value, scaled
    # so that always guessing the most common label scores 0.
    frame = pd.DataFrame({"value": values.astype(str).to_numpy(), "label": labels})
    counts = frame.groupby(["value", "label"]).size()
    hit_share = counts.groupby(level=0).max().sum() / len(frame)
    base_share = frame["label"].value_counts().iloc[0] / len(frame)
    if base_share >= 1.0:
        return 0.0
    return float(max(0.0, (hit_share - base_share) / (1.0 - base_share)))


def _rank_separation(numbers: np.ndarray, labels: np.ndarray) -> float:
    """Return |2 AUC - 1| of ``numbers`` as a score for 0/1 ``labels``.

    The score is 1 when every positive row's number is above every negative row's,
    or every one is below, and 0 when the numbers do not order the classes at all.
    Tied numbers count half, as in the ROC AUC.
    """
    positive = labels == 1
    n_positive = int(positive.sum())
    n_negative = len(labels) - n_positive
    if n_positive == 0 or n_negative == 0:
        return 0.0
    ranks = pd.Series(numbers).rank(method="average").to_numpy()
    rank_sum = ranks[positive].sum() - n_positive * (n_positive + 1) / 2
    auc = rank_sum / (n_positive * n_negative)
    return float(abs(2.0 * auc - 1.0))


def _subset_task(task: Task, rows: np.ndarray) -> Task:
    return Task(task.name, task.column, task.kind, task.classes, task.labels[rows])


def select_features(
    frame: pd.DataFrame,
    tasks: list[Task],
    exclude: tuple[str, ...] = (),
    skipped_targets: tuple[str, ...] = (),
) -> FeatureSelection:
    """Pick the feature columns of a frame, with the reason for each one left out.

    ``skipped_targets`` are the columns of targets that were chosen but cannot be
    trained. They are left out as well, because a column picked as an outcome is
    not expected among the inputs.
    """
    source_column = frame.attrs.get("source_column", SOURCE_COLUMN)
    unknown = [column for column in exclude if column not in frame.columns]
    if unknown:
        columns = [str(column) for column in frame.columns if column != source_column]
        raise InputError(
            f"excluded column {unknown[0]!r} not found: "
            f"{column_hint(unknown[0], columns)}"
        )
    target_columns = {task.column for task in tasks}
    # Leakage checks look at a fixed sample of rows, so wide files stay fast.
    sample = np.arange(len(frame))
    if len(frame) > _LEAK_SAMPLE_ROWS:
        sample = np.random.default_rng(0).choice(
            len(frame), _LEAK_SAMPLE_ROWS, replace=False
        )
        sample.sort()
    sampled_tasks = [_subset_task(task, sample) for task in tasks]
    roles: list[ColumnRole] = []
    excluded: list[ExcludedColumn] = []
    warnings: list[str] = []
    derived = {task.column: task.name for task in tasks if task.name != task.column}
    for column in exclude:
        if column in target_columns:
            warnings.append(
                f"column {column!r} is both a target and excluded, but a target is "
                "never a feature, so excluding it changes nothing: check that the "
                "target is the one you meant"
            )
    for task in tasks:
        if task.column in frame.columns and looks_like_id(
            frame[task.column], task.column
        ):
            warnings.append(
                f"target {task.name!r} looks like an identifier (nearly every row has "
                "its own value): predicting it is rarely useful, so check that it "
                "is an outcome"
            )
    for column in frame.columns:
        series = frame[column]
        if column in derived and column not in {task.name for task in tasks}:
            excluded.append(
                ExcludedColumn(
                    column, f"the target {derived[column]!r} is made from it"
                )
            )
            continue
        if column in target_columns:
            continue
        if column in exclude:
            excluded.append(ExcludedColumn(column, _BY_USER))
            continue
        if column in skipped_targets:
            excluded.append(
                ExcludedColumn(column, "chosen as a target, which was skipped")
            )
            continue
        if column == source_column:
            excluded.append(ExcludedColumn(column, _SOURCE))
            continue
        role = column_role(series)
        if role != "free_text" and looks_like_id(series, column):
            excluded.append(
                ExcludedColumn(column, "looks like an identifier (ID-like)")
            )
            continue
        if role in _REASONS:
            excluded.append(ExcludedColumn(column, _REASONS[role]))
            continue
        sampled = series.iloc[sample].reset_index(drop=True)
        leak = max(
            ((_agreement(sampled, task), task.name) for task in sampled_tasks),
            default=(0.0, ""),
        )
        if leak[0] >= _LEAK_EXCLUDE:
            excluded.append(
                ExcludedColumn(
                    column,
                    f"nearly copies target {leak[1]!r} (agreement {leak[0]:.3f}); "
                    "it would leak the answer",
                )
            )
            continue
        if leak[0] >= _LEAK_WARN:
            warnings.append(
                f"feature {column!r} agrees closely with target {leak[1]!r} "
                f"({leak[0]:.3f}): check that it is known before the outcome"
            )
        roles.append(ColumnRole(column, role))
    for item in excluded:
        logger.info("column %r not used as a feature: %s", item.column, item.reason)
    for warning in warnings:
        logger.warning(warning)
    return FeatureSelection(roles=roles, excluded=excluded, warnings=warnings)
