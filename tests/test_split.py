import numpy as np

from mtl_core.split import split_rows
from mtl_core.tasks import Task


def _binary(name, labels):
    return Task(name, name, "binary", ["no", "yes"], np.asarray(labels, dtype=float))


def test_split_parts_disjoint_and_complete():
    task = _binary("y", np.arange(1000) % 2)
    split = split_rows([task], 1000, 0.2, 0.1, seed=0)
    joined = np.concatenate([split.train, split.val, split.test])
    assert len(np.unique(joined)) == 1000
    assert len(split.test) == 200
    assert len(split.val) == 100


def test_split_stratifies_on_rarest_task():
    common = _binary("common", np.arange(1000) % 2)
    rare = _binary("rare", (np.arange(1000) % 50 == 0).astype(float))
    split = split_rows([common, rare], 1000, 0.2, 0.1, seed=0)
    assert split.stratified_on == "rare"
    assert rare.labels[split.test].sum() == 4
    assert rare.labels[split.val].sum() == 2


def test_split_falls_back_when_too_rare():
    labels = np.zeros(100)
    labels[0] = 1.0
    split = split_rows([_binary("y", labels)], 100, 0.2, 0.1, seed=0)
    assert len(split.train) + len(split.val) + len(split.test) == 100


def test_split_repeats_with_seed():
    task = _binary("y", np.arange(500) % 3 == 0)
    first = split_rows([task], 500, 0.2, 0.1, seed=4)
    second = split_rows([task], 500, 0.2, 0.1, seed=4)
    assert np.array_equal(first.test, second.test)
    assert np.array_equal(first.train, second.train)


def test_copies_stay_in_one_part():
    import pandas as pd

    from mtl_core.split import duplicate_groups, split_grouped_rows

    base = pd.DataFrame({"a": np.arange(200) % 50, "b": np.arange(200) % 50 * 2.0})
    frame = pd.concat([base, base], ignore_index=True)
    frame["source_file"] = ["x.csv"] * 200 + ["y.csv"] * 200
    groups = duplicate_groups(frame, "source_file")
    assert groups.max() + 1 == 50
    task = _binary("y", (frame["a"] % 2).to_numpy())
    split = split_grouped_rows([task], groups, 0.2, 0.1, seed=0)
    assert split.n_duplicate_rows == 350
    test_groups = set(groups[split.test])
    assert not test_groups & set(groups[split.train])
    assert not test_groups & set(groups[split.val])
    assert len(split.train) + len(split.val) + len(split.test) == 400


def test_grouped_split_without_copies_is_plain():
    from mtl_core.split import split_grouped_rows

    task = _binary("y", np.arange(100) % 2)
    grouped = split_grouped_rows([task], np.arange(100), 0.2, 0.1, seed=2)
    plain = split_rows([task], 100, 0.2, 0.1, seed=2)
    assert np.array_equal(grouped.test, plain.test)
    assert grouped.n_duplicate_rows == 0


def test_grouped_split_logs_row_counts(caplog):
    from mtl_core.split import split_grouped_rows

    groups = np.repeat(np.arange(100), 2)  # every row has one copy
    task = _binary("y", np.arange(200) % 2)

    with caplog.at_level("INFO", logger="mtl_core.split"):
        split = split_grouped_rows([task], groups, 0.2, 0.1, seed=0)

    logged = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("split")
    ]
    assert logged == [
        f"split 200 rows: {len(split.train)} train, {len(split.val)} validation, "
        f"{len(split.test)} test (stratified on y)"
    ]
