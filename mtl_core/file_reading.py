"""Read one CSV file's bytes into an Arrow table with its details and notes.

The file is checked for binary content, decoded (UTF-8, else cp1252, else
latin-1), stripped of leading blank lines and sniffed for its delimiter. It is
then parsed with pyarrow.csv, which also repairs a few ragged rows, or with the
csv module when many rows are ragged.
"""

from __future__ import annotations

import codecs
import gzip
import logging
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from mtl_core.csv_parse import (
    ArrowParseFailed,
    ParsedFile,
    is_text,
    read_with_pyarrow,
    read_with_python,
    repair_invalid_rows,
)
from mtl_core.csv_sniff import (
    DELIMITER_NAMES,
    GZIP_MAGIC,
    SNIFF_BYTES,
    check_not_binary,
    decode_text,
    detect_encoding,
    find_first_line,
    sniff_delimiter,
)
from mtl_core.errors import InputError
from mtl_core.header import clean_header, find_header_like_data
from mtl_core.load_records import FileInfo, LoadNote
from mtl_core.plural import counted

_EXCEL_SEPARATOR_LINE = re.compile(rb'^"?(sep=[,;\t|])"?(\r\n|\n|\r)')
logger = logging.getLogger(__name__)

MAX_LISTED_COLUMNS = 5


@dataclass
class FileTable:
    """One file's table with cleaned names but raw values, and its notes."""

    name: str
    table: pa.Table
    info: FileInfo
    notes: list[LoadNote]


def read_file(buffer: pa.Buffer, name: str) -> FileTable:
    """Detect, parse and check one file, and return its table with raw values."""
    notes: list[LoadNote] = []

    def note(kind: str, message: str, count: int | None = None) -> None:
        notes.append(LoadNote(name, None, kind, message, count))

    if buffer.size >= 2 and buffer.slice(0, 2).to_pybytes() == GZIP_MAGIC:
        try:
            buffer = pa.py_buffer(gzip.decompress(memoryview(buffer)))
        except (OSError, EOFError, zlib.error) as err:
            raise InputError(
                f"{name} looks gzip-compressed but failed to decompress ({err}). "
                "Decompress it yourself and load the CSV file inside."
            ) from err
        note("decompressed", f"Decompressed {name} from gzip.")

    head = _head(buffer)
    check_not_binary(head, name)
    encoding = detect_encoding(head, is_whole_file=buffer.size <= SNIFF_BYTES)
    if encoding in ("utf-16", "cp1252"):
        text, encoding = decode_text(memoryview(buffer), encoding)
        buffer = pa.py_buffer(text.lstrip("\ufeff").encode("utf-8"))
    elif encoding == "utf-8-sig":
        buffer = buffer.slice(len(codecs.BOM_UTF8))

    first_line = find_first_line(memoryview(buffer))
    if first_line is None:
        raise InputError(
            f"{name} is empty: choose a CSV file with a header row and data rows."
        )
    offset, n_blank_lines = first_line
    if n_blank_lines:
        note(
            "blank_lines",
            f"Skipped {n_blank_lines} blank line(s) at the start of {name}.",
            n_blank_lines,
        )
        buffer = buffer.slice(offset)

    excel_line = _EXCEL_SEPARATOR_LINE.match(bytes(_head(buffer)[:16]))
    if excel_line:
        # Excel writes "sep=;" above the header to name the delimiter; the data's
        # own delimiter is found below it as in any other file.
        buffer = buffer.slice(excel_line.end())
        note(
            "excel_separator_line",
            f"Skipped the line {excel_line.group(1).decode()!r} that Excel writes "
            f"above the header of {name}.",
        )

    is_whole_file = buffer.size <= SNIFF_BYTES
    sample = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(
        _head(buffer), final=is_whole_file
    )
    sniffed = sniff_delimiter(sample, is_whole_file)
    parsed, encoding = _parse(
        buffer,
        name,
        sniffed.delimiter,
        sniffed.quoted_line_break,
        encoding,
        first_line=n_blank_lines + 1,
    )
    if parsed.table.num_rows == 0:
        raise InputError(
            f"{name} has a header row but no data rows: add rows below the header "
            "or choose another file."
        )

    if sniffed.found_delimiter:
        delimiter_name = DELIMITER_NAMES[sniffed.delimiter]
        note("delimiter", f"Read {name} as {delimiter_name}-separated values.")
    else:
        note(
            "one_column",
            f"Found no comma, semicolon, tab or pipe delimiter in {name}, so it "
            "was read as one column. If its values are separated by another "
            "character, save it again with commas, semicolons, tabs or pipes.",
        )
    if encoding in ("cp1252", "latin-1"):
        note("encoding", f"Decoded {name} as {encoding}, because it is not UTF-8.")
    else:
        note("encoding", f"Decoded {name} as {encoding}.")
    _note_parsing(parsed, name, note)

    table, dropped = _drop_unnamed_empty_columns(parsed.table)
    names, header_notes = clean_header(table.column_names, name)
    notes.extend(header_notes)
    table = table.rename_columns(names)
    if dropped:
        note(
            "empty_column_dropped",
            f"Dropped {dropped} column(s) of {name} with no name and no values "
            "(a delimiter at the end of every line).",
            dropped,
        )
    table, n_repeated = _drop_repeated_headers(table)
    if n_repeated:
        note(
            "repeated_header",
            f"Dropped {n_repeated} row(s) of {name} that repeat the header row "
            "(files joined by copying, for example).",
            n_repeated,
        )
    header_like = find_header_like_data(table)
    if header_like:
        listed = ", ".join(repr(name) for name in header_like[:MAX_LISTED_COLUMNS])
        note(
            "header_suspect",
            f"The first row of {name} looks like data, because names such as "
            f"{listed} also appear as values in their columns. If the file has "
            "no header row, add one.",
        )

    info = FileInfo(
        name=name,
        delimiter=sniffed.delimiter,
        encoding=encoding,
        n_rows=table.num_rows,
        n_columns=table.num_columns,
        padded_rows=parsed.n_padded_rows,
    )
    logger.info(
        "Read %s: %d rows x %d columns, %s-separated, %s, parsed by %s",
        name,
        info.n_rows,
        info.n_columns,
        DELIMITER_NAMES[info.delimiter],
        encoding,
        parsed.parser,
    )
    return FileTable(name=name, table=table, info=info, notes=notes)


