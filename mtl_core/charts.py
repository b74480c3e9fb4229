"""Plotly figures built from the metrics dict, shared by the dashboard and reports.

Every string that comes from the data (task, column and class names, reasons) goes
through `plotly_text` first. Plotly renders a subset of HTML tags in titles, labels,
annotations and hover text, so an unescaped name such as ``<a href=...>`` would
otherwise become markup inside the chart.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mtl_core.metrics import metric_label
from mtl_core.number_format import (
    finite_number,
    format_number,
    format_price,
    format_significant,
)
from mtl_core.sides import SEPARATE_SIDES, SIDE_LABELS, SIDES

logger = logging.getLogger(__name__)

SIDE_COLORS: dict[str, str] = {
    "multitask": "#1f77b4",
    "single_task_nn": "#ff7f0e",
    "lightgbm": "#2ca02c",
}
VERDICT_LABELS: dict[str, str] = {
    "shared_better": "Shared model better",
    "separate_better": "Separate models better",
    "no_clear_difference": "No clear difference",
    "not_available": "n/a",
}
VERDICT_COLORS: dict[str, str] = {
    "shared_better": "#1a9850",
    "separate_better": "#d73027",
    "no_clear_difference": "#7f7f7f",
    "not_available": "#bdbdbd",
}

# Longer names are cut in charts so that one long column name cannot push the
# plot area off the image. The reports show the full names in their tables.
MAX_LABEL_CHARS = 60

_TEMPLATE = "plotly_white"


def plotly_text(value: object, max_chars: int | None = MAX_LABEL_CHARS) -> str:
    """Escape a data string for plotly and cut it to `max_chars` characters.

    Plotly turns ``&lt;``, ``&gt;`` and ``&amp;`` back into ``<``, ``>`` and ``&``
    when it draws text, so the escaped string shows exactly as written.
    """
    text = str(value)
    if max_chars is not None and len(text) > max_chars:
        text = text[: max_chars - 1] + "\u2026"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def side_seconds(metrics: Mapping[str, Any], side: str) -> float | None:
    """Return the total fit time of one side in seconds, or None when not recorded."""
    fit = metrics.get("fit_seconds") or {}
    if side == "multitask":
        return finite_number(fit.get("multitask"))
    total = finite_number(fit.get(f"{side}_total"))
    if total is not None:
        return total
    per_task = fit.get(side)
    if isinstance(per_task, Mapping):
        values = [finite_number(v) for v in per_task.values()]
        if values and all(v is not None for v in values):
            return float(sum(values))
    return None


def metric_comparison_figure(
    metrics: Mapping[str, Any], task_name: str | None = None
) -> go.Figure:
    """Build bars of the primary metric for the three sides, one panel per task.

    Parameters
    ----------
    metrics : Mapping
        Metrics dict as written to metrics.json.
    task_name : str, optional
        Draw only this task. By default every task gets a panel.

    Returns
    -------
    go.Figure
        Error bars show ``task["metric_intervals"][side] = [low, high]`` when the
        task has them. The paired-difference intervals are not drawn here because
        they are intervals of a difference, not of each side's value.

    Raises
    ------
    ValueError
        If `task_name` is not the name of a task in `metrics`.
    """
    tasks = list(metrics.get("tasks") or [])
    if task_name is not None:
        tasks = [task for task in tasks if task.get("name") == task_name]
        if not tasks:
            names = [task.get("name") for task in metrics.get("tasks") or []]
            raise ValueError(
                f"Task {task_name!r} is not in the metrics; valid task names: {names!r}"
            )
    if not tasks:
        return _empty_figure("Primary metric by model", "No tasks were compared.")

    n_cols = min(len(tasks), 3)
    n_rows = math.ceil(len(tasks) / n_cols)
    titles = [_panel_title(task) for task in tasks]
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=titles,
        vertical_spacing=min(0.25, 0.6 / n_rows),
    )
    for index, task in enumerate(tasks):
        row, col = index // n_cols + 1, index % n_cols + 1
        _add_metric_bars(fig, task, row, col, show_legend=index == 0)

    fig.update_layout(
        title_text="Primary metric by model",
        template=_TEMPLATE,
        height=140 + 320 * n_rows,
        barmode="group",
        legend={"orientation": "h", "y": -0.08},
    )
    fig.update_xaxes(type="category", showticklabels=False)
    return fig


def _panel_title(task: Mapping[str, Any]) -> str:
    """Return "task name: metric display name" for a task's panel."""
    metric = metric_label(task.get("primary_metric"))
    return plotly_text(f"{task.get('name')}: {metric}")


