"""Prediction tasks: parse the user's target specs, infer each kind, encode labels."""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mtl_core.errors import InputError
from mtl_core.load_records import BOOLEAN_SPELLINGS_ATTR
from mtl_core.plural import counted

logger = logging.getLogger(__name__)

KINDS = ("binary", "multiclass", "regression")
MAX_CLASSES = 50
_LISTED_COLUMNS = 20  # columns named in a "not found" message
_SHORT_NAME_LENGTH = 4  # names up to this long also match columns one edit away
_POSITIVE_WORDS = {"1", "true", "yes", "y", "t", "positive", "churn", "clicked"}
_DERIVED = re.compile(
    r"^(?P<column>.+?)\s*(?P<op>>=|<=|>|<|==)\s*(?P<value>-?[0-9.eE+]+)$"
)
_LOOSE_COMPARISON = re.compile(r"^(?P<column>.+?)\s*(>=|<=|>|<|==)\s*(?P<value>.*)$")
_OPERATORS = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
    "==": np.equal,
}


@dataclass(frozen=True)
class TaskSpec:
    """A target as the user named it.

    Attributes
    ----------
    column : str
        Source column in the data.
    kind : str or None
        ``binary``, ``multiclass`` or ``regression``; None infers it from the values.
    operator, threshold : str or None, float or None
        For a binary task derived from a number, such as ``Clicks>0``.
    """

    column: str
    kind: str | None = None
    operator: str | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise InputError(
                f"invalid task kind {self.kind!r} for target {self.column!r}: "
                f"use one of {', '.join(KINDS)}"
            )
        if self.operator is not None and self.kind not in (None, "binary"):
            raise InputError(
                f"target {self.name!r} compares a number, so it is binary: "
                f"drop the ':{self.kind}' suffix"
            )

    @property
    def name(self) -> str:
        if self.operator is None:
            return self.column
        return f"{self.column}{self.operator}{self.threshold:g}"

    @classmethod
    def parse(cls, text: str, columns: list[str] | None = None) -> TaskSpec:
        """Parse ``COL``, ``COL:kind`` or a derived binary target such as ``COL>0``.

        A column whose own name contains ``:`` or ``>`` is taken as a plain column
        when ``columns`` lists it.
        """
        text = text.strip()
        if not text:
            raise InputError("empty target: name a column, e.g. --target Clicks")
        if columns is not None and text in columns:
            return cls(column=text)
        kind = None
        head, sep, tail = text.rpartition(":")
        if sep and tail.strip().lower() in KINDS:
            text, kind = head.strip(), tail.strip().lower()
            if columns is not None and text in columns:
                return cls(column=text, kind=kind)
        elif sep and columns is not None and head.strip() in columns:
            return cls(column=head.strip(), kind=tail.strip())  # raises invalid kind
        match = _DERIVED.match(text)
        if match and (columns is None or match["column"] in columns):
            return cls(
                column=match["column"],
                kind=kind,
                operator=match["op"],
                threshold=float(match["value"]),
            )
        loose = _LOOSE_COMPARISON.match(text)
        if columns is not None and loose and loose["column"] in columns:
            raise InputError(
                f"threshold {loose['value']!r} in target {text!r} is not a number: "
                f"write a number after the operator, e.g. '{loose['column']}>0'"
            )
        return cls(column=text, kind=kind)


@dataclass
class Task:
    """A resolved task with its labels encoded for training.

    ``labels`` has shape ``(n_rows,)``: class codes as float (NaN where missing)
    for classification, original values for regression.
    """

    name: str
    column: str
    kind: str
    classes: list[str] | None
    labels: np.ndarray

    @property
    def n_outputs(self) -> int:
        if self.kind == "multiclass":
            return len(self.classes)
        return 1

    @property
    def labelled(self) -> np.ndarray:
        return ~np.isnan(self.labels)


@dataclass(frozen=True)
class SkippedTask:
    column: str
    reason: str


def _numeric_values(series: pd.Series) -> pd.Series | None:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("Float64").astype(float)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    return None


def _class_order(values: list) -> list:
    """Sort classes so a binary task's positive class ("yes", True, 1) comes last."""
    ordered = sorted(values, key=lambda value: (str(type(value)), value))
    if len(ordered) == 2:
        first = str(ordered[0]).strip().lower()
        if first in _POSITIVE_WORDS:
            ordered.reverse()
    return ordered


