"""Accuracy on the public marketing datasets beside the repository.

Each dataset with two or more natural targets is run through `load_csvs` and
`run_comparison` with the library's default settings, which is what a user of
the CLI or the dashboard gets. Columns that leak a target or identify rows are
excluded as each dataset's SOURCE.md advises.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
TOLERANCE = 0.005  # ROC AUC points the shared model may trail LightGBM by
MIN_CLASS_ROWS = 30  # test rows per class for the count that leaves out tiny test sets

# Field names of census-income.sample, which has no header row. The first field is
# the row index of the original file.
CENSUS_FIELDS = (
    "row_index age class_worker det_ind_code det_occ_code education wage_per_hour "
    "hs_college marital_stat major_ind_code major_occ_code race hisp_origin sex "
    "union_member unemp_reason full_or_part_emp capital_gains capital_losses "
    "stock_dividends tax_filer_stat region_prev_res state_prev_res det_hh_fam_stat "
    "det_hh_summ instance_weight mig_chg_msa mig_chg_reg mig_move_reg mig_same "
    "mig_prev_sunbelt num_emp fam_under_18 country_father country_mother "
    "country_self citizenship own_or_self vet_question vet_benefits weeks_worked "
    "year income_50k"
).split()


@dataclass(frozen=True)
class Dataset:
    """One real dataset and the task set run on it."""

    name: str
    files: tuple[str, ...]  # relative to the data folder
    targets: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    note: str = ""
    small: bool = False  # quick enough for --quick


DATASETS = (
    Dataset(
        "bank_marketing",
        ("bank_marketing/bank-full.csv",),
        ("y", "housing", "loan"),
        ("duration",),
        "`duration` excluded: it is known only after the call.",
    ),
    Dataset(
        "bank_marketing_additional",
        ("bank_marketing_additional/bank-additional-full.csv",),
        ("y", "housing", "loan"),
        ("duration",),
        "`duration` excluded; `housing` and `loan` have yes/no/unknown, so they are "
        "3-class tasks scored by macro F1.",
    ),
    Dataset(
        "customer_personality_ifood",
        ("customer_personality_ifood/marketing_campaign.csv",),
        (
            "Response",
            "AcceptedCmp1",
            "AcceptedCmp2",
            "AcceptedCmp3",
            "AcceptedCmp4",
            "AcceptedCmp5",
        ),
        ("ID", "Z_CostContact", "Z_Revenue"),
        "`ID` and the constant `Z_*` columns excluded.",
    ),
    Dataset(
        "online_shoppers_intention",
        ("online_shoppers_intention/online_shoppers_intention.csv",),
        ("Revenue", "VisitorType", "Weekend"),
        note="`VisitorType` has 3 classes and is scored by macro F1.",
    ),
    Dataset(
        "telco_churn_blastchar",
        ("telco_churn_blastchar/WA_Fn-UseC_-Telco-Customer-Churn.csv",),
        ("Churn", "Contract"),
        ("customerID",),
        "`Contract` has 3 classes and is scored by macro F1.",
    ),
    Dataset(
        "universal_bank",
        ("universal_bank/UniversalBank.csv",),
        ("Personal Loan", "Securities Account", "CD Account", "Online", "CreditCard"),
        ("ID", "ZIP Code"),
        "`ID` and `ZIP Code` excluded.",
        small=True,
    ),
    Dataset(
        "fb_ad_conversion",
        ("fb_ad_conversion/KAG_conversion_data.csv",),
        ("Clicks>0", "Total_Conversion>1", "Approved_Conversion>0"),
        ("Spent", "ad_id", "fb_campaign_id"),
        "`Spent` excluded because it follows `Clicks`; ad and campaign ids excluded.",
        small=True,
    ),
    Dataset(
        "ali_ccp_sample",
        (
            "ali_ccp_sample/ali_ccp_train_sample.csv",
            "ali_ccp_sample/ali_ccp_val_sample.csv",
            "ali_ccp_sample/ali_ccp_test_sample.csv",
        ),
        ("click", "purchase"),
        note="200 rows in all, 12 clicks and 3 purchases: too few positives for "
        "meaningful test metrics.",
        small=True,
    ),
    Dataset(
        "census_income_kdd",
        ("census_income_kdd/census-income.sample",),
        ("income_50k", "never_married"),
        ("row_index", "instance_weight", "marital_stat"),
        "200-row sample without a header, read with the 42 field names listed "
        "beside the data file; "
        "`never_married` is derived from `marital_stat`, which is then excluded, and "
        "`instance_weight` is a sampling weight, not a feature.",
        small=True,
    ),
)


@dataclass
class TaskResult:
    """One task's primary metric per side, with intervals and the verdict."""

    dataset: str
    task: str
    kind: str
    metric: str
    values: dict[str, float | None]
    intervals: dict[str, list[float | None]]
    difference_vs_lightgbm: dict[str, object]
    epochs: dict[str, object]
    labelled_test_rows: int
    test_class_counts: list[int] = field(default_factory=list)

    @property
    def within_tolerance(self) -> bool | None:
        """Shared ROC AUC at least LightGBM's minus 0.005; None when not binary."""
        shared = self.values.get("multitask")
        boosted = self.values.get("lightgbm")
        if self.metric != "roc_auc" or shared is None or boosted is None:
            return None
        return shared >= boosted - TOLERANCE


