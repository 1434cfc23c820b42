"""Fast, deterministic synthetic dataset at scale (Parquet, canonical schema).

    python benchmarks/generate.py --accounts 1000000 --months 60 --seed 1 --out benchmarks/data/1000000x60

About 3 subscription lines per account over ``months`` months ending 2026-09: a core product
(with tier changes = upsell/contraction), add-ons starting later (cross-sell), churn, some
reactivations (a new line after a gap), free zero-MRR lines, mid-month starts/ends and lines
ending on a month's last day. Fully vectorised with numpy; MRR values are whole yen.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np
import polars as pl

END = dt.date(2026, 9, 1)


def generate(accounts: int, months: int, seed: int = 1) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    n = accounts
    e_idx = END.year * 12 + END.month - 1
    s_idx = e_idx - months + 1
    acq = s_idx + rng.integers(0, months, n)  # acquisition month index
    start_day = rng.choice(np.array([1, 1, 1, 10, 15, 28]), n)
    life = rng.geometric(0.012, n)  # months in the first spell
    churn_idx = acq + life
    churned = churn_idx <= e_idx
    end_kind = rng.random(n)  # 0..0.7 month end, else mid-month (not active that month)

    def dates(idx: np.ndarray, day: np.ndarray) -> pl.Series:
        return (
            pl.DataFrame({"y": idx // 12, "m": idx % 12 + 1, "d": day})
            .select(pl.date("y", "m", "d"))
            .to_series()
        )

    ids = np.arange(n)
    acc_id = pl.Series(ids).cast(pl.String).str.zfill(8)
    acc_id = pl.select(pl.lit("A") + acc_id).to_series()
    tiers = np.array([30_000.0, 50_000.0, 80_000.0, 120_000.0])
    core_mrr = rng.choice(tiers, n)
    # core line 1 until the tier change (or churn); line 2 after a tier change
    change = rng.random(n) < 0.3
    change_idx = acq + 1 + (rng.random(n) * np.maximum(life - 1, 1)).astype(np.int64)
    change &= change_idx < np.minimum(churn_idx, e_idx + 1)
    last_active = np.where(churned, churn_idx - 1, e_idx + 24)
    line1_last = np.where(change, change_idx - 1, last_active)
    new_mrr = np.where(rng.random(n) < 0.7, core_mrr * 1.5, core_mrr * 0.6).round()

    rows = []
    # core line 1
    end1 = np.where(change | churned, 1, 0).astype(bool)
    rows.append(
        pl.DataFrame(
            {
                "account_id": acc_id,
                "product": "core",
                "plan": "std",
                "start_date": dates(acq, start_day),
                "end_last": line1_last,
                "has_end": end1,
                "mid": (end_kind > 0.7) & churned & ~change,
                "mrr": core_mrr,
                "billing_interval_months": np.where(rng.random(n) < 0.5, 12, 1),
            }
        )
    )
    # core line 2 (tier change)
    idx2 = np.nonzero(change)[0]
    rows.append(
        pl.DataFrame(
            {
                "account_id": acc_id.gather(idx2),
                "product": "core",
                "plan": "pro",
                "start_date": dates(change_idx[idx2], np.ones(len(idx2), dtype=np.int64)),
                "end_last": last_active[idx2],
                "has_end": churned[idx2],
                "mid": np.zeros(len(idx2), bool),
                "mrr": new_mrr[idx2],
                "billing_interval_months": np.ones(len(idx2), dtype=np.int64),
            }
        )
    )
    # add-ons (cross-sell), sometimes dropped early (contraction): up to two per account
    for _ in range(2):
        addon = rng.random(n) < 0.7
        a_start = acq + (
            rng.random(n) * np.maximum(np.minimum(last_active, e_idx) - acq, 0)
        ).astype(np.int64)
        dropped = rng.random(n) < 0.25
        a_last = np.where(
            dropped, np.minimum(a_start + 3 + rng.integers(0, 12, n), last_active), last_active
        )
        idx3 = np.nonzero(addon)[0]
        rows.append(
            pl.DataFrame(
                {
                    "account_id": acc_id.gather(idx3),
                    "product": rng.choice(np.array(["analytics", "recording", "api"]), len(idx3)),
                    "plan": None,
                    "start_date": dates(a_start[idx3], rng.choice(np.array([1, 5, 20]), len(idx3))),
                    "end_last": a_last[idx3],
                    "has_end": (churned | dropped)[idx3],
                    "mid": np.zeros(len(idx3), bool),
                    "mrr": rng.choice(
                        np.array([10_000.0, 20_000.0, 0.0]), len(idx3), p=[0.5, 0.45, 0.05]
                    ),
                    "billing_interval_months": np.ones(len(idx3), dtype=np.int64),
                }
            )
        )
    # reactivation: a new core line after a gap
    react = churned & (rng.random(n) < 0.1)
    r_start = churn_idx + 2 + rng.integers(0, 6, n)
    react &= r_start <= e_idx
    idx4 = np.nonzero(react)[0]
    rows.append(
        pl.DataFrame(
            {
                "account_id": acc_id.gather(idx4),
                "product": "core",
                "plan": "std",
                "start_date": dates(r_start[idx4], np.ones(len(idx4), dtype=np.int64)),
                "end_last": np.full(len(idx4), e_idx + 24),
                "has_end": np.zeros(len(idx4), bool),
                "mid": np.zeros(len(idx4), bool),
                "mrr": core_mrr[idx4],
                "billing_interval_months": np.ones(len(idx4), dtype=np.int64),
            }
        )
    )
    subs = pl.concat(rows, how="vertical_relaxed")
    subs = (
        subs.with_columns(
            pl.when(pl.col("has_end"))
            .then(
                pl.when(pl.col("mid"))
                .then(pl.date(pl.col("end_last") // 12, pl.col("end_last") % 12 + 1, 14))
                .otherwise(
                    pl.date(pl.col("end_last") // 12, pl.col("end_last") % 12 + 1, 1).dt.month_end()
                )
            )
            .alias("end_date")
        )
        .with_row_index("n")
        .select(
            pl.format("S{}", pl.col("n")).alias("subscription_id"),
            "account_id",
            "product",
            "start_date",
            "end_date",
            "mrr",
            "plan",
            "billing_interval_months",
        )
    )
    accounts = pl.DataFrame(
        {
            "account_id": acc_id,
            "account_name": pl.select(pl.lit("Company ") + acc_id).to_series(),
            "industry": rng.choice(np.array(["金融", "医療", "小売", "製造", "IT"]), n),
            "csm": rng.choice(np.array(["鈴木", "嘉生", "糸谷", "大本", "津田"]), n),
        }
    )
    return accounts, subs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    out = a.out or Path(__file__).parent / "data" / f"{a.accounts}x{a.months}"
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    accounts, subs = generate(a.accounts, a.months, a.seed)
    accounts.write_parquet(out / "accounts.parquet")
    subs.write_parquet(out / "subscriptions.parquet")
    print(
        f"{out}: {accounts.height:,} accounts, {subs.height:,} lines in {time.perf_counter() - t:.1f}s"
    )


if __name__ == "__main__":
    main()
