"""Classes with too few test rows for a task's metrics to be more than a rough guide."""

from __future__ import annotations

from mtl_core.plural import counted

FEW_TEST_ROWS = 10  # a class with fewer test rows than this gets a warning


def rare_test_class(task: dict) -> tuple[str, int] | None:
    """Return the name and test-row count of a task's rarest class below FEW_TEST_ROWS.

    ``task`` is a task entry of metrics.json; None when it has no class counts or
    every class has at least FEW_TEST_ROWS test rows.
    """
    counts = task.get("test_class_counts")
    if not counts or min(counts) >= FEW_TEST_ROWS:
        return None
    rarest = counts.index(min(counts))
    return str(task["classes"][rarest]), int(counts[rarest])


def rare_class_caution(task: dict) -> str | None:
    """Return a sentence saying the task's metrics rest on very few rows, or None.

    The rarest class is named first, then the other classes under FEW_TEST_ROWS.
    """
    rare = rare_test_class(task)
    if rare is None:
        return None
    name, count = rare
    if count == 0:
        sentence = (
            f"task {task['name']!r} has no test row of class {name!r}, so some of "
            "its metrics cannot be computed and the rest leave that class out"
        )
    else:
        sentence = (
            f"task {task['name']!r} has only {counted(count, 'test row')} of class "
            f"{name!r}, so its metrics and intervals rest on very few rows"
        )
    others = [
        f"{str(other)!r} ({n})"
        for other, n in zip(task["classes"], task["test_class_counts"], strict=True)
        if n < FEW_TEST_ROWS and str(other) != name
    ]
    if others:
        sentence += f" (classes also under {FEW_TEST_ROWS}: {', '.join(others)})"
    return sentence + ": use more rows, or read its results as a rough guide"


def rare_class_remark(task: dict) -> str:
    """Return a sentence, with a leading space, that a verdict is a rough guide.

    Empty when every class of the task has enough test rows.
    """
    rare = rare_test_class(task)
    if rare is None:
        return ""
    name, count = rare
    if count == 0:
        return f" No test row is of class {name!r}, so this is a rough guide at best."
    rows = f"{counted(count, 'test row')} {'is' if count == 1 else 'are'}"
    return f" Only {rows} of class {name!r}, so this is a rough guide."


def withhold_thin_verdicts(task: dict) -> None:
    """Replace the verdicts of a task with a class under FEW_TEST_ROWS by none.

    A bootstrap interval over a handful of rows of one class understates the
    doubt: with one positive test row, every resample that has it scores that same
    row. The difference and its interval stay in ``task``, and each
    comparison gets the reason instead of a verdict. ``task`` is a task entry of
    metrics.json and is changed in place.
    """
    rare = rare_test_class(task)
    if rare is None:
        return
    name, count = rare
    rows = f"only {counted(count, 'test row')}" if count else "no test row"
    reason = (
        f"{rows} of class {name!r}, and a verdict needs at least {FEW_TEST_ROWS} "
        "of each class"
    )
    for comparison in (task.get("comparisons") or {}).values():
        if comparison.get("verdict") != "not_available":
            comparison["verdict"] = "not_available"
            comparison["reason"] = reason


def one_class_caution(task: dict) -> str | None:
    """Return a sentence when every model predicts one class of a multiclass task.

    Macro F1, the primary metric of a multiclass task, then takes the same value on
    every side, so the comparisons show ties that cannot measure sharing. Binary
    tasks are left out, because ROC AUC ranks the probabilities, not the labels.
    """
    predicted = task.get("predicted_classes") or {}
    counts = task.get("test_class_counts") or []
    present = sum(1 for count in counts if count > 0)
    if task.get("kind") != "multiclass" or not predicted or present < 2:
        return None
    if any(n != 1 for n in predicted.values()):
        return None
    return (
        f"task {task['name']!r}: every model predicts the same class for every test "
        "row, so its macro F1 ties on every side and its comparisons cannot measure "
        "sharing: the features do not separate its classes"
    )


def withhold_one_class_verdicts(task: dict) -> None:
    """Replace by none each verdict between two sides that predict one class each.

    On a multiclass task two such sides that predict the same class score the
    same macro F1 on every resample. A verdict of "no clear difference" would then
    count a comparison that measured nothing. ``task`` is a task entry of
    metrics.json and is changed in place.
    """
    predicted = task.get("predicted_classes") or {}
    if task.get("kind") != "multiclass" or predicted.get("multitask") != 1:
        return
    reason = (
        "both models predict one class for every test row, and the metric ties "
        "on every resample"
    )
    for side, comparison in (task.get("comparisons") or {}).items():
        tied = comparison.get("ci_low") == 0.0 and comparison.get("ci_high") == 0.0
        if predicted.get(side) == 1 and tied:
            comparison["verdict"] = "not_available"
            comparison["reason"] = reason
