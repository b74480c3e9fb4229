"""Plain-text content of the HTML and PDF reports, built from the metrics dict.

Everything here returns unescaped text. The HTML report escapes it and the PDF
report prints it as is, so both reports state the same facts in the same words.
"""

from __future__ import annotations

import json
import logging
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mtl_core.charts import SEPARATE_SIDES, SIDE_LABELS, SIDES, VERDICT_LABELS
from mtl_core.class_counts import rare_class_remark
from mtl_core.metrics import metric_label
from mtl_core.number_format import (
    finite_number,
    format_count,
    format_number,
    format_price,
    format_significant,
    format_upkeep,
    with_minus,
)

logger = logging.getLogger(__name__)

# Display names of the savings results, on the page and in the reports.
RESULT_LABELS = {
    "models_replaced": "Models replaced by one shared model",
    "time_ratio": "Time ratio: shared ÷ single-task networks",
    "mean_relative_gain_pct_vs_single_task_nn": "Mean relative gain vs single-task (%)",
    "mean_roc_auc_gain_vs_single_task_nn": (
        "Mean ROC AUC gain vs single-task (binary tasks)"
    ),
    "mean_relative_gain_pct_vs_lightgbm": "Mean relative gain vs LightGBM (%)",
    "mean_roc_auc_gain_vs_lightgbm": "Mean ROC AUC gain vs LightGBM (binary tasks)",
    "tasks_shared_better_vs_single_task_nn": "Tasks clearly better vs single-task",
    "tasks_shared_worse_vs_single_task_nn": "Tasks clearly worse vs single-task",
    "tasks_shared_better_vs_lightgbm": "Tasks clearly better vs LightGBM",
    "tasks_shared_worse_vs_lightgbm": "Tasks clearly worse vs LightGBM",
    "vs_single_task_nn_s": "Seconds saved vs single-task networks",
    "vs_lightgbm_s": "Seconds saved vs LightGBM",
    "shared_run_cost": "Shared model: cost per run",
    "single_task_nn_run_cost": "Single-task networks: cost per run",
    "lightgbm_run_cost": "LightGBM: cost per run",
    "saved_per_run_vs_single_task_nn": "Saved per run vs single-task networks",
    "saved_per_run_vs_lightgbm": "Saved per run vs LightGBM",
    "saved_upkeep_per_month": "Upkeep saved per month",
    "multitask": "Shared model: share correct",
    "single_task_nn": "Single-task networks: share correct",
    "lightgbm": "LightGBM: share correct",
}

# Sign convention of "difference", "ci_low" and "ci_high" in metrics.json, as set
# by mtl_core.bootstrap.Difference: shared minus separate on the primary metric,
# negated where lower is better.
DIFFERENCE_DEFINITION = "a positive value favours the shared model"

SAVINGS_TITLES: dict[str, str] = {
    "task_efficiency": "Task efficiency",
    "accuracy_gain": "Accuracy gain",
    "training_time_saved": "Training time saved",
    "cost_reduction": "Cost reduction",
    "prediction_consistency": "Prediction consistency",
}

_SIDE_NOUNS = {"single_task_nn": "the single-task networks", "lightgbm": "LightGBM"}
_METRIC_ORDER = {
    "binary": ("roc_auc", "pr_auc", "accuracy", "f1", "log_loss"),
    "multiclass": ("macro_f1", "accuracy", "log_loss"),
    "regression": ("rmse", "mae", "r2"),
}
_SAVINGS_STANDARD_KEYS = {"formula", "inputs", "result", "unit", "per_task"}
# Settings and savings inputs that need their own format. The seed is an
# identifier, not a count, so it keeps its plain digits.
_KEYED_FORMATS = {
    "price_per_hour": format_price,
    "upkeep_per_model_month": format_upkeep,
    "seed": lambda value: "n/a" if value is None else str(value),
}


