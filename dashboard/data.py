"""Step 1 of the page: upload or sample data, loading and the preview."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.text import md
from mtl_core.errors import InputError
from mtl_core.feature_selection import SOURCE_COLUMN
from mtl_core.load_records import WARNING_ORDER
from mtl_core.loading import load_csvs, unique_file_names
from mtl_core.number_format import format_count
from mtl_core.plural import counted

logger = logging.getLogger(__name__)

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "sample_data" / "campaign.csv"
SAMPLE_TARGETS = ("clicked", "converted", "revenue", "retained", "preferred_channel")
PREVIEW_ROWS = 10
MAX_SHOWN_WARNINGS = 5  # loading warnings shown above the notes; the rest stay in them
UPLOAD_TYPES = ["csv", "tsv", "txt"]


def file_info_dicts(loaded: Any) -> list[dict]:
    """Return the loader's per-file facts as plain dicts, for the metrics dict."""
    result = []
    for info in loaded.files:
        if dataclasses.is_dataclass(info):
            result.append(dataclasses.asdict(info))
        else:
            result.append(dict(vars(info)))
    return result


def source_column(loaded: Any) -> str:
    """Return the column in which the loader records each row's file name.

    The loader renames it when the data already has a ``source_file`` column.
    """
    return loaded.frame.attrs.get("source_column", SOURCE_COLUMN)


def _show_load_error(failure: dict) -> None:
    st.error(failure["message"])


def _load(read_sources, key: str, label: str, is_sample: bool):
    """Load sources into the session, or show why they cannot be loaded.

    `read_sources` returns the ``(name, bytes)`` pairs. It is called only when
    `key` differs from the loaded data, because copying a large upload on every
    rerun of the page costs time and memory. A failure is stored by key, so a bad
    file is parsed once, not on every rerun.

    Returns the session's data entry, or None after showing an error.
    """
    current = st.session_state.get(state.DATA)
    if current is not None and current["key"] == key:
        return current
    failure = st.session_state.get(state.LOAD_ERROR)
    if failure is not None and failure["key"] == key:
        _show_load_error(failure)
        return None
    state.clear_data()
    try:
        with st.spinner(f"Reading {label}…"):
            loaded = load_csvs(read_sources())
    except InputError as err:
        logger.warning("Rejected upload %s: %s", label, err)
        message = (
            f"**Could not read {md(label)}:** {md(err)}\n\n"
            "Fix the file and upload it again, or remove it to go back to the "
            "bundled sample data."
        )
    except Exception as err:  # Shown as one line, and the traceback goes to the log.
        logger.exception("Loading %s failed", label)
        message = (
            f"**Could not read {md(label)}** ({type(err).__name__}: {md(err)}). "
            "Check that it is a CSV, TSV or text table, or try another file."
        )
    else:
        state.replace_data(key, loaded, label, is_sample)
        logger.info(
            "Loaded %s: %d rows, %d columns",
            label,
            len(loaded.frame),
            loaded.frame.shape[1],
        )
        return st.session_state[state.DATA]
    failure = {"key": key, "message": message}
    st.session_state[state.LOAD_ERROR] = failure
    _show_load_error(failure)
    return None


def data_section() -> dict | None:
    """Render the upload and preview, and return the session's data entry or None."""
    st.header("1. Data")
    limit_mb = st.get_option("server.maxUploadSize")
    uploads = st.file_uploader(
        "Campaign files (CSV, TSV or TXT)",
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        key="upload",
        help=(
            "One or more files with the same columns; their rows are stacked into "
            f"one table. Each file can be up to {limit_mb} MB. The first row must "
            "be the header. Delimiter, encoding, currency and percent signs are "
            "detected for you."
        ),
    )
    if uploads:
        label = ", ".join(unique_file_names([upload.name for upload in uploads]))
        entry = _load(
            lambda: [(upload.name, upload.getvalue()) for upload in uploads],
            state.upload_hash(uploads),
            label,
            is_sample=False,
        )
    else:
        sources = [(SAMPLE_PATH.name, SAMPLE_PATH.read_bytes())]
        key = state.content_hash(sources)
        entry = _load(lambda: sources, key, SAMPLE_PATH.name, is_sample=True)
        if entry is not None:
            st.caption(
                f"No file uploaded, so the page uses the bundled sample "
                f"`{SAMPLE_PATH.name}` (synthetic campaign data)."
            )
    if entry is not None:
        _preview(entry["loaded"])
    return entry


def _preview(loaded: Any) -> None:
    frame = loaded.frame
    n_columns = frame.shape[1] - int(source_column(loaded) in frame.columns)
    n_files = len(loaded.files)
    st.markdown(
        f"**{counted(len(frame), 'row')}** and **{counted(n_columns, 'column')}** "
        f"from {counted(n_files, 'file')}."
    )
    st.dataframe(frame.head(PREVIEW_ROWS), hide_index=True)
    notes = list(loaded.notes)
    warnings = sorted(
        (note for note in notes if note.is_warning),
        key=lambda note: WARNING_ORDER.index(note.kind),
    )
    if warnings:
        lines = [_note_line(note) for note in warnings[:MAX_SHOWN_WARNINGS]]
        if len(warnings) > MAX_SHOWN_WARNINGS:
            rest = len(warnings) - MAX_SHOWN_WARNINGS
            lines.append(f"- and {counted(rest, 'more warning')} in the notes below")
        st.warning("**Check these before training:**\n" + "\n".join(lines))
    kinds = Counter(note.kind.replace("_", " ") for note in notes)
    title = f"How the files were read ({counted(len(notes), 'note')}"
    if kinds:
        title += ": " + ", ".join(
            f"{kind} {format_count(count)}" for kind, count in kinds.items()
        )
    with st.expander(title + ")"):
        files = pd.DataFrame(file_info_dicts(loaded))
        # Counts as text with separators, as everywhere else on the page.
        for column in ("n_rows", "n_columns", "padded_rows"):
            if column in files:
                files[column] = files[column].map(format_count)
        if not files.empty:
            st.dataframe(files, hide_index=True)
        if not notes:
            st.write("The files were read as they are; no value was converted.")
        lines = [_note_line(note) for note in notes]
        st.markdown("\n".join(lines))


def _note_line(note: Any) -> str:
    where = []
    if note.file:
        where.append(md(note.file))
    if note.column:
        where.append(f"column {md(note.column)}")
    count = f" ({counted(note.count, 'value')})" if note.count else ""
    place = f" ({', '.join(where)})" if where else ""
    return f"- **{md(note.kind.replace('_', ' '))}**{count}{place}: {md(note.message)}"
