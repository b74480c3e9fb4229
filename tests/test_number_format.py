"""Tests of the number formats shared by the page, the charts and the reports."""

from __future__ import annotations

import math

import pytest

from mtl_core.number_format import (
    MINUS,
    PRICE_FORMAT,
    UPKEEP_FORMAT,
    format_count,
    format_price,
    format_signed,
    format_upkeep,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (45211, "45,211"),
        (45211.0, "45,211"),
        (800, "800"),
        (0, "0"),
        (-1500, f"{MINUS}1,500"),
        (None, "n/a"),
        (math.nan, "n/a"),
    ],
    ids=["int", "whole-float", "small", "zero", "negative", "none", "nan"],
)
def test_format_count(value, expected):
    assert format_count(value) == expected


def test_format_count_fraction_is_not_cut():
    assert format_count(2.5) == "2.500"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1.0000"),
        (1, "1.0000"),
        (0.0416, "0.0416"),
        (1000.0, "1,000.0000"),
        (1e9, "1,000,000,000.0000"),
    ],
    ids=["float", "int", "cents", "thousand", "billion"],
)
def test_format_price_has_input_decimals(value, expected):
    assert format_price(value) == expected
    assert format_price(value).replace(",", "") == PRICE_FORMAT % value


def test_format_upkeep_matches_input_format():
    assert format_upkeep(20) == "20.00"
    assert format_upkeep(20) == UPKEEP_FORMAT % 20


def test_amounts_missing_are_na():
    assert format_price(None) == "n/a"
    assert format_upkeep(math.inf) == "n/a"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.012, "+0.0120"), (-0.012, f"{MINUS}0.0120"), (-132.2, f"{MINUS}132.2")],
    ids=["positive", "negative", "large-negative"],
)
def test_format_signed(value, expected):
    assert format_signed(value) == expected


def test_negative_numbers_use_minus_sign():
    for text in (format_count(-3), format_price(-1), format_signed(-1e-7)):
        assert "-" not in text, text
        assert MINUS in text, text
