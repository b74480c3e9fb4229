"""Fitted feature transform shared by every model of a run.

Numbers get a missing-value indicator and a scaling robust to heavy tails: a
signed log for skewed columns, then median and interquartile range. Categories
become integer codes for learned embeddings, with code 0 for missing and unseen
values. Dates become calendar parts. The transform is fitted on training rows only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mtl_core.errors import MtlError
from mtl_core.feature_selection import ColumnRole

logger = logging.getLogger(__name__)

MAX_CATEGORIES = 1000
_CLIP = 10.0
_SKEW_LIMIT = 2.0
_DATE_PARTS = ("year", "month", "day", "day_of_week")


@dataclass
class _NumericScale:
    log: bool
    center: float
    scale: float
    has_missing: bool


@dataclass
class FeatureMatrices:
    """Model inputs for a set of rows.

    ``numeric`` has shape ``(n_rows, n_numeric)`` (scaled, no NaN), ``categorical``
    shape ``(n_rows, n_categorical)`` (codes, 0 for missing or unseen), ``raw``
    shape ``(n_rows, n_raw)``: unscaled numbers with NaN and category codes as
    float, for LightGBM.
    """

    numeric: np.ndarray
    categorical: np.ndarray
    raw: np.ndarray


@dataclass
class FeaturePreprocessor:
    """Transform fitted on training rows; ``fit`` sets the ``*_`` attributes."""

    roles: list[ColumnRole]
    numeric_columns_: list[str] = field(default_factory=list)
    scales_: dict[str, _NumericScale] = field(default_factory=dict)
    categories_: dict[str, pd.Index] = field(default_factory=dict)
    fitted_: bool = False

    def _numeric_sources(self, frame: pd.DataFrame) -> dict[str, pd.Series]:
        sources: dict[str, pd.Series] = {}
        for item in self.roles:
            series = frame[item.column]
            if item.role == "numeric":
                sources[item.column] = pd.to_numeric(series, errors="coerce").astype(
                    float
                )
            elif item.role == "boolean":
                sources[item.column] = series.astype("Float64").astype(float)
            elif item.role == "date":
                dates = pd.to_datetime(series, errors="coerce")
                for part in _DATE_PARTS:
                    sources[f"{item.column} ({part})"] = getattr(dates.dt, part).astype(
                        float
                    )
        for key, values in sources.items():
            values = values.to_numpy(dtype=float, na_value=np.nan, copy=True)
            values[~np.isfinite(values)] = np.nan
            sources[key] = values
        return sources

    @property
    def categorical_columns(self) -> list[str]:
        return [item.column for item in self.roles if item.role == "categorical"]

    def fit(self, frame: pd.DataFrame) -> FeaturePreprocessor:
        """Fit scales and vocabularies on the training rows of ``frame``."""
        sources = self._numeric_sources(frame)
        self.numeric_columns_ = list(sources)
        for name, values in sources.items():
            self.scales_[name] = _fit_scale(values)
        for column in self.categorical_columns:
            counts = frame[column].dropna().astype(str).value_counts()
            self.categories_[column] = pd.Index(counts.index[:MAX_CATEGORIES])
        self.fitted_ = True
        return self

    @property
    def cardinalities(self) -> list[int]:
        """Embedding table sizes, one per categorical column (code 0 included)."""
        return [len(self.categories_[c]) + 1 for c in self.categorical_columns]

    @property
    def raw_feature_names(self) -> list[str]:
        return self.numeric_columns_ + self.categorical_columns

    @property
    def n_numeric(self) -> int:
        return sum(2 if scale.has_missing else 1 for scale in self.scales_.values())

    def transform(self, frame: pd.DataFrame) -> FeatureMatrices:
        """Transform rows with the fitted scales; call ``fit`` first."""
        if not self.fitted_:
            raise MtlError(
                "FeaturePreprocessor is not fitted: call fit() on training rows first"
            )
        n_rows = len(frame)
        sources = self._numeric_sources(frame)
        numeric_parts = []
        raw_parts = []
        for name in self.numeric_columns_:
            values = sources[name]
            scale = self.scales_[name]
            raw_parts.append(values)
            missing = np.isnan(values)
            scaled = _signed_log(values) if scale.log else values
            scaled = np.clip((scaled - scale.center) / scale.scale, -_CLIP, _CLIP)
            numeric_parts.append(np.where(missing, 0.0, scaled))
            if scale.has_missing:
                numeric_parts.append(missing.astype(float))
        codes = []
        for column in self.categorical_columns:
            code = _category_codes_of(frame[column], self.categories_[column])
            codes.append(code.astype(np.int64))
            raw = code.astype(float)
            raw[code == 0] = np.nan
            raw_parts.append(raw)
        numeric = (
            np.column_stack(numeric_parts) if numeric_parts else np.zeros((n_rows, 0))
        )
        categorical = (
            np.column_stack(codes) if codes else np.zeros((n_rows, 0), np.int64)
        )
        raw = np.column_stack(raw_parts) if raw_parts else np.zeros((n_rows, 0))
        return FeatureMatrices(
            numeric=numeric.astype(np.float32),
            categorical=categorical,
            raw=raw.astype(np.float32),
        )


def _category_codes_of(series: pd.Series, vocabulary: pd.Index) -> np.ndarray:
    """Map values to 1-based positions in ``vocabulary``, 0 for missing or unseen."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        # Look up each distinct category once instead of every row's string.
        lookup = vocabulary.get_indexer(series.cat.categories.astype(str))
        lookup = np.append(lookup, -1)  # position -1 is a missing value's code
        return lookup[series.cat.codes.to_numpy()] + 1
    values = series.astype("string").astype(object)
    return vocabulary.get_indexer(values) + 1


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


def _fit_scale(values: np.ndarray) -> _NumericScale:
    present = values[~np.isnan(values)]
    has_missing = bool(np.isnan(values).any())
    if present.size == 0:
        return _NumericScale(False, 0.0, 1.0, has_missing)
    log = False
    std = present.std()
    if std > 0:
        skew = float(np.mean(((present - present.mean()) / std) ** 3))
        log = abs(skew) > _SKEW_LIMIT
    if log:
        present = _signed_log(present)
    q25, median, q75 = np.percentile(present, [25, 50, 75])
    scale = q75 - q25
    if not scale > 0:
        scale = present.std()
    if not scale > 0:
        scale = 1.0
    return _NumericScale(log, float(median), float(scale), has_missing)