@dataclass
class DatasetResult:
    dataset: Dataset
    seconds: float
    n_rows: int
    tasks: list[TaskResult] = field(default_factory=list)
    skipped_reason: str | None = None


def _load_frame(dataset: Dataset) -> tuple[pd.DataFrame, list[dict]]:
    """Load a dataset as a user would, through load_csvs; census needs its header."""
    from mtl_core.loading import load_csvs

    paths = [DATA_DIR / name for name in dataset.files]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"dataset file not found: {missing[0]}")
    if dataset.name == "census_income_kdd":
        frame = pd.read_csv(
            paths[0],
            header=None,
            names=CENSUS_FIELDS,
            skipinitialspace=True,
            na_values=["?"],
        )
        frame["never_married"] = frame["marital_stat"].eq("Never married")
        return frame, [{"name": paths[0].name}]
    loaded = load_csvs(paths)
    files = [{"name": info.name, "n_rows": info.n_rows} for info in loaded.files]
    return loaded.frame, files


def run_dataset(
    dataset: Dataset, threads: int | None, overrides: dict | None = None
) -> DatasetResult:
    """Run one comparison with default settings (plus ``overrides``) on a dataset."""
    from mtl_core.compare import run_comparison
    from mtl_core.config import CompareConfig
    from mtl_core.errors import InputError
    from mtl_core.tasks import TaskSpec

    started = time.perf_counter()
    try:
        frame, _ = _load_frame(dataset)
    except (FileNotFoundError, InputError) as error:
        return DatasetResult(dataset, 0.0, 0, skipped_reason=str(error))
    specs = tuple(
        TaskSpec.parse(target, list(frame.columns)) for target in dataset.targets
    )
    exclude = tuple(column for column in dataset.exclude if column in frame.columns)
    config = CompareConfig(
        targets=specs, exclude=exclude, threads=threads, **(overrides or {})
    )
    try:
        result = run_comparison(frame, config)
    except InputError as error:
        return DatasetResult(
            dataset,
            time.perf_counter() - started,
            len(frame),
            skipped_reason=str(error),
        )
    metrics = result.metrics
    epochs = metrics["run"].get("epochs_run", {})
    tasks = []
    for task in metrics["tasks"]:
        metric = task["primary_metric"]
        tasks.append(
            TaskResult(
                dataset=dataset.name,
                task=task["name"],
                kind=task["kind"],
                metric=metric,
                values={
                    side: task["metrics"][side].get(metric) for side in task["metrics"]
                },
                intervals=task.get("metric_intervals", {}),
                difference_vs_lightgbm=task["comparisons"].get("lightgbm", {}),
                epochs={
                    "multitask": epochs.get("multitask"),
                    "single_task_nn": (epochs.get("single_task_nn") or {}).get(
                        task["name"]
                    ),
                },
                labelled_test_rows=task["labelled_test_rows"],
                test_class_counts=task.get("test_class_counts", []),
            )
        )
    return DatasetResult(dataset, time.perf_counter() - started, len(frame), tasks)


def split_differences(
    runs: list[DatasetResult],
) -> dict[tuple[str, str], list[float]]:
    """Collect each binary task's shared-minus-LightGBM ROC AUC, one per run.

    ``runs`` are the results of one dataset or several, each run on another split
    (another seed). A task missing from a run, or without both AUCs, is left out
    of that run's list.
    """
    differences: dict[tuple[str, str], list[float]] = {}
    for result in runs:
        for task in result.tasks:
            if task.within_tolerance is None:
                continue
            key = (task.dataset, task.task)
            shared, boosted = task.values["multitask"], task.values["lightgbm"]
            differences.setdefault(key, []).append(shared - boosted)
    return differences


def median_within_tolerance(
    differences: dict[tuple[str, str], list[float]],
) -> tuple[int, int]:
    """Count tasks, and those whose median difference over the splits is within."""
    medians = [statistics.median(values) for values in differences.values()]
    return sum(median >= -TOLERANCE for median in medians), len(medians)


def share_within_tolerance(
    results: list[DatasetResult], min_class_rows: int = 0
) -> tuple[int, int]:
    """Count binary tasks with both AUCs, and those within the tolerance.

    With ``min_class_rows``, only tasks with at least that many test rows of each
    class are counted.
    """
    judged = [
        task.within_tolerance
        for result in results
        for task in result.tasks
        if task.within_tolerance is not None
        and min(task.test_class_counts or [0]) >= min_class_rows
    ]
    return sum(judged), len(judged)
