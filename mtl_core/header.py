"""Clean the column names of a parsed file and spot a missing header row."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from mtl_core.csv_parse import is_text
from mtl_core.load_records import LoadNote

HEADER_CHECK_ROWS = 1000
MIN_HEADER_LIKE_COLUMNS = 2
_QUOTES = "\"'"


def clean_header(raw_names: list[str], file: str) -> tuple[list[str], list[LoadNote]]:
    """Return unique, stripped column names and a note for each change.

    A byte order mark, surrounding whitespace and one pair of surrounding
    quotes are removed. An empty name becomes ``column_N`` (N counts from 1),
    and a repeated name gets a suffix: ``Clicks``, ``Clicks (2)``. Names that
    look like numbers, such as ``101``, stay names.
    """
    notes: list[LoadNote] = []
    stripped: list[str] = []
    for position, raw_name in enumerate(raw_names, start=1):
        name = _strip_name(raw_name)
        if not name:
            name = f"column_{position}"
            message = f"Column {position} of {file} has no name, so it is {name!r}."
            notes.append(LoadNote(file, name, "column_name", message))
        elif name != raw_name:
            message = f"Column name {raw_name!r} of {file} was stripped to {name!r}."
            notes.append(LoadNote(file, name, "column_name", message))
        stripped.append(name)

    original = set(stripped)
    unique: list[str] = []
    for name in stripped:
        if name not in unique:
            unique.append(name)
            continue
        number = 2
        candidate = f"{name} ({number})"
        while candidate in unique or candidate in original:
            number += 1
            candidate = f"{name} ({number})"
        unique.append(candidate)
        message = (
            f"{file} has more than one column named {name!r}; this one is kept "
            f"as {candidate!r}, so check which column you mean."
        )
        notes.append(LoadNote(file, candidate, "duplicate_column", message))
    return unique, notes


def find_header_like_data(table: pa.Table) -> list[str]:
    """Return the names of text columns whose name also occurs as a value.

    In a file without a header row the first row becomes the names, and those
    names then reappear among the values. Fewer than two such columns is
    treated as chance, and an empty list is returned.
    """
    head = table.slice(0, HEADER_CHECK_ROWS)
    found = []
    for name, column in zip(head.column_names, head.columns, strict=True):
        if not is_text(column.type):
            continue
        values = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
        if pc.any(pc.equal(values, name)).as_py():
            found.append(name)
    return found if len(found) >= MIN_HEADER_LIKE_COLUMNS else []


def _strip_name(raw_name: str) -> str:
    name = raw_name.replace("\ufeff", "").strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in _QUOTES:
        name = name[1:-1].strip()
    return name
