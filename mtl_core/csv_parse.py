"""Parse delimited text into an Arrow table: pyarrow first, the csv module as fallback.

pyarrow.csv parses in parallel and infers column types, but it rejects rows
whose field count differs from the header. A file with a few such rows is
parsed again with pyarrow, skipping them, and the skipped rows are padded and
put back in place. A file with many goes to the csv module, which keeps every
field as a string.

Rows are numbered as records from 1 at the header, so a record with a quoted
line break counts once and blank lines do not count.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from mtl_core.errors import InputError

logger = logging.getLogger(__name__)

MAX_LISTED_ROWS = 5
# Text columns with at most this many distinct values in each parsed block
# (1 MB) are dictionary-encoded while parsing, which lets cleaning work on the
# distinct values.
DICTIONARY_MAX_VALUES = 1000
# Above this many rows with the wrong number of fields, the csv module parses
# the file instead, because each repaired row costs a slice of every column.
MAX_REPAIRED_ROWS = 1000


@dataclass
class ParsedFile:
    """An Arrow table with the raw header names and what parsing changed."""

    table: pa.Table
    parser: str
    n_padded_rows: int = 0
    padded_row_numbers: list[int] = field(default_factory=list)
    n_long_rows: int = 0
    long_row_numbers: list[int] = field(default_factory=list)
    n_extra_columns: int = 0
    extra_fields_dropped: bool = False
    n_blank_lines: int = 0


class ArrowParseFailed(Exception):
    """Parsing with pyarrow.csv failed, and the message is pyarrow's."""


def read_with_pyarrow(
    buffer: pa.Buffer,
    delimiter: str,
    newlines_in_values: bool,
    invalid_rows: list[tuple[int | None, str]] | None = None,
) -> pa.Table:
    """Parse UTF-8 ``buffer`` with pyarrow.csv, inferring the column types.

    Only empty cells are read as nulls, so markers such as ``n/a`` keep their
    text and are counted later. Text columns with few distinct values come
    back dictionary-encoded. Raises ArrowParseFailed on rows with the wrong
    number of fields and UnicodeDecodeError on a header that is not UTF-8.

    When ``invalid_rows`` is a list, such rows are skipped instead and their
    record number and text appended to it. pyarrow reports record numbers
    only when it parses in one thread, so this mode is single-threaded.
    """
    handler = None
    if invalid_rows is not None:

        def handler(row: pa_csv.InvalidRow) -> str:
            invalid_rows.append((row.number, row.text))
            return "skip"

    parse_options = pa_csv.ParseOptions(
        delimiter=delimiter,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=newlines_in_values,
        ignore_empty_lines=True,
        invalid_row_handler=handler,
    )
    convert_options = pa_csv.ConvertOptions(
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        auto_dict_encode=True,
        auto_dict_max_cardinality=DICTIONARY_MAX_VALUES,
    )
    read_options = pa_csv.ReadOptions(use_threads=invalid_rows is None)
    try:
        return pa_csv.read_csv(
            pa.BufferReader(buffer),
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        )
    except pa.ArrowInvalid as err:
        raise ArrowParseFailed(str(err)) from err


def repair_invalid_rows(
    table: pa.Table,
    invalid_rows: list[tuple[int | None, str]],
    delimiter: str,
    name: str,
) -> ParsedFile | None:
    """Put rows that pyarrow skipped back in place, padded or with extra columns.

    Returns None when there are more than MAX_REPAIRED_ROWS of them or one has
    no record number, so that the caller parses the file with the csv module.
    A column whose type cannot hold a repaired value becomes text.
    """
    if len(invalid_rows) > MAX_REPAIRED_ROWS:
        return None
    if any(number is None for number, _ in invalid_rows):
        return None
    invalid_rows = sorted(invalid_rows, key=lambda row: row[0])

    # A skipped record sits after (record number - 2 - records skipped before
    # it) table rows, because record 1 is the header.
    positions: list[int] = []
    records: list[list[str]] = []
    record_numbers: list[int] = []
    n_blank_lines = 0
    for n_skipped, (number, text) in enumerate(invalid_rows):
        fields = _parse_record(text, delimiter, name, number - n_blank_lines)
        if _is_blank(fields):
            n_blank_lines += 1
            continue
        positions.append(number - 2 - n_skipped)
        records.append(fields)
        # Blank lines do not count as rows, as in read_with_python.
        record_numbers.append(number - n_blank_lines)

    fitted = _fit_rows(records, record_numbers, table.num_columns)
    names = table.column_names + fitted.extra_names
    columns = []
    for index, values in enumerate(fitted.columns):
        patch = pa.array([value or None for value in values], type=pa.string())
        if index < table.num_columns:
            main, patch = _common_column(table.column(index), patch)
        else:
            main = pa.chunked_array([pa.nulls(table.num_rows, pa.string())])
        columns.append(_interleave(main, patch, positions))
    repaired = pa.Table.from_arrays(columns, names=names)
    return fitted.parsed(repaired, "pyarrow", n_blank_lines)


