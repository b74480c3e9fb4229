"""Loading speed: `mtl_core.loading.load_csvs` against `pyarrow.csv.read_csv` alone
on the same campaign CSV, plus a profile of where the loader spends its time."""

from __future__ import annotations

import cProfile
import io
import logging
import pstats
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.csv

from benchmarks.synthetic import make_campaign_frame

logger = logging.getLogger(__name__)


def write_campaign_csv(path: Path, n_rows: int, seed: int = 0) -> Path:
    """Write a synthetic campaign CSV with the formats a loader has to clean.

    Besides plain numbers, strings and ISO dates, the file has a currency column
    with thousands separators (``"$1,234.56"``), a percent column (``"12.5%"``),
    ``yes``/``no`` flags and blank cells for missing values.
    """
    frame = make_campaign_frame(n_rows, 4, seed=seed)
    spend = frame["num_0"]
    frame["num_0"] = spend.map(
        lambda value: "" if np.isnan(value) else f"${value:,.2f}"
    )
    rate = (frame["num_2"] - frame["num_2"].min()) / (
        frame["num_2"].max() - frame["num_2"].min()
    )
    frame["num_2"] = (rate * 100).map(
        lambda value: "" if np.isnan(value) else f"{value:.1f}%"
    )
    for column in ("flag_0", "flag_1", "flag_2"):
        frame[column] = np.where(frame[column], "yes", "no")
    frame["signup_date"] = frame["signup_date"].dt.strftime("%Y-%m-%d")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


@dataclass
class LoadingSpeed:
    """Seconds per repeat of each reader on one file."""

    n_rows: int
    file_bytes: int
    loader_seconds: list[float]
    arrow_seconds: list[float]
    frame_bytes: int
    profile_top: list[tuple[str, float, float]]  # function, own seconds, cumulative

    @property
    def ratio(self) -> float:
        return statistics.median(self.loader_seconds) / statistics.median(
            self.arrow_seconds
        )


def measure(
    path: Path, n_rows: int, repeats: int, profile_rows: int = 12
) -> LoadingSpeed:
    """Time both readers alternately ``repeats`` times, then profile the loader once."""
    from mtl_core.loading import load_csvs

    loader_seconds, arrow_seconds = [], []
    frame_bytes = 0
    for _ in range(repeats):
        started = time.perf_counter()
        pyarrow.csv.read_csv(path)
        arrow_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        loaded = load_csvs([path])
        loader_seconds.append(time.perf_counter() - started)
        frame_bytes = int(loaded.frame.memory_usage(deep=True).sum())
        del loaded
    return LoadingSpeed(
        n_rows=n_rows,
        file_bytes=path.stat().st_size,
        loader_seconds=loader_seconds,
        arrow_seconds=arrow_seconds,
        frame_bytes=frame_bytes,
        profile_top=profile_loader(path, profile_rows),
    )


def profile_loader(path: Path, n_rows: int) -> list[tuple[str, float, float]]:
    """Profile one load_csvs call; return the functions with the most own time."""
    from mtl_core.loading import load_csvs

    profiler = cProfile.Profile()
    profiler.enable()
    load_csvs([path])
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = []
    for (file_name, line, function), values in stats.stats.items():  # type: ignore[attr-defined]
        own_seconds, cumulative_seconds = values[2], values[3]
        short = file_name.rsplit("site-packages/", 1)[-1].rsplit("/work/main/", 1)[-1]
        rows.append((f"{short}:{line}({function})", own_seconds, cumulative_seconds))
    rows.sort(key=lambda row: row[1], reverse=True)
    return rows[:n_rows]


def frame_summary(path: Path) -> pd.Series:
    """Return the dtypes load_csvs gives the file's columns, for the report."""
    from mtl_core.loading import load_csvs

    return load_csvs([path]).frame.dtypes


def phase_seconds(path: Path) -> tuple[dict[str, float], list[tuple[str, float]]]:
    """Time the phases of one load_csvs call and the cleaning of each column.

    The loader cleans columns in worker threads, which cProfile of the calling
    thread does not see, so the phases are timed by wrapping the loader's own
    functions for the duration of the call. Conversion to pandas is the time left
    after the wrapped phases.
    """
    from mtl_core import cleaning, loading

    phases: dict[str, float] = {}
    columns: list[tuple[str, float]] = []
    originals = {
        "read_file": loading.read_file,
        "_stack": loading._stack,
        "clean_table": loading.clean_table,
    }
    clean_column = cleaning.clean_column

    def timed(name, function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started

        return wrapper

    def timed_column(name, *args, **kwargs):
        started = time.perf_counter()
        try:
            return clean_column(name, *args, **kwargs)
        finally:
            columns.append((name, time.perf_counter() - started))

    for name, function in originals.items():
        setattr(loading, name, timed(name, function))
    cleaning.clean_column = timed_column
    try:
        started = time.perf_counter()
        loading.load_csvs([path])
        total = time.perf_counter() - started
    finally:
        for name, function in originals.items():
            setattr(loading, name, function)
        cleaning.clean_column = clean_column
    phases["to_pandas and the rest"] = total - sum(phases.values())
    phases["total"] = total
    columns.sort(key=lambda item: item[1], reverse=True)
    return phases, columns
