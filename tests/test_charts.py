"""Tests of the plotly figure builders."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from mtl_core.charts import (
    SIDE_LABELS,
    VERDICT_COLORS,
    difference_figure,
    format_number,
    labelled_rows_figure,
    learning_curve_figure,
    metric_comparison_figure,
    plotly_text,
    report_figures,
    time_cost_figure,
)
from tests.fixtures_metrics import make_metrics

HOSTILE_NAMES = (
    "<img src=x onerror=alert(1)>",
    '"><script>alert(1)</script>',
    "<a href='javascript:alert(1)'>x</a>",
)
BUILDERS = (
    metric_comparison_figure,
    difference_figure,
    time_cost_figure,
    learning_curve_figure,
    labelled_rows_figure,
)


def figure_strings(figure: go.Figure) -> list[str]:
    """Every string in the figure's data and layout, without the template."""
    spec = figure.to_plotly_json()
    spec["layout"].pop("template", None)
    found: list[str] = []

    def walk(value):
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)

    walk(spec)
    return found


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
        ("a & b", "a &amp; b"),
        ("&lt;", "&amp;lt;"),
        ("plain", "plain"),
        (42, "42"),
    ],
    ids=["tags", "ampersand", "entity", "plain", "number"],
)
def test_plotly_text_escapes(raw, expected):
    assert plotly_text(raw) == expected


def test_plotly_text_cuts_long_names():
    text = plotly_text("x" * 500)
    assert len(text) == 60
    assert text.endswith("\u2026")


def test_plotly_text_cuts_before_escaping():
    text = plotly_text("<" * 100, max_chars=10)
    assert text == "&lt;" * 9 + "\u2026"


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_builders_escape_hostile_names(builder):
    metrics = make_metrics(task_names=HOSTILE_NAMES)
    for text in figure_strings(builder(metrics)):
        # "<br>" is the only markup the builders add themselves.
        assert "<" not in text.replace("<br>", ""), text


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_builders_handle_empty_metrics(builder):
    figure = builder({"schema_version": 1})
    assert isinstance(figure, go.Figure)


def test_metric_comparison_values():
    figure = metric_comparison_figure(make_metrics())
    bars = [trace for trace in figure.data if trace.type == "bar"]
    assert len(bars) == 9
    first = {trace.name: trace.y[0] for trace in bars[:3]}
    assert first == {
        SIDE_LABELS["multitask"]: 0.912,
        SIDE_LABELS["single_task_nn"]: 0.905,
        SIDE_LABELS["lightgbm"]: 0.915,
    }


def test_metric_comparison_uses_display_names():
    figure = metric_comparison_figure(make_metrics())
    titles = [annotation.text for annotation in figure.layout.annotations]
    axis_titles = [figure.layout[f"yaxis{n}"].title.text for n in ("", 2, 3)]
    hovers = [trace.hovertext[0] for trace in figure.data]

    assert titles == ["subscribed: ROC AUC", "channel: Macro F1", "revenue: RMSE"]
    assert axis_titles == [
        "ROC AUC (higher is better)",
        "Macro F1 (higher is better)",
        "RMSE (lower is better)",
    ]
    assert "ROC AUC = 0.9120" in hovers[0]
    for key in ("roc_auc", "macro_f1", "rmse"):
        assert not [text for text in figure_strings(figure) if key in text], key


def test_difference_uses_display_names():
    figure = difference_figure(make_metrics())
    titles = [annotation.text for annotation in figure.layout.annotations]
    assert titles == ["subscribed: ROC AUC", "channel: Macro F1", "revenue: RMSE"]


def test_metric_comparison_intervals():
    figure = metric_comparison_figure(make_metrics())
    bars = [trace for trace in figure.data if trace.type == "bar"]
    shared = bars[0]
    assert shared.error_y.array[0] == pytest.approx(0.919 - 0.912)
    assert shared.error_y.arrayminus[0] == pytest.approx(0.912 - 0.905)
    # The multiclass task has no metric_intervals, so its bars have no error bar.
    assert all(trace.error_y.array is None for trace in bars[3:6])


def test_metric_comparison_ignores_bad_interval():
    metrics = make_metrics()
    metrics["tasks"][0]["metric_intervals"]["multitask"] = [None, None]
    figure = metric_comparison_figure(metrics, "subscribed")
    assert figure.data[0].error_y.array is None
    assert figure.data[1].error_y.array is not None


def test_metric_comparison_one_task():
    figure = metric_comparison_figure(make_metrics(), "revenue")
    assert [trace.y[0] for trace in figure.data] == [1234.5, 1210.0, 1102.3]


def test_metric_comparison_unknown_task():
    with pytest.raises(ValueError, match="'nope' is not in the metrics"):
        metric_comparison_figure(make_metrics(), "nope")


def test_metric_comparison_missing_value():
    metrics = make_metrics()
    metrics["tasks"][0]["metrics"]["multitask"]["roc_auc"] = None
    metrics["tasks"][0]["unavailable"] = {"multitask": {"roc_auc": "one class only"}}
    figure = metric_comparison_figure(metrics, "subscribed")
    assert figure.data[0].y[0] is None
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert "n/a: one class only" in texts


