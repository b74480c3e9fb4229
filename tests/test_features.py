import numpy as np
import pandas as pd
import pytest
from helpers_data import related_tasks_frame

from mtl_core.errors import InputError, MtlError
from mtl_core.feature_selection import ColumnRole, select_features
from mtl_core.preprocessing import FeaturePreprocessor
from mtl_core.tasks import TaskSpec, resolve_tasks


def _select(frame, targets, exclude=()):
    tasks, _ = resolve_tasks(frame, [TaskSpec.parse(t) for t in targets])
    return select_features(frame, tasks, tuple(exclude))


def _excluded(selection):
    return {item.column: item.reason for item in selection.excluded}


def test_id_columns_excluded_by_name():
    frame = related_tasks_frame(200)
    frame["customerID"] = [f"c{i}" for i in range(200)]
    frame["ad_id"] = np.arange(200) // 2  # 50% distinct, named like an id
    frame["campaign_id"] = np.arange(200) % 3  # few values: a real category
    excluded = _excluded(_select(frame, ["clicked"]))
    assert "identifier" in excluded["customerID"]
    assert "campaign_id" not in excluded


def test_unique_integer_column_is_id():
    frame = related_tasks_frame(200)
    frame["row_number"] = np.arange(200)
    assert "row_number" in _excluded(_select(frame, ["clicked"]))


def test_unique_float_column_kept():
    frame = related_tasks_frame(200)
    roles = {r.column: r.role for r in _select(frame, ["clicked"]).roles}
    assert roles["signal"] == "numeric"


def test_free_text_excluded_with_note():
    frame = related_tasks_frame(200)
    frame["comment"] = [
        f"customer said thing number {i} about the offer" for i in range(200)
    ]
    assert "free text" in _excluded(_select(frame, ["clicked"]))["comment"]


def test_constant_column_excluded():
    frame = related_tasks_frame(200)
    frame["Z_CostContact"] = 3
    assert "same value" in _excluded(_select(frame, ["clicked"]))["Z_CostContact"]


def test_target_copy_excluded_by_name():
    frame = related_tasks_frame(300)
    frame["clicked_copy"] = frame["clicked"]
    frame["revenue_again"] = frame["revenue"] * 2 + 1
    excluded = _excluded(_select(frame, ["clicked", "revenue"]))
    assert "nearly copies target 'clicked'" in excluded["clicked_copy"]
    assert "nearly copies target 'revenue'" in excluded["revenue_again"]


def test_amount_of_converted_rows_excluded():
    frame = related_tasks_frame(300)
    rng = np.random.default_rng(0)
    converted = frame["clicked"] == "yes"
    # Revenue is 0 without a conversion and any positive amount with one: its
    # correlation with the label is well below 0.99, its ordering of rows exact.
    frame["order_value"] = np.where(converted, rng.lognormal(3, 1.5, 300), 0.0)
    frame["shuffled_value"] = rng.permutation(frame["order_value"].to_numpy())

    excluded = _excluded(_select(frame, ["clicked"]))

    assert "nearly copies target 'clicked'" in excluded["order_value"]
    assert "shuffled_value" not in excluded


def test_user_exclusion_and_unknown_exclusion():
    frame = related_tasks_frame(100)
    assert (
        _excluded(_select(frame, ["clicked"], ["noise"]))["noise"]
        == "excluded by the user"
    )
    with pytest.raises(InputError, match="excluded column 'nope' not found"):
        _select(frame, ["clicked"], ["nope"])


def test_misspelled_exclusion_suggests_column():
    frame = related_tasks_frame(100)
    with pytest.raises(InputError, match="did you mean 'spend'"):
        _select(frame, ["clicked"], ["Spend"])


def test_targets_never_features():
    frame = related_tasks_frame(100)
    columns = {r.column for r in _select(frame, ["clicked", "revenue"]).roles}
    assert "clicked" not in columns
    assert "revenue" not in columns
    assert "segment" in columns


def test_preprocessor_roles_and_shapes():
    frame = related_tasks_frame(300)
    selection = _select(frame, ["clicked"])
    prep = FeaturePreprocessor(selection.roles).fit(frame.iloc[:200])
    matrices = prep.transform(frame.iloc[200:])
    assert matrices.numeric.shape[0] == 100
    assert "joined (month)" in prep.numeric_columns_
    assert matrices.categorical.shape == (100, 2)  # colour, segment
    assert np.isfinite(matrices.numeric).all()


