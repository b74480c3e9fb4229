"""Number formats for display, shared by the dashboard, the charts and the reports.

Negative numbers get the Unicode minus sign (U+2212). plotly.js draws the same
sign in axis tick labels (its MINUS_SIGN constant in the copies bundled with
plotly 7.1 and Streamlit 1.67), so hover text, tables and sentences match the
axes. Counts get thousands separators. The price and the upkeep get the decimals
of the dashboard's inputs, which round them to those decimals, so every place
shows the amount the savings use.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

MINUS = "\u2212"
PRICE_DECIMALS = 4  # price per compute hour
UPKEEP_DECIMALS = 2  # upkeep per model per month
PRICE_FORMAT = f"%.{PRICE_DECIMALS}f"  # the dashboard input's printf format
UPKEEP_FORMAT = f"%.{UPKEEP_DECIMALS}f"


def finite_number(value: Any) -> float | None:
    """Return `value` as a float; None when missing, NaN, infinite or not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return number


def with_minus(text: str) -> str:
    """Replace every hyphen-minus of a formatted number with the minus sign."""
    return text.replace("-", MINUS)


def format_number(value: Any) -> str:
    """Format a metric value, count or duration for display; "n/a" when missing."""
    number = finite_number(value)
    if number is None:
        return "n/a"
    if isinstance(value, numbers.Integral) or (
        number.is_integer() and abs(number) >= 1000
    ):
        return with_minus(f"{int(number):,}")
    magnitude = abs(number)
    if magnitude >= 100:
        return with_minus(f"{number:,.1f}")
    if magnitude >= 1:
        return with_minus(f"{number:.3f}")
    if magnitude == 0:
        return "0"
    if magnitude < 0.0001:
        return with_minus(f"{number:.2e}")
    return with_minus(f"{number:.4f}")


def format_count(value: Any) -> str:
    """Format a count with thousands separators, such as "45,211"; "n/a" when missing.

    A value with a fractional part is not a count and gets `format_number`.
    """
    number = finite_number(value)
    if number is None:
        return "n/a"
    if not number.is_integer():
        return format_number(value)
    return with_minus(f"{int(number):,}")


def format_signed(value: Any) -> str:
    """Format a number with a leading "+" or minus sign; "n/a" when missing."""
    number = finite_number(value)
    if number is None:
        return "n/a"
    text = format_number(abs(number))
    if number < 0:
        return MINUS + text
    return "+" + text


def format_price(value: Any) -> str:
    """Format the price per compute hour with its input's decimals, such as
    "1,000.0000"."""
    return _format_amount(value, PRICE_DECIMALS)


def format_upkeep(value: Any) -> str:
    """Format the upkeep per model per month with its input's decimals, such as
    "20.00"."""
    return _format_amount(value, UPKEEP_DECIMALS)


def _format_amount(value: Any, decimals: int) -> str:
    number = finite_number(value)
    if number is None:
        return "n/a"
    return with_minus(f"{number:,.{decimals}f}")


def format_significant(value: Any) -> str:
    """Format a savings figure with 4 significant digits, or "n/a" when missing.

    Costs per run are often fractions of a cent, which a fixed number of decimals
    would round to 0, so small values keep 4 significant digits without an
    exponent, such as 0.00002302.
    """
    number_value = finite_number(value)
    if number_value is None:
        return "n/a"
    if number_value == 0:
        return "0"
    if isinstance(value, int) or abs(number_value) >= 10_000:
        return with_minus(f"{number_value:,.0f}")
    text = np.format_float_positional(
        number_value, precision=4, fractional=False, trim="-"
    )
    return with_minus(text)
