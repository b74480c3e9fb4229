"""Load one or more CSV files into one cleaned pandas DataFrame.

`load_csvs` detects each file's encoding and delimiter, parses it with
pyarrow.csv (or the csv module for ragged files), stacks files that share
their columns and cleans the values. Every detection and conversion is
returned as a `LoadNote`; the source files are only read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mtl_core.cleaning import clean_table
from mtl_core.errors import InputError
from mtl_core.file_reading import FileTable, read_file
from mtl_core.load_records import BOOLEAN_SPELLINGS_ATTR, FileInfo, LoadNote

__all__ = ["FileInfo", "LoadNote", "LoadedData", "Source", "load_csvs"]

logger = logging.getLogger(__name__)

SOURCE_FILE_COLUMN = "source_file"
MAX_LISTED_COLUMNS = 5

Source = str | os.PathLike | tuple[str, bytes]


@dataclass
class LoadedData:
    """The loaded frame with the notes and file details behind it.

    ``frame`` has the cleaned, de-duplicated column names of the files and a
    categorical ``source_file`` column (or ``source_file (2)`` when the data
    already has a ``source_file`` column) with each row's file name.
    """

    frame: pd.DataFrame
    notes: list[LoadNote] = field(default_factory=list)
    files: list[FileInfo] = field(default_factory=list)


def load_csvs(sources: Sequence[Source] | Source) -> LoadedData:
    """Load CSV files into one cleaned DataFrame with a ``source_file`` column.

    Parameters
    ----------
    sources : sequence of path or (name, bytes)
        Paths, or ``(file name, content)`` pairs such as dashboard uploads.
        A single path or pair is accepted too. Files must have the same set
        of column names. They are stacked in the order given, with the
        columns in the order of the first file.

    Returns
    -------
    LoadedData
        The frame, shape ``(total rows, n_columns + 1)``, the notes and one
        FileInfo per file.

    Raises
    ------
    InputError
        When a file is missing, empty, header-only, binary or malformed, or
        when the files do not have the same columns.
    """
    started = time.perf_counter()
    source_list = _as_source_list(sources)
    if not source_list:
        raise InputError("No CSV file was given: pass at least one path or upload.")

    names = unique_file_names([_source_name(source) for source in source_list])
    file_tables = []
    copy_notes = []
    first_with_content: dict[str, str] = {}
    for source, name in zip(source_list, names, strict=True):
        with _open_source(source) as buffer:
            if len(source_list) > 1:
                # The same file chosen twice would put every row in twice.
                digest = hashlib.blake2b(memoryview(buffer)).hexdigest()
                if digest in first_with_content:
                    copy_notes.append(_copy_note(name, first_with_content[digest]))
                    continue
                first_with_content[digest] = name
            file_tables.append(read_file(buffer, name))
    names = [file_table.name for file_table in file_tables]
    _check_same_columns(file_tables)

    combined = _stack([file_table.table for file_table in file_tables])
    label = file_tables[0].name if len(file_tables) == 1 else None
    semicolons = all(table.info.delimiter == ";" for table in file_tables)
    cleaned, value_notes = clean_table(combined, label, semicolons)
    n_rows = [file_table.table.num_rows for file_table in file_tables]
    notes = copy_notes + [
        note for file_table in file_tables for note in file_table.notes
    ]
    files = [file_table.info for file_table in file_tables]
    n_files = len(file_tables)
    del combined, file_tables
    # self_destruct frees each Arrow column once it is converted, so the cleaned
    # table and the frame are not both whole in memory.
    frame = cleaned.to_pandas(types_mapper=_pandas_type, self_destruct=True)
    del cleaned
    # Arrow's allocator keeps freed buffers for reuse; hand them back to the system
    # so the parsed text does not stay resident beside the frame.
    pa.default_memory_pool().release_unused()

    notes.extend(value_notes)
    source_column = _free_name(SOURCE_FILE_COLUMN, frame.columns)
    if source_column != SOURCE_FILE_COLUMN:
        notes.append(
            LoadNote(
                None,
                source_column,
                "source_file_column",
                f"The data already has a {SOURCE_FILE_COLUMN!r} column, so each "
                f"row's file name is in the column {source_column!r}.",
            )
        )
    codes = np.repeat(np.arange(n_files, dtype=np.int32), n_rows)
    frame[source_column] = pd.Categorical.from_codes(codes, categories=names)
    # Feature selection reads this to leave the loader's own column out.
    frame.attrs["source_column"] = source_column
    # Task resolution reads this to name a yes/no target's classes as the data does.
    frame.attrs[BOOLEAN_SPELLINGS_ATTR] = {
        note.column: note.boolean_spellings
        for note in value_notes
        if note.boolean_spellings is not None
    }

    for note in notes:
        level = logging.WARNING if note.is_warning else logging.DEBUG
        logger.log(level, "%s", note.message)
    logger.info(
        "Loaded %d rows x %d columns from %d file(s) in %.2f s with %d notes",
        len(frame),
        frame.shape[1] - 1,
        n_files,
        time.perf_counter() - started,
        len(notes),
    )
    return LoadedData(frame=frame, notes=notes, files=files)


def _as_source_list(sources: Sequence[Source] | Source) -> list[Source]:
    if isinstance(sources, (str, os.PathLike)):
        return [sources]
    if (
        isinstance(sources, tuple)
        and len(sources) == 2
        and isinstance(sources[1], (bytes, bytearray, memoryview))
    ):
        return [sources]
    return list(sources)


def _source_name(source: Source) -> str:
    if isinstance(source, tuple):
        name, content = source
        if not isinstance(content, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"the content of upload {name!r} is {type(content).__name__}, "
                "expected bytes"
            )
        return str(name)
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    raise TypeError(
        f"a source is {type(source).__name__}, expected a path or (name, bytes)"
    )


def _copy_note(name: str, original: str) -> LoadNote:
    return LoadNote(
        name,
        None,
        "duplicate_file",
        f"{name} has the same content as {original}, so it was loaded once: "
        "choose each file once.",
    )


def unique_file_names(names: list[str]) -> list[str]:
    """Give files that share a name the suffixes (2), (3), ... in source order."""
    unique: list[str] = []
    for name in names:
        candidate, number = name, 2
        while candidate in unique:
            candidate = f"{name} ({number})"
            number += 1
        unique.append(candidate)
    return unique


@contextmanager
def _open_source(source: Source) -> Iterator[pa.Buffer]:
    """Yield the bytes of a source, memory-mapping a path read-only."""
    if isinstance(source, tuple):
        yield pa.py_buffer(source[1])
        return
    path = Path(source)
    if not path.is_file():
        raise InputError(
            f"CSV file not found: {str(path)!r}. Check the path and try again."
        )
    if path.stat().st_size == 0:
        yield pa.py_buffer(b"")
        return
    with pa.memory_map(str(path), "r") as mapped:
        yield mapped.read_buffer()


def _check_same_columns(file_tables: list[FileTable]) -> None:
    """Raise InputError naming the missing and extra columns of each file."""
    reference = file_tables[0]
    reference_names = reference.table.column_names
    problems = []
    for file_table in file_tables[1:]:
        names = file_table.table.column_names
        missing = [name for name in reference_names if name not in set(names)]
        extra = [name for name in names if name not in set(reference_names)]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"lacks {_list_names(missing)}")
            if extra:
                parts.append(f"has the extra {_list_names(extra)}")
            problems.append(f"{file_table.name} {' and '.join(parts)}")
    if problems:
        raise InputError(
            f"The files do not have the same columns as {reference.name}: "
            f"{'; '.join(problems)}. Give every file the same header row, or "
            "load the files separately."
        )


def _list_names(names: list[str]) -> str:
    listed = ", ".join(repr(name) for name in names[:MAX_LISTED_COLUMNS])
    if len(names) > MAX_LISTED_COLUMNS:
        listed += f" and {len(names) - MAX_LISTED_COLUMNS} more"
    noun = "column" if len(names) == 1 else "columns"
    return f"{noun} {listed}"


def _stack(tables: list[pa.Table]) -> pa.Table:
    """Concatenate tables with the same column names in the first table's order.

    A column whose inferred type differs between files becomes float64 when
    all types are numeric and text otherwise, so it is cleaned as one column.
    """
    if len(tables) == 1:
        return tables[0]
    order = tables[0].column_names
    tables = [table.select(order) for table in tables]
    for name in order:
        types = {table.schema.field(name).type for table in tables}
        if len(types) == 1:
            continue
        target = _common_type(types)
        tables = [
            table.set_column(
                table.column_names.index(name),
                name,
                pc.cast(table.column(name), target),
            )
            for table in tables
        ]
    return pa.concat_tables(tables)


def _common_type(types: set[pa.DataType]) -> pa.DataType:
    known = {data_type for data_type in types if not pa.types.is_null(data_type)}
    if len(known) == 1:
        return known.pop()
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in known):
        if all(pa.types.is_integer(t) for t in known):
            return pa.int64()
        return pa.float64()
    return pa.string()


def _free_name(name: str, existing: pd.Index) -> str:
    candidate, number = name, 2
    while candidate in existing:
        candidate = f"{name} ({number})"
        number += 1
    return candidate


def _pandas_type(data_type: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
    if pa.types.is_boolean(data_type):
        return pd.BooleanDtype()
    return None
