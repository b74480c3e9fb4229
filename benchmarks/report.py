"""Benchmark sections as tables: printed to the terminal and written as Markdown."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    """One benchmark item: how it is measured, a table of figures and notes.

    ``misses`` explain each figure that misses its target; they are printed and
    written under the table.
    """

    title: str
    method: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


def verdict(value: float | None, target: float, at_most: bool) -> str:
    """Return "met", "missed" or "n/a" for a figure against its target."""
    if value is None:
        return "n/a"
    ok = value <= target if at_most else value >= target
    return "met" if ok else "missed"


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}"


def as_text(section: Section) -> str:
    """Render a section as aligned plain text for the terminal."""
    widths = [len(name) for name in section.header]
    for row in section.rows:
        widths = [
            max(width, len(cell)) for width, cell in zip(widths, row, strict=True)
        ]
    lines = [f"== {section.title}", section.method, ""]
    lines.append(
        "  ".join(
            name.ljust(width)
            for name, width in zip(section.header, widths, strict=True)
        )
    )
    for row in section.rows:
        lines.append(
            "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=True)
            )
        )
    for note in section.notes:
        lines.append(f"note: {note}")
    for miss in section.misses:
        lines.append(f"miss: {miss}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def as_markdown(section: Section) -> str:
    """Render a section as a Markdown heading, paragraph, table and notes."""
    lines = [f"## {section.title}", "", section.method, ""]
    lines.append("| " + " | ".join(_cell(name) for name in section.header) + " |")
    lines.append("|" + "---|" * len(section.header))
    for row in section.rows:
        lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
    lines.append("")
    for note in section.notes:
        lines.append(f"- {note}")
    if section.misses:
        lines += ["", "**Misses and their causes**", ""]
        lines += [f"- {miss}" for miss in section.misses]
    lines.append("")
    return "\n".join(lines)
