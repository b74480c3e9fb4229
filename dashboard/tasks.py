"""Step 2 of the page: choose targets, their kinds and the excluded columns.

Kinds come from `mtl_core.tasks.infer_kind`. Which columns are used as features,
and the warnings about identifiers and target copies, come from
`mtl_core.feature_selection.select_features`, exactly as a run computes them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.data import SAMPLE_TARGETS, source_column
from dashboard.text import as_sentence, md
from mtl_core.errors import InputError
from mtl_core.feature_selection import (
    SOURCE_COLUMN,
    FeatureSelection,
    looks_like_id,
    select_features,
)
from mtl_core.number_format import format_count
from mtl_core.split import check_row_count
from mtl_core.tasks import (
    KINDS,
    MAX_CLASSES,
    Task,
    TaskSpec,
    infer_kind,
    resolve_tasks,
    single_target_warning,
)

logger = logging.getLogger(__name__)

# Words that outcome columns of campaign data are usually named with. A column is
# suggested as a target when one of its words is in this set.
OUTCOME_WORDS = frozenset(
    """
    accept accepted bought buy churn churned click clicked clicks conversion
    conversions convert converted default deposit label lead order ordered outcome
    purchase purchased purchases redeemed renew renewed respond responded response
    retained retention revenue sale sales signup subscribe subscribed subscription
    target y
    """.split()
)
# Words that mark a column as history known before the outcome, such as
# past_purchases, days_since_last_visit or NumWebPurchases (a tally of past
# purchases). Such columns are not suggested as targets.
HISTORY_WORDS = frozenset(
    "before count days history last num past previous prior since".split()
)
# Classification targets with more classes than this are not suggested.
MAX_SUGGESTED_CLASSES = 10
OPERATORS = (">", ">=", "<", "<=")
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

TARGET_STORE = "chosen_targets"  # {data key: {"targets": [...], "version": int}}
TARGETS_LABEL = "Targets to predict (one task each)"
EXCLUDE_LABEL = "Columns never to use as features"


@dataclass(frozen=True)
class ColumnProfile:
    """What the page shows about one column when choosing targets."""

    column: str
    kind: str
    n_values: int
    is_numeric: bool
    looks_like_id: bool
    suggested: bool


@dataclass
class TaskChoice:
    """The user's targets and exclusions, checked by mtl_core."""

    specs: list[TaskSpec]
    exclude: list[str]
    tasks: list[Task]
    selection: FeatureSelection


def name_words(column: str) -> list[str]:
    """Split a column name into lower-case words (snake_case and camelCase)."""
    return [word.lower() for word in _WORD.findall(column)]


def profile_columns(
    frame: pd.DataFrame, skip: str = SOURCE_COLUMN
) -> list[ColumnProfile]:
    """Infer the kind of each column and whether it looks like an outcome.

    The column `skip`, which records each row's file, is left out.
    """
    profiles = []
    for column in frame.columns:
        if column == skip:
            continue
        series = frame[column]
        n_values = int(series.nunique(dropna=True))
        kind = infer_kind(series)
        is_numeric = pd.api.types.is_numeric_dtype(series) and not (
            pd.api.types.is_bool_dtype(series)
        )
        id_like = looks_like_id(series, str(column))
        usable = n_values >= 2 and not id_like
        if kind == "multiclass":
            usable = usable and n_values <= MAX_SUGGESTED_CLASSES
        words = set(name_words(str(column)))
        outcome_name = bool(words & OUTCOME_WORDS) and not words & HISTORY_WORDS
        profiles.append(
            ColumnProfile(
                str(column),
                kind,
                n_values,
                is_numeric,
                id_like,
                usable and outcome_name,
            )
        )
    return profiles


def _profiles(entry: dict) -> list[ColumnProfile]:
    cached = entry.get("profiles")
    if cached is None:
        loaded = entry["loaded"]
        cached = profile_columns(loaded.frame, source_column(loaded))
        entry["profiles"] = cached
    return cached


def _default_targets(entry: dict, profiles: list[ColumnProfile]) -> list[str]:
    columns = [profile.column for profile in profiles]
    if entry["is_sample"]:
        return [name for name in SAMPLE_TARGETS if name in columns]
    return [profile.column for profile in profiles if profile.suggested]


