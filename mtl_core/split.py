"""One train/validation/test split shared by every model of a run."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from mtl_core.errors import InputError
from mtl_core.plural import counted
from mtl_core.tasks import Task

logger = logging.getLogger(__name__)

MIN_ROWS = 30  # fewer leave too few rows for the split's three parts


def check_row_count(n_rows: int) -> None:
    """Raise InputError when a table has too few rows to train, validate and test."""
    if n_rows < MIN_ROWS:
        raise InputError(
            f"only {counted(n_rows, 'row')}: at least {MIN_ROWS} are needed to "
            "train, validate and test"
        )


@dataclass(frozen=True)
class Split:
    """Row positions of each part; the test rows are never used to choose anything."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    stratified_on: str | None
    n_duplicate_rows: int = 0


def _strata(tasks: list[Task]) -> tuple[np.ndarray | None, str | None]:
    """Return labels of the binary task with the rarest class, missing labels as -1."""
    best = None
    for task in tasks:
        if task.kind != "binary":
            continue
        labelled = task.labels[task.labelled]
        minority = min(np.sum(labelled == 0), np.sum(labelled == 1))
        if best is None or minority < best[0]:
            best = (minority, task)
    if best is None:
        return None, None
    task = best[1]
    return np.where(task.labelled, task.labels, -1).astype(int), task.name


def _cut(rows: np.ndarray, share: float, strata: np.ndarray | None, seed: int):
    if strata is not None:
        _, counts = np.unique(strata[rows], return_counts=True)
        n_held = int(round(share * len(rows)))
        # Each stratum needs two rows, and each side at least one row per stratum.
        if (
            counts.min() >= 2
            and n_held >= len(counts)
            and len(rows) - n_held >= len(counts)
        ):
            return train_test_split(
                rows, test_size=share, random_state=seed, stratify=strata[rows]
            )
    return train_test_split(rows, test_size=share, random_state=seed)


def duplicate_groups(frame: pd.DataFrame, ignore: str | None = None) -> np.ndarray:
    """Return a group number per row; rows with identical values share one.

    ``ignore`` names a column left out of the comparison, such as the loader's
    record of each row's file.
    """
    columns = [column for column in frame.columns if column != ignore]
    hashes = pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()
    return np.unique(hashes, return_inverse=True)[1]


def split_grouped_rows(
    tasks: list[Task],
    groups: np.ndarray,
    test_fraction: float,
    val_fraction: float,
    seed: int,
) -> Split:
    """Split so that identical rows always land in the same part.

    A copy of a test row in the training rows would let a model score on a row it
    has seen, so the split is drawn over one representative row per group and each
    group follows its representative.
    """
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    if n_groups == len(groups):
        return split_rows(tasks, len(groups), test_fraction, val_fraction, seed)
    first = np.unique(groups, return_index=True)[1]
    representatives = [
        Task(task.name, task.column, task.kind, task.classes, task.labels[first])
        for task in tasks
    ]
    parts = _split_rows(representatives, n_groups, test_fraction, val_fraction, seed)
    part_of_group = np.empty(n_groups, dtype=np.int8)
    for code, rows in enumerate((parts.train, parts.val, parts.test)):
        part_of_group[groups[first[rows]]] = code
    row_parts = part_of_group[groups]
    n_duplicates = len(groups) - n_groups
    logger.warning(
        "%s, and each copy stays in its original's part of the split",
        duplicate_rows_phrase(n_duplicates),
    )
    split = Split(
        np.flatnonzero(row_parts == 0),
        np.flatnonzero(row_parts == 1),
        np.flatnonzero(row_parts == 2),
        parts.stratified_on,
        n_duplicates,
    )
    _log_split(split)
    return split


def split_rows(
    tasks: list[Task], n_rows: int, test_fraction: float, val_fraction: float, seed: int
) -> Split:
    """Split rows into train, validation and test parts, stratified where possible.

    Stratification uses the binary task with the rarest class, so its few positives
    reach every part. When a class is too rare for that, the split is plain random.
    """
    split = _split_rows(tasks, n_rows, test_fraction, val_fraction, seed)
    _log_split(split)
    return split


def _split_rows(
    tasks: list[Task], n_rows: int, test_fraction: float, val_fraction: float, seed: int
) -> Split:
    strata, stratified_on = _strata(tasks)
    rows = np.arange(n_rows)
    rest, test = _cut(rows, test_fraction, strata, seed)
    val_share = val_fraction / (1.0 - test_fraction)
    train, val = _cut(rest, val_share, strata, seed + 1)
    return Split(np.sort(train), np.sort(val), np.sort(test), stratified_on)


def _log_split(split: Split) -> None:
    logger.info(
        "split %d rows: %d train, %d validation, %d test (stratified on %s)",
        len(split.train) + len(split.val) + len(split.test),
        len(split.train),
        len(split.val),
        len(split.test),
        split.stratified_on or "nothing",
    )


def duplicate_rows_phrase(n_duplicates: int) -> str:
    """Return "1 row is an exact copy of another row" or its plural for a count."""
    if n_duplicates == 1:
        return "1 row is an exact copy of another row"
    return f"{counted(n_duplicates, 'row')} are exact copies of other rows"
