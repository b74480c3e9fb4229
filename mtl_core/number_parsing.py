"""Parse text cells as numbers with currency signs, separators and percent signs.

One decimal convention is chosen per column: ``"dot"`` (``1,234.56``) or
``"comma"`` (``1.234,56``). Every value is then checked against that
convention alone, so a value written in the other one fails to parse: a column
never mixes the two, and ``1.234,56`` never becomes 123456.

The choice is made on the distinct values (an even subsample above
MAX_DECISION_VALUES) with capture groups, which pyarrow's RE2 runs several
times slower than plain matching. The conversion of all values therefore uses
one capture-free pattern and literal replacements.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

logger = logging.getLogger(__name__)

# Decision sets above this size are subsampled evenly before the capture pass.
MAX_DECISION_VALUES = 20_000
# A column reads as percentages when this share of its number cells end in
# "%". Its cells without "%" then fail to parse.
MIN_PERCENT_FRACTION = 0.95

CURRENCIES = (
    "US$",
    "A$",
    "C$",
    "R$",
    "$",
    "\u20ac",
    "\u00a3",
    "\u00a5",
    "\u20b9",
    "\u20a9",
    "\u20bd",
    "\u20ba",
    "USD",
    "EUR",
    "GBP",
    "JPY",
    "CHF",
    "CAD",
    "AUD",
    "INR",
    "CNY",
    "SEK",
    "NOK",
    "DKK",
    "BRL",
    "MXN",
    "ZAR",
)
_SIGN = r"[-+\x{2212}]"
# Characters that may separate digit groups, or a number from its currency
# sign or percent sign.
_SPACES = (" ", "\t", "'", "\u00a0", "\u202f")
PLAIN_NUMBER = r"^[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$"
_GROUP_SPACE = r"[ '\x{A0}\x{202F}]"
_SPACE = r"[ \t\x{A0}\x{202F}]"


def _currency_pattern(tokens: tuple[str, ...]) -> str:
    escaped = (_escape(token) for token in tokens)
    return "(?:" + "|".join(escaped) + ")"


def _escape(text: str) -> str:
    return "".join(
        f"\\x{{{ord(char):X}}}" if not char.isalnum() else char for char in text
    )


CURRENCY_PATTERN = _currency_pattern(CURRENCIES)
# Components of one number, used only to choose the convention. A sign may
# touch the digits or a currency sign but not be followed by a space, so labels
# such as "- 50000." stay text. Alternatives are tried in order: comma groups,
# dot groups, space or apostrophe groups, then plain digits.
NUMBER_PATTERN = (
    r"^(?P<open>\()?"
    rf"(?P<sign>{_SIGN})?"
    rf"(?:(?P<cur1>{CURRENCY_PATTERN}){_SPACE}*)?"
    rf"(?P<sign2>{_SIGN})?"
    r"(?:(?P<grp_comma>[0-9]{1,3}(?:,[0-9]{3})+)"
    r"|(?P<grp_dot>[0-9]{1,3}(?:\.[0-9]{3})+)"
    rf"|(?P<grp_space>[0-9]{{1,3}}(?:{_GROUP_SPACE}[0-9]{{3}})+)"
    r"|(?P<digits>[0-9]*))"
    r"(?:(?P<dsep>[.,])(?P<frac>[0-9]*))?"
    r"(?P<exp>[eE][-+]?[0-9]+)?"
    rf"{_SPACE}*(?P<cur2>{CURRENCY_PATTERN})?"
    rf"{_SPACE}*(?P<pct>%)?"
    r"(?P<close>\))?$"
)


@dataclass(frozen=True)
class NumberFormat:
    """Number format of a column, learned from its distinct values.

    Values outside the format fail to parse. Such values have a currency sign
    other than ``currency``, a space character not in ``spaces``, or a Unicode
    minus without ``unicode_minus``. Digit groups need ``uses_groups``, or
    ``uses_space_groups`` for groups such as ``1 234``. A percent sign is
    rejected unless ``is_percent``, which requires one.
    """

    convention: str = "dot"
    is_percent: bool = False
    currency: str | None = None
    spaces: tuple[str, ...] = ()
    uses_groups: bool = False
    uses_space_groups: bool = False
    unicode_minus: bool = False
    ambiguous_separators: bool = False
    mixed_currencies: tuple[str, ...] = ()
    # Whether every value the format was learned from is a number, so that a
    # direct cast of all values is likely to succeed.
    all_values_match: bool = False


@dataclass
class NumberParse:
    """Numbers parsed from text values, with the cell counts behind each change.

    ``values`` is aligned with the input and null where a value is not a
    number in the chosen format. Counts are cells: each value weighted by its
    count.
    """

    values: pa.Array
    valid: np.ndarray
    n_valid: int
    format: NumberFormat
    n_currency: int = 0
    n_thousands: int = 0
    n_decimal_comma: int = 0
    n_parentheses: int = 0
    n_percent: int = 0


def weighted_sum(mask: np.ndarray, counts: np.ndarray | None) -> int:
    """Count the cells where ``mask`` is true, each value weighted by its count."""
    if counts is None:
        return int(np.count_nonzero(mask))
    return int(counts[mask].sum())


def parse_numbers(
    values: pa.Array, counts: np.ndarray | None, prefer_decimal_comma: bool = False
) -> NumberParse:
    """Parse stripped, non-missing text ``values`` as numbers.

    Parameters
    ----------
    values : pyarrow.StringArray, shape (n_values,)
        Values without nulls, markers or surrounding whitespace.
    counts : numpy.ndarray of int, shape (n_values,), or None
        Cells per value, or None when each value is one cell.
    prefer_decimal_comma : bool
        Read values such as ``29,085`` as decimals when no value settles the
        convention, as for a semicolon-separated file.
    """
    decision_values, decision_counts = decision_set(values, counts)
    plain = _cast_plain(values, decision_values)
    if plain is not None:
        valid = np.ones(len(values), dtype=bool)
        return NumberParse(plain, valid, weighted_sum(valid, counts), NumberFormat())

    number_format = choose_format(
        decision_values, decision_counts, prefer_decimal_comma
    )
    if number_format.mixed_currencies:
        valid = np.zeros(len(values), dtype=bool)
        nulls = pa.nulls(len(values), pa.float64())
        return NumberParse(nulls, valid, 0, number_format)
    if number_format.all_values_match:
        converted = _convert_simple(values, counts, number_format)
        if converted is not None:
            return converted
    return _convert(values, counts, number_format)


def choose_format(
    values: pa.Array, counts: np.ndarray | None, prefer_decimal_comma: bool = False
) -> NumberFormat:
    """Learn the number format of a column from its values.

    The convention with more cells of evidence wins. Evidence for dot is a dot
    followed by other than three digits, a leading ``0.``, several comma
    groups, or a comma group before a dot. Evidence for comma mirrors it.
    Without evidence, single comma groups such as ``29,085`` are decimals
    when ``prefer_decimal_comma`` is true, and dot wins otherwise.
    """
    match = pc.extract_regex(values, NUMBER_PATTERN)
    present = {name: _present(match.field(name)) for name in _FIELDS}
    dsep_is_dot = _equals(match.field("dsep"), ".")
    dsep_is_comma = _equals(match.field("dsep"), ",")
    matched = pc.is_valid(match).to_numpy(zero_copy_only=False)

    n_commas = _count(match.field("grp_comma"), ",")
    n_dots = _count(match.field("grp_dot"), ".")
    one_comma_group = present["grp_comma"] & (n_commas == 1) & ~present["dsep"]
    one_dot_group = present["grp_dot"] & (n_dots == 1) & ~present["dsep"]
    # A thousands group never starts with 0, so "0,512" is a decimal.
    zero_comma_group = present["grp_comma"] & _starts_with(match, "grp_comma", "0")
    zero_dot_group = present["grp_dot"] & _starts_with(match, "grp_dot", "0")
    dot_evidence = matched & (
        (present["grp_comma"] & ~one_comma_group & ~dsep_is_comma)
        | (dsep_is_dot & ~present["grp_dot"])
        | zero_dot_group
    )
    comma_evidence = matched & (
        (present["grp_dot"] & ~one_dot_group & ~dsep_is_dot)
        | (dsep_is_comma & ~present["grp_comma"])
        | zero_comma_group
    )
    n_dot_evidence = weighted_sum(dot_evidence, counts)
    n_comma_evidence = weighted_sum(comma_evidence, counts)
    no_evidence = n_dot_evidence == 0 and n_comma_evidence == 0
    convention = "comma" if n_comma_evidence > n_dot_evidence else "dot"
    if no_evidence and prefer_decimal_comma and not (matched & one_dot_group).any():
        convention = "comma"

    if convention == "dot":
        grouped = present["grp_comma"] & ~zero_comma_group
    else:
        grouped = present["grp_dot"] & ~zero_dot_group
    n_matched = weighted_sum(matched, counts)
    n_percent = weighted_sum(matched & present["pct"], counts)
    has_currency = matched & (present["cur1"] | present["cur2"])
    tokens = pc.binary_join_element_wise(match.field("cur1"), match.field("cur2"), "")
    currencies = sorted(pc.unique(tokens.filter(pa.array(has_currency))).to_pylist())
    matched_values = values.filter(pa.array(matched))
    one_group = matched & (one_comma_group | one_dot_group)
    return NumberFormat(
        convention=convention,
        is_percent=n_matched > 0 and n_percent >= MIN_PERCENT_FRACTION * n_matched,
        currency=currencies[0] if len(currencies) == 1 else None,
        spaces=tuple(c for c in _SPACES if _contains(matched_values, c).any()),
        uses_groups=bool((matched & grouped).any()),
        uses_space_groups=bool((matched & present["grp_space"]).any()),
        unicode_minus=bool(_contains(matched_values, "\u2212").any()),
        ambiguous_separators=no_evidence and bool(one_group.any()),
        mixed_currencies=tuple(currencies) if len(currencies) > 1 else (),
        all_values_match=bool(matched.all())
        and not (present["open"] | present["pct"]).any(),
    )


def strict_pattern(number_format: NumberFormat) -> str:
    """Return a capture-free pattern that matches one number in the format.

    A number has at most one sign and one currency sign, and may be wrapped
    in parentheses instead of a sign.
    """
    if number_format.convention == "dot":
        group, decimal = ",", r"\."
    else:
        group, decimal = r"\.", ","
    sign = r"[-+\x{2212}]" if number_format.unicode_minus else "[-+]"
    blanks = [_escape(c) for c in number_format.spaces if c != "'"]
    space = f"[{''.join(blanks)}]*" if blanks else ""
    group_alternatives = []
    if number_format.uses_groups:
        group_alternatives.append(rf"[0-9]{{1,3}}(?:{group}[0-9]{{3}})+")
    if number_format.uses_space_groups:
        spaces = "".join(_escape(c) for c in number_format.spaces)
        group_alternatives.append(rf"[0-9]{{1,3}}(?:[{spaces}][0-9]{{3}})+")
    integer = "|".join([*group_alternatives, "[0-9]+"])
    digits = rf"(?:{integer})(?:{decimal}[0-9]*)?|{decimal}[0-9]+"
    number = rf"(?:{digits})(?:[eE][-+]?[0-9]+)?"
    if number_format.is_percent:
        signed = rf"{sign}?{number}{space}%"
        wrapped = rf"\({number}{space}%\)"
    elif number_format.currency is not None:
        currency = _escape(number_format.currency)
        signed = (
            rf"{sign}?{number}(?:{space}{currency})?"
            rf"|{sign}{currency}{space}{number}"
            rf"|{currency}{space}{sign}?{number}"
        )
        wrapped = rf"\((?:{currency}{space})?{number}(?:{space}{currency})?\)"
    else:
        signed = rf"{sign}?{number}"
        wrapped = rf"\({number}\)"
    return rf"^(?:{signed}|{wrapped})$"


def _convert(
    values: pa.Array, counts: np.ndarray | None, number_format: NumberFormat
) -> NumberParse:
    """Convert all values in one format, and null the values that do not fit it.

    Apart from the strict pattern, only literal matches and replacements run
    on all values, because pyarrow's regex replacement is several times
    slower. The strict pattern guarantees that what the replacements leave of
    a valid value is a plain number.
    """
    valid = _mask(pc.match_substring_regex(values, strict_pattern(number_format)))
    result = NumberParse(
        values=pa.nulls(len(values), pa.float64()),
        valid=valid,
        n_valid=weighted_sum(valid, counts),
        format=number_format,
    )
    if not valid.any():
        return result

    text = values
    if number_format.currency is not None:
        text, has_currency = _strip_currency(values, valid, number_format.currency)
        result.n_currency = weighted_sum(has_currency, counts)
    for character in number_format.spaces:
        text = pc.replace_substring(text, character, "")
    parentheses = _mask(pc.starts_with(values, "(")) & valid
    if parentheses.any():
        text = pc.replace_substring(pc.replace_substring(text, "(", ""), ")", "")
    if number_format.is_percent:
        text = pc.replace_substring(text, "%", "")
    grouped = np.zeros(len(values), dtype=bool)
    if number_format.uses_groups:
        group_separator = "," if number_format.convention == "dot" else "."
        grouped = _contains(values, group_separator) & valid
        text = pc.replace_substring(text, group_separator, "")
    if number_format.uses_space_groups:
        space_groups = pc.match_substring_regex(values, rf"[0-9]{_GROUP_SPACE}[0-9]")
        grouped |= _mask(space_groups) & valid
    has_fraction = None
    if number_format.convention == "comma":
        decimal_comma = _contains(values, ",") & valid
        text = pc.replace_substring(text, ",", ".")
        result.n_decimal_comma = weighted_sum(decimal_comma, counts)
        has_fraction = True if decimal_comma.any() else None
    if number_format.unicode_minus:
        text = pc.replace_substring(text, "\u2212", "-")

    numbers = _cast_valid(text, valid, number_format.is_percent, has_fraction)
    if parentheses.any():
        numbers = np.where(parentheses, -numbers, numbers)
    if number_format.is_percent:
        numbers = numbers / 100.0
    result.values = pa.array(numbers, mask=~valid)
    result.n_valid = weighted_sum(valid, counts)
    result.n_thousands = weighted_sum(grouped, counts)
    result.n_parentheses = weighted_sum(parentheses, counts)
    if number_format.is_percent:
        result.n_percent = result.n_valid
    return result


def _convert_simple(
    values: pa.Array, counts: np.ndarray | None, number_format: NumberFormat
) -> NumberParse | None:
    """Convert values without spaces, parentheses or percent signs, or return None.

    This path runs the strict pattern only on values that contain a digit-group
    separator, and lets the cast check the others: after the currency sign
    and separators are removed, anything but a plain number fails the cast.
    It returns None, for `_convert` to take over, when any value fails.
    """
    if number_format.spaces or number_format.unicode_minus:
        return None
    text = values
    n_values = len(values)
    every = np.ones(n_values, dtype=bool)
    if number_format.currency is not None:
        currency = number_format.currency
        if _mask(pc.starts_with(values, currency)).all():
            text = pc.utf8_slice_codeunits(values, len(currency))
        elif _mask(pc.ends_with(values, currency)).all():
            text = pc.utf8_slice_codeunits(values, 0, -len(currency))
        else:
            return None

    group_separator = "," if number_format.convention == "dot" else "."
    grouped = _contains(values, group_separator)
    if grouped.any():
        pattern = strict_pattern(number_format)
        checked = pc.match_substring_regex(values.filter(pa.array(grouped)), pattern)
        if not _mask(checked).all():
            return None
        text = pc.replace_substring(text, group_separator, "")
    decimal_comma = np.zeros(n_values, dtype=bool)
    if number_format.convention == "comma":
        decimal_comma = _contains(values, ",")
        text = pc.replace_substring(text, ",", ".")

    has_fraction = True if decimal_comma.any() else None
    try:
        numbers = _cast_valid(text, every, False, has_fraction, strict=True)
    except pa.ArrowInvalid:
        return None
    n_cells = weighted_sum(every, counts)
    return NumberParse(
        values=pa.array(numbers),
        valid=every,
        n_valid=n_cells,
        format=number_format,
        n_currency=n_cells if number_format.currency is not None else 0,
        n_thousands=weighted_sum(grouped, counts),
        n_decimal_comma=weighted_sum(decimal_comma, counts),
    )


def _strip_currency(
    values: pa.Array, valid: np.ndarray, currency: str
) -> tuple[pa.Array, np.ndarray]:
    """Remove the currency sign; return the text and where a valid value had one.

    When every valid value starts (or ends) with the sign, slicing replaces
    the slower search, which matters for columns of a million amounts.
    """
    starts = _mask(pc.starts_with(values, currency)) & valid
    if np.array_equal(starts, valid):
        return pc.utf8_slice_codeunits(values, len(currency)), starts
    ends = _mask(pc.ends_with(values, currency)) & valid
    if np.array_equal(ends, valid):
        return pc.utf8_slice_codeunits(values, 0, -len(currency)), ends
    has_currency = _contains(values, currency) & valid
    return pc.replace_substring(values, currency, ""), has_currency


def _cast_plain(values: pa.Array, decision_values: pa.Array) -> pa.Array | None:
    """Cast values that are all plain numbers, such as ``12`` or ``7.5E-05``.

    A failing pyarrow cast costs several regex passes, so it is tried only
    when the decision set is all plain numbers. A later value that is not a
    plain number makes it fail, and None is returned.
    """
    if not _mask(pc.match_substring_regex(decision_values, PLAIN_NUMBER)).all():
        return None
    if len(decision_values) < len(values):
        valid = np.ones(len(values), dtype=bool)
        try:
            return _cast_valid(values, valid, False, as_array=True, strict=True)
        except pa.ArrowInvalid:
            return None
    return _cast_valid(values, np.ones(len(values), dtype=bool), False, as_array=True)


def _cast_valid(
    text: pa.Array,
    valid: np.ndarray,
    is_percent: bool,
    has_fraction: bool | None = None,
    as_array: bool = False,
    strict: bool = False,
) -> np.ndarray | pa.Array:
    """Cast the cleaned text of valid values to int64 when all are integers.

    ``has_fraction`` None means unknown, and the text is searched for ``.``,
    ``e`` and ``E``. A value that fails to cast raises ArrowInvalid when
    ``strict``. Otherwise it becomes null, and ``valid`` is updated in place.
    """
    valid_text = text if valid.all() else pc.if_else(pa.array(valid), text, None)
    if has_fraction is None:
        has_fraction = any(
            pc.any(pc.match_substring(valid_text, character)).as_py()
            for character in (".", "e", "E")
        )
    numbers = None
    if not is_percent and not has_fraction:
        try:
            numbers = pc.cast(valid_text, pa.int64())
        except pa.ArrowInvalid:
            numbers = None
    if numbers is None:
        try:
            numbers = pc.cast(valid_text, pa.float64())
        except pa.ArrowInvalid as err:
            if strict:
                raise
            # NOTE: unreachable while strict_pattern and the replacements agree.
            # It stays so that a gap between them nulls values, not the load.
            logger.warning("Numbers that passed the pattern failed to cast: %s", err)
            parsed = pd.to_numeric(valid_text.to_pandas(), errors="coerce")
            valid &= parsed.notna().to_numpy()
            numbers = pa.array(parsed.to_numpy(dtype=float), mask=~valid)
    return numbers if as_array else numbers.to_numpy(zero_copy_only=False)


def decision_set(
    values: pa.Array, counts: np.ndarray | None
) -> tuple[pa.Array, np.ndarray | None]:
    """Return at most MAX_DECISION_VALUES of the values, evenly spaced, with counts."""
    if len(values) <= MAX_DECISION_VALUES:
        return values, counts
    # NOTE: above this size the convention is chosen from a subsample. Values
    # that contradict it still fail the strict pattern and are never mixed in.
    positions = np.linspace(0, len(values) - 1, MAX_DECISION_VALUES).astype(np.int64)
    subset = values.take(pa.array(positions))
    return subset, counts[positions] if counts is not None else None


_FIELDS = (
    "open",
    "sign",
    "cur1",
    "sign2",
    "grp_comma",
    "grp_dot",
    "grp_space",
    "digits",
    "dsep",
    "frac",
    "exp",
    "cur2",
    "pct",
    "close",
)


def _contains(values: pa.Array, text: str) -> np.ndarray:
    return _mask(pc.match_substring(values, text))


def _starts_with(match: pa.StructArray, field: str, prefix: str) -> np.ndarray:
    return _mask(pc.starts_with(match.field(field), prefix))


def _mask(array: pa.Array) -> np.ndarray:
    return pc.fill_null(array, False).to_numpy(zero_copy_only=False)


def _present(array: pa.Array) -> np.ndarray:
    """Return where ``array`` contains a non-empty string, as a numpy bool array."""
    return _mask(pc.not_equal(array, ""))


def _equals(array: pa.Array, text: str) -> np.ndarray:
    return _mask(pc.equal(array, text))


def _count(array: pa.Array, text: str) -> np.ndarray:
    counted = pc.fill_null(pc.count_substring(array, text), 0)
    return counted.to_numpy(zero_copy_only=False)
