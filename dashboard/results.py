"""Step 4 of the page: verdicts, charts, savings cards and tables of one run.

Every figure here is read from the run's metrics dict. The savings are recomputed
by `mtl_core.savings.compute_savings` from the same dict when the price or upkeep
changes, which needs no training. The charts are kept in the session, so a price
change rebuilds only the time and cost chart.
"""

from __future__ import annotations

import copy
import datetime
import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import state
from dashboard.text import md, seconds, signed, significant
from mtl_core import charts
from mtl_core.charts import SEPARATE_SIDES, SIDE_LABELS
from mtl_core.class_counts import FEW_TEST_ROWS, rare_class_remark, rare_test_class
from mtl_core.metrics import metric_label
from mtl_core.number_format import (
    finite_number,
    format_count,
    format_price,
    format_upkeep,
)
from mtl_core.plural import counted
from mtl_core.report_content import (
    SAVINGS_TITLES,
    comparison_reason,
    display_value,
    files_table,
    format_alike,
    format_difference,
    metric_table,
    result_label,
    run_summary,
    setting_text,
    summary_sentence,
)
from mtl_core.savings import compute_savings

logger = logging.getLogger(__name__)

LAYOUTS = ("One chart per task", "All tasks in one chart")
# Fit times within 10% of each other are "about the same": epochs of one network
# on an idle 2-core machine spread by up to a tenth from run to run.
TIME_NOISE = 0.1
_SAME_NETWORK = (
    " With one task the shared and the single-task network are the same network, "
    "so the gap between their times is run-to-run noise."
)
_OTHER = {"single_task_nn": "the single-task networks", "lightgbm": "LightGBM"}
_BADGES = {
    "separate_better": ":red-badge[Shared model worse]",
    "shared_better": ":green-badge[Shared model better]",
    "no_clear_difference": ":gray-badge[No clear difference]",
    "not_available": ":gray-badge[n/a]",
}


def priced_metrics(metrics: dict, price: float, upkeep: float) -> dict:
    """Return the run's metrics with the savings at the current price and upkeep.

    The run's settings record the price and upkeep too, so they are set to the
    same values, and the page and the exported reports agree. Nothing else changes.
    """
    priced = copy.copy(metrics)
    priced["savings"] = compute_savings(metrics, price, upkeep)
    run = dict(metrics["run"])
    run["settings"] = dict(run.get("settings") or {})
    run["settings"]["price_per_hour"] = price
    run["settings"]["upkeep_per_model_month"] = upkeep
    priced["run"] = run
    return priced


def figure_cache(results: dict) -> dict:
    """Return the session's charts of the shown run, emptied when the run changes.

    Building the plotly figures takes most of a rerun, and every widget change
    reruns the page. The cache is keyed by the hash of the run's metrics before
    pricing, so a price change keeps every chart except the time and cost chart.
    """
    digest = state.metrics_hash(results["metrics"])
    cache = st.session_state.get(state.FIGURES)
    if cache is None or cache["hash"] != digest:
        cache = {"hash": digest, "figures": {}, "time_cost": None}
        st.session_state[state.FIGURES] = cache
    return cache


def show_chart(
    cache: dict,
    key: str,
    build: Callable[[], go.Figure],
    container: DeltaGenerator | None = None,
) -> None:
    """Draw the chart with element key `key`, building its figure on a cache miss.

    The chart goes into `container`, or into the page when it is None.
    """
    figures = cache["figures"]
    if key not in figures:
        figures[key] = build()
    target = st if container is None else container
    target.plotly_chart(figures[key], key=key, width="stretch")


def _difference_figure(priced: dict) -> go.Figure:
    figure = charts.difference_figure(priced)
    # The default height leaves too little room between panels for the titles.
    figure.update_layout(height=200 + 240 * max(len(priced["tasks"]), 1))
    return figure


def _time_cost_figure(priced: dict, cache: dict) -> go.Figure:
    """Return the time and cost chart, built again whenever the price changes."""
    price = priced["savings"].get("price_per_hour")
    stored = cache["time_cost"]
    if stored is None or stored[0] != price:
        stored = (price, charts.time_cost_figure(priced))
        cache["time_cost"] = stored
    return stored[1]


