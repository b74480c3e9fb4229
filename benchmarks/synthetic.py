"""Synthetic campaign tables with related tasks, for the speed and memory benchmarks.

Three hidden customer traits drive both the features and every outcome, so the
tasks are related and a shared trunk has something to share. The columns mix
skewed numbers (some with gaps), categories of low to high cardinality, flags and
a date, about 40 in all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_NUMERIC = 24
N_CATEGORICAL = 12
N_FLAGS = 3
_CARDINALITIES = (3, 4, 5, 7, 10, 12, 20, 30, 50, 100, 200, 500)
_N_TRAITS = 3
_MISSING_LABEL_SHARE = 0.05


def task_names(n_tasks: int) -> list[str]:
    """Return the target column names of a table made with ``n_tasks`` tasks."""
    return [f"outcome_{i}" for i in range(n_tasks)]


def make_campaign_frame(n_rows: int, n_tasks: int, seed: int = 0) -> pd.DataFrame:
    """Build a table of ``n_rows`` customers with ``n_tasks`` related binary outcomes.

    The table has 24 numeric columns (log-normal, count and heavy-tailed, 3 with
    missing values), 12 categorical string columns with 3 to 500 categories, 3
    boolean flags, one date column and the outcome columns, which are ``"yes"`` or
    ``"no"`` with 5% missing labels.
    """
    rng = np.random.default_rng(seed)
    traits = rng.normal(size=(n_rows, _N_TRAITS)).astype(np.float32)
    columns: dict[str, object] = {}

    loadings = rng.normal(scale=0.6, size=(N_NUMERIC, _N_TRAITS)).astype(np.float32)
    signal = traits @ loadings.T
    for j in range(N_NUMERIC):
        noise = rng.normal(size=n_rows).astype(np.float32)
        base = signal[:, j] + noise
        if j % 3 == 0:
            values = np.exp(1.0 + 0.8 * base)  # log-normal spend
        elif j % 3 == 1:
            values = rng.poisson(np.exp(0.5 + 0.4 * np.clip(base, -4, 4))).astype(float)
        else:
            values = base.astype(float) * 10.0
        values = np.round(values, 2)
        if j < 3:
            values[rng.random(n_rows) < 0.1 * (j + 1)] = np.nan
        columns[f"num_{j}"] = values

    for j, cardinality in enumerate(_CARDINALITIES):
        # Categories are ordered by one trait, so their codes carry signal.
        trait = traits[:, j % _N_TRAITS] + rng.normal(scale=1.0, size=n_rows)
        ranks = np.clip(
            ((trait + 3.0) / 6.0 * cardinality).astype(int), 0, cardinality - 1
        )
        shuffle = rng.permutation(cardinality)
        labels = np.array([f"c{j}_{k}" for k in range(cardinality)], dtype=object)
        columns[f"cat_{j}"] = pd.array(labels[shuffle[ranks]], dtype="str")

    for j in range(N_FLAGS):
        columns[f"flag_{j}"] = traits[:, j] + rng.normal(size=n_rows) > 0

    days = rng.integers(0, 1400, n_rows)
    columns["signup_date"] = pd.Timestamp("2021-01-01") + pd.to_timedelta(days, "D")

    task_weights = rng.normal(scale=1.0, size=(n_tasks, _N_TRAITS))
    for name, weights in zip(task_names(n_tasks), task_weights, strict=True):
        score = traits @ weights + 0.3 * np.sin(traits[:, 0] * 2.0) - 1.0
        score += rng.normal(scale=0.8, size=n_rows)
        outcome = np.where(score > 0, "yes", "no").astype(object)
        outcome[rng.random(n_rows) < _MISSING_LABEL_SHARE] = None
        columns[name] = pd.array(outcome, dtype="str")
    return pd.DataFrame(columns)
