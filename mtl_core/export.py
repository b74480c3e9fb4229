"""Output files of a run: metrics.json, metrics.csv, report.html and report.pdf."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import numbers
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mtl_core.charts import SIDES
from mtl_core.errors import InputError
from mtl_core.report_html import render_html_report
from mtl_core.report_pdf import render_pdf_report

logger = logging.getLogger(__name__)

CSV_COLUMNS = (
    "record",
    "task",
    "kind",
    "side",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "verdict",
    "labelled_rows",
    "labelled_test_rows",
    "note",
)
OUTPUT_FILES = {
    "json": "metrics.json",
    "csv": "metrics.csv",
    "html": "report.html",
    "pdf": "report.pdf",
}

# Spreadsheets run a cell that starts with one of these as a formula (OWASP,
# "CSV Injection"). Such text cells get a leading apostrophe.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def json_safe(value: Any, path: str = "metrics") -> Any:
    """Return a copy of `value` that `json.dumps(allow_nan=False)` accepts.

    NaN and infinity become None, tuples become lists, numpy scalars and arrays
    become Python numbers and lists, and mapping keys become strings.

    Raises
    ------
    TypeError
        If a value has a type that JSON cannot store; the message gives its path.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, f"{path}[{k!r}]") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "tolist"):
        return json_safe(value.tolist(), path)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(
        f"{path} has type {type(value).__name__}, which metrics.json cannot store"
    )


def metrics_to_json(metrics: Mapping[str, Any]) -> str:
    """Serialise the metrics dict with sorted keys, indent 2 and NaN as null."""
    return json.dumps(json_safe(metrics), sort_keys=True, indent=2, allow_nan=False)


def spreadsheet_cell(value: Any) -> str:
    """Format one CSV cell so that no spreadsheet runs it as a formula.

    Numbers, including negative ones, stay numbers. Text that starts with one of
    `FORMULA_PREFIXES` gets a leading apostrophe. None, NaN and infinity become
    an empty cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        number = float(value)
        return repr(number) if math.isfinite(number) else ""
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _csv_rows(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for task in metrics.get("tasks") or []:
        common = {
            "task": task.get("name"),
            "kind": task.get("kind"),
            "labelled_rows": task.get("labelled_rows"),
            "labelled_test_rows": task.get("labelled_test_rows"),
        }
        values = task.get("metrics") or {}
        unavailable = task.get("unavailable") or {}
        intervals = task.get("metric_intervals") or {}
        for side in SIDES:
            side_values = values.get(side) or {}
            low, high = (intervals.get(side) or [None, None])[:2]
            side_reasons = unavailable.get(side) or {}
            names = list(side_values) + [
                m for m in side_reasons if m not in side_values
            ]
            for metric in names:
                rows.append(
                    {
                        **common,
                        "record": "metric",
                        "side": side,
                        "metric": metric,
                        "value": side_values.get(metric),
                        # Intervals are bootstrapped for the primary metric only.
                        **(
                            {"ci_low": low, "ci_high": high}
                            if metric == task.get("primary_metric")
                            else {}
                        ),
                        "note": side_reasons.get(metric),
                    }
                )
        for side, comparison in (task.get("comparisons") or {}).items():
            rows.append(
                {
                    **common,
                    "record": "comparison",
                    "side": side,
                    "metric": comparison.get("metric"),
                    "value": comparison.get("difference"),
                    "ci_low": comparison.get("ci_low"),
                    "ci_high": comparison.get("ci_high"),
                    "verdict": comparison.get("verdict"),
                    "note": comparison.get("reason"),
                }
            )
    return rows


def metrics_to_csv(metrics: Mapping[str, Any]) -> str:
    """Flatten the metrics dict into CSV text that is safe to open in a spreadsheet.

    Parameters
    ----------
    metrics : Mapping
        Metrics dict as written to metrics.json.

    Returns
    -------
    str
        Columns `CSV_COLUMNS`. One ``record="metric"`` row per task, side and
        metric, with the reason in ``note`` when the value is missing, and one
        ``record="comparison"`` row per task and separate side with the paired
        difference in ``value``. Every cell, header cells included, goes through
        `spreadsheet_cell`.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([spreadsheet_cell(name) for name in CSV_COLUMNS])
    for row in _csv_rows(metrics):
        writer.writerow([spreadsheet_cell(row.get(name)) for name in CSV_COLUMNS])
    return buffer.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    if path.is_dir():
        raise InputError(
            f"Cannot write {path.name}: {str(path)!r} is a directory; remove it or "
            "choose another output directory"
        )
    if path.exists():
        logger.warning("Replacing existing output file %s", path)
    # os.open with mode 0o666 applies the umask, as open() would; tempfile would
    # create the file with mode 0o600 instead.
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_outputs(
    metrics: Mapping[str, Any],
    out_dir: str | os.PathLike[str],
    pdf: bool = False,
    chart_images: bool = True,
) -> dict[str, Path]:
    """Write metrics.json, metrics.csv, report.html and, on request, report.pdf.

    Parameters
    ----------
    metrics : Mapping
        Metrics dict of one run.
    out_dir : path-like
        Output directory; created when missing.
    pdf : bool
        Also write report.pdf.
    chart_images : bool
        Put chart images into report.pdf; see `render_pdf_report`.

    Returns
    -------
    dict of str to Path
        Written files by kind: ``"json"``, ``"csv"``, ``"html"`` and ``"pdf"``.

    Raises
    ------
    InputError
        If `out_dir` or one of the output paths exists but is not a file that can
        be replaced.

    Notes
    -----
    Every file is rendered before the first one is written, and each is written
    to a temporary file that then replaces the target, so a failure leaves no
    half-written file. Only the four file names in `OUTPUT_FILES` are written;
    replacing an existing one logs a warning.
    """
    directory = Path(out_dir)
    if directory.exists() and not directory.is_dir():
        raise InputError(
            f"Output directory {str(directory)!r} is a file; choose a directory"
        )

    clean = json_safe(metrics)
    contents = {
        "json": json.dumps(clean, sort_keys=True, indent=2, allow_nan=False) + "\n",
        "csv": metrics_to_csv(clean),
        "html": render_html_report(clean),
    }
    encoded = {kind: text.encode("utf-8") for kind, text in contents.items()}
    if pdf:
        encoded["pdf"] = render_pdf_report(clean, chart_images=chart_images)

    directory.mkdir(parents=True, exist_ok=True)
    written = {}
    for kind, data in encoded.items():
        path = directory / OUTPUT_FILES[kind]
        _write_atomic(path, data)
        written[kind] = path
    logger.info(
        "Wrote %s to %s", ", ".join(p.name for p in written.values()), directory
    )
    return written
