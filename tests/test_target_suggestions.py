"""Target columns the page pre-selects."""

import pandas as pd

from dashboard.tasks import profile_columns


def _suggested(frame: pd.DataFrame) -> list[str]:
    return [profile.column for profile in profile_columns(frame) if profile.suggested]


def test_outcome_flags_suggested_tallies_not():
    rows = 40
    frame = pd.DataFrame(
        {
            "Response": [i % 2 for i in range(rows)],
            "AcceptedCmp1": [i % 3 == 0 for i in range(rows)],
            "NumWebPurchases": [i % 11 for i in range(rows)],
            "past_purchases": [i % 7 for i in range(rows)],
            "days_since_last_click": [i % 30 for i in range(rows)],
            "Income": [1000.0 + 37 * i for i in range(rows)],
        }
    )

    suggested = _suggested(frame)

    assert suggested == ["Response", "AcceptedCmp1"]


def test_purchase_outcome_still_suggested():
    frame = pd.DataFrame({"purchased": [0, 1] * 10, "purchases": [0, 1, 2, 3] * 5})

    assert _suggested(frame) == ["purchased", "purchases"]