def test_difference_colors_by_verdict():
    figure = difference_figure(make_metrics())
    points = {
        (trace.hovertext[0].split("<br>")[0]): trace.marker.color
        for trace in figure.data
    }
    assert points["revenue vs LightGBM"] == VERDICT_COLORS["separate_better"]
    assert (
        points["subscribed vs Single-task networks"] == VERDICT_COLORS["shared_better"]
    )
    assert points["subscribed vs LightGBM"] == VERDICT_COLORS["no_clear_difference"]


def test_difference_intervals_and_zero_line():
    figure = difference_figure(make_metrics())
    revenue = next(
        trace
        for trace in figure.data
        if trace.hovertext[0].startswith("revenue vs LightGBM")
    )
    assert revenue.x[0] == -132.2
    assert revenue.error_x.array[0] == pytest.approx(-80.4 - -132.2)
    assert revenue.error_x.arrayminus[0] == pytest.approx(-132.2 - -185.9)
    zero_lines = [shape for shape in figure.layout.shapes if shape.x0 == 0]
    assert len(zero_lines) == 3


def test_difference_not_available():
    metrics = make_metrics()
    metrics["tasks"][0]["comparisons"]["lightgbm"] = {
        "metric": "roc_auc",
        "difference": None,
        "ci_low": None,
        "ci_high": None,
        "verdict": "not_available",
        "reason": "only one class",
    }
    figure = difference_figure(metrics)
    assert len(figure.data) == 5
    texts = [annotation.text for annotation in figure.layout.annotations]
    assert "n/a: only one class" in texts


def test_time_cost_values():
    figure = time_cost_figure(make_metrics())
    seconds, cost = figure.data
    assert list(seconds.y) == [42.7, 48.2, 6.3]
    assert list(cost.y) == pytest.approx([s / 3600 * 2.5 for s in (42.7, 48.2, 6.3)])


def test_small_costs_shown_as_plain_decimals():
    metrics = make_metrics()
    metrics["fit_seconds"]["multitask"] = 0.3165

    figure = time_cost_figure(metrics)
    cost = figure.data[1]

    # 0.3165 s at 2.5 per hour
    assert cost.text[0] == "0.0002198"
    assert figure.layout.yaxis2.tickformat == ",~r"


def test_time_cost_title_shows_price_format():
    titles = [a.text for a in time_cost_figure(make_metrics()).layout.annotations]
    assert "Compute cost at 2.5000 per hour" in titles


def test_time_cost_sums_per_task_seconds():
    metrics = make_metrics()
    del metrics["fit_seconds"]["lightgbm_total"]
    figure = time_cost_figure(metrics)
    assert figure.data[0].y[2] == pytest.approx(2.4 + 2.6 + 1.3)


def test_time_cost_without_price():
    metrics = make_metrics()
    del metrics["savings"]
    assert len(time_cost_figure(metrics).data) == 1


def test_learning_curve_traces():
    figure = learning_curve_figure(make_metrics())
    assert len(figure.data) == 2 + 2 * 3
    shared_val = next(
        t for t in figure.data if t.name == "Shared model, validation loss"
    )
    assert list(shared_val.x) == [1, 2, 3, 4, 5, 6]


def test_learning_curve_height_fits_legend():
    few = make_metrics()
    many = make_metrics()
    curve = {"epoch": [1, 2], "train_loss": [0.5, 0.4], "val_loss": [0.6, 0.5]}
    for name in ("converted", "retained"):
        many["learning_curves"]["single_task_nn"][name] = curve

    short = learning_curve_figure(few)
    tall = learning_curve_figure(many)

    assert len(tall.data) == 2 + 2 * 5
    assert short.layout.height == 450
    assert tall.layout.height >= 160 + 30 * len(tall.data)


def test_labelled_rows_category_axis():
    figure = labelled_rows_figure(make_metrics(task_names=("2021", "2022", "3")))
    assert figure.layout.xaxis.type == "category"
    assert list(figure.data[0].x) == ["2021", "2022", "3"]
    assert [shape.y0 for shape in figure.layout.shapes] == [45211]


def test_labelled_rows_unique_labels():
    long_a = "a" * 80 + "1"
    long_b = "a" * 80 + "2"
    figure = labelled_rows_figure(make_metrics(task_names=(long_a, long_b, "c")))
    labels = list(figure.data[0].x)
    assert len(set(labels)) == 3


def test_report_figures_order():
    captions = [caption for caption, _figure in report_figures(make_metrics())]
    assert captions == [
        "Primary metric by model",
        "Paired difference to the shared model",
        "Labelled rows per task",
        "Training time and compute cost",
        "Learning curves",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "n/a"),
        (math.nan, "n/a"),
        (math.inf, "n/a"),
        (45211, "45,211"),
        (1234.5, "1,234.5"),
        (0.9123, "0.9123"),
        (2.5, "2.500"),
        (0.0, "0"),
        (-0.003, "\u22120.0030"),
        (1e-7, "1.00e\u221207"),
    ],
    ids=["none", "nan", "inf", "int", "large", "small", "unit", "zero", "neg", "tiny"],
)
def test_format_number(value, expected):
    assert format_number(value) == expected
