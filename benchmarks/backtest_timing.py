"""Time the signal backtest at scale: 100k accounts with weekly usage (a benchmark, not a test).

    python benchmarks/backtest_timing.py [--accounts 100000] [--months 36] [--seed 1] [--runs 1]

Builds accounts and subscriptions with ``benchmarks/generate.py`` and, vectorised, every other
table a backtest reads (weekly usage, touchpoints, NPS responses, onboarding sessions,
cancellations), with a warning sign before churn (logins stop about two months before the last
active month of a churner). Writes Parquet to ``benchmarks/data/backtest-<accounts>x<months>``,
loads it once, then times, in the same run:

- loading and parsing every table once (``Dataset.collected``), shared by what follows;
- baseline: the risk signals and health score of *one* month (``risk_signals``), the work a
  monthly report does;
- the backtest over the default range (25 months of signals and health scores, H = 3).

Prints each time and the ratio backtest / one month (a per-month loop would cost about 25x).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import END, generate  # noqa: E402

END_DAY = dt.date(END.year, END.month, 30)  # 2026-09-30: the data's last day


def _account_spans(subs: pl.DataFrame) -> pl.DataFrame:
    """First start and last paid day per account (open lines run to END_DAY)."""
    return (
        subs.filter(pl.col("mrr") > 0)
        .group_by("account_id")
        .agg(
            pl.col("start_date").min().alias("first"),
            pl.col("end_date").fill_null(END_DAY).max().alias("last"),
        )
        .with_columns(
            pl.min_horizontal("last", pl.lit(END_DAY)).alias("last"),
            (pl.col("last") < END_DAY).alias("churner"),
        )
        .filter(pl.col("first") <= END_DAY)
        .sort("account_id")
    )


def _usage(spans: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    monday = (pl.col("first") - pl.duration(days=pl.col("first").dt.weekday() - 1)).alias("mon")
    weeks = (
        spans.with_columns(monday)
        .with_columns(((pl.col("last") - pl.col("mon")).dt.total_days() // 7).alias("n"))
        .filter(pl.col("n") >= 0)
        .select(
            "account_id",
            "churner",
            "last",
            pl.date_ranges("mon", pl.col("mon") + pl.duration(weeks=pl.col("n")), "1w").alias(
                "week_start"
            ),
        )
        .explode("week_start")
    )
    n = weeks.height
    level = rng.gamma(2.0, 3.0, n)
    logins = rng.poisson(level).astype(np.float64)
    quiet = weeks["churner"].to_numpy() & (
        (weeks["last"] - weeks["week_start"]).dt.total_days().to_numpy() < 63
    )
    logins[quiet] = 0.0
    return weeks.select("account_id", "week_start").with_columns(
        pl.Series("logins", logins),
        pl.Series("deliveries", rng.poisson(1.5, n).astype(np.float64)),
        pl.Series("outcome_rate", rng.random(n).round(3)),
    )


def _dated(spans: pl.DataFrame, every_days: int, rng: np.random.Generator) -> pl.DataFrame:
    """About one date per ``every_days`` days of each account's span."""
    days = (pl.col("last") - pl.col("first")).dt.total_days()
    k = spans.select("account_id", "first", (days // every_days + 1).alias("k"))
    rows = k.select("account_id", "first", pl.int_ranges(0, pl.col("k")).alias("i"))
    rows = rows.explode("i").drop_nulls("i")
    jitter = rng.integers(0, every_days, rows.height)
    return rows.select(
        "account_id",
        (pl.col("first") + pl.duration(days=pl.col("i") * every_days + pl.Series(jitter))).alias(
            "on"
        ),
    )


def extra_tables(subs: pl.DataFrame, seed: int = 1) -> dict[str, pl.DataFrame]:
    """usage_weekly, touchpoints, nps_responses, onboarding_sessions, cancellations."""
    rng = np.random.default_rng(seed + 100)
    spans = _account_spans(subs)
    usage = _usage(spans, rng)
    tp = _dated(spans, 45, rng).filter(pl.col("on") <= END_DAY)
    tp = tp.select(
        "account_id",
        pl.col("on").alias("occurred_on"),
        pl.Series("kind", rng.choice(np.array(["meeting", "email", "qbr"]), tp.height)),
    )
    nps = _dated(spans, 180, rng).filter(pl.col("on") <= END_DAY)
    nps = nps.with_row_index("r").select(
        pl.format("R{}", pl.col("r")).alias("response_id"),
        "account_id",
        pl.col("on").alias("responded_on"),
        pl.Series("score", rng.integers(0, 11, nps.height)),
    )
    ob = spans.select("account_id", "first").with_columns(
        pl.Series("stop", rng.integers(4, 13, spans.height))
    )
    ob = ob.with_columns(pl.int_ranges(1, 13).alias("session_no")).explode("session_no")
    ob = ob.select(
        "account_id",
        pl.format("U{}", pl.col("account_id")).alias("user_id"),
        pl.col("session_no").cast(pl.Int64),
        pl.when(pl.col("session_no") <= pl.col("stop"))
        .then(pl.lit("done"))
        .otherwise(pl.lit("scheduled"))
        .alias("status"),
        (pl.col("first") + pl.duration(days=7 * pl.col("session_no"))).alias("held_on"),
    ).filter(pl.col("held_on") <= END_DAY)
    churners = spans.filter(pl.col("churner"))
    canc = churners.select(
        "account_id",
        (pl.col("last") - pl.duration(days=30)).alias("cancelled_on"),
        pl.Series("reason", rng.choice(np.array(["施策終了", "予算", "競合"]), churners.height)),
    )
    return {
        "usage_weekly": usage,
        "touchpoints": tp,
        "nps_responses": nps,
        "onboarding_sessions": ob,
        "cancellations": canc,
    }


def build(accounts: int, months: int, seed: int, out: Path) -> dict[str, int]:
    acc, subs = generate(accounts, months, seed)
    tables = {"accounts": acc, "subscriptions": subs, **extra_tables(subs, seed)}
    out.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        df.write_parquet(out / f"{name}.parquet")
    return {k: v.height for k, v in tables.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    out = a.out or HERE / "data" / f"backtest-{a.accounts}x{a.months}"
    t = time.perf_counter()
    sizes = build(a.accounts, a.months, a.seed, out)
    print(f"generated {out} in {time.perf_counter() - t:.1f}s: {sizes}")

    from cs_metrics.data.load import load_dataset
    from cs_metrics.metrics.backtest import backtest, default_range
    from cs_metrics.metrics.risk import risk_signals

    t = time.perf_counter()
    parsed = load_dataset(out).collected()  # every table parsed once, kept in memory
    parse = time.perf_counter() - t
    start, stop, h = default_range(parsed)
    results = []
    for _ in range(a.runs):  # a fresh dataset (no memoised segments) for each timing
        t, c = time.perf_counter(), time.process_time()
        risk_signals(parsed.collected(), stop)
        one, one_cpu = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        res = backtest(parsed.collected(), start, stop, h)
        full, full_cpu = time.perf_counter() - t, time.process_time() - c
        results.append((one, full, one_cpu, full_cpu))
    one, full, one_cpu, full_cpu = min(results, key=lambda r: r[1])
    months = res.last - res.first + 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"range {res.summary['from']} .. {res.summary['to']} ({months} months), H = {h}")
    print(f"account-months {res.summary['account_months']:,}, churned {res.summary['churned']:,}")
    print(f"load + parse every table once:                 {parse:6.2f} s")
    print(f"one month of risk signals + health (baseline): {one:6.2f} s (CPU {one_cpu:6.2f} s)")
    print(f"backtest, {months} months:                       {full:6.2f} s (CPU {full_cpu:6.2f} s)")
    print(f"ratio backtest / one month: {full / one:.1f} wall, {full_cpu / one_cpu:.1f} CPU")
    print(f"(one run per month instead: about {months} x the baseline)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"peak RSS: {peak:,.0f} MB")
    figures = {"parse_s": parse, "one_month_s": one, "backtest_s": full}
    figures |= {"one_month_cpu_s": one_cpu, "backtest_cpu_s": full_cpu}
    print(json.dumps({k: round(v, 2) for k, v in figures.items()} | {"months": months}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