def widget_key(name: str, data_key: str) -> str:
    """Return the key of a target widget for one data set.

    Keys include the data's hash, so new data starts from its own defaults and
    never inherits a choice that names columns it may not have.
    """
    return f"{name}::{data_key[:12]}"


def _derived_specs(data_key: str) -> dict[str, TaskSpec]:
    return st.session_state.setdefault(state.DERIVED, {}).setdefault(data_key, {})


def _target_store(entry: dict, profiles: list[ColumnProfile]) -> dict:
    """Return the session's chosen targets for this data and their widget version.

    The multiselect always gets the last chosen targets as its default and is
    never set through st.session_state. Streamlit can drop a widget's value when
    a rerun interrupts the run that first created it, and then the default
    restores it. Adding a derived target bumps the version, which makes a new
    widget whose default includes that target.
    """
    stores = st.session_state.setdefault(TARGET_STORE, {})
    if entry["key"] not in stores:
        stores.clear()  # choices of other data are no longer needed
        stores[entry["key"]] = {
            "targets": _default_targets(entry, profiles),
            "version": 0,
        }
    return stores[entry["key"]]


def _add_derived(data_key: str) -> None:
    """Add the derived target set in the form (the Add button's callback)."""
    column = st.session_state[widget_key("derived_column", data_key)]
    operator = st.session_state[widget_key("derived_operator", data_key)]
    threshold = float(st.session_state[widget_key("derived_threshold", data_key)])
    spec = TaskSpec(column=column, operator=operator, threshold=threshold)
    _derived_specs(data_key)[spec.name] = spec
    store = st.session_state[TARGET_STORE][data_key]
    if spec.name not in store["targets"]:
        store["targets"] = store["targets"] + [spec.name]
        store["version"] += 1
    logger.info("Added derived target %s", spec.name)


def tasks_section(entry: dict) -> TaskChoice | None:
    """Render target and exclusion choices, and return them if mtl_core accepts them."""
    st.header("2. Targets")
    data_key = entry["key"]
    profiles = _profiles(entry)
    by_column = {profile.column: profile for profile in profiles}
    derived = _derived_specs(data_key)

    suggested = [p for p in profiles if p.suggested]
    if entry["is_sample"]:
        # The sample's targets are fixed, and preferred_channel has no outcome word.
        chosen = [by_column[name] for name in _default_targets(entry, profiles)]
        names = ", ".join(f"{md(p.column)} ({p.kind})" for p in chosen)
        st.caption(f"The sample data opens with its outcome columns chosen: {names}.")
    elif suggested:
        names = ", ".join(f"{md(p.column)} ({p.kind})" for p in suggested)
        st.caption(f"Columns that look like outcomes: {names}.")
    else:
        st.caption("No column is named like an outcome; pick the targets yourself.")

    options = [p.column for p in profiles] + [n for n in derived if n not in by_column]
    store = _target_store(entry, profiles)
    selected = st.multiselect(
        TARGETS_LABEL,
        options,
        default=[name for name in store["targets"] if name in options],
        key=widget_key(f"targets::{store['version']}", data_key),
        help="Each target becomes one task. The shared model predicts all of them at "
        "once; the separate models get one network and one LightGBM model per task.",
    )
    store["targets"] = list(selected)
    _derived_form(data_key, profiles)
    if not selected:
        st.info("Choose at least one target to train.")
        return None

    specs = _kind_choices(data_key, selected, by_column, derived)
    target_columns = {spec.column for spec in specs}
    exclude = st.multiselect(
        EXCLUDE_LABEL,
        [p.column for p in profiles if p.column not in target_columns],
        key=widget_key("exclude", data_key),
        help="For example columns that are only known after the outcome. ID-like "
        "columns and columns that nearly copy a target are left out automatically.",
    )
    return _check_choice(entry, specs, exclude)