def test_preprocessor_unseen_and_missing_categories_code_zero():
    frame = related_tasks_frame(300)
    prep = FeaturePreprocessor(_select(frame, ["clicked"]).roles).fit(frame)
    new = frame.iloc[:3].copy()
    new["colour"] = ["purple", None, "red"]
    codes = prep.transform(new).categorical[:, prep.categorical_columns.index("colour")]
    assert codes[0] == 0
    assert codes[1] == 0
    assert codes[2] > 0


def test_preprocessor_missing_indicator_and_skew():
    frame = related_tasks_frame(300)
    frame.loc[::10, "spend"] = np.nan
    prep = FeaturePreprocessor(_select(frame, ["clicked"]).roles).fit(frame)
    assert prep.scales_["spend"].has_missing
    assert prep.scales_["spend"].log
    assert not prep.scales_["signal"].log


def test_preprocessor_huge_values_stay_finite():
    frame = related_tasks_frame(200)
    frame["spend"] = frame["spend"] * 1e12
    frame.loc[0, "spend"] = np.inf
    prep = FeaturePreprocessor(_select(frame, ["clicked"]).roles).fit(frame)
    assert np.isfinite(prep.transform(frame).numeric).all()


def test_preprocessor_same_transform_for_new_rows():
    frame = related_tasks_frame(300)
    prep = FeaturePreprocessor(_select(frame, ["clicked"]).roles).fit(frame.iloc[:200])
    alone = prep.transform(frame.iloc[250:251]).numeric
    batch = prep.transform(frame.iloc[200:300]).numeric[50:51]
    assert np.array_equal(alone, batch)


def test_few_valued_numbers_coded():
    frame = related_tasks_frame(2000)
    rng = np.random.default_rng(1)
    frame["browser"] = rng.integers(1, 6, len(frame)).astype(float)  # 5 values
    frame["store"] = rng.integers(0, 30, len(frame))  # 30 values: too many
    frame["tier"] = rng.integers(0, 10, len(frame))  # 10 values, 200 rows each
    frame.loc[::50, "browser"] = np.nan
    prep = FeaturePreprocessor(_select(frame, ["clicked"]).roles).fit(frame)
    assert list(prep.number_codes_) == ["joined (day_of_week)", "browser"]
    assert prep.cardinalities[-2:] == [8, 6]

    new = frame.iloc[:4].copy()
    new["browser"] = [2.0, 5.0, 7.0, np.nan]  # 7 never seen in training
    matrices = prep.transform(new)
    n_categories = len(prep.categorical_columns)
    assert matrices.categorical.shape == (4, n_categories + 2)
    assert matrices.categorical[:, -1].tolist() == [2, 5, 0, 0]
    # The number itself still enters scaled, and LightGBM's matrix is unchanged.
    assert "browser" in prep.numeric_columns_
    assert matrices.raw.shape[1] == len(prep.raw_feature_names)
    assert np.array_equal(
        matrices.raw[:, prep.raw_feature_names.index("browser")],
        new["browser"].to_numpy(np.float32),
        equal_nan=True,
    )


def test_transform_before_fit_rejected():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(MtlError, match="call fit"):
        FeaturePreprocessor([]).transform(frame)


def test_loader_source_column_excluded_user_column_kept(tmp_path):
    from mtl_core.loading import load_csvs

    frame = related_tasks_frame(60)
    frame["source_file"] = np.where(np.arange(60) % 2, "crm", "ads")
    frame.to_csv(tmp_path / "a.csv", index=False)
    frame.to_csv(tmp_path / "b.csv", index=False)
    loaded = load_csvs([tmp_path / "a.csv", tmp_path / "b.csv"]).frame
    selection = _select(loaded, ["clicked"])
    excluded = _excluded(selection)
    assert excluded["source_file (2)"] == "records the file each row came from"
    assert "source_file" in {role.column for role in selection.roles}


def test_unique_timestamps_are_dates_not_ids():
    frame = related_tasks_frame(200)
    frame["Timestamp"] = pd.date_range("2016-01-01", periods=200, freq="37min")
    roles = {r.column: r.role for r in _select(frame, ["clicked"]).roles}
    assert roles["Timestamp"] == "date"


