"""Equality of two implementations' outputs to 1e-9 relative (1e-6 absolute near zero)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
from common import BRIDGE_COLS

KEYS_COHORT = ["s", "age"]


def _close(a, b) -> bool:
    if (
        a is None
        or b is None
        or (isinstance(a, float) and math.isnan(a))
        or (isinstance(b, float) and math.isnan(b))
    ):
        none_a = a is None or (isinstance(a, float) and math.isnan(a))
        none_b = b is None or (isinstance(b, float) and math.isnan(b))
        return none_a and none_b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def compare(a: Path, b: Path) -> list[str]:
    """Differences between output folders ``a`` and ``b`` (empty list = equal)."""
    problems: list[str] = []
    ba, bb = pl.read_parquet(a / "bridge.parquet"), pl.read_parquet(b / "bridge.parquet")
    j = ba.join(bb, on="month_idx", how="full", suffix="_b", coalesce=True)
    for c in BRIDGE_COLS:
        for m, x, y in zip(j["month_idx"], j[c], j[f"{c}_b"], strict=True):
            if not _close(x, y):
                problems.append(f"bridge {c} month {m // 12}-{m % 12 + 1:02d}: {x} vs {y}")
                break
    ca, cb = (
        json.loads((a / "churn24.json").read_text()),
        json.loads((b / "churn24.json").read_text()),
    )
    for k in ("eligible", "churned", "rate", "km_rate"):
        if not _close(ca.get(k), cb.get(k)):
            problems.append(f"churn24 {k}: {ca.get(k)} vs {cb.get(k)}")
    ha, hb = pl.read_parquet(a / "cohorts.parquet"), pl.read_parquet(b / "cohorts.parquet")
    h = ha.join(hb, on=KEYS_COHORT, how="full", suffix="_b", coalesce=True)
    # an age where nobody is active may be a row of zeros on one side and absent on the other
    for c in ("active_accounts", "mrr", "logo_retention", "revenue_retention"):
        x = h[c].fill_null(0.0).cast(pl.Float64)
        y = h[f"{c}_b"].fill_null(0.0).cast(pl.Float64)
        bad = ((x - y).abs() > (1e-9 * y.abs()).clip(lower_bound=1e-6)).sum()
        if bad:
            problems.append(f"cohorts {c}: {bad} cells differ")
    return problems