def _add_metric_bars(
    fig: go.Figure, task: Mapping[str, Any], row: int, col: int, show_legend: bool
) -> None:
    metric = task.get("primary_metric")
    metric_name = plotly_text(metric_label(metric))
    values = task.get("metrics") or {}
    intervals = task.get("metric_intervals") or {}
    unavailable = task.get("unavailable") or {}
    for side in SIDES:
        label = SIDE_LABELS[side]
        value = finite_number((values.get(side) or {}).get(metric))
        error_y = _interval_error_bar(value, intervals.get(side))
        hover = f"{label}<br>{metric_name} = {format_number(value)}"
        if error_y is not None:
            low, high = intervals[side]
            hover += f"<br>95% interval {format_number(low)} to {format_number(high)}"
        fig.add_trace(
            go.Bar(
                x=[label],
                y=[value],
                name=label,
                legendgroup=side,
                showlegend=show_legend,
                marker_color=SIDE_COLORS[side],
                error_y=error_y,
                hovertext=[hover],
                hoverinfo="text",
            ),
            row=row,
            col=col,
        )
        if value is None:
            reason = (unavailable.get(side) or {}).get(metric) or "no value recorded"
            fig.add_annotation(
                x=label,
                y=0,
                text=plotly_text(f"n/a: {reason}", max_chars=40),
                showarrow=False,
                yanchor="bottom",
                textangle=-90,
                row=row,
                col=col,
            )
    direction = (
        "higher is better" if task.get("higher_is_better") else "lower is better"
    )
    fig.update_yaxes(title_text=f"{metric_name} ({direction})", row=row, col=col)


def _interval_error_bar(value: float | None, interval: Any) -> dict[str, Any] | None:
    if value is None or not isinstance(interval, Sequence) or len(interval) != 2:
        return None
    low, high = finite_number(interval[0]), finite_number(interval[1])
    if low is None or high is None or not low <= value <= high:
        return None
    return {
        "type": "data",
        "symmetric": False,
        "array": [high - value],
        "arrayminus": [value - low],
    }


def difference_figure(metrics: Mapping[str, Any]) -> go.Figure:
    """Build the paired difference with its 95% interval per task and comparison.

    Each task gets its own panel and x-axis because the primary metrics differ
    in scale. The difference is signed so that a positive value favours the
    shared model, also where lower is better. Points are colored by verdict and
    a vertical line marks zero.
    """
    tasks = [task for task in metrics.get("tasks") or [] if task.get("comparisons")]
    if not tasks:
        return _empty_figure(
            "Paired difference to the shared model", "No comparisons were computed."
        )

    titles = [_panel_title(task) for task in tasks]
    fig = make_subplots(
        rows=len(tasks),
        cols=1,
        subplot_titles=titles,
        vertical_spacing=min(0.12, 0.5 / len(tasks)),
    )
    legend_shown: set[str] = set()
    for index, task in enumerate(tasks):
        row = index + 1
        for side in SEPARATE_SIDES:
            comparison = (task.get("comparisons") or {}).get(side)
            if comparison is None:
                continue
            _add_difference_point(fig, task, side, comparison, row, legend_shown)
        fig.add_vline(x=0, line_dash="dash", line_color="#444", row=row, col=1)
        fig.update_yaxes(
            type="category",
            categoryorder="array",
            categoryarray=[f"vs {SIDE_LABELS[s]}" for s in SEPARATE_SIDES],
            row=row,
            col=1,
        )

    fig.update_layout(
        title_text=(
            "Paired difference to the shared model with 95% interval "
            "(positive favours the shared model)"
        ),
        template=_TEMPLATE,
        height=160 + 170 * len(tasks),
        legend={"orientation": "h", "y": -0.05},
    )
    return fig