def _encode_classes(
    series: pd.Series, boolean_spellings: tuple[str, str] | None = None
) -> tuple[list[str], np.ndarray]:
    """Return the class names and each row's class code, NaN where missing.

    A boolean column's classes are named by `boolean_spellings`, the (False, True)
    spellings of the data, when given.
    """
    present = series.dropna()
    if pd.api.types.is_float_dtype(present) and (present == present.round()).all():
        present = present.astype(np.int64)
        series = series.astype("Int64")
    classes = _class_order(list(pd.unique(present)))
    codes = pd.Categorical(series, categories=classes).codes.astype(float)
    codes[codes < 0] = np.nan
    if boolean_spellings is not None and pd.api.types.is_bool_dtype(series):
        return [boolean_spellings[int(value)] for value in classes], codes
    return [str(value) for value in classes], codes


def infer_kind(series: pd.Series) -> str:
    """Infer binary, multiclass or regression from a column's labelled values."""
    present = series.dropna()
    n_unique = present.nunique()
    if pd.api.types.is_bool_dtype(series) or n_unique == 2:
        return "binary"
    if pd.api.types.is_numeric_dtype(series):
        return "regression"
    return "multiclass"


def _one_edit_apart(first: str, second: str) -> bool:
    """Return True when one edit turns one name into the other, ignoring case.

    An edit inserts, deletes or replaces one character.
    """
    first, second = first.casefold(), second.casefold()
    if len(first) > len(second):
        first, second = second, first
    if len(second) - len(first) > 1 or first == second:
        return False
    if len(second) < 2:
        return False  # any two one-letter names are one replacement apart
    for index, (left, right) in enumerate(zip(first, second, strict=False)):
        if left != right:
            skip = 0 if len(first) == len(second) else -1
            return first[index + 1 + skip :] == second[index + 1 :]
    return True


def column_hint(requested: str, columns: list[str]) -> str:
    """Suggest the columns closest to ``requested``, then list the first columns."""
    close = [c for c in columns if c.casefold() == requested.casefold()]
    close += [
        c
        for c in difflib.get_close_matches(requested, columns, n=3, cutoff=0.8)
        if c not in close
    ]
    if len(requested) <= _SHORT_NAME_LENGTH:
        # A one-letter slip in a short name scores below 0.8: difflib rates "yy"
        # against "y" 0.67.
        close += [
            c for c in columns if c not in close and _one_edit_apart(requested, c)
        ][:3]
    first_columns = columns[:_LISTED_COLUMNS]
    listed = ", ".join(repr(c) for c in first_columns)
    if len(columns) > len(first_columns):
        listed += f" and {len(columns) - len(first_columns)} more"
    if close:
        return f"did you mean {' or '.join(repr(c) for c in close)}? Columns: {listed}"
    return f"choose one of {listed}"


def resolve_task(frame: pd.DataFrame, spec: TaskSpec) -> Task:
    """Build a task from a spec, raising InputError when it cannot be trained."""
    if spec.column not in frame.columns:
        source = frame.attrs.get("source_column")
        derived = _LOOSE_COMPARISON.match(spec.column)
        subject = (
            f"column {derived['column']!r} of target {spec.column!r}"
            if derived
            else f"target column {spec.column!r}"
        )
        requested = derived["column"] if derived else spec.column
        columns = [str(c) for c in frame.columns if c != source]
        raise InputError(f"{subject} not found: {column_hint(requested, columns)}")
    series = frame[spec.column]
    if series.isna().all():
        raise InputError(
            f"target {spec.name!r} has no labelled rows: every value is missing. "
            "Fill in its values, or choose another target"
        )

    if spec.operator is not None:
        numbers = _numeric_values(series)
        if numbers is None:
            raise InputError(
                f"target {spec.name!r} compares column {spec.column!r} with a number, "
                "but that column is not numeric: use the column itself as the target"
            )
        derived = _OPERATORS[spec.operator](numbers, spec.threshold).astype(float)
        labels = np.where(numbers.isna(), np.nan, derived)
        classes = ["False", "True"]
        kind = "binary"
    else:
        kind = spec.kind or infer_kind(series)
        if kind == "regression":
            numbers = _numeric_values(series)
            if numbers is None:
                raise InputError(
                    f"target {spec.name!r} is not numeric, so it cannot be a regression "
                    "task: choose the kind binary or multiclass"
                )
            labels = numbers.to_numpy(dtype=float, na_value=np.nan, copy=True)
            labels[~np.isfinite(labels)] = np.nan
            classes = None
        else:
            spellings = frame.attrs.get(BOOLEAN_SPELLINGS_ATTR, {})
            classes, labels = _encode_classes(series, spellings.get(spec.column))

    task = Task(
        name=spec.name, column=spec.column, kind=kind, classes=classes, labels=labels
    )
    _check_trainable(task)
    return task


