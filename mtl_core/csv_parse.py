"""Parse delimited text into an Arrow table: pyarrow first, the csv module as fallback.

pyarrow.csv parses in parallel and infers column types, but it rejects rows
whose field count differs from the header. The fallback parses such files
with the csv module, pads short rows and keeps every field as a string.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.csv as pa_csv

from mtl_core.errors import InputError

logger = logging.getLogger(__name__)

MAX_LISTED_LINES = 5
# Text columns with at most this many distinct values in each parsed block
# (1 MB) are dictionary-encoded while parsing, which costs no extra time and
# lets cleaning work on the distinct values.
DICTIONARY_MAX_VALUES = 1000


@dataclass
class ParsedFile:
    """An Arrow table with the raw header names and what parsing changed.

    Line numbers are the file's physical lines, counted from 1. A record with
    a quoted line break is given by its first line.
    """

    table: pa.Table
    parser: str
    n_padded_rows: int = 0
    padded_lines: list[int] = field(default_factory=list)
    n_long_rows: int = 0
    long_lines: list[int] = field(default_factory=list)
    n_extra_columns: int = 0
    extra_fields_dropped: bool = False
    n_blank_lines: int = 0


class ArrowParseFailed(Exception):
    """Parsing with pyarrow.csv failed, and the message is pyarrow's."""


def read_with_pyarrow(
    buffer: pa.Buffer, delimiter: str, newlines_in_values: bool
) -> pa.Table:
    """Parse UTF-8 ``buffer`` with pyarrow.csv, inferring the column types.

    Only empty cells are read as nulls, so markers such as ``n/a`` keep their
    text and are counted later. Text columns with few distinct values come
    back dictionary-encoded. Raises ArrowParseFailed on rows with the wrong
    number of fields and UnicodeDecodeError on a header that is not UTF-8.
    """
    parse_options = pa_csv.ParseOptions(
        delimiter=delimiter,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=newlines_in_values,
        ignore_empty_lines=True,
    )
    convert_options = pa_csv.ConvertOptions(
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        auto_dict_encode=True,
        auto_dict_max_cardinality=DICTIONARY_MAX_VALUES,
    )
    try:
        return pa_csv.read_csv(
            pa.BufferReader(buffer),
            parse_options=parse_options,
            convert_options=convert_options,
        )
    except pa.ArrowInvalid as err:
        raise ArrowParseFailed(str(err)) from err


def read_with_python(
    text: str, delimiter: str, name: str, first_line: int = 1
) -> ParsedFile:
    """Parse ``text`` with the csv module and return every column as strings.

    Short rows are padded with nulls. Fields beyond the header are dropped
    when all of them are empty (trailing delimiters) and kept in columns
    ``extra_1``, ``extra_2``, ... otherwise. Blank lines are skipped.
    ``first_line`` is the file's line number of the first line of ``text``.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    row_lines: list[int] = []
    n_blank_lines = 0
    start_line = first_line
    try:
        for record in reader:
            if len(record) <= 1 and not "".join(record).strip():
                if header is not None:
                    n_blank_lines += 1
            elif header is None:
                header = record
            else:
                rows.append(record)
                row_lines.append(start_line)
            start_line = first_line + reader.line_num
    except csv.Error as err:
        raise InputError(
            f"{name}: the record starting on line {start_line} is malformed "
            f"({err}). Close every quoted field with a double quote, double any "
            f'quote inside one (""), then load the file again.'
        ) from err
    if header is None:
        header = []
    parsed = _pad_rows(header, rows, row_lines)
    parsed.n_blank_lines = n_blank_lines
    return parsed


def _pad_rows(
    header: list[str], rows: list[list[str]], row_lines: list[int]
) -> ParsedFile:
    """Pad short rows and place extra fields, then build the string table."""
    n_header = len(header)
    n_widest = max([n_header, *(len(row) for row in rows)])
    padded_lines = [
        line for row, line in zip(rows, row_lines, strict=True) if len(row) < n_header
    ]
    long_lines = [
        line for row, line in zip(rows, row_lines, strict=True) if len(row) > n_header
    ]
    extra_is_empty = all(not value.strip() for row in rows for value in row[n_header:])

    n_columns = n_header if extra_is_empty else n_widest
    names = list(header) + [f"extra_{i}" for i in range(1, n_columns - n_header + 1)]
    fixed_rows = [
        row[:n_columns] + [None] * (n_columns - len(row))
        if len(row) != n_columns
        else row
        for row in rows
    ]
    columns = list(zip(*fixed_rows, strict=True)) if fixed_rows else [()] * n_columns
    table = pa.table(
        [pa.array(column, type=pa.string()) for column in columns],
        names=names,
    )
    return ParsedFile(
        table=table,
        parser="python",
        n_padded_rows=len(padded_lines),
        padded_lines=padded_lines[:MAX_LISTED_LINES],
        n_long_rows=len(long_lines),
        long_lines=long_lines[:MAX_LISTED_LINES],
        n_extra_columns=n_columns - n_header,
        extra_fields_dropped=extra_is_empty and bool(long_lines),
    )