def _drop_repeated_headers(table: pa.Table) -> tuple[pa.Table, int]:
    """Drop rows whose every cell equals its column's name."""
    if table.num_rows == 0 or table.num_columns == 0:
        return table, 0
    if not all(is_text(column.type) for column in table.columns):
        return table, 0  # a typed column contains no header text
    repeated = None
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        same = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), name), False)
        repeated = same if repeated is None else pc.and_(repeated, same)
        if not pc.any(repeated).as_py():
            return table, 0
    n_repeated = pc.sum(repeated).as_py()
    return table.filter(pc.invert(repeated)), n_repeated


def _head(buffer: pa.Buffer) -> bytes:
    return buffer.slice(0, min(buffer.size, SNIFF_BYTES)).to_pybytes()


class _NotUtf8(Exception):
    """The bytes that pyarrow read are not valid UTF-8."""


def _parse(
    buffer: pa.Buffer,
    name: str,
    delimiter: str,
    quoted_line_break: bool,
    encoding: str,
    first_line: int,
) -> tuple[ParsedFile, str]:
    """Parse with pyarrow, or with the csv module if needed, re-decoding non-UTF-8.

    Returns the parsed file and the encoding that decoded it. ``first_line``
    is the file's line number of the buffer's first line.
    """
    arguments = (name, delimiter, quoted_line_break, first_line)
    try:
        return _parse_utf8(buffer, *arguments), encoding
    except (_NotUtf8, UnicodeDecodeError):
        text, encoding = decode_text(memoryview(buffer), "utf-8")
        buffer = pa.py_buffer(text.encode("utf-8"))
        return _parse_utf8(buffer, *arguments), encoding


def _parse_utf8(
    buffer: pa.Buffer,
    name: str,
    delimiter: str,
    quoted_line_break: bool,
    first_line: int,
) -> ParsedFile:
    """Parse UTF-8 bytes, raising _NotUtf8 when they turn out not to be UTF-8.

    pyarrow parses in parallel first, with quoted line breaks allowed only if
    needed. Rows with the wrong number of fields then get a single-threaded
    pyarrow pass that skips and repairs them, and the csv module parses files
    with too many of them.
    """
    arguments = (buffer, name, delimiter, first_line)
    attempts = [quoted_line_break] if quoted_line_break else [False, True]
    for newlines_in_values in attempts:
        try:
            table = read_with_pyarrow(buffer, delimiter, newlines_in_values)
        except ArrowParseFailed as err:
            logger.debug("pyarrow could not parse %s: %s", name, err)
            continue
        return ParsedFile(table=_checked(table, *arguments), parser="pyarrow")

    invalid_rows: list[tuple[int | None, str]] = []
    try:
        table = read_with_pyarrow(buffer, delimiter, True, invalid_rows)
    except ArrowParseFailed as err:
        logger.debug("pyarrow could not skip the invalid rows of %s: %s", name, err)
    else:
        table = _checked(table, *arguments)
        repaired = repair_invalid_rows(table, invalid_rows, delimiter, name)
        if repaired is not None:
            return repaired
    logger.info("Parsing %s with the csv module, which is slower", name)
    return read_with_python(_decode_utf8(buffer), delimiter, name, first_line)


