"""Counts in messages: plural forms, and the cautions about rare test classes."""

from mtl_core.class_counts import (
    one_class_caution,
    rare_class_caution,
    rare_class_remark,
)
from mtl_core.plural import counted


def test_counted_singular_and_plural():
    assert counted(1, "row") == "1 row"
    assert counted(0, "row") == "0 rows"
    assert counted(1204, "labelled row") == "1,204 labelled rows"
    assert counted(2, "class", "classes") == "2 classes"


def test_caution_names_one_test_row():
    task = {"name": "purchase", "classes": ["no", "yes"], "test_class_counts": [38, 1]}

    caution = rare_class_caution(task)

    assert "has only 1 test row of class 'yes'," in caution


def test_caution_and_remark_for_no_test_row():
    task = {"name": "purchase", "classes": ["no", "yes"], "test_class_counts": [39, 0]}

    assert "has no test row of class 'yes'" in rare_class_caution(task)
    assert rare_class_remark(task).startswith(" No test row is of class 'yes'")


def test_caution_lists_every_rare_class():
    task = {
        "name": "marital",
        "classes": ["married", "absent", "widowed", "single"],
        "test_class_counts": [21, 1, 2, 14],
    }

    caution = rare_class_caution(task)

    assert "has only 1 test row of class 'absent'," in caution
    assert "(classes also under 10: 'widowed' (2))" in caution
    assert caution.endswith(": use more rows, or read its results as a rough guide")


def test_one_class_caution_only_for_multiclass_ties():
    task = {
        "name": "loan",
        "kind": "multiclass",
        "test_class_counts": [678, 20, 126],
        "predicted_classes": {"multitask": 1, "single_task_nn": 1, "lightgbm": 1},
    }
    varied = {**task, "predicted_classes": {**task["predicted_classes"], "lightgbm": 2}}
    binary = {**task, "kind": "binary", "test_class_counts": [678, 20]}

    assert one_class_caution(task).startswith(
        "task 'loan': every model predicts the same class for every test row"
    )
    assert one_class_caution(varied) is None
    assert one_class_caution(binary) is None
