"""Clean the columns of a parsed Arrow table and record every change as a note.

Text columns are cleaned on their distinct values, which are then mapped back
to the rows, so repeated categories cost one parse each. A column with mostly
distinct values in a large table is first judged on an evenly spaced sample:
when the sample shows free text, only whitespace and missing markers are
handled, on all rows at once.

Text that stays text becomes a pandas category when at most half of its
non-missing cells are distinct values, and the ``str`` dtype otherwise.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtl_core.csv_parse import is_text
from mtl_core.date_parsing import TIMESTAMP_TYPE
from mtl_core.load_records import LoadNote
from mtl_core.value_conversion import (
    MARKER_SET,
    ColumnNotes,
    cells,
    convert_values,
    marker_label,
    may_change,
    sample_may_convert,
)

SAMPLE_SIZE = 2000
SAMPLED_MIN_ROWS = 50_000
SAMPLED_MIN_DISTINCT_FRACTION = 0.5
PARALLEL_MIN_CELLS = 1_000_000
# Text stays a category when it has at most this many distinct values per
# non-missing cell. Other text columns become plain strings.
CATEGORY_MAX_DISTINCT_FRACTION = 0.5


def clean_table(
    table: pa.Table, file: str | None, prefer_decimal_comma: bool = False
) -> tuple[pa.Table, list[LoadNote]]:
    """Clean every column of ``table`` and return the new table with the notes.

    Columns are cleaned in threads for large tables, because pyarrow.compute
    releases the GIL. ``prefer_decimal_comma`` is passed to `parse_numbers`.
    """
    names = table.column_names

    def clean(index: int) -> tuple[pa.ChunkedArray, list[LoadNote]]:
        column = table.column(index)
        return clean_column(names[index], column, file, prefer_decimal_comma)

    n_cells = table.num_rows * table.num_columns
    if n_cells >= PARALLEL_MIN_CELLS and table.num_columns > 1:
        # Plain string columns cost the most, so they start first and the
        # threads finish together.
        order = sorted(range(table.num_columns), key=lambda i: _cost_rank(table, i))
        n_workers = min(table.num_columns, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            futures = {index: pool.submit(clean, index) for index in order}
            results = [futures[index].result() for index in range(table.num_columns)]
    else:
        results = [clean(index) for index in range(table.num_columns)]

    arrays = [array for array, _ in results]
    notes = [note for _, column_notes in results for note in column_notes]
    return pa.Table.from_arrays(arrays, names=names), notes


def _cost_rank(table: pa.Table, index: int) -> int:
    data_type = table.schema.field(index).type
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return 0
    return 1 if pa.types.is_dictionary(data_type) else 2


def clean_column(
    name: str,
    array: pa.ChunkedArray,
    file: str | None,
    prefer_decimal_comma: bool = False,
) -> tuple[pa.ChunkedArray, list[LoadNote]]:
    """Clean one column according to its Arrow type and return it with its notes."""
    notes = ColumnNotes(file, name)
    convert = partial(convert_values, prefer_decimal_comma=prefer_decimal_comma)
    data_type = array.type
    if pa.types.is_null(data_type):
        notes.missing(Counter({"empty": len(array)}))
        array = pa.chunked_array([pa.nulls(len(array), pa.float64())])
    elif pa.types.is_time(data_type):
        array = _clean_text(pc.cast(array, pa.string()), notes, convert)
    elif pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        array = _clean_text(array, notes, convert)
    elif pa.types.is_dictionary(data_type) and is_text(data_type.value_type):
        array = _clean_dictionary(array, notes, convert)
    elif pa.types.is_floating(data_type):
        array = _clean_floats(array, notes)
    elif pa.types.is_integer(data_type):
        notes.missing(Counter({"empty": array.null_count}))
    elif pa.types.is_boolean(data_type):
        n_values = len(array) - array.null_count
        notes.add(
            "boolean", f"read {cells(n_values)} of true/false as booleans", n_values
        )
        notes.missing(Counter({"empty": array.null_count}))
    elif pa.types.is_date(data_type) or pa.types.is_timestamp(data_type):
        array = _to_timestamps(array)
        n_values = len(array) - array.null_count
        notes.add(
            "date",
            f"read {cells(n_values)} as dates in the ISO 8601 format (year-month-day)",
            n_values,
        )
        notes.missing(Counter({"empty": array.null_count}))
    return array, notes.notes


def _clean_floats(array: pa.ChunkedArray, notes: ColumnNotes) -> pa.ChunkedArray:
    """Turn NaN and infinite values into nulls, counting them with the empty cells."""
    n_finite = pc.sum(pc.is_finite(array)).as_py() or 0
    if n_finite == len(array) - array.null_count:
        notes.missing(Counter({"empty": array.null_count}))
        return array
    is_nan = pc.fill_null(pc.is_nan(array), False)
    is_inf = pc.fill_null(pc.is_inf(array), False)
    n_nan = pc.sum(is_nan).as_py() or 0
    n_inf = pc.sum(is_inf).as_py() or 0
    notes.missing(
        Counter({"empty": array.null_count, "'NaN'": n_nan, "infinite": n_inf})
    )
    if n_nan or n_inf:
        array = pc.if_else(pc.or_(is_nan, is_inf), None, array)
    return array


def _to_timestamps(array: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_date(array.type):
        return pc.cast(array, TIMESTAMP_TYPE)
    if array.type.unit in ("s", "ms"):
        return pc.cast(array, pa.timestamp("us", tz=array.type.tz))
    return array


def _clean_dictionary(
    array: pa.ChunkedArray, notes: ColumnNotes, convert: Callable[..., pa.Array | None]
) -> pa.ChunkedArray:
    """Clean a dictionary-encoded string column on its dictionary.

    pyarrow.csv encodes low-cardinality text columns this way, and
    `_clean_text` encodes the others, so the distinct values and their counts
    come without hashing the rows again.
    """
    array = array.unify_dictionaries()
    if array.num_chunks == 0:
        return pc.cast(array, pa.string())
    dictionary = array.chunk(0).dictionary
    n_values = len(dictionary)
    n_present = len(array) - array.null_count
    if _is_category(n_values, n_present) and not may_change(dictionary):
        # Plain categories: the rows need no counting and no remapping.
        notes.missing(Counter({"empty": array.null_count}))
        return array

    indices = pa.chunked_array(
        [chunk.indices for chunk in array.chunks], type=array.type.index_type
    )
    row_indices = pc.fill_null(indices, n_values).to_numpy()
    counts = np.bincount(row_indices, minlength=n_values + 1)[:n_values]
    converted = convert(dictionary, counts, array.null_count, notes)
    if converted is None and _is_category(n_values, n_present):
        return array
    return _map_to_rows(dictionary, converted, counts, row_indices)


def _clean_text(
    array: pa.ChunkedArray, notes: ColumnNotes, convert: Callable[..., pa.Array | None]
) -> pa.ChunkedArray:
    """Clean a string column on its distinct values, or on a sample first."""
    if len(array) >= SAMPLED_MIN_ROWS:
        sample = _even_sample(array)
        n_distinct = pc.count_distinct(sample).as_py()
        if n_distinct > SAMPLED_MIN_DISTINCT_FRACTION * len(sample):
            # NOTE: the sample alone decides that a column is free text, so a
            # column whose numbers are rare in the sample is not checked further.
            if not sample_may_convert(sample):
                return _clean_free_text(array, notes)
            values = array.combine_chunks()
            if array.null_count == 0:
                converted = convert(values, None, 0, notes)
                return array if converted is None else pa.chunked_array([converted])
            converted = convert(values.drop_null(), None, array.null_count, notes)
            if converted is None:
                return array
            positions = _positions_of_valid(values)
            return pa.chunked_array([pc.take(converted, positions)])

    # One hashing pass gives the distinct values and each row's index into
    # them. The result is one chunk, so building the frame concatenates nothing.
    encoded = pc.dictionary_encode(array.combine_chunks())
    return _clean_dictionary(pa.chunked_array([encoded]), notes, convert)


def _is_category(n_distinct: int, n_cells: int) -> bool:
    """Return whether text with this many distinct values and cells is a category."""
    return n_distinct <= CATEGORY_MAX_DISTINCT_FRACTION * n_cells


def _map_to_rows(
    values: pa.Array,
    converted: pa.Array | None,
    counts: np.ndarray,
    row_indices: np.ndarray,
) -> pa.ChunkedArray:
    """Give each row the converted form of its distinct value.

    ``row_indices`` contains each row's position in ``values``, or
    ``len(values)`` for a null row. ``converted`` None means that the text is
    unchanged. Text becomes a dictionary array (a pandas category) when its
    distinct values are few, and plain strings otherwise.
    """
    n_values = len(values)
    if converted is None:
        converted = values
    if not is_text(converted.type):
        positions = pa.array(row_indices, mask=row_indices == n_values)
        return pa.chunked_array([pc.take(converted, positions)])

    categories = pc.unique(converted.drop_null())
    codes = pc.fill_null(pc.index_in(converted, value_set=categories), -1)
    lookup = np.append(codes.to_numpy(zero_copy_only=False), -1).astype(np.int32)
    row_codes = lookup[row_indices]
    missing = row_codes < 0
    if _is_category(len(categories), int(counts.sum())):
        indices = pa.array(row_codes, mask=missing)
        return pa.chunked_array([pa.DictionaryArray.from_arrays(indices, categories)])
    return pa.chunked_array([pc.take(categories, pa.array(row_codes, mask=missing))])


def _clean_free_text(array: pa.ChunkedArray, notes: ColumnNotes) -> pa.ChunkedArray:
    """Strip whitespace and null missing markers on all rows of a text column."""
    trimmed = pc.utf8_trim_whitespace(array)
    n_trimmed = pc.sum(pc.not_equal(trimmed, array)).as_py() or 0
    is_marker = pc.is_in(trimmed, value_set=MARKER_SET)
    markers = pc.value_counts(trimmed.filter(is_marker))
    missing = Counter({"empty": array.null_count})
    for item in markers.to_pylist():
        missing[marker_label(item["values"])] += item["counts"]
    if n_trimmed:
        notes.add(
            "whitespace",
            f"removed leading or trailing spaces from {cells(n_trimmed)}",
            n_trimmed,
        )
    notes.missing(missing)
    if n_trimmed == 0 and len(markers) == 0:
        return array
    return pc.if_else(is_marker, pa.scalar(None, pa.string()), trimmed)


def _even_sample(array: pa.ChunkedArray) -> pa.Array:
    positions = np.linspace(0, len(array) - 1, SAMPLE_SIZE).astype(np.int64)
    return array.take(pa.array(np.unique(positions))).combine_chunks().drop_null()


def _positions_of_valid(values: pa.Array) -> pa.Array:
    """Map each row to its index among the non-null rows, null for null rows."""
    is_valid = pc.is_valid(values).to_numpy(zero_copy_only=False)
    positions = np.cumsum(is_valid, dtype=np.int32) - 1
    return pa.array(positions, mask=~is_valid)
