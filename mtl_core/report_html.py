"""Self-contained HTML report of one comparison run that works offline.

The page embeds plotly.js inline once, loads nothing from any host and escapes
every string that comes from the data. A Content-Security-Policy meta tag also
blocks requests to other hosts, so a missed escape cannot load a remote script.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Any

from mtl_core import __version__
from mtl_core.charts import SIDE_LABELS, report_figures
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

# 'unsafe-inline' is needed for the inline plotly.js bundle and its styles.
# Everything else, including requests to any host, is blocked.
_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; base-uri 'none'; form-action 'none'"
)

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222;
       line-height: 1.45; overflow-wrap: anywhere; }
h1 { font-size: 1.6rem; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: .2rem; margin-top: 2.2rem; }
table { border-collapse: collapse; margin: .6rem 0 1.2rem; }
th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left;
         vertical-align: top; overflow-wrap: break-word; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { background: #f5f5f5; padding: .1rem .3rem; }
.finding-separate_better { color: #a50f15; font-weight: 600; }
.finding-shared_better { color: #006d2c; }
.verdict-separate_better { background: #fde0dd; }
.verdict-shared_better { background: #e5f5e0; }
.note { color: #555; font-size: .92rem; }
.chart { margin: 1rem 0 2rem; }
"""

_VERDICT_CLASS_BY_PREFIX = {
    "Shared model better": "verdict-shared_better",
    "Separate models better": "verdict-separate_better",
}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table_html(table: Table, verdict_columns: tuple[int, ...] = ()) -> str:
    if not table.rows:
        return '<p class="note">None.</p>'
    head = "".join(f"<th>{_e(cell)}</th>" for cell in table.header)
    body = []
    for row in table.rows:
        cells = []
        for index, cell in enumerate(row):
            css = ""
            if index in verdict_columns:
                for prefix, name in _VERDICT_CLASS_BY_PREFIX.items():
                    if cell.startswith(prefix):
                        css = f' class="{name}"'
            cells.append(f"<td{css}>{_e(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _pairs_html(pairs: list[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in pairs)
    return f"<table><tbody>{rows}</tbody></table>"


def _run_section(metrics: Mapping[str, Any]) -> str:
    run = metrics.get("run") or {}
    parts = [
        "<section id='run'><h2>Run summary</h2>",
        _pairs_html(run_summary(metrics)),
        "<h3>Input files</h3>",
        _table_html(files_table(metrics)),
        "<h3>Settings</h3>",
        _table_html(key_value_table(run.get("settings"), ["Setting", "Value"])),
        "<h3>Versions</h3>",
        _table_html(key_value_table(run.get("versions"), ["Package", "Version"])),
        "</section>",
    ]
    return "\n".join(parts)


def _verdict_section(metrics: Mapping[str, Any]) -> str:
    items = "".join(
        f'<li class="finding-{_e(f.verdict)}">{_e(f.text)}</li>'
        for f in findings(metrics)
    )
    return "\n".join(
        [
            "<section id='verdicts'><h2>Verdict per task</h2>",
            f"<p><strong>{_e(summary_sentence(metrics))}</strong></p>",
            _table_html(verdict_table(metrics), verdict_columns=(3, 4)),
            f"<ul>{items}</ul>",
            "<p class='note'>A model is called better only when the 95% interval "
            f"of the paired difference ({_e(DIFFERENCE_DEFINITION)}) excludes "
            "zero. Otherwise the result is reported as no clear difference.</p>",
            _warnings_html(metrics),
            "</section>",
        ]
    )


def _warnings_html(metrics: Mapping[str, Any]) -> str:
    warnings = run_warnings(metrics)
    if not warnings:
        return ""
    items = "".join(f"<li>{_e(warning)}</li>" for warning in warnings)
    return f"<h3>Warnings from the run</h3><ul>{items}</ul>"


def _metrics_section(metrics: Mapping[str, Any]) -> str:
    parts = ["<section id='metrics'><h2>Metrics per task</h2>"]
    for task in metrics.get("tasks") or []:
        parts.append(f"<h3>{_e(task.get('name'))}</h3>")
        parts.append(_pairs_html(task_facts(task)))
        parts.append(_table_html(metric_table(task)))
    parts.append("</section>")
    return "\n".join(parts)


def _charts_section(metrics: Mapping[str, Any]) -> str:
    parts = ["<section id='charts'><h2>Charts</h2>"]
    config = {"displaylogo": False, "responsive": True}
    for index, (caption, figure) in enumerate(report_figures(metrics)):
        div = figure.to_html(
            full_html=False,
            include_plotlyjs=index == 0,
            include_mathjax=False,
            config=config,
        )
        # The figure draws its own title, so the caption is only an aria label.
        parts.append(f"<figure class='chart' aria-label='{_e(caption)}'>{div}</figure>")
    parts.append("</section>")
    return "\n".join(parts)


def _savings_section(metrics: Mapping[str, Any]) -> str:
    parts = [
        "<section id='savings'><h2>Savings</h2>",
        f"<p class='note'>{_e(savings_prices_sentence(metrics))}</p>",
    ]
    for item in savings_figures(metrics):
        parts.append(f"<h3>{_e(item.title)}</h3>")
        parts.append(_pairs_html(item.rows))
        if item.per_task is not None:
            parts.append(_table_html(item.per_task))
    parts.append("</section>")
    return "\n".join(parts)


def _skipped_section(metrics: Mapping[str, Any]) -> str:
    run = metrics.get("run") or {}
    skipped = reason_table(metrics.get("skipped_tasks"), ["Column", "Reason"])
    excluded = reason_table(run.get("excluded_columns"), ["Column", "Reason"])
    return "\n".join(
        [
            "<section id='skipped'><h2>Skipped tasks and excluded columns</h2>",
            "<h3>Skipped tasks</h3>",
            _table_html(skipped),
            "<h3>Columns excluded from the features</h3>",
            _table_html(excluded),
            "</section>",
        ]
    )


def render_html_report(metrics: Mapping[str, Any]) -> str:
    """Render the metrics dict as one self-contained HTML page.

    Parameters
    ----------
    metrics : Mapping
        Metrics dict as written to metrics.json.

    Returns
    -------
    str
        A complete HTML document. plotly.js is embedded inline once and the page
        refers to no URL, so it opens offline.
    """
    sides = ", ".join(SIDE_LABELS.values())
    body = [
        "<h1>Shared multitask model compared with separate models</h1>",
        f"<p class='note'>Compared models: {_e(sides)}. Report written by "
        f"mtl_core {_e(__version__)}, metrics schema version "
        f"{_e(metrics.get('schema_version'))}.</p>",
        _run_section(metrics),
        _verdict_section(metrics),
        _metrics_section(metrics),
        _charts_section(metrics),
        _savings_section(metrics),
        _skipped_section(metrics),
    ]
    page = (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        "<title>Multitask comparison report</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
    logger.info("Rendered HTML report (%d characters)", len(page))
    return page
