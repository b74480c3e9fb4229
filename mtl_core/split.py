"""One train/validation/test split shared by every model of a run."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from mtl_core.tasks import Task

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Split:
    """Row positions of each part; the test rows are never used to choose anything."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    stratified_on: str | None


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


def split_rows(
    tasks: list[Task], n_rows: int, test_fraction: float, val_fraction: float, seed: int
) -> Split:
    """Split rows into train, validation and test parts, stratified where possible.

    Stratification uses the binary task with the rarest class, so its few positives
    reach every part; it falls back to a plain random split when a class is too rare.
    """
    strata, stratified_on = _strata(tasks)
    rows = np.arange(n_rows)
    rest, test = _cut(rows, test_fraction, strata, seed)
    val_share = val_fraction / (1.0 - test_fraction)
    train, val = _cut(rest, val_share, strata, seed + 1)
    logger.info(
        "split %d rows: %d train, %d validation, %d test (stratified on %s)",
        n_rows,
        len(train),
        len(val),
        len(test),
        stratified_on or "nothing",
    )
    return Split(np.sort(train), np.sort(val), np.sort(test), stratified_on)