def _add_difference_point(
    fig: go.Figure,
    task: Mapping[str, Any],
    side: str,
    comparison: Mapping[str, Any],
    row: int,
    legend_shown: set[str],
) -> None:
    verdict = comparison.get("verdict") or "not_available"
    if verdict not in VERDICT_LABELS:
        logger.warning("Unknown verdict %r for task %r", verdict, task.get("name"))
        verdict = "not_available"
    category = f"vs {SIDE_LABELS[side]}"
    difference = finite_number(comparison.get("difference"))
    low = finite_number(comparison.get("ci_low"))
    high = finite_number(comparison.get("ci_high"))

    if difference is None:
        reason = comparison.get("reason") or "no difference recorded"
        fig.add_annotation(
            x=0,
            y=category,
            text=plotly_text(f"n/a: {reason}"),
            showarrow=False,
            xanchor="left",
            row=row,
            col=1,
        )
        return

    error_x = None
    hover = (
        f"{plotly_text(task.get('name'))} {category}<br>"
        f"difference {format_number(difference)}"
    )
    if low is not None and high is not None and low <= difference <= high:
        error_x = {
            "type": "data",
            "symmetric": False,
            "array": [high - difference],
            "arrayminus": [difference - low],
        }
        hover += f"<br>95% interval {format_number(low)} to {format_number(high)}"
    hover += f"<br>{VERDICT_LABELS[verdict]}"
    fig.add_trace(
        go.Scatter(
            x=[difference],
            y=[category],
            mode="markers",
            marker={"size": 12, "color": VERDICT_COLORS[verdict]},
            error_x=error_x,
            name=VERDICT_LABELS[verdict],
            legendgroup=verdict,
            showlegend=verdict not in legend_shown,
            hovertext=[hover],
            hoverinfo="text",
        ),
        row=row,
        col=1,
    )
    legend_shown.add(verdict)


def time_cost_figure(metrics: Mapping[str, Any]) -> go.Figure:
    """Build bars of fit time per side and of its compute cost at the run's price.

    The price per hour comes from ``metrics["savings"]["price_per_hour"]``. The
    cost panel is left out when no price is recorded.
    """
    price = finite_number((metrics.get("savings") or {}).get("price_per_hour"))
    fit = metrics.get("fit_seconds") or {}
    labels = [SIDE_LABELS[side] for side in SIDES]
    seconds = [side_seconds(metrics, side) for side in SIDES]
    hovers = []
    for side, total in zip(SIDES, seconds, strict=True):
        hover = f"{SIDE_LABELS[side]}: {format_number(total)} s"
        per_task = fit.get(side)
        if side != "multitask" and isinstance(per_task, Mapping):
            lines = [
                f"{plotly_text(name)}: {format_number(value)} s"
                for name, value in per_task.items()
            ]
            hover += "<br>" + "<br>".join(lines)
        hovers.append(hover)

    titles = ["Fit time (seconds)"]
    if price is not None:
        titles.append(f"Compute cost at {format_price(price)} per hour")
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles)
    colors = [SIDE_COLORS[side] for side in SIDES]
    fig.add_trace(
        go.Bar(
            x=labels,
            y=seconds,
            marker_color=colors,
            text=[format_number(s) for s in seconds],
            textposition="auto",
            hovertext=hovers,
            hoverinfo="text",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    if price is not None:
        costs = [None if s is None else s / 3600 * price for s in seconds]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=costs,
                marker_color=colors,
                # As the savings show costs: fractions of a cent keep 4 digits.
                text=[format_significant(c) for c in costs],
                textposition="auto",
                hoverinfo="x+y",
                showlegend=False,
            ),
            row=1,
            col=2,
        )
        # Plain decimals: plotly's default SI ticks read "600μ" for an amount.
        fig.update_yaxes(tickformat=",~r", row=1, col=2)
    fig.update_xaxes(type="category")
    fig.update_layout(
        title_text="Training time and compute cost", template=_TEMPLATE, height=420
    )
    return fig


