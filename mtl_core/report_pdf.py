"""PDF report of one comparison run, with the same content as the HTML report.

Text uses an embedded Unicode TrueType font (DejaVu Sans) with a CJK font as the
fallback when one is installed. Charts become PNG images through kaleido, which
starts a local headless Chromium. When that is switched off, fails or runs past
the time limit, the PDF states that the charts are in the HTML report.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import shutil
import signal
import threading
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
from fpdf import FPDF

from mtl_core import __version__
from mtl_core.charts import SIDE_LABELS, report_figures
from mtl_core.number_format import MINUS
from mtl_core.report_content import (
    DIFFERENCE_DEFINITION,
    Table,
    files_table,
    findings,
    key_value_table,
    metric_table,
    reason_table,
    run_summary,
    run_warnings,
    savings_figures,
    savings_prices_sentence,
    summary_sentence,
    task_facts,
    verdict_table,
)

logger = logging.getLogger(__name__)

CHARTS_FALLBACK_TEXT = "Charts are in the HTML report."

FONT_DIRS: tuple[str, ...] = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
)
UNICODE_FONT_FILES = ("DejaVuSans.ttf",)
UNICODE_BOLD_FONT_FILES = ("DejaVuSans-Bold.ttf",)
# Both are TrueType collections from the WenQuanYi project. Debian packages them
# as fonts-wqy-microhei and fonts-wqy-zenhei.
# NOTE: only wqy-microhei.ttc was tried; wqy-zenhei.ttc is listed untested.
CJK_FONT_FILES = ("wqy-microhei.ttc", "wqy-zenhei.ttc")

# Chromium sends every network request to this closed local port, so a chart
# export cannot reach any host even if a page requests a remote resource.
LOCAL_ONLY_PROXY = "http://127.0.0.1:9"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")

# Long cells are cut so that one row always fits on a page, which fpdf2 requires.
_MAX_CELL_CHARS = 400
_IMAGE_WIDTH_PX = 1000
_IMAGE_SCALE = 2
# Time Chromium gets to close after the export, before its processes are killed.
_SHUTDOWN_GRACE_S = 5.0


class ChartExportError(RuntimeError):
    """Error raised when the chart images could not be exported."""


@dataclass(frozen=True)
class FontFiles:
    """Font files found on this machine; None where no file was found."""

    regular: Path | None
    bold: Path | None
    cjk: Path | None


def _find_font_file(names: Sequence[str]) -> Path | None:
    target_names = {name.lower() for name in names}
    for directory in FONT_DIRS:
        root = Path(directory).expanduser()
        if not root.is_dir():
            continue
        for dirpath, _dirnames, filenames in os.walk(root):
            for filename in filenames:
                if filename.lower() in target_names:
                    return Path(dirpath) / filename
    return None


@functools.lru_cache(maxsize=1)
def find_fonts() -> FontFiles:
    """Search the common font directories for the Unicode and CJK fonts."""
    fonts = FontFiles(
        regular=_find_font_file(UNICODE_FONT_FILES),
        bold=_find_font_file(UNICODE_BOLD_FONT_FILES),
        cjk=_find_font_file(CJK_FONT_FILES),
    )
    logger.debug("PDF fonts found: %s", fonts)
    return fonts


def resolve_browser_path(
    browser_path: str | os.PathLike[str] | None = None,
) -> Path | None:
    """Return the Chromium executable to use for chart images, or None.

    An explicit `browser_path` wins, then the ``BROWSER_PATH`` environment
    variable (the one choreographer reads), then the first of `BROWSER_NAMES`
    on ``PATH``.
    """
    if browser_path is not None:
        return Path(browser_path)
    if os.environ.get("BROWSER_PATH"):
        return Path(os.environ["BROWSER_PATH"])
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def export_chart_images(
    figures: Sequence[go.Figure],
    browser_path: str | os.PathLike[str] | None = None,
    timeout_s: float = 60.0,
) -> list[bytes]:
    """Export figures as PNG images with kaleido in one headless Chromium session.

    Parameters
    ----------
    figures : sequence of go.Figure
        Figures to export, in order.
    browser_path : path-like, optional
        Chromium executable; see `resolve_browser_path`.
    timeout_s : float
        Deadline for the whole export, including the browser start, in seconds.

    Returns
    -------
    list of bytes
        One PNG per figure.

    Raises
    ------
    ChartExportError
        If no browser is found, the export fails or it misses the deadline.
    """
    path = resolve_browser_path(browser_path)
    if path is None:
        raise ChartExportError(
            "No Chromium executable was found on PATH; install chromium or set "
            "BROWSER_PATH"
        )
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ChartExportError(f"No executable Chromium was found at {str(path)!r}")

    jobs = [(figure, _image_options(figure)) for figure in figures]
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["images"] = asyncio.run(_render_images(jobs, path, timeout_s))
        except Exception as err:  # noqa: BLE001 - the caller re-raises it below
            outcome["error"] = err

    # A thread with its own event loop works whether or not the caller already
    # runs an event loop, as Streamlit and notebooks do.
    worker = threading.Thread(target=run, name="chart-image-export", daemon=True)
    started = time.perf_counter()
    worker.start()
    worker.join(timeout_s + 2 * _SHUTDOWN_GRACE_S)
    elapsed = time.perf_counter() - started
    if worker.is_alive():
        raise ChartExportError(
            f"Chart export did not finish within {timeout_s:g} s and was abandoned"
        )
    error = outcome.get("error")
    # choreographer turns the cancellation at the deadline into its own
    # BrowserFailedError, so the elapsed time is what identifies a timeout.
    if isinstance(error, TimeoutError) or (error is not None and elapsed >= timeout_s):
        raise ChartExportError(
            f"Chart export timed out after {timeout_s:g} s"
        ) from error
    if error is not None:
        raise ChartExportError(
            f"Chart export failed: {type(error).__name__}: {error}"
        ) from error
    logger.info("Exported %d chart images in %.1f s", len(jobs), elapsed)
    return outcome["images"]


def _image_options(figure: go.Figure) -> dict[str, Any]:
    height = figure.layout.height or 450
    return {
        "format": "png",
        "width": _IMAGE_WIDTH_PX,
        "height": height,
        "scale": _IMAGE_SCALE,
    }


async def _render_images(
    jobs: Sequence[tuple[go.Figure, dict[str, Any]]], path: Path, timeout_s: float
) -> list[bytes]:
    # Imported here because importing kaleido changes global state: its logistro
    # dependency calls logging.setLoggerClass and parses sys.argv.
    import kaleido  # noqa: PLC0415

    # The plotly.js bundled with plotly.py, passed explicitly so that kaleido
    # never falls back to its CDN copy. mathjax=False keeps MathJax off, which
    # kaleido would otherwise load from a CDN.
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    browser = kaleido.Kaleido(
        path=str(path),
        plotlyjs=str(plotly_js),
        mathjax=False,
        proxy_server=LOCAL_ONLY_PROXY,
        timeout=timeout_s,
    )

    async def open_and_render() -> list[bytes]:
        await browser.open()
        return [await browser.calc_fig(fig, opts=opts) for fig, opts in jobs]

    # Not `async with`: choreographer 1.4 skips the close when open() fails or is
    # cancelled, and its close blocks for up to 9 s on a browser that does not
    # respond. After a failure the browser is killed first, so the close is quick.
    try:
        images = await asyncio.wait_for(open_and_render(), timeout_s)
    except BaseException:
        _kill_browser(browser)
        await _close_browser(browser)
        raise
    await _close_browser(browser)
    return images


async def _close_browser(browser: Any) -> None:
    try:
        await asyncio.wait_for(browser.close(), _SHUTDOWN_GRACE_S)
    except Exception as err:  # noqa: BLE001 - the kill below is the fallback
        logger.warning("Closing Chromium failed: %r", err)
    _kill_browser(browser)


def _kill_browser(browser: Any) -> None:
    process = getattr(browser, "subprocess", None)
    if process is None or process.poll() is not None:
        return
    # choreographer starts the browser in a new session, so the process group id
    # is the launcher's pid and the group contains every browser process.
    logger.warning("Killing Chromium process group %d", process.pid)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(timeout=_SHUTDOWN_GRACE_S)


class _ReportPDF(FPDF):
    """FPDF with the report's fonts and a page-number footer."""

    def __init__(self, fonts: FontFiles) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_font_only = fonts.regular is None
        if self.core_font_only:
            self.report_font = "helvetica"
        else:
            self.report_font = "dejavu"
            self.add_font("dejavu", "", str(fonts.regular))
            # Without a bold file, bold text uses the regular face.
            self.add_font("dejavu", "B", str(fonts.bold or fonts.regular))
            if fonts.cjk is not None:
                self._add_cjk_fallback(fonts.cjk)
        # NOTE: text shaping is off because fpdf2 needs the uharfbuzz package for
        # it, so Arabic or Hebrew names print unjoined and left to right.
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=15)
        self.set_title("Multitask comparison report")
        self.set_creator(f"mtl_core {__version__}")

    def _add_cjk_fallback(self, path: Path) -> None:
        try:
            self.add_font("cjk", "", str(path), collection_font_number=0)
        except Exception as err:  # noqa: BLE001 - fontTools raises many types
            logger.warning(
                "CJK font %s could not be loaded, so CJK text shows no glyphs: %r",
                path,
                err,
            )
            return
        self.set_fallback_fonts(["cjk"], exact_match=False)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.report_font, size=8)
        self.cell(0, 5, f"Page {self.page_no()}", align="C")

    def text_for_font(self, value: Any) -> str:
        """Replace control characters and, with the core font, non-Latin-1 text."""
        text = "".join(
            " " if unicodedata.category(ch) == "Cc" and ch != "\n" else ch
            for ch in str(value)
        )
        if self.core_font_only:
            # Latin-1 has no minus sign, and "?" in its place would misstate the sign.
            text = text.replace(MINUS, "-")
            text = text.encode("latin-1", errors="replace").decode("latin-1")
        return text

    def heading(self, text: str, level: int = 1) -> None:
        sizes = {0: 17, 1: 14, 2: 12}
        if level <= 1 and self.get_y() > self.h - 60:
            self.add_page()
        self.ln(4 if level else 0)
        self.set_font(self.report_font, "B", sizes.get(level, 11))
        self.multi_cell(
            0, 7, self.text_for_font(text), align="L", new_x="LMARGIN", new_y="NEXT"
        )
        self.set_font(self.report_font, size=9)
        self.ln(1)

    def paragraph(self, text: str, bold: bool = False) -> None:
        self.set_font(self.report_font, "B" if bold else "", 9)
        self.multi_cell(
            0, 4.6, self.text_for_font(text), align="L", new_x="LMARGIN", new_y="NEXT"
        )
        self.set_font(self.report_font, size=9)
        self.ln(1)

    def text_table(
        self,
        table: Table,
        col_widths: Sequence[float] | None = None,
        headings: bool = True,
    ) -> None:
        if not table.rows:
            self.paragraph("None.")
            return
        self.set_font(self.report_font, size=8)
        with self.table(
            col_widths=col_widths,
            text_align="LEFT",
            line_height=4.2,
            first_row_as_headings=headings,
            width=self.epw,
        ) as pdf_table:
            rows = [table.header, *table.rows] if headings else table.rows
            for row in rows:
                pdf_row = pdf_table.row()
                for cell in row:
                    pdf_row.cell(self.text_for_font(_cut(cell)))
        self.set_font(self.report_font, size=9)
        self.ln(2)

    def pairs_table(self, pairs: Sequence[tuple[str, str]]) -> None:
        rows = [[key, value] for key, value in pairs]
        self.text_table(Table([], rows), (1.5, 2.5), headings=False)


