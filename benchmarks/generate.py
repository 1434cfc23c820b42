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
    """accounts and subscriptions (the revenue core's two tables)."""
    accounts_df, subs, _ = _core(accounts, months, seed)
    return accounts_df, subs


def _core(accounts: int, months: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """accounts, subscriptions and the per-account plan the other tables are drawn from."""
    rng = np.random.default_rng(seed)
    n = accounts
    e_idx = END.year * 12 + END.month - 1
    s_idx = e_idx - months + 1
    acq = s_idx + rng.integers(0, months, n)  # acquisition month index
    start_day = rng.choice(np.array([1, 1, 1, 10, 15, 28]), n)
    life = rng.geometric(0.012, n)  # months in the first spell
    churn_idx = acq + life
    churned = churn_idx <= e_idx
    end_kind = rng.random(n)  # 0..0.7 month end, else mid-month (the month after the last active)

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
                # the 14th of the month after the last active one (never before the start)
                .then(
                    pl.date((pl.col("end_last") + 1) // 12, (pl.col("end_last") + 1) % 12 + 1, 14)
                )
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
    plan = {
        "acc_id": acc_id,
        "csm": accounts["csm"],
        "acq": acq,
        "start_day": start_day,
        "last_active": np.where(churned, churn_idx - 1, e_idx),
        "churned": churned,
        "churn_idx": churn_idx,
        "s_idx": s_idx,
        "e_idx": e_idx,
    }
    return accounts, subs, plan


# ---- the other tables (Salesforce-like: weekly usage, touchpoints, NPS, onboarding, ...) ----

TOUCH_KINDS = np.array(["email", "meeting", "qbr", "support", "event"])
TOUCH_P = [0.3, 0.3, 0.15, 0.18, 0.07]
REASONS = np.array(
    [
        "施策終了のため",
        "キャンペーン終了に伴い解約",
        "イベント施策の中止",
        "予算削減のため",
        "機能不足（録画編集が必要）",
        "競合他社サービスへ乗り換え",
        "担当者異動により利用継続困難",
        "利用率が上がらず活用できず",
    ]
)
REASONS_P = [0.3, 0.2, 0.2, 0.1, 0.05, 0.05, 0.05, 0.05]
COMMENTS = np.array(
    ["特に不満はない", "問い合わせの返答が遅い", "分析機能が便利", "画面が使いやすい"]
)
MONDAY = 4  # 1970-01-05, a Monday, is epoch day 4


def _month_first_day(idx: np.ndarray) -> np.ndarray:
    """Epoch day of the first day of month index ``idx`` (year * 12 + month - 1)."""
    return (
        (np.asarray(idx) - 1970 * 12)
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )


def _days(values: np.ndarray) -> pl.Series:
    return pl.Series(values.astype(np.int32)).cast(pl.Date)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Owner index and position (0..count-1) of every row when owner i has counts[i] rows."""
    counts = np.maximum(counts, 0).astype(np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return owner, np.arange(owner.size) - starts[owner]


def _spans(plan: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """First and last active day of each account's first spell, and the data's last day."""
    first = _month_first_day(plan["acq"]) + plan["start_day"] - 1
    last = _month_first_day(plan["last_active"] + 1) - 1
    return first, last, int(_month_first_day(np.array([plan["e_idx"] + 1]))[0] - 1)


def _usage(plan: dict, rng: np.random.Generator, weeks: int) -> pl.DataFrame:
    first, last, end_day = _spans(plan)
    w_end = (end_day - 6 - MONDAY) // 7  # the last week that has ended by the data's last day
    w0 = np.maximum(-((MONDAY - first) // 7), w_end - weeks + 1)  # first Monday on/after start
    w1 = np.minimum((last - MONDAY) // 7, w_end)
    owner, pos = _expand(w1 - w0 + 1)
    n = owner.size
    week = w0[owner] + pos
    lam = rng.gamma(2.0, 2.0, len(first))[owner]
    to_end = (w1[owner] - week).astype(np.float64)
    fade = np.where(plan["churned"][owner], np.clip(to_end / 12.0, 0.15, 1.0), 1.0)
    rate = np.round(rng.beta(2.0, 5.0, n), 3)
    return pl.DataFrame(
        {
            "account_id": plan["acc_id"].gather(owner),
            "week_start": _days(MONDAY + 7 * week),
            "logins": rng.poisson(lam * fade),
            "deliveries": rng.poisson(lam * fade / 2.0),
            "outcome_rate": pl.Series(rate).set(pl.Series(rng.random(n) < 0.05), None),
        }
    )


def _scatter_dates(
    plan: dict, rng: np.random.Generator, per_month: float
) -> tuple[np.ndarray, np.ndarray]:
    """Rows per account ~ Poisson(active months x per_month), each on a day of the spell."""
    first, last, _ = _spans(plan)
    months = np.maximum(last - first, 0) / 30.4
    owner, _ = _expand(rng.poisson(months * per_month))
    day = first[owner] + (rng.random(owner.size) * (last - first + 1)[owner]).astype(np.int64)
    return owner, day


def _touchpoints(plan: dict, rng: np.random.Generator) -> pl.DataFrame:
    owner, day = _scatter_dates(plan, rng, 0.5)
    return pl.DataFrame(
        {
            "account_id": plan["acc_id"].gather(owner),
            "occurred_on": _days(day),
            "kind": rng.choice(TOUCH_KINDS, owner.size, p=TOUCH_P),
            "csm": plan["csm"].gather(owner),
        }
    ).sort("account_id", "occurred_on")


def _nps(plan: dict, rng: np.random.Generator) -> pl.DataFrame:
    owner, day = _scatter_dates(plan, rng, 1 / 6)
    n = owner.size
    mood = rng.normal(7.3, 1.3, len(plan["acq"]))[owner]
    score = np.clip(np.round(rng.normal(mood, 1.6)), 0, 10).astype(np.int64)
    comment = pl.Series(rng.choice(COMMENTS, n)).set(pl.Series(rng.random(n) < 0.6), None)
    return (
        pl.DataFrame(
            {
                "account_id": plan["acc_id"].gather(owner),
                "responded_on": _days(day),
                "score": score,
                "survey": np.where(rng.random(n) < 0.9, "relationship", "onboarding"),
                "comment": comment,
            }
        )
        .sort("account_id", "responded_on")
        .with_row_index("n", offset=1)
        .select(pl.format("R{}", pl.col("n")).alias("response_id"), pl.exclude("n"))
    )


def _onboarding(plan: dict, rng: np.random.Generator, sessions: int = 12) -> pl.DataFrame:
    first, _, end_day = _spans(plan)
    recent = np.nonzero(plan["acq"] >= plan["e_idx"] - 17)[0]  # acquired in the last 18 months
    acc, user_no = _expand(rng.integers(1, 4, recent.size))
    acc = recent[acc]
    reach = np.where(rng.random(acc.size) < 0.6, sessions, rng.integers(2, sessions, acc.size))
    user, k0 = _expand(np.full(acc.size, sessions))
    k = k0 + 1
    held = first[acc[user]] + 7 * k0
    done = k <= reach[user]
    future = held > end_day
    status = np.where(
        future,
        "scheduled",
        np.where(done, "done", np.where(k == reach[user] + 1, "missed", "cancelled")),
    )
    held_on = _days(held).set(pl.Series(status == "cancelled"), None)
    user_id = pl.format("{}-U{}", plan["acc_id"].gather(acc), pl.Series(user_no + 1))
    return pl.DataFrame(
        {
            "account_id": plan["acc_id"].gather(acc[user]),
            "user_id": pl.select(user_id).to_series().gather(user),
            "session_no": k,
            "status": status,
            "held_on": held_on,
        }
    )


def _cancellations(plan: dict, rng: np.random.Generator) -> pl.DataFrame:
    idx = np.nonzero(plan["churned"] & (rng.random(len(plan["acq"])) < 0.95))[0]
    day = _month_first_day(plan["churn_idx"][idx]) - rng.integers(1, 60, idx.size)
    n = idx.size
    return pl.DataFrame(
        {
            "account_id": plan["acc_id"].gather(idx),
            "cancelled_on": _days(day),
            "reason": rng.choice(REASONS, n, p=REASONS_P),
            "note": pl.Series(np.where(rng.random(n) < 0.3, "更新時に解約", "")).replace("", None),
        }
    )


def _cs_costs(plan: dict, rng: np.random.Generator) -> pl.DataFrame:
    months = np.arange(plan["s_idx"], plan["e_idx"] + 1)
    base = len(plan["acq"]) * 250
    return pl.DataFrame(
        {
            "month": _days(_month_first_day(months)),
            "amount": (base + rng.integers(-20, 21, months.size) * (base // 100)).astype(
                np.float64
            ),
        }
    )


def generate_all(
    accounts: int, months: int, seed: int = 1, usage_weeks: int = 80
) -> dict[str, pl.DataFrame]:
    """All 8 tables. accounts/subscriptions equal :func:`generate`'s (plus acquisition_cost);
    the others come from a second seeded generator, so they never change the core's data."""
    acc, subs, plan = _core(accounts, months, seed)
    rng = np.random.default_rng([seed, 2])
    acq_cost = rng.integers(30, 121, accounts) * 10_000.0
    return {
        "accounts": acc.with_columns(acquisition_cost=acq_cost),
        "subscriptions": subs,
        "cancellations": _cancellations(plan, rng),
        "usage_weekly": _usage(plan, rng, usage_weeks),
        "touchpoints": _touchpoints(plan, rng),
        "nps_responses": _nps(plan, rng),
        "onboarding_sessions": _onboarding(plan, rng),
        "cs_costs": _cs_costs(plan, rng),
    }


def write(tables: dict[str, pl.DataFrame], out: Path, fmt: str = "parquet") -> None:
    """Write each table to ``out/<table>.<fmt>`` (CSV: UTF-8, ISO dates, as an export would)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "csv":
            df.write_csv(out / f"{name}.csv")
        else:
            df.write_parquet(out / f"{name}.parquet")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--tables",
        choices=["core", "all"],
        default="core",
        help="core: accounts + subscriptions; all: the 8 tables",
    )
    ap.add_argument("--usage-weeks", type=int, default=80, help="weeks of usage history (all)")
    ap.add_argument("--format", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    out = a.out or Path(__file__).parent / "data" / f"{a.accounts}x{a.months}"
    t = time.perf_counter()
    if a.tables == "all":
        tables = generate_all(a.accounts, a.months, a.seed, a.usage_weeks)
    else:
        tables = dict(
            zip(("accounts", "subscriptions"), generate(a.accounts, a.months, a.seed), strict=True)
        )
    write(tables, out, a.format)
    sizes = ", ".join(f"{k} {v.height:,}" for k, v in tables.items())
    print(f"{out}: {sizes} rows in {time.perf_counter() - t:.1f}s")


if __name__ == "__main__":
    main()
