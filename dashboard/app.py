"""Streamlit page: does one shared multitask model beat separate per-task models?

Run from the repository root with ``streamlit run dashboard/app.py``. The page only
wires widgets to mtl_core; loading, training, scoring, savings, charts and reports
all come from there.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

# `streamlit run` puts only this file's folder on sys.path; the imports below need
# the repository root.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import streamlit as st  # noqa: E402


def main() -> None:
    """Render the whole page, top to bottom."""
    st.set_page_config(
        page_title="Shared or separate models?", page_icon=":bar_chart:", layout="wide"
    )
    st.title("Does one shared model beat separate models?")
    st.write(
        "Upload your campaign data, choose the outcomes to predict, and this page "
        "trains one shared multitask network for all of them, plus one network and "
        "one LightGBM model per outcome. It then shows, on the same held-out rows, "
        "where the shared model is better, where it is worse, and what each option "
        "costs to train and run."
    )
    # The sections import torch, LightGBM and scikit-learn, which take seconds on a
    # cold start; importing them after the title lets the page paint first.
    from dashboard import state
    from dashboard.data import data_section
    from dashboard.exports import export_section
    from dashboard.results import priced_metrics, results_section
    from dashboard.tasks import tasks_section
    from dashboard.train import settings_sidebar, train_section

    settings = settings_sidebar()
    entry = data_section()
    choice = tasks_section(entry) if entry is not None else None
    current_key = train_section(entry, choice, settings)

    results = st.session_state.get(state.RESULTS)
    if results is None:
        return
    priced = priced_metrics(
        results["metrics"], settings.price_per_hour, settings.upkeep_per_model_month
    )
    results_section(results, priced, current_key)
    export_section(priced)


logging.basicConfig(
    level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
)
main()
