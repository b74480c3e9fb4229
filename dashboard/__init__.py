"""Streamlit dashboard of mtl_core: upload, choose targets, train, compare, export."""
