"""Counts in messages read "1 row" and "2 rows"."""

from mtl_core.class_counts import rare_class_caution, rare_class_remark
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
