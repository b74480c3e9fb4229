"""Benchmarks of mtl_core: speed, memory and accuracy against stated targets.

Run ``python -m benchmarks`` (or ``python benchmarks/run.py``); see
``docs/benchmarks.md`` for the figures and how each one is measured.
"""