def verdict_sentence(task: dict, side: str) -> str:
    """Describe one comparison in plain words, stating a loss as a loss."""
    name = md(task["name"])
    other = _OTHER[side]
    comparison = (task.get("comparisons") or {}).get(side) or {}
    verdict = comparison.get("verdict")
    if verdict not in _BADGES or verdict == "not_available":
        reason = md(comparison_reason(task, side))
        return (
            f"The shared model could not be compared with {other} on {name}: {reason}."
        )
    metric = comparison.get("metric") or task["primary_metric"]
    values = task.get("metrics") or {}
    # Numbers read together get the same decimals, as in the reports.
    shared, separate = format_alike(
        (values.get("multitask") or {}).get(metric),
        (values.get(side) or {}).get(metric),
    )
    difference, low, high = format_difference(
        *(comparison.get(key) for key in ("difference", "ci_low", "ci_high"))
    )
    direction = "higher" if task.get("higher_is_better") else "lower"
    detail = (
        f"{metric_label(metric)} {shared} against {separate}, {direction} is better; "
        f"advantage of the shared model {difference}, 95% interval {low} to {high}"
    )
    if verdict == "separate_better":
        sentence = f"The shared model is **worse** than {other} on {name} ({detail})."
    elif verdict == "shared_better":
        sentence = f"The shared model is **better** than {other} on {name} ({detail})."
    else:
        sentence = (
            f"No clear difference between the shared model and {other} on {name}, "
            f"because the interval includes 0 ({detail})."
        )
    return sentence + md(rare_class_remark(task))


def _losses(priced: dict) -> list[str]:
    """Return "task (against models)" for every task where the shared model loses."""
    losses = []
    for task in priced["tasks"]:
        comparisons = task.get("comparisons") or {}
        winners = []
        for side in SEPARATE_SIDES:
            verdict = (comparisons.get(side) or {}).get("verdict")
            if verdict == "separate_better":
                winners.append(_OTHER[side])
        if winners:
            rough = ", a rough guide" if rare_test_class(task) else ""
            against = " and ".join(winners)
            losses.append(f"{md(task['name'])} (against {against}{rough})")
    return losses


def _verdicts(priced: dict) -> None:
    st.markdown(f"**{md(summary_sentence(priced))}**")
    losses = _losses(priced)
    if losses:
        subject = "this task" if len(losses) == 1 else "these tasks"
        st.error(
            "The shared model is worse on " + "; ".join(losses) + f". For {subject} "
            "separate models predict better on the test rows.",
            icon=":material/trending_down:",
        )
    lines = []
    for task in priced["tasks"]:
        for side in SEPARATE_SIDES:
            verdict = ((task.get("comparisons") or {}).get(side) or {}).get("verdict")
            badge = _BADGES.get(verdict, _BADGES["not_available"])
            lines.append(f"- {badge} {verdict_sentence(task, side)}")
    st.markdown("\n".join(lines))
    st.caption(
        "A model is called better only when the 95% bootstrap interval of the paired "
        "difference on the test rows excludes 0. The advantage is positive when the "
        "shared model does better, for every metric, including those where lower "
        "is better."
    )


_SHORT_SIDE_NAMES = {
    SIDE_LABELS["multitask"]: "Shared model",
    SIDE_LABELS["single_task_nn"]: "Single-task network",
    SIDE_LABELS["lightgbm"]: "LightGBM",
}


def _metric_frame(task: dict) -> pd.DataFrame:
    """Return the report's metric table of a task with display names."""
    table = metric_table(task)
    header = [_SHORT_SIDE_NAMES.get(name, name) for name in table.header]
    rows = []
    for row in table.rows:
        key, primary, _ = row[0].partition(" (primary)")
        label = metric_label(key)
        if label == key:  # already a display name, or "correct test predictions"
            label = key[:1].upper() + key[1:]
        if primary:
            label += " (primary)"
        rows.append([label] + row[1:])
    return pd.DataFrame(rows, columns=header)