def read_with_python(
    text: str, delimiter: str, name: str, first_line: int = 1
) -> ParsedFile:
    """Parse ``text`` with the csv module and return every column as strings.

    Short rows are padded with nulls. Fields beyond the header are dropped
    when all of them are empty (trailing delimiters) and kept in columns
    ``extra_1``, ``extra_2``, ... otherwise. Blank lines are skipped, and
    lines of spaces are counted. ``first_line`` is the file's line number of
    the first line of ``text``, for error messages.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    record_numbers: list[int] = []
    n_blank_lines = 0
    start_line = first_line
    try:
        for record in reader:
            if _is_blank(record):
                # Empty lines pass silently, as in pyarrow, and lines of
                # spaces are counted.
                if header is not None and record:
                    n_blank_lines += 1
            elif header is None:
                header = record
            else:
                rows.append(record)
                record_numbers.append(len(rows) + 1)
            start_line = first_line + reader.line_num
    except csv.Error as err:
        raise InputError(
            f"{name}: the record starting on line {start_line} is malformed "
            f"({err}). Close every quoted field with a double quote, double any "
            f'quote inside one (""), then load the file again.'
        ) from err

    header = header or []
    fitted = _fit_rows(rows, record_numbers, len(header))
    names = header + fitted.extra_names
    columns = [pa.array(values, type=pa.string()) for values in fitted.columns]
    table = pa.Table.from_arrays(columns, names=names)
    return fitted.parsed(table, "python", n_blank_lines)


@dataclass
class _FittedRows:
    """Rows cut or padded to one width, as columns, with what changed."""

    columns: list[list[str | None]]
    extra_names: list[str]
    padded_row_numbers: list[int]
    long_row_numbers: list[int]
    extra_fields_dropped: bool

    def parsed(self, table: pa.Table, parser: str, n_blank_lines: int) -> ParsedFile:
        return ParsedFile(
            table=table,
            parser=parser,
            n_padded_rows=len(self.padded_row_numbers),
            padded_row_numbers=self.padded_row_numbers[:MAX_LISTED_ROWS],
            n_long_rows=len(self.long_row_numbers),
            long_row_numbers=self.long_row_numbers[:MAX_LISTED_ROWS],
            n_extra_columns=len(self.extra_names),
            extra_fields_dropped=self.extra_fields_dropped,
            n_blank_lines=n_blank_lines,
        )


def _fit_rows(
    rows: list[list[str]], record_numbers: list[int], n_header: int
) -> _FittedRows:
    """Pad short rows with None and keep extra fields unless all are empty."""
    numbered = list(zip(rows, record_numbers, strict=True))
    padded = [number for row, number in numbered if len(row) < n_header]
    long = [number for row, number in numbered if len(row) > n_header]
    extra_is_empty = all(not value.strip() for row in rows for value in row[n_header:])
    n_widest = max([n_header, *(len(row) for row in rows)])
    n_columns = n_header if extra_is_empty else n_widest

    fixed_rows = [
        row[:n_columns] + [None] * (n_columns - len(row))
        if len(row) != n_columns
        else row
        for row in rows
    ]
    if fixed_rows:
        columns = [list(column) for column in zip(*fixed_rows, strict=True)]
    else:
        columns = [[] for _ in range(n_columns)]
    return _FittedRows(
        columns=columns,
        extra_names=[f"extra_{i}" for i in range(1, n_columns - n_header + 1)],
        padded_row_numbers=padded,
        long_row_numbers=long,
        extra_fields_dropped=extra_is_empty and bool(long),
    )


def _is_blank(record: list[str]) -> bool:
    """Return whether a record is a blank line; "," is a row of empty fields."""
    return len(record) <= 1 and not "".join(record).strip()


def _parse_record(text: str, delimiter: str, name: str, number: int) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        records = list(reader)
    except csv.Error as err:
        raise InputError(
            f"{name}: row {number} (counting the header as row 1) is malformed "
            f"({err}). Close every quoted field with a double quote, double any "
            f'quote inside one (""), then load the file again.'
        ) from err
    return [value for record in records for value in record] if records else []


def _common_column(
    main: pa.ChunkedArray, patch: pa.Array
) -> tuple[pa.ChunkedArray, pa.Array]:
    """Cast the repaired values to the column's type, or both to text.

    pyarrow ignores spaces around numbers, so they are stripped before a cast
    to a non-text type.
    """
    values = patch if is_text(main.type) else pc.utf8_trim_whitespace(patch)
    try:
        return main, pc.cast(values, main.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pc.cast(main, pa.string()), patch


def is_text(data_type: pa.DataType) -> bool:
    """Return whether ``data_type`` is a string type, plain or dictionary-encoded."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _interleave(
    main: pa.ChunkedArray, patch: pa.Array, positions: list[int]
) -> pa.ChunkedArray:
    """Insert ``patch[i]`` into ``main`` before its row ``positions[i]``."""
    pieces: list[pa.Array] = []
    start = 0
    for index, position in enumerate(positions):
        pieces.extend(main.slice(start, position - start).chunks)
        pieces.append(patch.slice(index, 1))
        start = position
    pieces.extend(main.slice(start).chunks)
    return pa.chunked_array(pieces, type=main.type)
