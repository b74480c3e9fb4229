"""Step 5 of the page: downloads of the reports and metrics of the shown run.

The exports contain what the page shows: the run's metrics with the savings at the
current price and upkeep. Reports are rendered by mtl_core and cached by the hash
of those metrics, so a rerun of the page never renders them again.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable

import streamlit as st

from dashboard import state
from mtl_core.export import json_safe, metrics_to_csv, metrics_to_json
from mtl_core.report_html import render_html_report
from mtl_core.report_pdf import render_pdf_report

logger = logging.getLogger(__name__)

# Rendered reports of recent metrics, shared by all sessions. An HTML report is
# about 5 MB because it embeds plotly.js.
_CACHE_ENTRIES = 8
_cache: OrderedDict[tuple[str, str], str | bytes] = OrderedDict()
_cache_lock = threading.Lock()
PDF_TIMEOUT_S = 60


def cached(kind: str, digest: str, render: Callable[[], str | bytes]) -> str | bytes:
    """Return the cached rendering of `kind` for `digest`, rendering it on a miss."""
    with _cache_lock:
        if (kind, digest) in _cache:
            _cache.move_to_end((kind, digest))
            return _cache[(kind, digest)]
    value = render()
    with _cache_lock:
        _cache[(kind, digest)] = value
        while len(_cache) > _CACHE_ENTRIES:
            _cache.popitem(last=False)
    return value


def html_report(priced: dict) -> str:
    """Return the HTML report of the metrics with savings at the current price."""
    digest = state.metrics_hash(priced)
    return cached("html", digest, lambda: render_html_report(json_safe(priced)))


def metrics_json(priced: dict) -> str:
    """Return metrics.json text: NaN and infinity become null."""
    return metrics_to_json(priced) + "\n"


def metrics_csv(priced: dict) -> str:
    """Return metrics.csv text, safe to open in a spreadsheet."""
    return metrics_to_csv(json_safe(priced))


def _render_pdf(priced: dict, digest: str) -> None:
    try:
        with st.spinner("Rendering the PDF report with chart images…"):
            data = render_pdf_report(
                json_safe(priced), chart_images=True, timeout_s=PDF_TIMEOUT_S
            )
    except Exception as err:  # Shown as one line, and the traceback goes to the log.
        logger.exception("Rendering the PDF report failed")
        st.error(
            f"The PDF report could not be rendered ({type(err).__name__}: {err}). "
            "The HTML report contains the same content."
        )
        return
    st.session_state[state.PDF] = {"hash": digest, "bytes": data}


def export_section(priced: dict) -> None:
    """Render the download buttons of the run shown on the page."""
    st.header("5. Export")
    st.caption(
        "The reports and metrics.json contain exactly the results shown above, "
        "including the savings at the current price and upkeep. metrics.csv has "
        "the per-task metrics and comparisons only, one row each. The HTML report "
        "works offline."
    )
    html_column, csv_column, json_column, pdf_column = st.columns(4)
    html_column.download_button(
        "HTML report",
        data=lambda: html_report(priced),
        file_name="report.html",
        mime="text/html",
        key="download_html",
        on_click="ignore",
        icon=":material/download:",
    )
    csv_column.download_button(
        "metrics.csv",
        data=metrics_csv(priced),
        file_name="metrics.csv",
        mime="text/csv",
        key="download_csv",
        on_click="ignore",
        icon=":material/download:",
    )
    json_column.download_button(
        "metrics.json",
        data=metrics_json(priced),
        file_name="metrics.json",
        mime="application/json",
        key="download_json",
        on_click="ignore",
        icon=":material/download:",
    )
    digest = state.metrics_hash(priced)
    pdf = st.session_state.get(state.PDF)
    if pdf is not None and pdf["hash"] != digest:
        st.session_state.pop(state.PDF)  # rendered for another price or run
        pdf = None
    with pdf_column:
        if pdf is not None:
            st.download_button(
                "PDF report",
                data=pdf["bytes"],
                file_name="report.pdf",
                mime="application/pdf",
                key="download_pdf",
                on_click="ignore",
                icon=":material/download:",
            )
        elif st.button(
            "Prepare PDF report",
            key="build_pdf",
            help="Rendering the chart images takes a few seconds.",
        ):
            _render_pdf(priced, digest)
            if st.session_state.get(state.PDF, {}).get("hash") == digest:
                st.rerun()