def _cut(text: str) -> str:
    text = str(text)
    if len(text) <= _MAX_CELL_CHARS:
        return text
    return text[: _MAX_CELL_CHARS - 1] + "\u2026"


def render_pdf_report(
    metrics: Mapping[str, Any],
    chart_images: bool = True,
    timeout_s: float = 60,
    browser_path: str | os.PathLike[str] | None = None,
) -> bytes:
    """Render the metrics dict as a PDF report.

    Parameters
    ----------
    metrics : Mapping
        Metrics dict as written to metrics.json.
    chart_images : bool
        Export the charts as images with a local Chromium. When False, or when
        the export fails or times out, the PDF states that the charts are in
        the HTML report.
    timeout_s : float
        Deadline for the chart export in seconds. The worker thread gets a few
        more seconds to close Chromium before it is abandoned.
    browser_path : path-like, optional
        Chromium executable; see `resolve_browser_path`.

    Returns
    -------
    bytes
        The PDF file.
    """
    pdf = _ReportPDF(find_fonts())
    pdf.add_page()
    pdf.heading("Shared multitask model compared with separate models", level=0)
    pdf.paragraph(
        f"Compared models: {', '.join(SIDE_LABELS.values())}. Report written by "
        f"mtl_core {__version__}, metrics schema version "
        f"{metrics.get('schema_version')}."
    )
    if pdf.core_font_only:
        pdf.paragraph(
            "NOTE: no Unicode TrueType font (DejaVu Sans) was found, so this PDF "
            "uses a built-in font and shows characters outside Latin-1 as '?'. "
            "The HTML report shows all names correctly."
        )

    _write_run(pdf, metrics)
    _write_verdicts(pdf, metrics)
    _write_metrics(pdf, metrics)
    _write_charts(pdf, metrics, chart_images, timeout_s, browser_path)
    _write_savings(pdf, metrics)
    _write_skipped(pdf, metrics)
    data = bytes(pdf.output())
    logger.info("Rendered PDF report (%d bytes, %d pages)", len(data), pdf.page_no())
    return data


