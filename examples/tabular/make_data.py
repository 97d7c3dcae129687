"""Write ``data.csv``: a seeded customer table with numeric and string columns, missing values and
string labels, the kind of file the tabular example tunes a pipeline on.

Run it from anywhere (``python examples/tabular/make_data.py``); it writes next to itself, or to the
path given as its first argument. The same seed always writes the same file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 12
N_ROWS = 3000
PLANS = ["basic", "plus", "premium"]
REGIONS = ["north", "south", "east", "west"]
CHANNELS = ["web", "store", "phone", "partner"]


def make_frame(n_rows: int = N_ROWS, seed: int = SEED) -> pd.DataFrame:
    """Customers and their churn ``risk`` ("low", "medium", "high"), with gaps in four columns.

    The risk depends on numbers (tenure, monthly charges, support calls, satisfaction) and on
    categories (plan, channel), plus noise, so a model needs both kinds of column to do well.
    """
    rng = np.random.default_rng(seed)
    plan = rng.choice(PLANS, n_rows, p=[0.5, 0.3, 0.2])
    channel = rng.choice(CHANNELS, n_rows)
    frame = pd.DataFrame(
        {
            "age": rng.normal(45, 13, n_rows).clip(18, 90).round(0),
            "tenure_months": rng.integers(0, 120, n_rows),
            "monthly_charges": (rng.gamma(4.0, 15.0, n_rows) + 10 * (plan == "premium")).round(2),
            "support_calls": rng.poisson(1.5, n_rows),
            "satisfaction": rng.uniform(1, 5, n_rows).round(1),
            "plan": plan,
            "region": rng.choice(REGIONS, n_rows),
            "channel": channel,
        }
    )
    latent = (
        -0.025 * frame["tenure_months"]
        + 0.02 * frame["monthly_charges"]
        + 0.45 * frame["support_calls"]
        - 0.6 * frame["satisfaction"]
        + np.select([plan == "basic", plan == "premium"], [0.8, -0.7], 0.0)
        + np.select([channel == "partner", channel == "store"], [0.9, -0.4], 0.0)
        + rng.normal(0, 0.6, n_rows)
    )
    frame["risk"] = np.select([latent < -1.2, latent < 0.3], ["low", "medium"], "high")
    for column, share in (("age", 0.06), ("monthly_charges", 0.03), ("region", 0.05), ("channel", 0.04)):
        frame.loc[rng.random(n_rows) < share, column] = np.nan
    return frame


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else Path(__file__).with_name("data.csv")
    make_frame().to_csv(path, index=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
