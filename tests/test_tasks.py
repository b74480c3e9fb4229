import numpy as np
import pandas as pd
import pytest

from mtl_core.errors import InputError
from mtl_core.loading import load_csvs
from mtl_core.tasks import (
    TaskSpec,
    _one_edit_apart,
    infer_kind,
    resolve_task,
    resolve_tasks,
)


@pytest.mark.parametrize(
    ("text", "column", "kind", "operator", "threshold"),
    [
        ("Clicks", "Clicks", None, None, None),
        ("Clicks:regression", "Clicks", "regression", None, None),
        ("Clicks>0", "Clicks", None, ">", 0.0),
        ("Approved_Conversion >= 2", "Approved_Conversion", None, ">=", 2.0),
        ("Revenue:binary", "Revenue", "binary", None, None),
    ],
    ids=["plain", "kind", "derived", "derived-spaces", "binary-kind"],
)
def test_spec_parse(text, column, kind, operator, threshold):
    spec = TaskSpec.parse(text)
    assert spec.column == column
    assert spec.kind == kind
    assert spec.operator == operator
    assert spec.threshold == threshold


def test_spec_parse_prefers_existing_column():
    spec = TaskSpec.parse("a:b>1", columns=["a:b>1", "x"])
    assert spec.column == "a:b>1"
    assert spec.operator is None


def test_spec_rejects_unknown_kind():
    with pytest.raises(InputError, match="invalid task kind 'ordinal'"):
        TaskSpec(column="x", kind="ordinal")


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        ([True, False, True], "binary"),
        (["yes", "no", None], "binary"),
        ([0, 1, 1, 0], "binary"),
        (["a", "b", "c"], "multiclass"),
        ([1.5, 2.0, 3.25], "regression"),
    ],
    ids=["bool", "yes-no", "zero-one", "text", "float"],
)
def test_infer_kind(values, kind):
    assert infer_kind(pd.Series(values)) == kind


def test_binary_positive_class_last():
    frame = pd.DataFrame({"y": ["yes", "no"] * 10})
    task = resolve_task(frame, TaskSpec("y"))
    assert task.classes == ["no", "yes"]
    assert task.labels[0] == 1.0


@pytest.mark.parametrize(
    ("cells", "classes"),
    [
        (("yes", "no"), ["no", "yes"]),
        (("Y", "N"), ["N", "Y"]),
        (("true", "false"), ["False", "True"]),
    ],
    ids=["yes-no", "y-n", "true-false"],
)
def test_loaded_boolean_classes_keep_spelling(cells, classes):
    positive, negative = cells
    rows = "".join(f"{i},{positive if i % 3 else negative}\n" for i in range(30))
    loaded = load_csvs([("data.csv", f"id,flag\n{rows}".encode())])

    task = resolve_task(loaded.frame, TaskSpec("flag"))

    assert task.classes == classes
    assert task.labels[1] == 1.0  # row 1 is the positive class, listed last


def test_bool_frame_classes_stay_true_false():
    frame = pd.DataFrame({"flag": [True, False] * 10})
    assert resolve_task(frame, TaskSpec("flag")).classes == ["False", "True"]


def test_derived_target_from_count():
    frame = pd.DataFrame({"Clicks": [0, 3, None, 1] * 5})
    task = resolve_task(frame, TaskSpec.parse("Clicks>0"))
    assert task.name == "Clicks>0"
    assert task.kind == "binary"
    assert list(task.labels[:4][[0, 1, 3]]) == [0.0, 1.0, 1.0]
    assert np.isnan(task.labels[2])


def test_derived_target_on_text_rejected():
    frame = pd.DataFrame({"city": ["a", "b"] * 10})
    with pytest.raises(
        InputError, match="'city' with a number, but that column is not numeric"
    ):
        resolve_task(frame, TaskSpec.parse("city>0"))


def test_missing_labels_kept_as_nan():
    frame = pd.DataFrame({"y": ["a", None, "b", "c"] * 5})
    task = resolve_task(frame, TaskSpec("y"))
    assert task.kind == "multiclass"
    assert int(task.labelled.sum()) == 15


def test_unknown_target_names_choices():
    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    with pytest.raises(
        InputError, match="target column 'zz' not found: choose one of 'a', 'b'"
    ):
        resolve_tasks(frame, [TaskSpec("zz")])


def test_unknown_target_suggests_other_case():
    columns = [f"col_{i}" for i in range(22)] + ["Churn"]
    frame = pd.DataFrame({column: [0, 1] for column in columns})

    with pytest.raises(InputError) as error:
        resolve_tasks(frame, [TaskSpec("churn")])

    message = str(error.value)
    assert "target column 'churn' not found: did you mean 'Churn'?" in message
    assert message.endswith("'col_19' and 3 more")