def _write_run(pdf: _ReportPDF, metrics: Mapping[str, Any]) -> None:
    run = metrics.get("run") or {}
    pdf.heading("Run summary")
    pdf.pairs_table(run_summary(metrics))
    pdf.heading("Input files", level=2)
    pdf.text_table(files_table(metrics), (3, 1, 1, 1, 1))
    pdf.heading("Settings", level=2)
    pdf.text_table(key_value_table(run.get("settings"), ["Setting", "Value"]))
    pdf.heading("Versions", level=2)
    pdf.text_table(key_value_table(run.get("versions"), ["Package", "Version"]))


def _write_verdicts(pdf: _ReportPDF, metrics: Mapping[str, Any]) -> None:
    pdf.heading("Verdict per task")
    pdf.paragraph(summary_sentence(metrics), bold=True)
    pdf.text_table(verdict_table(metrics), (2, 1, 1.6, 2.6, 2.6))
    for finding in findings(metrics):
        pdf.paragraph(f"- {finding.text}", bold=finding.verdict == "separate_better")
    pdf.paragraph(
        "A model is called better only when the 95% interval of the paired "
        f"difference ({DIFFERENCE_DEFINITION}) excludes zero. Otherwise the "
        "result is reported as no clear difference."
    )
    warnings = run_warnings(metrics)
    if warnings:
        pdf.heading("Warnings from the run", level=2)
        for warning in warnings:
            pdf.paragraph(f"- {warning}")


