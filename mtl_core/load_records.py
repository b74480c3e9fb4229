"""Records of what loading found: one FileInfo per file, one LoadNote per change."""

from __future__ import annotations

from dataclasses import dataclass

# Note kinds that describe a possible problem with the data, the ones that change
# most of the table first: a data row read as the header shifts every column. The
# loader logs them at WARNING level, and a dashboard may show them more prominently.
WARNING_ORDER = (
    "header_suspect",
    "one_column",
    "duplicate_file",
    "extra_fields",
    "padded_rows",
    "text_to_missing",
    "kept_as_text",
    "duplicate_column",
)
WARNING_KINDS = frozenset(WARNING_ORDER)
# Key of the loaded frame's ``attrs`` that maps each column read from yes/no text
# as booleans to its (False, True) spellings, such as ("no", "yes").
BOOLEAN_SPELLINGS_ATTR = "boolean_spellings"


@dataclass(frozen=True)
class LoadNote:
    """One detection or conversion made while loading, for the user to review.

    Attributes
    ----------
    file : str or None
        File name the note is about, or None when it covers all loaded files.
    column : str or None
        Column name (as it appears in the loaded frame), or None for file notes.
    kind : str
        Machine-readable category, such as ``"currency"`` or ``"missing"``.
    message : str
        Plain sentence for the user.
    count : int or None
        Number of cells or rows affected, when the note is about a count.
    boolean_spellings : tuple of str or None
        For a column read as booleans from text other than true/false, the most
        common spellings of False and True in the data, such as ``("no", "yes")``.
        None for every other note.
    """

    file: str | None
    column: str | None
    kind: str
    message: str
    count: int | None = None
    boolean_spellings: tuple[str, str] | None = None

    @property
    def is_warning(self) -> bool:
        """Return whether the note reports a possible problem with the data."""
        return self.kind in WARNING_KINDS


@dataclass(frozen=True)
class FileInfo:
    """Details detected in one loaded file.

    ``n_rows`` counts data rows and ``n_columns`` the file's own columns,
    without the added ``source_file`` column. ``padded_rows`` counts rows that
    had fewer fields than the header.
    """

    name: str
    delimiter: str
    encoding: str
    n_rows: int
    n_columns: int
    padded_rows: int
