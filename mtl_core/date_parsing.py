"""Parse text cells as dates with one format per column.

The format is inferred from the distinct values of the column. For numeric dates such
as ``04-09-2012`` the order of day and month comes from the values: a first
number above 12 means day first, a second number above 12 means month first.
When no value settles it, ``/`` dates are read month first (the US order)
and ``-`` or ``.`` dates day first, and the note states that this was assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtl_core.number_parsing import decision_set, weighted_sum

MIN_DATE_FRACTION = 0.5
TIMESTAMP_TYPE = pa.timestamp("us")

_TIME = r"(?P<time>(?P<tsep>[ T])[0-9]{1,2}:[0-9]{2}(?P<seconds>:[0-9]{2})?)?"
NUMERIC_DATE = (
    r"^(?P<first>[0-9]{1,2})(?P<sep>[/.-])(?P<second>[0-9]{1,2})(?P<sep2>[/.-])"
    r"(?P<year>[0-9]{4})" + _TIME + "$"
)
ISO_DATE = (
    r"^(?P<year>[0-9]{4})(?P<sep>[/.-])(?P<month>[0-9]{1,2})(?P<sep2>[/.-])"
    r"(?P<day>[0-9]{1,2})" + _TIME + "$"
)
NAMED_DAY_FIRST = (
    r"^(?P<day>[0-9]{1,2})(?P<sep>[ -])(?P<name>[A-Za-z]{3,9})(?P<sep2>[ -])"
    r"(?P<year>[0-9]{4})$"
)
NAMED_MONTH_FIRST = r"^(?P<name>[A-Za-z]{3,9}) (?P<day>[0-9]{1,2}), (?P<year>[0-9]{4})$"
_PATTERNS = {
    "numeric": NUMERIC_DATE,
    "iso": ISO_DATE,
    "named_day_first": NAMED_DAY_FIRST,
    "named_month_first": NAMED_MONTH_FIRST,
}


@dataclass
class DateParse:
    """Result of reading a column as dates.

    ``values`` is aligned with the input, or None when the column is not
    dates or stays text. ``failure`` then gives the reason a date-like column
    stays text. ``date_like_fraction`` is the share of cells that look like dates.
    """

    values: pa.Array | None
    date_like_fraction: float
    format: str | None = None
    order_reason: str = ""
    failure: str | None = None


def parse_dates(values: pa.Array, counts: np.ndarray | None) -> DateParse:
    """Read stripped, non-missing text ``values`` as dates with one format.

    The format is chosen on the distinct values (evenly subsampled above
    MAX_DECISION_VALUES), then every value must parse in it.

    Parameters
    ----------
    values : pyarrow.StringArray, shape (n_values,)
        Values without nulls, markers or surrounding whitespace.
    counts : numpy.ndarray of int, shape (n_values,), or None
        Cells per value, or None when each value is one cell.
    """
    decision_values, decision_counts = decision_set(values, counts)
    n_cells = weighted_sum(np.ones(len(decision_values), dtype=bool), decision_counts)
    best_kind, best_match, best_mask, n_best = None, None, None, 0
    for kind, pattern in _PATTERNS.items():
        match = pc.extract_regex(decision_values, pattern)
        mask = pc.is_valid(match).to_numpy(zero_copy_only=False)
        n_matched = weighted_sum(mask, decision_counts)
        if n_matched > n_best:
            best_kind, best_match, best_mask, n_best = kind, match, mask, n_matched
    result = DateParse(values=None, date_like_fraction=n_best / max(n_cells, 1))
    if best_kind is None or result.date_like_fraction < MIN_DATE_FRACTION:
        return result
    if n_best < n_cells:
        examples = _examples(decision_values, ~best_mask)
        result.failure = (
            f"{n_cells - n_best:,} of {n_cells:,} cells do not look like the "
            f"other dates, for example {examples}"
        )
        return result

    inferred = _infer_format(best_kind, best_match)
    if isinstance(inferred, str):
        result.failure = inferred
        return result
    result.format, result.order_reason = inferred.format, inferred.order_reason

    parsed = pc.strptime(values, format=inferred.format, unit="s", error_is_null=True)
    fits = pc.is_valid(parsed).to_numpy(zero_copy_only=False)
    # strptime rolls invalid dates over (31/02 becomes 03/03). A value that
    # prints back unchanged is valid, and the others are checked part by part.
    rendered = pc.strftime(parsed, format=inferred.format)
    unchanged = pc.fill_null(pc.equal(rendered, values), False)
    to_check = fits & ~unchanged.to_numpy(zero_copy_only=False)
    if to_check.any():
        positions = np.flatnonzero(to_check)
        checked = _parts_match(
            values.take(pa.array(positions)),
            parsed.take(pa.array(positions)),
            _PATTERNS[best_kind],
            inferred,
        )
        fits[positions] = checked
    if not fits.all():
        result.failure = (
            f"{weighted_sum(~fits, counts):,} cells are not valid dates in the "
            f"format {inferred.format}, for example {_examples(values, ~fits)}"
        )
        return result

    result.values = pc.cast(parsed, TIMESTAMP_TYPE)
    return result


def _parts_match(
    values: pa.Array, parsed: pa.Array, pattern: str, inferred: _InferredFormat
) -> np.ndarray:
    """Return where the parsed day and month equal the written ones."""
    match = pc.extract_regex(values, pattern)
    fits = _equal_parts(pc.day(parsed), match.field(inferred.day_field))
    if inferred.month_field is not None:
        fits &= _equal_parts(pc.month(parsed), match.field(inferred.month_field))
    return fits


@dataclass(frozen=True)
class _InferredFormat:
    format: str
    order_reason: str
    day_field: str
    month_field: str | None


def _infer_format(kind: str, match: pa.StructArray) -> _InferredFormat | str:
    """Return the format and where the day and month are, or why there is none."""
    time_format = ""
    if kind in ("numeric", "iso"):
        separators = set(pc.unique(match.field("sep")).to_pylist())
        separators |= set(pc.unique(match.field("sep2")).to_pylist())
        if len(separators) > 1:
            shown = ", ".join(repr(separator) for separator in sorted(separators))
            return f"the dates mix the separators {shown}"
        separator = separators.pop()

        has_seconds = pc.if_else(pc.not_equal(match.field("seconds"), ""), "s", "")
        time_shapes = pc.unique(
            pc.binary_join_element_wise(match.field("tsep"), has_seconds, "")
        ).to_pylist()
        if len(time_shapes) > 1:
            return "some dates have a time of day written differently or not at all"
        if time_shapes[0]:
            time_format = f"{time_shapes[0][0]}%H:%M"
            if time_shapes[0].endswith("s"):
                time_format += ":%S"

    if kind == "iso":
        date_format = f"%Y{separator}%m{separator}%d{time_format}"
        return _InferredFormat(date_format, "year first", "day", "month")
    if kind == "named_day_first":
        separators = set(pc.unique(match.field("sep")).to_pylist())
        separators |= set(pc.unique(match.field("sep2")).to_pylist())
        if len(separators) > 1:
            return "the dates mix spaces and dashes"
        separator = separators.pop()
        date_format = f"%d{separator}%b{separator}%Y"
        return _InferredFormat(date_format, "month name", "day", None)
    if kind == "named_month_first":
        return _InferredFormat("%b %d, %Y", "month name", "day", None)

    max_first = _max_int(match.field("first"))
    max_second = _max_int(match.field("second"))
    day_first = _InferredFormat(
        f"%d{separator}%m{separator}%Y{time_format}", "", "first", "second"
    )
    month_first = _InferredFormat(
        f"%m{separator}%d{separator}%Y{time_format}", "", "second", "first"
    )
    if max_first > 12 and max_second > 12:
        return "both the first and the second number exceed 12 in some dates"
    if max_first > 12:
        reason = "day first, because some first numbers exceed 12"
        return _with_reason(day_first, reason)
    if max_second > 12:
        reason = "month first, because some second numbers exceed 12"
        return _with_reason(month_first, reason)
    if separator == "/":
        reason = "month first assumed, because no number exceeds 12"
        return _with_reason(month_first, reason)
    reason = "day first assumed, because no number exceeds 12"
    return _with_reason(day_first, reason)


def _with_reason(inferred: _InferredFormat, reason: str) -> _InferredFormat:
    return _InferredFormat(
        inferred.format, reason, inferred.day_field, inferred.month_field
    )


def _equal_parts(parsed_part: pa.Array, written_part: pa.Array) -> np.ndarray:
    equal = pc.equal(parsed_part, pc.cast(written_part, pa.int64()))
    return pc.fill_null(equal, False).to_numpy(zero_copy_only=False)


def _max_int(array: pa.Array) -> int:
    return int(pc.max(pc.cast(array, pa.int64())).as_py() or 0)


def _examples(values: pa.Array, mask: np.ndarray, limit: int = 3) -> str:
    chosen = values.filter(pa.array(mask)).slice(0, limit).to_pylist()
    return ", ".join(repr(value) for value in chosen)
