"""Fitted feature transform shared by every model of a run.

Numbers get a missing-value indicator and a scaling robust to heavy tails: a
signed log for skewed columns, then median and interquartile range. Categories
become integer codes for learned embeddings, with code 0 for missing and unseen
values. Dates become calendar parts. A number with few distinct values (a browser
code, a region, a family size, a month) also becomes a category for the networks:
a tree can split any one value off, while a network gets the values in order. The
transform is fitted on training rows only.

Both ``fit`` and ``transform`` take the rows to use as positions and work one
column at a time, so no copy of the frame is made and each output matrix is
allocated once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
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
# A number is also a category when it has at most _MAX_CODED_VALUES distinct
# training values and at least _ROWS_PER_VALUE training rows per value. With
# fewer rows per value the networks fitted each value's noise (docs/benchmarks.md).
_MAX_CODED_VALUES = 24
_ROWS_PER_VALUE = 250


@dataclass
class _NumericScale:
    log: bool
    center: float
    scale: float
    has_missing: bool


@dataclass
class FeatureMatrices:
    """Model inputs for a set of rows.

    ``numeric`` is float32 of shape ``(n_rows, n_numeric)`` (scaled, no NaN),
    ``categorical`` int16 with one column per category column and then one per
    coded number (codes, 0 for missing or unseen), ``raw`` float32 of shape
    ``(n_rows, n_raw)``: unscaled numbers with NaN and category codes as float,
    for LightGBM, which splits numbers itself.
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
    # Sorted distinct training values of each number source coded as a category.
    number_codes_: dict[str, np.ndarray] = field(default_factory=dict)
    fitted_: bool = False

    @property
    def categorical_columns(self) -> list[str]:
        return [item.column for item in self.roles if item.role == "categorical"]

    def fit(
        self, frame: pd.DataFrame, rows: np.ndarray | None = None
    ) -> FeaturePreprocessor:
        """Fit scales and vocabularies on the training rows of ``frame``.

        ``rows`` gives the training rows as positions; by default every row is used.
        """
        self.numeric_columns_ = []
        self.scales_ = {}
        self.categories_ = {}
        self.number_codes_ = {}
        for item in self.roles:
            series = _take(frame[item.column], rows)
            if item.role == "categorical":
                self.categories_[item.column] = _vocabulary(series)
                continue
            for name, values in _number_sources(item, series):
                self.numeric_columns_.append(name)
                self.scales_[name] = _fit_scale(values)
                distinct = _few_distinct_values(values)
                if distinct is not None:
                    self.number_codes_[name] = distinct
        self.fitted_ = True
        return self

    @property
    def cardinalities(self) -> list[int]:
        """Embedding table sizes, one per network category column (code 0 included).

        Category columns come first, then the numbers coded as categories.
        """
        return [len(self.categories_[c]) + 1 for c in self.categorical_columns] + [
            len(values) + 1 for values in self.number_codes_.values()
        ]

    @property
    def raw_feature_names(self) -> list[str]:
        return self.numeric_columns_ + self.categorical_columns

    @property
    def n_numeric(self) -> int:
        return sum(2 if scale.has_missing else 1 for scale in self.scales_.values())

    def transform(
        self, frame: pd.DataFrame, rows: np.ndarray | None = None
    ) -> FeatureMatrices:
        """Transform rows with the fitted scales; call ``fit`` first.

        ``rows`` selects and orders the rows as positions; by default every row.
        """
        numeric, categorical = self._new_network_features(_n_rows(frame, rows))
        raw = self._new_raw_features(_n_rows(frame, rows))
        self._fill(frame, rows, numeric, categorical, raw)
        return FeatureMatrices(numeric=numeric, categorical=categorical, raw=raw)

    def network_features(
        self, frame: pd.DataFrame, rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``transform``'s ``numeric`` and ``categorical`` without ``raw``."""
        numeric, categorical = self._new_network_features(_n_rows(frame, rows))
        self._fill(frame, rows, numeric, categorical, None)
        return numeric, categorical

    def raw_features(
        self, frame: pd.DataFrame, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Return ``transform``'s ``raw`` matrix alone."""
        raw = self._new_raw_features(_n_rows(frame, rows))
        self._fill(frame, rows, None, None, raw)
        return raw

    def _new_network_features(self, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        numeric = np.empty((n_rows, self.n_numeric), dtype=np.float32)
        # Codes stay below MAX_CATEGORIES + 1, so int16 stores them in half the
        # memory of int32. The embedding lookup widens each batch's codes.
        categorical = np.empty((n_rows, len(self.cardinalities)), dtype=np.int16)
        return numeric, categorical

    def _new_raw_features(self, n_rows: int) -> np.ndarray:
        self._check_fitted()
        return np.empty((n_rows, len(self.raw_feature_names)), dtype=np.float32)

    def _check_fitted(self) -> None:
        if not self.fitted_:
            raise MtlError(
                "FeaturePreprocessor is not fitted: call fit() on training rows first"
            )

    def _fill(
        self,
        frame: pd.DataFrame,
        rows: np.ndarray | None,
        numeric: np.ndarray | None,
        categorical: np.ndarray | None,
        raw: np.ndarray | None,
    ) -> None:
        """Write the selected rows into whichever output matrices are given.

        Each column is converted in float64 and only then cast into the float32
        output, so the values equal a float64 transform cast once at the end.
        """
        raw_position = 0
        numeric_position = 0
        n_categories = len(self.categorical_columns)
        coded_position = {
            name: n_categories + i for i, name in enumerate(self.number_codes_)
        }
        for item in self.roles:
            if item.role == "categorical":
                continue
            series = _take(frame[item.column], rows)
            for name, values in _number_sources(item, series):
                scale = self.scales_[name]
                if raw is not None:
                    raw[:, raw_position] = values
                raw_position += 1
                if numeric is None:
                    continue
                if categorical is not None and name in coded_position:
                    categorical[:, coded_position[name]] = _value_codes(
                        values, self.number_codes_[name]
                    )
                missing = np.isnan(values)
                scaled = _signed_log(values) if scale.log else values
                scaled = np.clip((scaled - scale.center) / scale.scale, -_CLIP, _CLIP)
                numeric[:, numeric_position] = np.where(missing, 0.0, scaled)
                numeric_position += 1
                if scale.has_missing:
                    numeric[:, numeric_position] = missing
                    numeric_position += 1
        n_sources = len(self.numeric_columns_)
        for position, column in enumerate(self.categorical_columns):
            series = _take(frame[column], rows)
            code = _category_codes_of(series, self.categories_[column])
            if categorical is not None:
                categorical[:, position] = code
            if raw is not None:
                raw[:, n_sources + position] = code
                raw[code == 0, n_sources + position] = np.nan


def _n_rows(frame: pd.DataFrame, rows: np.ndarray | None) -> int:
    return len(frame) if rows is None else len(rows)


def _take(series: pd.Series, rows: np.ndarray | None) -> pd.Series:
    return series if rows is None else series.iloc[rows]


def _number_sources(
    item: ColumnRole, series: pd.Series
) -> Iterator[tuple[str, np.ndarray]]:
    """Yield the float64 inputs made from one column: itself or its date parts.

    Missing and non-finite values become NaN. The arrays are fresh copies.
    """
    if item.role == "numeric":
        yield item.column, _float_values(pd.to_numeric(series, errors="coerce"))
    elif item.role == "boolean":
        yield item.column, _float_values(series.astype("Float64"))
    elif item.role == "date":
        dates = pd.to_datetime(series, errors="coerce")
        for part in _DATE_PARTS:
            yield f"{item.column} ({part})", _float_values(getattr(dates.dt, part))


def _float_values(numbers: pd.Series) -> np.ndarray:
    values = numbers.astype(float).to_numpy(dtype=float, na_value=np.nan, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values


def _text_codes(series: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """Return each row's code (-1 for a missing value) and the distinct values as text.

    Returns None unless the column is text or a category, because in other columns
    two distinct values can convert to the same text (1 and 1.0 in an object column).
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(), series.cat.categories.astype(str)
    if pd.api.types.is_string_dtype(series.dtype) and series.dtype != object:
        codes, uniques = pd.factorize(series)
        return codes, pd.Index(uniques).astype(str)
    return None


def _vocabulary(series: pd.Series) -> pd.Index:
    """Return up to MAX_CATEGORIES values as text, most frequent first.

    Equal counts keep the order in which the values first appear, as
    ``Series.value_counts`` orders them.
    """
    coded = _text_codes(series)
    if coded is None or coded[1].has_duplicates:
        counts = series.dropna().astype(str).value_counts()
        return pd.Index(counts.index[:MAX_CATEGORIES])
    codes, texts = coded
    present = codes[codes >= 0]
    seen, first_position = np.unique(present, return_index=True)
    in_order = seen[np.argsort(first_position, kind="stable")]
    counts = np.bincount(present, minlength=len(texts))[in_order]
    ranked = pd.Series(counts, index=texts[in_order]).sort_values(
        ascending=False, kind="stable"
    )
    return pd.Index(ranked.index[:MAX_CATEGORIES])


def _category_codes_of(series: pd.Series, vocabulary: pd.Index) -> np.ndarray:
    """Map values to 1-based positions in ``vocabulary``, 0 for missing or unseen."""
    coded = _text_codes(series)
    if coded is None:
        values = series.astype("string").astype(object)
        return vocabulary.get_indexer(values) + 1
    # Look up each distinct value once instead of every row's string.
    codes, texts = coded
    lookup = vocabulary.get_indexer(texts)
    lookup = np.append(lookup, -1)  # position -1 is a missing value's code
    return lookup[codes] + 1


def _few_distinct_values(values: np.ndarray) -> np.ndarray | None:
    """Return the sorted distinct values of a number to code as a category, or None.

    A flag (two values) gains nothing from an embedding, so it needs three values.
    """
    present = values[~np.isnan(values)]
    distinct = np.unique(present)
    if not 3 <= distinct.size <= _MAX_CODED_VALUES:
        return None
    if present.size < _ROWS_PER_VALUE * distinct.size:
        return None
    return distinct


def _value_codes(values: np.ndarray, distinct: np.ndarray) -> np.ndarray:
    """Map values to 1-based positions in ``distinct``, 0 for missing or unseen."""
    position = np.minimum(np.searchsorted(distinct, values), distinct.size - 1)
    return np.where(distinct[position] == values, position + 1, 0)


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