@dataclass
class Table:
    """Header and body rows of a text table."""

    header: list[str]
    rows: list[list[str]]


@dataclass
class Finding:
    """One plain sentence about one comparison, with its verdict key."""

    verdict: str
    text: str


@dataclass
class SavingsFigure:
    """One savings figure as label and value rows, plus an optional per-task table.

    The rows are the formula, each input, each result and the unit, in that order.
    """

    key: str
    title: str
    rows: list[tuple[str, str]]
    per_task: Table | None = None


def result_label(key: str) -> str:
    """Return the display name of a savings result key such as ``time_ratio``."""
    return RESULT_LABELS.get(key, key.replace("_", " "))


def result_text(key: str, value: Any) -> str:
    """Format a savings result as the page shows it: 4 significant digits."""
    text = format_significant(value)
    if key.endswith("_s") and finite_number(value) is not None:
        return f"{text} s"
    return text


def display_value(value: Any) -> str:
    """Format a setting, input or result close to how it is stored.

    Whole numbers are counts here, so they get thousands separators.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return format_count(value)
    if isinstance(value, numbers.Real):
        number = finite_number(value)
        return "n/a" if number is None else with_minus(f"{number:.6g}")
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {display_value(v)}" for key, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(display_value(v) for v in value) or "none"
    return str(value)


def setting_text(key: str, value: Any) -> str:
    """Format a setting or savings input by its key.

    The price and the upkeep get their input formats and the seed its plain
    digits. Every other value gets `display_value`.
    """
    formatter = _KEYED_FORMATS.get(key, display_value)
    return formatter(value)


def comparison_reason(task: Mapping[str, Any], side: str) -> str:
    """Return why the comparison of `side` with the shared model has no verdict."""
    comparison = (task.get("comparisons") or {}).get(side) or {}
    if comparison.get("reason"):
        return str(comparison["reason"])
    metric = comparison.get("metric") or task.get("primary_metric")
    unavailable = task.get("unavailable") or {}
    for candidate in ("multitask", side):
        reason = (unavailable.get(candidate) or {}).get(metric)
        if reason:
            return f"{SIDE_LABELS[candidate]}: {reason}"
    return "no reason recorded"


def verdict_text(task: Mapping[str, Any], side: str) -> str:
    """Return the verdict label of one comparison, or "n/a: reason"."""
    comparison = (task.get("comparisons") or {}).get(side)
    if not comparison:
        return "n/a: comparison not recorded"
    verdict = comparison.get("verdict")
    if verdict not in VERDICT_LABELS or verdict == "not_available":
        return f"n/a: {comparison_reason(task, side)}"
    return VERDICT_LABELS[verdict]


def format_alike(*values: Any) -> list[str]:
    """Format numbers that are read together, such as an interval, alike.

    All get the number of decimals that suits the largest magnitude among them.
    Missing values become "n/a".
    """
    parsed = [finite_number(value) for value in values]
    largest = max((abs(n) for n in parsed if n is not None), default=0.0)
    if largest >= 100:
        decimals = 1
    elif largest >= 1:
        decimals = 3
    else:
        decimals = 4
    return ["n/a" if n is None else with_minus(f"{n:,.{decimals}f}") for n in parsed]


def format_difference(difference: Any, *companions: Any) -> list[str]:
    """Format a difference with its sign, and its interval bounds alike.

    A difference of 0 or more gets a "+", and the bounds keep their own signs.
    """
    texts = format_alike(difference, *companions)
    number = finite_number(difference)
    if number is not None and number >= 0:
        texts[0] = "+" + texts[0]
    return texts


def difference_text(comparison: Mapping[str, Any] | None) -> str:
    """Return the difference and its 95% interval as text."""
    if not comparison:
        return ""
    difference = finite_number(comparison.get("difference"))
    if difference is None:
        return ""
    low = finite_number(comparison.get("ci_low"))
    high = finite_number(comparison.get("ci_high"))
    point, low_text, high_text = format_difference(difference, low, high)
    text = f"difference {point}"
    if low is not None and high is not None:
        text += f" (95% interval {low_text} to {high_text})"
    return text


def verdict_table(metrics: Mapping[str, Any]) -> Table:
    """Build one row per task: name, kind, primary metric and both verdicts."""
    header = ["Task", "Kind", "Primary metric"]
    header += [f"Shared model vs {SIDE_LABELS[side]}" for side in SEPARATE_SIDES]
    rows = []
    for task in metrics.get("tasks") or []:
        direction = "higher" if task.get("higher_is_better") else "lower"
        row = [
            str(task.get("name")),
            str(task.get("kind")),
            f"{metric_label(task.get('primary_metric'))} ({direction} is better)",
        ]
        for side in SEPARATE_SIDES:
            comparison = (task.get("comparisons") or {}).get(side)
            cell = verdict_text(task, side)
            detail = difference_text(comparison)
            row.append(f"{cell}; {detail}" if detail else cell)
        rows.append(row)
    return Table(header, rows)


def verdict_counts(metrics: Mapping[str, Any]) -> dict[str, int]:
    """Count the comparisons per verdict key; unknown or missing ones count as n/a."""
    counts = dict.fromkeys(VERDICT_LABELS, 0)
    for task in metrics.get("tasks") or []:
        for side in SEPARATE_SIDES:
            comparison = (task.get("comparisons") or {}).get(side) or {}
            verdict = comparison.get("verdict")
            counts[verdict if verdict in counts else "not_available"] += 1
    return counts


def summary_sentence(metrics: Mapping[str, Any]) -> str:
    """Return one sentence that counts wins, losses and ties of the shared model."""
    counts = verdict_counts(metrics)
    total = sum(counts.values())
    if total == 0:
        return "No comparisons were computed."
    sentence = (
        f"Of {total} comparisons, the shared model was better in "
        f"{counts['shared_better']}, worse in {counts['separate_better']} and not "
        f"clearly different in {counts['no_clear_difference']}."
    )
    if counts["not_available"]:
        # A verdict is withheld where a class is too thin, and missing where a
        # metric could not be computed. The task tables give the reason.
        n_missing = counts["not_available"]
        verb = "has" if n_missing == 1 else "have"
        sentence += f" {n_missing} {verb} no verdict (the task tables give the reason)."
    return sentence


def run_warnings(metrics: Mapping[str, Any]) -> list[str]:
    """Return the warnings the run recorded, such as classes with few test rows."""
    return list((metrics.get("run") or {}).get("warnings") or [])


def findings(metrics: Mapping[str, Any]) -> list[Finding]:
    """Build one plain sentence per task and comparison, stating losses as losses."""
    result = []
    for task in metrics.get("tasks") or []:
        for side in SEPARATE_SIDES:
            comparison = (task.get("comparisons") or {}).get(side)
            if comparison is None:
                continue
            result.append(_finding(task, side, comparison))
    return result


def _finding(
    task: Mapping[str, Any], side: str, comparison: Mapping[str, Any]
) -> Finding:
    name = task.get("name")
    other = _SIDE_NOUNS[side]
    metric = comparison.get("metric") or task.get("primary_metric")
    verdict = comparison.get("verdict")
    if verdict not in VERDICT_LABELS or verdict == "not_available":
        reason = comparison_reason(task, side)
        return Finding(
            "not_available",
            f"On {name}, the shared model could not be compared with {other}: "
            f"{reason}.",
        )

    values = task.get("metrics") or {}
    shared, separate = format_alike(
        (values.get("multitask") or {}).get(metric),
        (values.get(side) or {}).get(metric),
    )
    direction = "higher" if task.get("higher_is_better") else "lower"
    scores = f"{metric_label(metric)} {shared} against {separate}, where {direction} is better."
    low, high = format_alike(comparison.get("ci_low"), comparison.get("ci_high"))
    interval = (
        f"The 95% interval of the difference ({DIFFERENCE_DEFINITION}) is "
        f"{low} to {high}"
    )
    if verdict == "separate_better":
        text = (
            f"On {name}, the shared model is worse than {other}: {scores} "
            f"{interval}, so it excludes zero."
        )
    elif verdict == "shared_better":
        text = (
            f"On {name}, the shared model is better than {other}: {scores} "
            f"{interval}, so it excludes zero."
        )
    else:
        text = (
            f"On {name}, there is no clear difference between the shared model and "
            f"{other}: {scores} {interval}, so it includes zero."
        )
    return Finding(verdict, text + rare_class_remark(dict(task)))


def task_facts(task: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return label and value pairs that describe one task."""
    facts = [
        ("Target column", str(task.get("column"))),
        ("Kind", str(task.get("kind"))),
    ]
    classes = task.get("classes")
    if classes:
        facts.append((f"Classes ({len(classes)})", ", ".join(map(str, classes))))
    facts += [
        ("Labelled rows", format_count(task.get("labelled_rows"))),
        ("Labelled test rows", format_count(task.get("labelled_test_rows"))),
    ]
    return facts