def _task_block(
    priced: dict, index: int, task: dict, cache: dict, with_chart: bool
) -> None:
    direction = "higher" if task.get("higher_is_better") else "lower"
    st.markdown(
        f"#### {md(task['name'])}\n"
        f"{task['kind']} task, primary metric {metric_label(task['primary_metric'])} "
        f"({direction} is better), {format_count(task.get('labelled_test_rows'))} "
        "labelled test rows"
    )
    if with_chart:
        left, right = st.columns([4, 5])
        show_chart(
            cache,
            f"chart_metric_{index}",
            lambda: charts.metric_comparison_figure(priced, task["name"]),
            container=left,
        )
        target = right
    else:
        target = st.container()
    target.dataframe(_metric_frame(task), hide_index=True)
    for side in SEPARATE_SIDES:
        target.markdown(verdict_sentence(task, side))


def _metrics_per_task(priced: dict, cache: dict) -> None:
    st.subheader("Metrics per task")
    layout = st.radio("Metric chart", LAYOUTS, horizontal=True, key="metric_layout")
    st.caption(
        "Bars show each model's primary metric on the test rows; the whiskers are "
        "95% bootstrap intervals. A value that could not be computed shows as n/a "
        "with its reason."
    )
    if layout == LAYOUTS[1]:
        show_chart(
            cache,
            "chart_metric_all",
            lambda: charts.metric_comparison_figure(priced),
        )
    for index, task in enumerate(priced["tasks"]):
        _task_block(priced, index, task, cache, with_chart=layout == LAYOUTS[0])


def _utc_time(created: Any) -> str:
    """Return an ISO timestamp as "2026-12-04 23:59:48 UTC", or as given."""
    try:
        moment = datetime.datetime.fromisoformat(str(created))
    except ValueError:
        return str(created)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _result_value(key: str, value: Any) -> str:
    if key.endswith("_s") and finite_number(value) is not None:
        return f"{significant(value)} s"
    return significant(value)


def _savings_sentence(key: str, entry: dict, priced: dict) -> str:
    result = entry.get("result") or {}
    inputs = entry.get("inputs") or {}
    if key == "task_efficiency":
        ratio = finite_number(result.get("time_ratio"))
        speed = ""
        networks = "the single-task networks together"
        if inputs.get("T") == 1:
            networks = "the single-task network"
            speed = "." + _SAME_NETWORK.rstrip(".")
        elif ratio is not None and ratio < 1 - TIME_NOISE:
            speed = " (faster)"
        elif ratio is not None and ratio > 1 + TIME_NOISE:
            speed = " (slower)"
        elif ratio is not None:
            speed = " (about the same)"
        return (
            "One shared model replaces "
            f"{counted(inputs.get('T') or 0, 'separate model')}. It trained "
            f"in {seconds(inputs.get('t_shared_s'))}, against "
            f"{seconds(inputs.get('sum_t_single_s'))} for {networks}{speed}."
        )
    if key == "accuracy_gain":
        parts = []
        for side in SEPARATE_SIDES:
            gain = finite_number(result.get(f"mean_relative_gain_pct_vs_{side}"))
            if gain is None:
                continue
            if gain == 0:
                parts.append(f"level with {_OTHER[side]}")
                continue
            word = "better" if gain > 0 else "worse"
            parts.append(f"{significant(abs(gain))}% {word} than {_OTHER[side]}")
        left_out = inputs.get("tasks_left_out_of_means") or []
        if not parts and left_out:
            return (
                f"n/a: every task has a class with fewer than {FEW_TEST_ROWS} test "
                "rows, too few for an average that means anything."
            )
        if not parts:
            return "n/a: no task had values for both sides."
        counts = []
        for side in SEPARATE_SIDES:
            better = result.get(f"tasks_shared_better_vs_{side}")
            worse = result.get(f"tasks_shared_worse_vs_{side}")
            if better is None or worse is None:
                continue
            counts.append(
                f"better on {better} and worse on {worse} against {_OTHER[side]}"
            )
        tally = ""
        if counts:
            tally = (
                " Counting only differences whose 95% interval excludes 0, it is "
                + ", and ".join(counts)
                + f" (of {counted(len(priced['tasks']), 'task')})."
            )
        skipped = ""
        if left_out:
            skipped = (
                f" Left out of the average: {md(', '.join(left_out))}, with a class "
                f"under {FEW_TEST_ROWS} test rows."
            )
        return (
            "On the primary metric, averaged over the tasks, the shared model scores "
            + " and ".join(parts)
            + ", relative to the separate model's value."
            + tally
            + skipped
        )
    if key == "training_time_saved":
        parts = []
        for side in SEPARATE_SIDES:
            saved = finite_number(result.get(f"vs_{side}_s"))
            if saved is None:
                continue
            if saved >= 0:
                parts.append(f"saves {seconds(saved)} per run against {_OTHER[side]}")
            else:
                parts.append(f"takes {seconds(-saved)} longer than {_OTHER[side]}")
        return (
            "Training the shared model "
            + " and ".join(parts)
            + "."
            + (_SAME_NETWORK if len(priced["tasks"]) == 1 else "")
        )
    if key == "cost_reduction":
        price_value = finite_number(priced["savings"].get("price_per_hour"))
        price = format_price(price_value)
        parts = []
        for side in SEPARATE_SIDES:
            saved = finite_number(result.get(f"saved_per_run_vs_{side}"))
            if saved is None:
                continue
            word = "less" if saved >= 0 else "more"
            parts.append(f"{significant(abs(saved))} {word} than {_OTHER[side]}")
        if price_value == 0:
            sentence = (
                "At a price of 0 per compute hour every training run costs 0: set "
                "the price in the sidebar to compare training costs."
            )
        else:
            sentence = (
                f"At {price} per compute hour, one training run of the shared model "
                "costs " + " and ".join(parts) + "."
            )
        if inputs.get("T") == 1:
            upkeep = (
                " With one target each side is one model, so running the shared "
                "model saves no upkeep."
            )
            return sentence + _SAME_NETWORK + upkeep
        if not finite_number(inputs.get("upkeep_per_model_month")):
            return sentence + (
                " Set the upkeep per model in the sidebar to see the monthly saving "
                "of running one model instead of several."
            )
        upkeep = significant(result.get("saved_upkeep_per_month"))
        return sentence + (
            f" Running one model instead of {inputs.get('T')} saves {upkeep} a month "
            "in upkeep, in the currency of your prices."
        )
    if key == "prediction_consistency":
        if inputs.get("predictions"):
            return (
                "Share of correct predictions over the test rows of all "
                "classification tasks "
                f"({format_count(inputs['predictions'])} predictions)."
            )
        return "n/a: there is no classification task in this run."
    return ""