def _check_trainable(task: Task) -> None:
    labelled = task.labels[task.labelled]
    if len(labelled) < 10:
        raise InputError(
            f"target {task.name!r} has only {counted(len(labelled), 'labelled row')}: "
            "at least 10 are needed to train and test"
        )
    if task.kind == "regression":
        with np.errstate(over="ignore", invalid="ignore"):
            spread = np.nanstd(labelled)
        if not np.isfinite(spread):
            largest = float(np.nanmax(np.abs(labelled)))
            raise InputError(
                f"target {task.name!r} has values too large to train on (up to "
                f"{largest:.3g}): correct or remove those cells, or choose another "
                "target"
            )
        if spread == 0:
            raise InputError(
                f"target {task.name!r} has the same value in every labelled row, "
                "so there is nothing to predict: choose another target"
            )
        return
    n_classes = len(np.unique(labelled))
    if n_classes < 2:
        raise InputError(
            f"target {task.name!r} has only one class ({task.classes[int(labelled[0])]!r}), "
            "so there is nothing to predict: choose another target"
        )
    numeric = _all_numbers(task.classes)
    if task.kind == "binary" and len(task.classes) != 2:
        derived = f", or a derived target such as '{task.column}>0'" if numeric else ""
        raise InputError(
            f"target {task.name!r} has {len(task.classes)} classes, not 2: choose the "
            f"kind multiclass{derived}"
        )
    if task.kind == "multiclass" and len(task.classes) > MAX_CLASSES:
        advice = (
            "choose the kind regression, or another target"
            if numeric
            else "choose another target"
        )
        raise InputError(
            f"target {task.name!r} has {len(task.classes)} classes, more than "
            f"{MAX_CLASSES}: {advice}"
        )


def _all_numbers(classes: list[str]) -> bool:
    """Tell whether every class name reads as a number."""
    for name in classes:
        try:
            float(name)
        except (TypeError, ValueError):
            return False
    return True


def resolve_tasks(
    frame: pd.DataFrame, specs: list[TaskSpec]
) -> tuple[list[Task], list[SkippedTask]]:
    """Resolve every spec; a task that cannot train is skipped with its reason.

    Raises InputError when no task is left or a column is named twice.
    """
    if not specs:
        raise InputError(
            "no target given: name at least one column, e.g. --target Clicks"
        )
    names = [spec.name for spec in specs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError(
            f"target {duplicates[0]!r} is given twice: name each target once"
        )
    tasks: list[Task] = []
    skipped: list[SkippedTask] = []
    for spec in specs:
        if spec.column not in frame.columns:
            resolve_task(frame, spec)  # raises the not-found message
        try:
            tasks.append(resolve_task(frame, spec))
        except InputError as err:
            logger.warning("skipping target %r: %s", spec.name, err)
            skipped.append(SkippedTask(column=spec.name, reason=str(err)))
    if not tasks:
        reasons = "; ".join(item.reason for item in skipped)
        raise InputError(f"no target can be trained: {reasons}")
    return tasks, skipped


def in_column_order(tasks: list[Task], frame: pd.DataFrame) -> list[Task]:
    """Return ``tasks`` in the order of their columns in ``frame``, then by name.

    The shared network's heads are initialised and its losses summed in task
    order, so the order changes its results. One order for each set of
    targets gives the same results however the targets were listed or picked.
    """
    position = {column: index for index, column in enumerate(frame.columns)}
    return sorted(tasks, key=lambda task: (position[task.column], task.name))


def single_target_warning(name: str) -> str:
    """Return the warning for a run that can train only the target ``name``."""
    return (
        f"only one target ({name!r}) can be trained, so the shared model is a "
        "single-task network too and comparing the two cannot measure sharing: "
        "choose two or more targets"
    )