def _checked(
    table: pa.Table, buffer: pa.Buffer, name: str, delimiter: str, first_line: int
) -> pa.Table:
    """Return ``table`` after checking its text for invalid UTF-8 and open quotes."""
    if any(_is_binary(column.type) for column in table.columns):
        raise _NotUtf8
    if _last_row_has_line_break(table):
        # pyarrow ends a quoted field that is never closed at the end of the
        # file, but the strict csv module raises InputError for it.
        read_with_python(_decode_utf8(buffer), delimiter, name, first_line)
    return table


def _decode_utf8(buffer: pa.Buffer) -> str:
    try:
        return codecs.decode(memoryview(buffer), "utf-8")
    except UnicodeDecodeError as err:
        raise _NotUtf8 from err


def _is_binary(data_type: pa.DataType) -> bool:
    """Return whether pyarrow read a column as bytes, as it does for invalid UTF-8."""
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type
    return pa.types.is_binary(data_type) or pa.types.is_large_binary(data_type)


def _last_row_has_line_break(table: pa.Table) -> bool:
    last_row = table.slice(table.num_rows - 1) if table.num_rows else table
    for column in last_row.columns:
        if is_text(column.type):
            text = pc.cast(column, pa.string())
            if pc.any(pc.match_substring_regex(text, "[\\r\\n]")).as_py():
                return True
    return False


def _note_parsing(
    parsed: ParsedFile, name: str, note: Callable[[str, str, int | None], None]
) -> None:
    """Record padded rows, extra fields and inner blank lines of the parse."""
    if parsed.n_padded_rows:
        rows = _list_rows(parsed.padded_row_numbers, parsed.n_padded_rows)
        note(
            "padded_rows",
            f"{counted(parsed.n_padded_rows, 'row')} of {name} ({rows}) "
            f"{_have(parsed.n_padded_rows)} fewer fields than the header, so "
            "their missing fields are empty.",
            parsed.n_padded_rows,
        )
    if parsed.n_long_rows:
        rows = _list_rows(parsed.long_row_numbers, parsed.n_long_rows)
        if parsed.extra_fields_dropped:
            outcome = "only empty fields beyond the header, which were dropped"
        else:
            columns = ", ".join(
                f"extra_{i}" for i in range(1, parsed.n_extra_columns + 1)
            )
            outcome = (
                f"more fields than the header. The extra fields are in the "
                f"columns {columns}, so check the quoting of those rows"
            )
        note(
            "extra_fields",
            f"{counted(parsed.n_long_rows, 'row')} of {name} ({rows}) "
            f"{_have(parsed.n_long_rows)} {outcome}.",
            parsed.n_long_rows,
        )
    if parsed.n_blank_lines:
        note(
            "blank_lines",
            f"Skipped {parsed.n_blank_lines:,} blank line(s) inside {name}.",
            parsed.n_blank_lines,
        )


def _have(count: int) -> str:
    return "has" if count == 1 else "have"


def _list_rows(numbers: list[int], n_rows: int) -> str:
    """Describe row numbers for a note: "rows 3, 7 counting the header as row 1"."""
    shown = ", ".join(str(number) for number in numbers)
    if n_rows > len(numbers):
        shown += f" and {n_rows - len(numbers):,} more"
    noun = "row" if n_rows == 1 else "rows"
    return f"{noun} {shown}, counting the header as row 1"


def _drop_unnamed_empty_columns(table: pa.Table) -> tuple[pa.Table, int]:
    keep = [
        index
        for index, raw_name in enumerate(table.column_names)
        if raw_name.strip() or table.column(index).null_count < table.num_rows
    ]
    return table.select(keep), table.num_columns - len(keep)
