"""Counts in messages, in the singular for 1 and the plural otherwise."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """Return ``count`` and ``noun`` as in "1 row" or "1,204 rows".

    ``plural`` defaults to ``noun`` with an "s".
    """
    word = noun if count == 1 else plural or f"{noun}s"
    return f"{count:,} {word}"