def learning_curve_figure(metrics: Mapping[str, Any]) -> go.Figure:
    """Build training and validation loss per epoch for the neural networks.

    The left panel shows the shared model and the right panel one line pair per
    single-task network. LightGBM has no epochs and is not shown.
    """
    curves = metrics.get("learning_curves") or {}
    shared = curves.get("multitask") or {}
    separate = curves.get("single_task_nn") or {}
    if not shared and not separate:
        return _empty_figure("Learning curves", "No learning curves were recorded.")

    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=[SIDE_LABELS["multitask"], SIDE_LABELS["single_task_nn"]],
    )
    for key, dash in (("train_loss", "dot"), ("val_loss", "solid")):
        if shared.get(key):
            fig.add_trace(
                go.Scatter(
                    x=list(shared.get("epoch") or range(1, len(shared[key]) + 1)),
                    y=[finite_number(v) for v in shared[key]],
                    mode="lines+markers",
                    name=f"Shared model, {_loss_label(key)}",
                    line={"color": SIDE_COLORS["multitask"], "dash": dash},
                ),
                row=1,
                col=1,
            )

    palette = ["#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]
    for index, (name, curve) in enumerate(separate.items()):
        color = palette[index % len(palette)]
        for key, dash in (("train_loss", "dot"), ("val_loss", "solid")):
            if not (curve or {}).get(key):
                continue
            fig.add_trace(
                go.Scatter(
                    x=list(curve.get("epoch") or range(1, len(curve[key]) + 1)),
                    y=[finite_number(v) for v in curve[key]],
                    mode="lines",
                    name=f"{plotly_text(name, 30)}, {_loss_label(key)}",
                    legendgroup=f"task-{index}",
                    line={"color": color, "dash": dash},
                ),
                row=1,
                col=2,
            )
    fig.update_xaxes(title_text="Epoch")
    fig.update_yaxes(title_text="Loss")
    fig.update_layout(
        title_text="Learning curves (dotted: training loss, solid: validation loss)",
        template=_TEMPLATE,
        # The legend lists every curve beside the plots and is cut off where the
        # figure is shorter than the list: 450 px held 11 of 12 curves.
        height=max(450, 160 + 30 * len(fig.data)),
    )
    return fig


def _loss_label(key: str) -> str:
    return "training loss" if key == "train_loss" else "validation loss"


def labelled_rows_figure(metrics: Mapping[str, Any]) -> go.Figure:
    """Build bars of labelled rows and labelled test rows per task.

    A horizontal line marks the number of rows in the data when it is recorded.
    """
    tasks = list(metrics.get("tasks") or [])
    if not tasks:
        return _empty_figure("Labelled rows per task", "No tasks were compared.")

    labels = _unique_labels([plotly_text(task.get("name")) for task in tasks])
    fig = go.Figure()
    for key, name, color in (
        ("labelled_rows", "Labelled rows", "#1f77b4"),
        ("labelled_test_rows", "Labelled test rows", "#aec7e8"),
    ):
        values = [finite_number(task.get(key)) for task in tasks]
        fig.add_trace(
            go.Bar(
                x=labels,
                y=values,
                name=name,
                marker_color=color,
                text=[format_number(task.get(key)) for task in tasks],
                textposition="auto",
            )
        )
    n_rows = finite_number((metrics.get("run") or {}).get("n_rows"))
    if n_rows is not None:
        fig.add_hline(
            y=n_rows,
            line_dash="dash",
            annotation_text=f"All rows: {format_number(int(n_rows))}",
            annotation_position="top left",
        )
    fig.update_xaxes(type="category")
    fig.update_layout(
        title_text="Labelled rows per task",
        template=_TEMPLATE,
        barmode="group",
        height=420,
        yaxis_title="Rows",
    )
    return fig


def report_figures(metrics: Mapping[str, Any]) -> list[tuple[str, go.Figure]]:
    """Build every report chart in report order as ``(caption, figure)`` pairs."""
    return [
        ("Primary metric by model", metric_comparison_figure(metrics)),
        ("Paired difference to the shared model", difference_figure(metrics)),
        ("Labelled rows per task", labelled_rows_figure(metrics)),
        ("Training time and compute cost", time_cost_figure(metrics)),
        ("Learning curves", learning_curve_figure(metrics)),
    ]


def _unique_labels(labels: Sequence[str]) -> list[str]:
    # Plotly merges equal category labels, and cut names can become equal.
    unique: list[str] = []
    used_labels: set[str] = set()
    for label in labels:
        candidate, copy_number = label, 1
        while candidate in used_labels:
            copy_number += 1
            candidate = f"{label} ({copy_number})"
        used_labels.add(candidate)
        unique.append(candidate)
    return unique


def _empty_figure(title: str, message: str) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper"
    )
    fig.update_layout(
        title_text=title,
        template=_TEMPLATE,
        height=300,
        xaxis_visible=False,
        yaxis_visible=False,
    )
    return fig