def _input_value(key: str, value: Any) -> str:
    if isinstance(value, dict):
        # Per-side counts are keyed by side, so show the names used on the page.
        return ", ".join(
            f"{SIDE_LABELS.get(k, k)}: {display_value(v)}" for k, v in value.items()
        )
    return setting_text(key, value)


def _inputs_text(inputs: Any) -> str:
    if not isinstance(inputs, dict):
        return md(display_value(inputs))
    parts = [
        f"{md(k)} = {md(_input_value(k, v))}"
        for k, v in inputs.items()
        if k != "per_task"
    ]
    return "; ".join(parts)


def _savings_card(key: str, title: str, entry: dict | None, priced: dict) -> None:
    with st.container(border=True):
        st.markdown(f"**{title}**")
        if not isinstance(entry, dict):
            st.write("n/a: not computed for this run.")
            return
        st.write(_savings_sentence(key, entry, priced))
        result = entry.get("result")
        items = result.items() if isinstance(result, dict) else [("result", result)]
        for result_key, value in items:
            label = result_label(result_key)
            st.metric(label, _result_value(result_key, value))
        per_task = entry.get("per_task")
        if isinstance(per_task, dict) and per_task:
            rows = [
                {
                    "Task": name,
                    "Metric": metric_label(values.get("metric")),
                    "vs single-task": signed(values.get("vs_single_task_nn")),
                    "vs LightGBM": signed(values.get("vs_lightgbm")),
                }
                for name, values in per_task.items()
            ]
            st.dataframe(pd.DataFrame(rows), hide_index=True)
        st.caption(f"Formula: {md(entry.get('formula', 'not recorded'))}")
        inputs = _inputs_text(entry.get("inputs"))
        if inputs:
            st.caption(f"Inputs: {inputs}")
        if entry.get("unit"):
            st.caption(f"Unit: {md(entry['unit'])}")


