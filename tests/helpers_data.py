"""Shared test data: locating the real datasets and building small frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """Path of a real dataset file, skipping the test when shared data is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"real dataset {path} not present (it lives beside the repo in CI)")
    return path


def related_tasks_frame(n_rows: int = 600, seed: int = 0) -> pd.DataFrame:
    """A small frame with numeric, categorical and date features and three related
    outcomes (binary, multiclass, regression)."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n_rows)
    colour = rng.choice(["red", "green", "blue"], size=n_rows)
    frame = pd.DataFrame(
        {
            "signal": signal,
            "noise": rng.normal(size=n_rows),
            "spend": np.exp(rng.normal(2, 1.5, n_rows)),
            "colour": colour,
            "joined": pd.to_datetime("2022-01-01")
            + pd.to_timedelta(rng.integers(0, 700, n_rows), "D"),
        }
    )
    frame["clicked"] = np.where(signal + rng.normal(0, 0.5, n_rows) > 0, "yes", "no")
    frame["segment"] = np.where(
        signal > 0.7, "high", np.where(signal < -0.7, "low", "mid")
    )
    frame["revenue"] = 30 * signal + 10 * (colour == "red") + rng.normal(0, 20, n_rows)
    return frame
