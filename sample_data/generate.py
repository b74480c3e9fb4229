"""Write the synthetic campaign file that the dashboard opens with.

Every outcome depends on two hidden customer traits (engagement and spending
power), so the outcomes are related the way real campaign outcomes are, and a
shared model has something to share. Some labels are missing on purpose.

Run ``python sample_data/generate.py`` to rewrite ``sample_data/campaign.csv``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

CHANNELS = ["email", "social", "search", "display"]
REGIONS = ["North", "South", "East", "West", "Central"]
DEVICES = ["mobile", "desktop", "tablet"]


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


def make_campaign(n_rows: int = 6000, seed: int = 7) -> pd.DataFrame:
    """Build a campaign table with features, five related outcomes and gaps."""
    rng = np.random.default_rng(seed)
    engagement = rng.normal(size=n_rows)
    spending_power = rng.normal(size=n_rows)

    channel = rng.choice(CHANNELS, size=n_rows, p=[0.35, 0.3, 0.2, 0.15])
    region = rng.choice(REGIONS, size=n_rows)
    device = rng.choice(DEVICES, size=n_rows, p=[0.55, 0.35, 0.1])
    age = np.clip(rng.normal(40 + 4 * spending_power, 11), 18, 85).round()
    impressions = rng.negative_binomial(
        3, 3 / (3 + np.exp(3 + 0.4 * engagement)), n_rows
    )
    spend = np.round(
        impressions * rng.gamma(2.0, 0.02, n_rows) * (1 + 0.3 * (channel == "search")),
        2,
    )
    past_purchases = rng.poisson(np.exp(0.3 + 0.5 * spending_power + 0.3 * engagement))
    email_opens = rng.poisson(
        np.exp(0.8 + 0.6 * engagement + 0.5 * (channel == "email"))
    )
    days_since_visit = np.round(rng.exponential(np.exp(3 - 0.5 * engagement)), 0)
    signup = pd.Timestamp("2021-01-01") + pd.to_timedelta(
        rng.integers(0, 1400, n_rows), "D"
    )

    channel_lift = (
        pd.Series(channel)
        .map({"email": 0.3, "social": 0.0, "search": 0.6, "display": -0.4})
        .to_numpy()
    )
    click_score = -1.2 + 1.1 * engagement + channel_lift + 0.2 * (device == "desktop")
    click_score += 0.15 * np.log1p(impressions) - 0.02 * days_since_visit
    clicked = rng.random(n_rows) < _sigmoid(click_score)
    convert_score = (
        -2.0 + 0.8 * spending_power + 0.5 * engagement + 0.2 * past_purchases
    )
    converted = clicked & (rng.random(n_rows) < _sigmoid(convert_score + 1.0))
    revenue = np.where(
        converted,
        np.round(np.exp(3.5 + 0.6 * spending_power + rng.normal(0, 0.4, n_rows)), 2),
        0.0,
    )
    retained_score = 0.4 + 0.9 * engagement + 0.4 * spending_power + 0.8 * converted
    retained = rng.random(n_rows) < _sigmoid(retained_score)
    channel_scores = np.column_stack(
        [
            0.8 * (channel == "email") + 0.5 * (age > 50) + 0.3 * (email_opens > 3),
            0.8 * (channel == "social") + 0.6 * (age < 30) + 0.3 * (device == "mobile"),
            0.5 * (channel == "search") + 0.4 * spending_power,
            0.3 * (device == "desktop") - 0.2 * engagement,
        ]
    )
    channel_scores += rng.gumbel(size=channel_scores.shape)
    preferred_channel = np.array(["email", "social", "search", "display"])[
        channel_scores.argmax(axis=1)
    ]

    frame = pd.DataFrame(
        {
            "customer_id": [f"C{100000 + i}" for i in range(n_rows)],
            "signup_date": signup.strftime("%Y-%m-%d"),
            "channel": channel,
            "region": region,
            "device": device,
            "age": age.astype(int),
            "impressions": impressions,
            "spend": spend,
            "past_purchases": past_purchases,
            "email_opens": email_opens,
            "days_since_last_visit": days_since_visit.astype(int),
            "clicked": np.where(clicked, "yes", "no"),
            "converted": np.where(converted, "yes", "no"),
            "revenue": revenue,
            "retained": np.where(retained, "yes", "no"),
            "preferred_channel": preferred_channel,
        }
    )
    # Outcomes that a real export leaves blank: retention is not yet known for the
    # newest customers, and the channel survey reached only part of them.
    newest = signup > pd.Timestamp("2024-06-01")
    frame["retained"] = frame["retained"].where(~newest)
    frame.loc[rng.random(n_rows) < 0.2, "preferred_channel"] = None
    frame["age"] = frame["age"].astype("Int64").mask(rng.random(n_rows) < 0.03)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6000, help="number of customers")
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).with_name("campaign.csv"),
        help="CSV path",
    )
    args = parser.parse_args()
    make_campaign(args.rows, args.seed).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
