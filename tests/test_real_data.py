"""Whole CLI runs on the real public datasets beside the repository."""

import json

import pytest
from helpers_data import shared_file

from mtl_core.cli import main

pytestmark = pytest.mark.slow


def _compare(tmp_path, path, targets, *extra):
    argv = ["compare", str(path), "--out", str(tmp_path), "--bootstrap", "200", *extra]
    for target in targets:
        argv += ["--target", target]
    assert main(argv) == 0
    for name in ("metrics.json", "metrics.csv", "report.html"):
        assert (tmp_path / name).is_file(), name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    return {task["name"]: task for task in metrics["tasks"]}, metrics


def test_bank_full_lightgbm_auc(tmp_path):
    path = shared_file("bank_marketing", "bank-full.csv")
    tasks, metrics = _compare(tmp_path, path, ["y", "housing", "loan"], "--epochs", "8")
    assert metrics["run"]["n_rows"] == 45211
    assert tasks["y"]["metrics"]["lightgbm"]["roc_auc"] >= 0.90
    assert tasks["y"]["metrics"]["multitask"]["roc_auc"] >= 0.85
    assert tasks["housing"]["metrics"]["lightgbm"]["roc_auc"] >= 0.80
    assert tasks["loan"]["labelled_rows"] == 45211


def test_ifood_tab_separated_campaigns(tmp_path):
    path = shared_file("customer_personality_ifood", "marketing_campaign.csv")
    targets = ["Response", "AcceptedCmp1", "AcceptedCmp5", "MntWines"]
    tasks, metrics = _compare(tmp_path, path, targets, "--epochs", "15")
    excluded = {item["column"] for item in metrics["run"]["excluded_columns"]}
    assert {"ID", "Z_CostContact", "Z_Revenue"} <= excluded
    assert metrics["run"]["files"][0]["delimiter"] == "\t"
    assert tasks["Response"]["metrics"]["lightgbm"]["roc_auc"] > 0.8
    assert tasks["Response"]["metrics"]["multitask"]["roc_auc"] > 0.75
    assert tasks["MntWines"]["metrics"]["lightgbm"]["r2"] > 0.5


def test_fb_ads_derived_binary_targets(tmp_path):
    path = shared_file("fb_ad_conversion", "KAG_conversion_data.csv")
    targets = ["Clicks>0", "Total_Conversion>1", "Approved_Conversion>0"]
    tasks, metrics = _compare(
        tmp_path, path, targets, "--exclude", "Spent", "--epochs", "20"
    )
    assert set(tasks) == set(targets)
    excluded = {item["column"] for item in metrics["run"]["excluded_columns"]}
    assert {"ad_id", "fb_campaign_id"} <= excluded
    assert "Impressions" in metrics["run"]["features"]
    # Impressions drive clicks strongly, so any working model ranks them well.
    assert tasks["Clicks>0"]["metrics"]["lightgbm"]["roc_auc"] > 0.85
    assert tasks["Clicks>0"]["metrics"]["multitask"]["roc_auc"] > 0.8


def test_telco_churn_and_contract(tmp_path):
    path = shared_file("telco_churn_blastchar", "WA_Fn-UseC_-Telco-Customer-Churn.csv")
    tasks, metrics = _compare(
        tmp_path, path, ["Churn", "Contract", "MonthlyCharges"], "--epochs", "15"
    )
    assert "customerID" in {
        item["column"] for item in metrics["run"]["excluded_columns"]
    }
    assert "TotalCharges" in metrics["run"]["features"]
    assert tasks["Churn"]["metrics"]["lightgbm"]["roc_auc"] > 0.8
    assert tasks["Churn"]["metrics"]["multitask"]["roc_auc"] > 0.8
    assert tasks["Contract"]["kind"] == "multiclass"
    assert tasks["Contract"]["metrics"]["multitask"]["accuracy"] > 0.6
    assert tasks["MonthlyCharges"]["metrics"]["lightgbm"]["r2"] > 0.9
