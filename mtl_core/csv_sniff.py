"""Detect the encoding, delimiter and start of a delimited text file from its bytes.

Each check reads only the first ``SNIFF_BYTES`` bytes, except the whole-file
decoders, so the cost does not grow with the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass

from mtl_core.errors import InputError

SNIFF_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
MAX_SNIFF_RECORDS = 100

UTF8_BOM = codecs.BOM_UTF8
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
GZIP_MAGIC = b"\x1f\x8b"

# File signatures of common non-CSV uploads, with the fix the user needs.
_SIGNATURES = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one)"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 .xls workbook"),
    (b"PAR1", "a Parquet file"),
    (b"SQLite format 3", "an SQLite database"),
    (b"BZh", "a bzip2 archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
# Control bytes other than tab, line feed, form feed, carriage return and escape.
_CONTROL_BYTES = bytes(range(0, 9)) + bytes((0x0B,)) + bytes(range(0x0E, 0x1B))
_MAX_CONTROL_FRACTION = 0.01
_NON_BLANK = re.compile(rb"[^ \t\r\n\x0c]")


@dataclass(frozen=True)
class Sniffed:
    """Delimiter and quoting facts read from the first records of a file."""

    delimiter: str
    found_delimiter: bool
    quoted_line_break: bool


def check_not_binary(head: bytes, name: str) -> None:
    """Raise InputError when ``head`` is the start of a binary file, not text.

    UTF-16 text with a byte order mark passes. Gzip data must be decompressed
    before this check.
    """
    fix = "export the data as a CSV file (UTF-8 text) and load that file"
    for signature, description in _SIGNATURES:
        if head.startswith(signature):
            raise InputError(f"{name} is {description}, not a CSV file: {fix}.")
    if head.startswith(UTF16_BOMS):
        return
    if b"\x00" in head:
        raise InputError(
            f"{name} contains NUL bytes, so it is binary data or UTF-16 text "
            f"without a byte order mark, not a CSV file: {fix}."
        )
    n_control = sum(head.count(byte) for byte in _CONTROL_BYTES)
    if head and n_control / len(head) > _MAX_CONTROL_FRACTION:
        raise InputError(
            f"{name} contains {n_control} control characters in its first "
            f"{len(head)} bytes, so it is binary data, not a CSV file: {fix}."
        )


def detect_encoding(head: bytes, is_whole_file: bool) -> str:
    """Return the Python codec name that decodes ``head``.

    Returns ``"utf-16"`` or ``"utf-8-sig"`` when a byte order mark is present,
    ``"utf-8"`` when the bytes are valid UTF-8 (a multi-byte character cut at
    the end of a partial ``head`` is allowed) and ``"cp1252"`` otherwise.
    The caller confirms the choice on the whole file with `decode_text`.
    """
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    if head.startswith(UTF8_BOM):
        return "utf-8-sig"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=is_whole_file)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def decode_text(data: bytes | memoryview, encoding: str) -> tuple[str, str]:
    """Decode the whole file, falling back from UTF-8 to cp1252 and then latin-1.

    Returns the text and the codec that decoded it. Latin-1 decodes every byte,
    so it is used only for the five bytes that cp1252 leaves undefined.
    """
    candidates = [encoding]
    if encoding in ("utf-8", "utf-8-sig"):
        candidates.append("cp1252")
    if encoding != "utf-16":
        candidates.append("latin-1")
    for index, candidate in enumerate(candidates):
        try:
            return codecs.decode(data, candidate), candidate
        except UnicodeDecodeError:
            if index == len(candidates) - 1:
                raise
    raise AssertionError("unreachable")


def find_first_line(data: bytes | memoryview) -> tuple[int, int] | None:
    """Return the offset of the first non-blank line and the blank lines before it.

    Blank lines contain only spaces, tabs and form feeds, and ``\\r\\n``,
    ``\\r`` and ``\\n`` each end one line. Returns None when the data is all
    blank.
    """
    match = _NON_BLANK.search(data)
    if match is None:
        return None
    line_start = 0
    for position in range(match.start() - 1, -1, -1):
        if data[position] in (0x0A, 0x0D):
            line_start = position + 1
            break
    prefix = bytes(data[:line_start])
    n_blank_lines = prefix.count(b"\n") + prefix.count(b"\r") - prefix.count(b"\r\n")
    return line_start, n_blank_lines


def sniff_delimiter(sample: str, is_whole_file: bool) -> Sniffed:
    """Choose the delimiter among comma, semicolon, tab and pipe from a sample.

    Each candidate parses the sample with the csv module, so quoted fields
    that contain delimiters or line breaks count as one field. The winner is
    the candidate whose header has more than one field and whose data records
    most often have as many fields as the header. Ties go to the header with
    more fields, then to the order of ``DELIMITERS``.
    """
    best_key: tuple[float, int, int] | None = None
    best = Sniffed(delimiter=",", found_delimiter=False, quoted_line_break=False)
    for priority, delimiter in enumerate(DELIMITERS):
        records, quoted_line_break = _read_sample_records(
            sample, delimiter, is_whole_file
        )
        if not records or len(records[0]) < 2:
            continue
        n_header = len(records[0])
        data_records = records[1:]
        if data_records:
            field_counts = Counter(len(record) for record in data_records)
            consistency = field_counts[n_header] / len(data_records)
        else:
            consistency = 1.0
        key = (consistency, n_header, -priority)
        if best_key is None or key > best_key:
            best_key = key
            best = Sniffed(delimiter, True, quoted_line_break)
    if best_key is None:
        _, quoted_line_break = _read_sample_records(sample, ",", is_whole_file)
        best = Sniffed(",", False, quoted_line_break)
    return best


def _read_sample_records(
    sample: str, delimiter: str, is_whole_file: bool
) -> tuple[list[list[str]], bool]:
    """Parse up to ``MAX_SNIFF_RECORDS`` non-blank records of the sample."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    quoted_line_break = False
    try:
        for record in reader:
            joined = "".join(record)
            if not joined.strip():
                continue
            if "\n" in joined or "\r" in joined:
                quoted_line_break = True
            records.append(record)
            if len(records) > MAX_SNIFF_RECORDS:
                break
    except csv.Error:
        pass
    complete = is_whole_file or len(records) > MAX_SNIFF_RECORDS
    if not complete and len(records) > 1:
        # The sample may end inside the last record, so that record is unreliable.
        records.pop()
    return records[:MAX_SNIFF_RECORDS], quoted_line_break
