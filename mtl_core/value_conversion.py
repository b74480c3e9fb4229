"""Convert the distinct text values of one column and explain each change in notes.

A column's values are stripped, missing markers become null, and the rest is
read as booleans, numbers or dates when the whole column fits, or kept as
text. Every decision weighs each distinct value by its number of cells.
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mtl_core.date_parsing import DateParse, parse_dates
from mtl_core.load_records import LoadNote
from mtl_core.number_parsing import NumberParse, parse_numbers, weighted_sum

# Cell texts read as missing values, compared without case after stripping.
MISSING_MARKERS = (
    "",
    "-",
    "?",
    "na",
    "n/a",
    "#n/a",
    "nan",
    "-nan",
    "null",
    "none",
    "inf",
    "-inf",
    "+inf",
    "infinity",
    "-infinity",
    "#div/0!",
    "#value!",
    "#ref!",
    "#name?",
    "#num!",
    "#null!",
)
# A column is boolean when its values, compared without case, are one pair.
BOOLEAN_PAIRS = (("true", "false"), ("yes", "no"), ("y", "n"), ("t", "f"))
# Share of non-missing cells that must be numbers for a column to be numeric.
# The other cells then become missing values.
MIN_NUMERIC_FRACTION = 0.95
# From this share of numbers (or date-like cells) on, a column kept as text
# gets a note saying why.
MIN_REPORTED_FRACTION = 0.5
MAX_BOOLEAN_SPELLINGS = 64
_TRUE_WORDS = frozenset(true_text for true_text, _ in BOOLEAN_PAIRS)
_FALSE_WORDS = frozenset(false_text for _, false_text in BOOLEAN_PAIRS)
MAX_EXAMPLES = 3
# A sample with this share of numbers or dates sends the column to the full
# conversion. Below it, the column is handled as free text.
SAMPLE_MIN_CONVERTIBLE_FRACTION = 0.4


def _case_variants(text: str) -> list[str]:
    letters = [(char.lower(), char.upper()) for char in text]
    return ["".join(chars) for chars in itertools.product(*letters)]


MARKER_SET = pa.array(
    sorted(
        {variant for marker in MISSING_MARKERS for variant in _case_variants(marker)}
    )
)


def _percent(part: int, whole: int) -> str:
    """Format ``part / whole`` rounded down to 0.1%, so 99.99% never shows 100%."""
    return f"{part * 1000 // whole / 10:.1f}%"


def cells(count: int) -> str:
    """Return ``count`` with the noun "cell" in the right number: "1 cell"."""
    return f"{count:,} cell" if count == 1 else f"{count:,} cells"


class ColumnNotes:
    """Notes about one column, all with the same file and column."""

    def __init__(self, file: str | None, column: str) -> None:
        self.file = file
        self.column = column
        self.notes: list[LoadNote] = []

    def add(
        self,
        kind: str,
        message: str,
        count: int | None = None,
        boolean_spellings: tuple[str, str] | None = None,
    ) -> None:
        sentence = f"Column {self.column!r}: {message}."
        self.notes.append(
            LoadNote(self.file, self.column, kind, sentence, count, boolean_spellings)
        )

    def missing(self, breakdown: Counter[str]) -> None:
        total = sum(breakdown.values())
        if total == 0:
            return
        parts = ", ".join(
            f"{count:,} {label}" for label, count in breakdown.most_common() if count
        )
        self.add("missing", f"{cells(total)} read as missing values ({parts})", total)


def convert_values(
    values: pa.Array,
    counts: np.ndarray | None,
    n_null: int,
    notes: ColumnNotes,
    prefer_decimal_comma: bool = False,
) -> pa.Array | None:
    """Convert non-null text ``values`` and return them aligned, or None if unchanged.

    ``counts`` gives the cells per value (None means one each) and ``n_null``
    the empty cells that are already null. ``prefer_decimal_comma`` is passed
    to `parse_numbers`.
    """
    trimmed = pc.utf8_trim_whitespace(values)
    was_trimmed = pc.not_equal(trimmed, values).to_numpy(zero_copy_only=False)
    is_marker = pc.is_in(trimmed, value_set=MARKER_SET).to_numpy(zero_copy_only=False)
    missing = _marker_breakdown(trimmed, counts, is_marker)
    missing["empty"] += n_null
    keep = ~is_marker
    present = trimmed if keep.all() else trimmed.filter(pa.array(keep))
    present_counts = counts[keep] if counts is not None else None

    if len(present) == 0:
        notes.missing(missing)
        return pa.nulls(len(values), pa.float64())

    booleans = _as_booleans(present)
    if booleans is not None:
        array, spellings = booleans
        n_values = weighted_sum(keep, counts)
        mapping = ", ".join(
            f"{'/'.join(sorted(spellings[flag]))} as {flag}"
            for flag in (True, False)
            if spellings[flag]
        )
        notes.add(
            "boolean",
            f"read {cells(n_values)} as booleans: {mapping}",
            n_values,
            _class_spellings(present, present_counts),
        )
        notes.missing(missing)
        return _scatter(array, keep)

    numbers = parse_numbers(present, present_counts, prefer_decimal_comma)
    n_present = weighted_sum(keep, counts)
    fraction = numbers.n_valid / n_present
    if fraction >= MIN_NUMERIC_FRACTION:
        _note_numbers(numbers, present, present_counts, n_present, notes)
        notes.missing(missing)
        return _scatter(numbers.values, keep)

    dates = None
    if fraction < MIN_REPORTED_FRACTION and not numbers.format.mixed_currencies:
        dates = parse_dates(present, present_counts)
        if dates.values is not None:
            notes.add(
                "date",
                f"read {cells(n_present)} as dates with the format {dates.format} "
                f"({dates.order_reason})",
                n_present,
            )
            notes.missing(missing)
            return _scatter(dates.values, keep)

    _note_kept_as_text(numbers, n_present, dates, present, present_counts, notes)
    n_trimmed = weighted_sum(was_trimmed & keep, counts)
    if n_trimmed:
        notes.add(
            "whitespace",
            f"removed leading or trailing spaces from {cells(n_trimmed)}",
            n_trimmed,
        )
    notes.missing(missing)
    if n_trimmed == 0 and not is_marker.any():
        return None
    return pc.if_else(pa.array(is_marker), pa.scalar(None, pa.string()), trimmed)


def _note_kept_as_text(
    numbers: NumberParse,
    n_present: int,
    dates: DateParse | None,
    present: pa.Array,
    counts: np.ndarray | None,
    notes: ColumnNotes,
) -> None:
    """Explain why a column that looks like numbers or dates stays text."""
    if numbers.format.mixed_currencies:
        signs = ", ".join(repr(sign) for sign in numbers.format.mixed_currencies)
        notes.add(
            "kept_as_text",
            f"kept as text, because the amounts mix the currency signs {signs}",
        )
    elif numbers.n_valid >= MIN_REPORTED_FRACTION * n_present:
        examples = _examples(present, counts, ~numbers.valid)
        share = _percent(numbers.n_valid, n_present)
        notes.add(
            "kept_as_text",
            f"kept as text, because only {share} of the non-missing cells are "
            f"numbers (for example {examples} are not)",
        )
    elif dates is not None and dates.failure is not None:
        notes.add(
            "kept_as_text",
            f"kept as text although it looks like dates, because {dates.failure}",
        )


def _note_numbers(
    numbers: NumberParse,
    present: pa.Array,
    counts: np.ndarray | None,
    n_present: int,
    notes: ColumnNotes,
) -> None:
    """Add one note per kind of change that reading the numbers made."""
    if numbers.n_currency:
        notes.add(
            "currency",
            f"removed the currency sign {numbers.format.currency!r} from "
            f"{cells(numbers.n_currency)}",
            numbers.n_currency,
        )
    if numbers.n_parentheses:
        notes.add(
            "negative_parentheses",
            f"read {cells(numbers.n_parentheses)} in parentheses, such as "
            "'(45.00)', as negative numbers",
            numbers.n_parentheses,
        )
    if numbers.n_thousands:
        separator = "'.'" if numbers.format.convention == "comma" else "','"
        detail = ""
        if numbers.format.ambiguous_separators:
            detail = (
                ", although no cell shows a decimal separator, so '1,234' could "
                "also mean 1.234"
            )
        notes.add(
            "thousands",
            f"removed the thousands separator {separator} or a digit-group space "
            f"from {cells(numbers.n_thousands)}{detail}",
            numbers.n_thousands,
        )
    if numbers.n_decimal_comma:
        detail = "so '1.234,56' is 1234.56"
        if numbers.format.ambiguous_separators:
            detail = (
                "although no cell shows whether ',' separates decimals or "
                "thousands, because the file is semicolon-separated as in "
                "decimal-comma locales"
            )
        notes.add(
            "decimal_comma",
            f"read ',' as the decimal separator in {cells(numbers.n_decimal_comma)}, "
            f"{detail}",
            numbers.n_decimal_comma,
        )
    if numbers.format.is_percent:
        notes.add(
            "percent",
            f"divided {cells(numbers.n_percent)} of percentages by 100, so '3.5%' "
            "is 0.035",
            numbers.n_percent,
        )
    n_invalid = n_present - numbers.n_valid
    if n_invalid:
        examples = _examples(present, counts, ~numbers.valid)
        notes.add(
            "text_to_missing",
            f"numeric, because {_percent(numbers.n_valid, n_present)} of the "
            f"non-missing cells are numbers. The other {cells(n_invalid)}, "
            f"for example {examples}, {'was' if n_invalid == 1 else 'were'} read "
            "as missing",
            n_invalid,
        )


def _as_booleans(
    present: pa.Array,
) -> tuple[pa.Array, dict[bool, set[str]]] | None:
    """Return booleans when every value spells one true/false pair, else None.

    The spellings found are returned per value, for the note.
    """
    if len(present) > MAX_BOOLEAN_SPELLINGS:
        return None
    spellings = present.to_pylist()
    lowered = {spelling.lower() for spelling in spellings}
    # Exports that merge sources can mix spellings (TRUE/FALSE with yes/no): any
    # mix of the pairs' words is still one yes-or-no column.
    if not lowered <= _TRUE_WORDS | _FALSE_WORDS:
        return None
    flags = [spelling.lower() in _TRUE_WORDS for spelling in spellings]
    found: dict[bool, set[str]] = {True: set(), False: set()}
    for spelling, flag in zip(spellings, flags, strict=True):
        found[flag].add(spelling)
    return pa.array(flags, type=pa.bool_()), found


def _class_spellings(
    present: pa.Array, counts: np.ndarray | None
) -> tuple[str, str] | None:
    """Return the (False, True) class names in the column's most common spelling.

    Both names come from the word pair of the most common cell (yes/no, y/n,
    t/f), in its letter case, so a column mixing Yes, yes, Y and NO still gets
    one pair, such as ("no", "yes"). None when that cell is true or false. A
    tie goes to the spelling that sorts last, so the rows' order does not matter.
    """
    if counts is None:
        # One value per cell: count them in Arrow, not in a Python list of cells.
        tallied = pc.value_counts(present)
        texts = tallied.field("values").to_pylist()
        cell_counts = tallied.field("counts").to_pylist()
    else:
        texts, cell_counts = present.to_pylist(), counts.tolist()
    weights: Counter[str] = Counter()
    for spelling, count in zip(texts, cell_counts, strict=True):
        weights[spelling] += count
    if not weights:
        return None
    common = max((n, text) for text, n in weights.items())[1]
    true_text, false_text = next(
        pair for pair in BOOLEAN_PAIRS if common.lower() in pair
    )
    if true_text == "true":
        return None
    return _in_case_of(common, false_text), _in_case_of(common, true_text)


def _in_case_of(model: str, word: str) -> str:
    """Return the lowercase ``word`` in the letter case of ``model`` (YES, Yes, yes)."""
    if model.isupper():
        return word.upper()
    if model[:1].isupper():
        return word.capitalize()
    return word


def may_change(values: pa.Array) -> bool:
    """Return whether `convert_values` could change any of these distinct values.

    The check ignores counts, so it costs a few passes over the distinct
    values. Surrounding whitespace, missing markers, a boolean pair, or any
    value that parses as a number or looks like a date (both need a digit)
    means a change is possible.
    """
    trimmed = pc.utf8_trim_whitespace(values)
    if pc.any(pc.not_equal(trimmed, values)).as_py():
        return True
    if pc.any(pc.is_in(values, value_set=MARKER_SET)).as_py():
        return True
    if _as_booleans(values) is not None:
        return True
    if not pc.any(pc.match_substring_regex(values, "[0-9]")).as_py():
        return False
    if parse_numbers(values, None).n_valid > 0:
        return True
    return parse_dates(values, None).date_like_fraction > 0


def sample_may_convert(sample: pa.Array) -> bool:
    """Return whether a sample of a column could become numbers or dates."""
    trimmed = pc.utf8_trim_whitespace(sample)
    present = trimmed.filter(pc.invert(pc.is_in(trimmed, value_set=MARKER_SET)))
    if len(present) == 0:
        return True
    numbers = parse_numbers(present, None)
    if numbers.n_valid >= SAMPLE_MIN_CONVERTIBLE_FRACTION * len(present):
        return True
    dates = parse_dates(present, None)
    return dates.date_like_fraction >= SAMPLE_MIN_CONVERTIBLE_FRACTION


def _marker_breakdown(
    trimmed: pa.Array, counts: np.ndarray | None, is_marker: np.ndarray
) -> Counter[str]:
    breakdown: Counter[str] = Counter()
    if not is_marker.any():
        return breakdown
    markers = trimmed.filter(pa.array(is_marker))
    if counts is None:
        for item in pc.value_counts(markers).to_pylist():
            breakdown[marker_label(item["values"])] += item["counts"]
    else:
        for text, count in zip(markers.to_pylist(), counts[is_marker], strict=True):
            breakdown[marker_label(text)] += int(count)
    return breakdown


def marker_label(text: str) -> str:
    """Return how a missing marker is shown in a note: "empty" or its text."""
    return "empty" if text == "" else repr(text)


def _scatter(present_values: pa.Array, keep: np.ndarray) -> pa.Array:
    """Spread values for the kept positions over all positions, nulls elsewhere."""
    if keep.all():
        return present_values
    positions = np.cumsum(keep, dtype=np.int32) - 1
    return pc.take(present_values, pa.array(positions, mask=~keep))


def _examples(values: pa.Array, counts: np.ndarray | None, mask: np.ndarray) -> str:
    """Return up to three of the most frequent values where ``mask`` is true.

    Values with equal counts are taken in sorted order.
    """
    chosen = values.filter(pa.array(mask))
    if counts is None:
        top = pc.value_counts(chosen).to_pylist()
        pairs = [(item["values"], item["counts"]) for item in top]
    else:
        pairs = list(zip(chosen.to_pylist(), counts[mask].tolist(), strict=True))
    pairs.sort(key=lambda pair: (-pair[1], pair[0]))
    return ", ".join(repr(value) for value, _ in pairs[:MAX_EXAMPLES])