def test_nearly_empty_column_excluded():
    frame = related_tasks_frame(300)
    frame["extra_1"] = None
    frame.loc[[3, 200], "extra_1"] = 4.0
    assert "fewer than 1%" in _excluded(_select(frame, ["clicked"]))["extra_1"]


def test_category_dtype_codes_match_text_codes():
    frame = related_tasks_frame(300)
    prep = FeaturePreprocessor(_select(frame, ["clicked"]).roles).fit(frame)
    as_category = frame.copy()
    as_category["colour"] = as_category["colour"].astype("category")
    as_category.loc[[0, 1], "colour"] = None
    as_text = as_category.copy()
    as_text["colour"] = as_text["colour"].astype(object)
    codes_category = prep.transform(as_category).categorical
    codes_text = prep.transform(as_text).categorical
    assert np.array_equal(codes_category, codes_text)
    assert codes_category[0, prep.categorical_columns.index("colour")] == 0


def test_row_positions_match_frame_copies():
    frame = related_tasks_frame(300)
    roles = _select(frame, ["clicked"]).roles
    fit_rows = np.arange(0, 300, 3)
    rows = np.array([299, 5, 150, 0, 42])
    on_copy = FeaturePreprocessor(roles).fit(frame.iloc[fit_rows])
    on_rows = FeaturePreprocessor(roles).fit(frame, fit_rows)
    assert on_rows.scales_ == on_copy.scales_
    for column in on_copy.categorical_columns:
        assert on_rows.categories_[column].equals(on_copy.categories_[column])
    expected = on_copy.transform(frame.iloc[rows])
    matrices = on_rows.transform(frame, rows)
    assert np.array_equal(matrices.numeric, expected.numeric)
    assert np.array_equal(matrices.categorical, expected.categorical)
    assert np.array_equal(matrices.raw, expected.raw, equal_nan=True)
    numeric, categorical = on_rows.network_features(frame, rows)
    assert np.array_equal(numeric, expected.numeric)
    assert np.array_equal(categorical, expected.categorical)
    assert np.array_equal(
        on_rows.raw_features(frame, rows), expected.raw, equal_nan=True
    )


@pytest.mark.parametrize("dtype", ["category", "str", "object"])
def test_vocabulary_ties_keep_first_appearance(dtype):
    values = ["b", "a", None, "c", "a", "b", "c", "d"]
    frame = pd.DataFrame({"colour": pd.Series(values, dtype=dtype)})
    prep = FeaturePreprocessor([ColumnRole("colour", "categorical")]).fit(frame)
    assert list(prep.categories_["colour"]) == ["b", "a", "c", "d"]


def test_identifier_target_gets_warning():
    frame = related_tasks_frame(200)
    frame["customer_id"] = np.arange(200)

    selection = _select(frame, ["clicked", "customer_id"])

    assert any(
        "target 'customer_id' looks like an identifier" in w for w in selection.warnings
    )
    assert not any("target 'clicked'" in w for w in selection.warnings)


def test_derived_target_source_excluded():
    frame = related_tasks_frame(200)

    selection = _select(frame, ["clicked", "revenue>0"])

    reasons = {item.column: item.reason for item in selection.excluded}
    assert reasons["revenue"] == "the target 'revenue>0' is made from it"
    assert "revenue" not in [role.column for role in selection.roles]


def test_excluded_target_gives_warning():
    frame = related_tasks_frame(200)

    selection = _select(frame, ["clicked", "revenue"], exclude=["clicked"])

    assert any(
        warning.startswith("column 'clicked' is both a target and excluded")
        for warning in selection.warnings
    )


def test_category_codes_stored_as_int16():
    frame = related_tasks_frame(300)
    prep = FeaturePreprocessor(_select(frame, ["clicked"]).roles).fit(frame)
    assert prep.transform(frame).categorical.dtype == np.int16


def test_skipped_target_is_no_feature():
    frame = related_tasks_frame(200)
    tasks, _ = resolve_tasks(frame, [TaskSpec.parse("clicked")])

    selection = select_features(frame, tasks, skipped_targets=("segment",))

    assert "segment" not in [role.column for role in selection.roles]
    assert _excluded(selection)["segment"] == "chosen as a target, which was skipped"