def _savings(priced: dict) -> None:
    st.subheader("Savings")
    savings = priced["savings"]
    st.caption(
        f"Computed from this run's measured times and scores at "
        f"{format_price(savings['price_per_hour'])} per compute hour and "
        f"{format_upkeep(savings['upkeep_per_model_month'])} upkeep per model per "
        "month (change them in the sidebar)."
    )
    keys = list(SAVINGS_TITLES)
    for start in range(0, len(keys), 2):
        columns = st.columns(2)
        for column, key in zip(columns, keys[start : start + 2], strict=False):
            with column:
                _savings_card(key, SAVINGS_TITLES[key], savings.get(key), priced)


def _reasons_table(entries: list[dict], empty: str) -> None:
    if not entries:
        st.write(empty)
        return
    rows = [{"Column": e.get("column"), "Reason": e.get("reason")} for e in entries]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def _run_details(priced: dict) -> None:
    run = priced["run"]
    with st.expander("Run details: rows, split, files, settings and versions"):
        summary = run_summary(priced)
        st.dataframe(pd.DataFrame(summary, columns=["Item", "Value"]), hide_index=True)
        table = files_table(priced)
        st.dataframe(pd.DataFrame(table.rows, columns=table.header), hide_index=True)
        settings = run.get("settings") or {}
        st.dataframe(
            pd.DataFrame(
                [(k, setting_text(k, v)) for k, v in settings.items()],
                columns=["Setting", "Value"],
            ),
            hide_index=True,
        )
        versions = run.get("versions") or {}
        st.caption(
            "Versions: " + ", ".join(f"{md(k)} {md(v)}" for k, v in versions.items())
        )
        for note in run.get("load_notes") or []:
            st.caption(f"Loading: {md(note)}")


def results_section(results: dict, priced: dict, current_key: str | None) -> None:
    """Render the results of the run stored in the session."""
    st.header("4. Results")
    run = priced["run"]
    settings = run.get("settings") or {}
    description = results.get("description") or {}
    if current_key != results["run_key"]:
        st.warning(
            "These results come from an earlier run with other data, targets or "
            "settings than those chosen above. Train again to get results for the "
            "current choices."
        )
    st.caption(
        f"Run of {md(_utc_time(run.get('created_utc')))} on "
        f"{md(description.get('data_label'))}: "
        f"{format_count(run.get('n_rows'))} rows, targets "
        f"{', '.join(md(t['name']) for t in priced['tasks'])}, "
        f"{format_count(settings.get('max_epochs'))} epochs, "
        f"seed {setting_text('seed', run.get('seed'))}, "
        f"{format_count(settings.get('n_bootstrap'))} bootstrap resamples."
    )
    # Above the verdicts, because a warning (one target, rare classes) changes how
    # they read.
    for warning in run.get("warnings") or []:
        st.warning(f"Warning from the run: {md(str(warning).rstrip('.'))}.")
    cache = figure_cache(results)
    _verdicts(priced)
    _metrics_per_task(priced, cache)

    st.subheader("Difference to the shared model")
    show_chart(cache, "chart_difference", lambda: _difference_figure(priced))
    st.caption(
        "Each point is the shared model's advantage over one separate model on the "
        "primary metric, with its 95% interval. Right of the dashed zero line the "
        "shared model does better, for every metric."
    )

    st.subheader("Training time and compute cost")
    st.plotly_chart(
        _time_cost_figure(priced, cache), key="chart_time_cost", width="stretch"
    )
    st.caption(
        "Wall-clock seconds of fitting, measured during this run on the machine that "
        "serves this page. Other work on the same machine makes them longer, so "
        "compare runs made under similar load."
    )
    _savings(priced)

    st.subheader("Learning curves")
    show_chart(
        cache,
        "chart_learning",
        lambda: charts.learning_curve_figure(priced),
    )
    st.subheader("Labelled rows per task")
    show_chart(
        cache,
        "chart_labelled",
        lambda: charts.labelled_rows_figure(priced),
    )

    st.subheader("Skipped tasks and excluded columns")
    st.markdown("**Targets that were skipped**")
    _reasons_table(priced.get("skipped_tasks") or [], "None: every target was trained.")
    st.markdown("**Columns not used as features**")
    _reasons_table(run.get("excluded_columns") or [], "None.")
    _run_details(priced)