def _write_metrics(pdf: _ReportPDF, metrics: Mapping[str, Any]) -> None:
    pdf.heading("Metrics per task")
    for task in metrics.get("tasks") or []:
        pdf.heading(str(task.get("name")), level=2)
        pdf.pairs_table(task_facts(task))
        pdf.text_table(metric_table(task), (1.4, 1, 1, 1))


def _write_charts(
    pdf: _ReportPDF,
    metrics: Mapping[str, Any],
    chart_images: bool,
    timeout_s: float,
    browser_path: str | os.PathLike[str] | None,
) -> None:
    pdf.heading("Charts")
    if not chart_images:
        pdf.paragraph(f"{CHARTS_FALLBACK_TEXT} Chart images were switched off.")
        return

    figures = report_figures(metrics)
    try:
        images = export_chart_images(
            [figure for _caption, figure in figures], browser_path, timeout_s
        )
    except ChartExportError as err:
        logger.warning("PDF report without chart images: %s", err)
        pdf.paragraph(f"{CHARTS_FALLBACK_TEXT} {err}.")
        return

    for (caption, figure), image in zip(figures, images, strict=True):
        height_px = _image_options(figure)["height"]
        width_mm = pdf.epw
        height_mm = width_mm * height_px / _IMAGE_WIDTH_PX
        max_height_mm = pdf.eph - 20
        if height_mm > max_height_mm:
            width_mm *= max_height_mm / height_mm
            height_mm = max_height_mm
        if pdf.get_y() + height_mm + 10 > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.heading(caption, level=2)
        pdf.image(BytesIO(image), w=width_mm, h=height_mm)
        pdf.ln(3)


def _write_savings(pdf: _ReportPDF, metrics: Mapping[str, Any]) -> None:
    pdf.heading("Savings")
    pdf.paragraph(savings_prices_sentence(metrics))
    for item in savings_figures(metrics):
        pdf.heading(item.title, level=2)
        pdf.pairs_table(item.rows)
        if item.per_task is not None:
            pdf.text_table(item.per_task)


def _write_skipped(pdf: _ReportPDF, metrics: Mapping[str, Any]) -> None:
    run = metrics.get("run") or {}
    pdf.heading("Skipped tasks and excluded columns")
    pdf.heading("Skipped tasks", level=2)
    pdf.text_table(reason_table(metrics.get("skipped_tasks"), ["Column", "Reason"]))
    pdf.heading("Columns excluded from the features", level=2)
    pdf.text_table(reason_table(run.get("excluded_columns"), ["Column", "Reason"]))
