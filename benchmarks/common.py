"""Shared by the benchmark implementations: as_of, the KM step from lifetime counts, output."""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from pathlib import Path

import polars as pl

AS_OF_IDX = 2026 * 12 + 9 - 1  # 2026-09
HORIZON = 24
BRIDGE_COLS = [
    "mrr_start",
    "new",
    "reactivation",
    "upsell",
    "cross_sell",
    "contraction",
    "churn",
    "mrr_end",
    "accounts_start",
    "accounts_new",
    "accounts_reactivated",
    "accounts_churned",
    "accounts_end",
    "logo_churn_rate",
    "grr",
    "nrr",
    "nrr_trailing_12m",
    "grr_trailing_12m",
]
COHORT_COLS = [
    "s",
    "age",
    "cohort_accounts",
    "active_accounts",
    "mrr",
    "logo_retention",
    "revenue_retention",
]


def km_from_counts(t_counts: list[tuple[int, int, int]], horizon: int = HORIZON) -> float | None:
    """1 - S(H) from (T, accounts, events) rows (SPEC §4; censored at as_of - s): None when no
    account is at risk at H, unless everyone churned before it (then 1)."""
    if not t_counts:
        return None
    rows = sorted(t_counts)
    at_risk = sum(n for _, n, _ in rows)
    surv = 1.0
    for t, n, d in rows:
        if t > horizon:
            break
        if d:
            surv *= 1 - d / at_risk
        at_risk -= n
    if max(t for t, _, _ in rows) < horizon and surv > 0:
        return None
    return 1 - surv


def write_outputs(out: Path, bridge: pl.DataFrame, churn24: dict, cohorts: pl.DataFrame) -> None:
    out.mkdir(parents=True, exist_ok=True)
    bridge.select("month_idx", *BRIDGE_COLS).sort("month_idx").write_parquet(out / "bridge.parquet")
    cohorts.select(COHORT_COLS).sort("s", "age").write_parquet(out / "cohorts.parquet")
    (out / "churn24.json").write_text(json.dumps(churn24))


def run(main) -> None:
    """``python impl.py DATA OUT``: time ``main(data, out)`` and print seconds and peak memory."""
    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    t = time.perf_counter()
    main(data, out)
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak}))


def nan_to_none(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v