def test_unknown_short_target_suggests_column():
    frame = pd.DataFrame({"y": [0, 1], "age": [30, 40], "job": ["a", "b"]})

    with pytest.raises(
        InputError, match="target column 'yy' not found: did you mean 'y'"
    ):
        resolve_tasks(frame, [TaskSpec("yy")])


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("yy", "y", True),
        ("ag", "age", True),
        ("agx", "AGE", True),
        ("nope", "noise", False),
        ("ab", "ba", False),
        ("age", "age", False),
        ("y", "x", False),
    ],
)
def test_one_edit_apart_cases(first, second, expected):
    assert _one_edit_apart(first, second) is expected


def test_one_class_task_skipped_others_kept():
    frame = pd.DataFrame({"same": ["x"] * 20, "y": ["a", "b"] * 10})
    tasks, skipped = resolve_tasks(frame, [TaskSpec("same"), TaskSpec("y")])
    assert [task.name for task in tasks] == ["y"]
    assert skipped[0].column == "same"
    assert "only one class" in skipped[0].reason


def test_all_missing_task_skipped():
    frame = pd.DataFrame({"empty": [None] * 20, "y": ["a", "b"] * 10})
    tasks, skipped = resolve_tasks(frame, [TaskSpec("empty"), TaskSpec("y")])
    assert len(tasks) == 1
    assert "no labelled rows" in skipped[0].reason
    assert "Fill in its values, or choose another target" in skipped[0].reason


def test_no_trainable_task_rejected():
    frame = pd.DataFrame({"same": ["x"] * 20})
    with pytest.raises(InputError, match="no target can be trained"):
        resolve_tasks(frame, [TaskSpec("same")])


def test_binary_override_on_count_suggests_derived():
    frame = pd.DataFrame({"Clicks": list(range(20))})
    with pytest.raises(InputError, match="'Clicks>0'"):
        resolve_task(frame, TaskSpec("Clicks", kind="binary"))


def test_duplicate_target_rejected():
    frame = pd.DataFrame({"y": ["a", "b"] * 10})
    with pytest.raises(InputError, match="given twice"):
        resolve_tasks(frame, [TaskSpec("y"), TaskSpec("y")])


def test_regression_in_billions_kept_in_units():
    frame = pd.DataFrame({"revenue": np.linspace(1e9, 5e9, 20)})
    task = resolve_task(frame, TaskSpec("revenue"))
    assert task.kind == "regression"
    assert task.labels.max() == 5e9


def test_spec_rejects_non_number_threshold():
    with pytest.raises(
        InputError, match="threshold 'abc' in target 'revenue>abc' is not a number"
    ):
        TaskSpec.parse("revenue>abc", columns=["revenue"])


def test_missing_derived_column_named_alone():
    frame = pd.DataFrame({"a": [1, 2, 3], "source_file": ["x.csv"] * 3})
    frame.attrs["source_column"] = "source_file"

    with pytest.raises(InputError) as caught:
        resolve_task(frame, TaskSpec.parse("nosuch>0", list(frame.columns)))

    message = str(caught.value)
    assert message.startswith("column 'nosuch' of target 'nosuch>0' not found")
    assert "'a'" in message
    assert "source_file" not in message


@pytest.mark.parametrize(
    ("values", "kind", "advice"),
    [
        (["a", "b", "c"] * 20, "binary", "choose the kind multiclass"),
        ([0, 1, 2] * 20, "binary", "multiclass, or a derived target such as 'x>0'"),
        ([f"t{i}" for i in range(60)], "multiclass", "choose another target"),
        (
            list(range(60)),
            "multiclass",
            "choose the kind regression, or another target",
        ),
        (["a", "b"] * 30, "regression", "choose the kind binary or multiclass"),
    ],
)
def test_wrong_kind_advice_fits_the_column(values, kind, advice):
    frame = pd.DataFrame({"x": values, "y": [0, 1] * 30})

    tasks, skipped = resolve_tasks(frame, [TaskSpec("x", kind), TaskSpec("y")])

    assert [task.name for task in tasks] == ["y"]
    assert skipped[0].reason.endswith(advice)


def test_huge_target_skipped_with_value():
    frame = pd.DataFrame({"revenue": [1.0, 2.5, 1e308] * 20, "clicked": [0, 1] * 30})

    tasks, skipped = resolve_tasks(frame, [TaskSpec("revenue"), TaskSpec("clicked")])

    assert [task.name for task in tasks] == ["clicked"]
    assert skipped[0].reason.startswith(
        "target 'revenue' has values too large to train on (up to 1e+308)"
    )
