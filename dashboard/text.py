"""Text helpers of the page: Markdown escaping and number formats.

Numbers use `mtl_core.number_format`, so the page, the charts and the reports
show them alike.
"""

from __future__ import annotations

import re

from mtl_core.number_format import (
    finite_number,
    format_signed,
    format_significant,
    with_minus,
)

# Streamlit Markdown also reads $…$ as LaTeX and :name[…] as colored text, so every
# ASCII punctuation mark that CommonMark or Streamlit treats specially is escaped.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|$:~&])")


def md(value: object) -> str:
    """Escape a data string (file, column or class name) for st.markdown."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


def as_sentence(text: str) -> str:
    """Return ``text`` ending in a full stop, as library messages do not."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


def signed(value: object) -> str:
    """Format a number with its sign and a real minus sign, or "n/a" when missing."""
    return format_signed(value)


def seconds(value: object) -> str:
    """Format a duration given in seconds."""
    figure = finite_number(value)
    if figure is None:
        return "n/a"
    if figure >= 120:
        return f"{figure / 60:.1f} min"
    if abs(figure) < 1:
        # Two significant digits, so that 0.06 s and 0.14 s do not both read 0.1 s.
        return with_minus(f"{figure:.2g} s")
    return with_minus(f"{figure:.1f} s")


def significant(value: object) -> str:
    """Format a savings figure with 4 significant digits, or "n/a" when missing."""
    return format_significant(value)