def _kind_choices(data_key, selected, by_column, derived) -> list[TaskSpec]:
    specs = []
    columns = st.columns(min(len(selected), 4))
    for index, name in enumerate(selected):
        slot = columns[index % len(columns)]
        if name in derived:
            slot.selectbox(
                f"Kind of {md(name)}",
                ["binary"],
                key=widget_key(f"kind::{name}", data_key),
                disabled=True,
                help="A comparison with a number is a yes/no (binary) task.",
            )
            specs.append(derived[name])
            continue
        inferred = by_column[name].kind
        kind = slot.selectbox(
            f"Kind of {md(name)}",
            KINDS,
            index=KINDS.index(inferred),
            key=widget_key(f"kind::{name}", data_key),
            help=f"Inferred from the values: {inferred} "
            f"({format_count(by_column[name].n_values)} distinct values). "
            f"binary = two classes, multiclass = up to {MAX_CLASSES} classes, "
            "regression = a number.",
        )
        specs.append(TaskSpec(column=name, kind=None if kind == inferred else kind))
    return specs


def _derived_form(data_key: str, profiles: list[ColumnProfile]) -> None:
    numeric = [p.column for p in profiles if p.is_numeric and not p.looks_like_id]
    with st.expander("Add a yes/no target from a number, such as revenue > 0"):
        if not numeric:
            st.write("The data has no numeric column to compare.")
            return
        left, middle, right = st.columns([3, 1, 2])
        left.selectbox(
            "Numeric column", numeric, key=widget_key("derived_column", data_key)
        )
        middle.selectbox(
            "Comparison", OPERATORS, key=widget_key("derived_operator", data_key)
        )
        right.number_input(
            "Threshold", value=0.0, key=widget_key("derived_threshold", data_key)
        )
        st.button(
            "Add target", key="derived_add", on_click=_add_derived, args=(data_key,)
        )


def _preview(frame, data_key, specs, exclude):
    """Resolve tasks and select features once per choice, cached in the session."""
    key = (data_key, repr(specs), tuple(exclude))
    cached = st.session_state.get(state.TASK_PREVIEW)
    if cached is not None and cached[0] == key:
        return cached[1]
    tasks, skipped = resolve_tasks(frame, specs)
    selection = select_features(
        frame, tasks, tuple(exclude), tuple(item.column for item in skipped)
    )
    st.session_state[state.TASK_PREVIEW] = (key, (tasks, skipped, selection))
    return tasks, skipped, selection


def _check_choice(entry: dict, specs: list[TaskSpec], exclude: list[str]):
    frame = entry["loaded"].frame
    try:
        check_row_count(len(frame))
        tasks, skipped, selection = _preview(frame, entry["key"], specs, exclude)
    except InputError as err:
        st.error(f"**These targets cannot be trained:** {md(as_sentence(str(err)))}")
        return None
    if not selection.roles:
        left_out = ", ".join(md(column) for column in selection.listed_exclusions())
        advice = selection.no_features_advice(len(specs)).capitalize()
        st.error(
            "**No feature column is left to learn from** (left out: "
            f"{left_out or 'none'}). {advice}."
        )
        return None

    rows = []
    for task in tasks:
        classes = ", ".join(task.classes[:6]) if task.classes else ""
        if task.classes and len(task.classes) > 6:
            classes += f", … ({len(task.classes)} in all)"
        rows.append(
            {
                "Task": task.name,
                "Kind": task.kind,
                "Labelled rows": format_count(int(task.labelled.sum())),
                "Classes": classes or "(a number)",
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    for item in skipped:
        st.warning(
            f"Target **{md(item.column)}** will be skipped: "
            f"{md(as_sentence(item.reason))}"
        )

    by_user = set(selection.excluded_by_user())
    automatic = [
        f"**{md(item.column)}**: {md(item.reason)}"
        for item in selection.excluded
        if item.column not in by_user and item.column != source_column(entry["loaded"])
    ]
    if automatic:
        # Routine decisions, not problems: one note instead of a warning per column.
        st.info(
            "Left out of the features automatically:\n\n- " + "\n- ".join(automatic)
        )
    warnings = list(selection.warnings)
    if len(tasks) == 1:
        warnings.append(single_target_warning(tasks[0].name))
    for warning in warnings:
        st.warning(f"Check before training: {md(warning)}.")
    st.caption(
        f"Features ({format_count(len(selection.roles))}): "
        + ", ".join(md(role.column) for role in selection.roles)
    )
    return TaskChoice(specs, list(exclude), tasks, selection)