def metric_table(task: Mapping[str, Any]) -> Table:
    """Build one row per metric with the value of each side, or "n/a: reason"."""
    values = task.get("metrics") or {}
    unavailable = task.get("unavailable") or {}
    names = list(_METRIC_ORDER.get(str(task.get("kind")), ()))
    for side in SIDES:
        names += [name for name in values.get(side) or {} if name not in names]

    primary = task.get("primary_metric")
    rows = []
    for name in names:
        label = metric_label(name)
        label = f"{label} (primary)" if name == primary else label
        row = [label]
        for side in SIDES:
            value = (values.get(side) or {}).get(name)
            if finite_number(value) is not None:
                row.append(format_number(value))
                continue
            reason = (unavailable.get(side) or {}).get(name) or "no value recorded"
            row.append(f"n/a: {reason}")
        rows.append(row)

    correct = task.get("correct_predictions")
    if correct:
        total = format_count(task.get("test_predictions"))
        row = ["correct test predictions"]
        row += [f"{format_count(correct.get(side))} of {total}" for side in SIDES]
        rows.append(row)
    return Table(["Metric"] + [SIDE_LABELS[side] for side in SIDES], rows)


def run_summary(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Return label and value pairs for the run: rows, split sizes, seed and device."""
    run = metrics.get("run") or {}
    features = run.get("features") or []
    feature_list = ", ".join(map(str, features))
    return [
        ("Created (UTC)", display_value(run.get("created_utc"))),
        ("Rows", format_count(run.get("n_rows"))),
        ("Training rows", format_count(run.get("n_train"))),
        ("Validation rows", format_count(run.get("n_val"))),
        ("Test rows", format_count(run.get("n_test"))),
        ("Seed", setting_text("seed", run.get("seed"))),
        ("Device", display_value(run.get("device"))),
        ("Feature columns", f"{format_count(len(features))}: {feature_list}"),
    ]


def files_table(metrics: Mapping[str, Any]) -> Table:
    """Build one row per input file."""
    header = ["File", "Delimiter", "Encoding", "Rows", "Columns"]
    rows = []
    for info in (metrics.get("run") or {}).get("files") or []:
        rows.append(
            [
                str(info.get("name")),
                repr(info.get("delimiter")),
                display_value(info.get("encoding")),
                format_count(info.get("n_rows")),
                format_count(info.get("n_columns")),
            ]
        )
    return Table(header, rows)


def key_value_table(values: Mapping[str, Any] | None, header: list[str]) -> Table:
    """Build a two-column table from a flat mapping such as settings or versions."""
    rows = [
        [str(key), setting_text(str(key), value)]
        for key, value in (values or {}).items()
    ]
    return Table(header, rows)


def reason_table(entries: Any, header: list[str]) -> Table:
    """Build a column and reason table from skipped tasks or excluded columns."""
    rows = [
        [str(entry.get("column")), str(entry.get("reason") or "no reason recorded")]
        for entry in entries or []
    ]
    return Table(header, rows)


def savings_prices_sentence(metrics: Mapping[str, Any]) -> str:
    """Return the sentence that states the price and upkeep behind the savings."""
    savings = metrics.get("savings") or {}
    texts = {}
    for key in ("price_per_hour", "upkeep_per_model_month"):
        value = savings.get(key)
        texts[key] = "not set" if value is None else setting_text(key, value)
    return (
        f"Price per hour of compute: {texts['price_per_hour']}. "
        f"Upkeep per model and month: {texts['upkeep_per_model_month']}."
    )


def savings_figures(metrics: Mapping[str, Any]) -> list[SavingsFigure]:
    """Build the five savings figures, each as formula, inputs and result."""
    savings = metrics.get("savings") or {}
    figures = []
    for key, title in SAVINGS_TITLES.items():
        entry = savings.get(key)
        if not isinstance(entry, Mapping):
            figures.append(SavingsFigure(key, title, [("Result", "n/a: not computed")]))
            continue

        per_task = entry.get("per_task")
        rows = [("Formula", str(entry.get("formula") or "not recorded"))]
        inputs = entry.get("inputs")
        if isinstance(inputs, Mapping):
            for name, value in inputs.items():
                # The per-task inputs are shown once, in the table below.
                display = "see the per-task table" if value == per_task else value
                if isinstance(value, Mapping) and value and set(value) <= set(SIDES):
                    display = "; ".join(
                        f"{SIDE_LABELS[side]} {format_count(value[side])}"
                        for side in SIDES
                        if side in value
                    )
                rows.append((f"Input: {name}", setting_text(str(name), display)))
        elif inputs is not None:
            rows.append(("Inputs", display_value(inputs)))

        outcome = entry.get("result")
        if isinstance(outcome, Mapping):
            rows += [
                (f"Result: {result_label(k)}", result_text(k, v))
                for k, v in outcome.items()
            ]
        else:
            rows.append(("Result", display_value(outcome)))
        if entry.get("unit"):
            rows.append(("Unit", str(entry["unit"])))
        rows += [
            (str(k), _json_text(v))
            for k, v in entry.items()
            if k not in _SAVINGS_STANDARD_KEYS
        ]
        figures.append(SavingsFigure(key, title, rows, _per_task_table(per_task)))
    return figures


def _per_task_table(per_task: Any) -> Table | None:
    """Return the accuracy gain per task: metric and signed gain per separate side."""
    if not isinstance(per_task, Mapping) or not per_task:
        return None
    columns: list[str] = []
    for values in per_task.values():
        if isinstance(values, Mapping):
            columns += [str(k) for k in values if str(k) not in columns]
    if not columns:
        columns = ["value"]
    rows = []
    for name, values in per_task.items():
        values = values if isinstance(values, Mapping) else {"value": values}
        rows.append([str(name)] + [_per_task_cell(c, values.get(c)) for c in columns])
    headers = [_PER_TASK_HEADERS.get(column, column) for column in columns]
    return Table(["Task"] + headers, rows)


_PER_TASK_HEADERS = {
    "metric": "Metric",
    "vs_single_task_nn": "vs single-task networks",
    "vs_lightgbm": "vs LightGBM",
}


def _per_task_cell(column: str, value: Any) -> str:
    if column == "metric":
        return metric_label(value)
    if column.startswith("vs_"):
        # With the decimals of the verdicts' differences, so one gain reads alike.
        return format_difference(value)[0]
    return display_value(value)


def _json_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except ValueError:
        return display_value(value)
