"""The headline KPI summary for one month: what `cs-metrics kpis` prints and reports show."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.metrics.churn import churn_within
from cs_metrics.metrics.retention import monthly_rates
from cs_metrics.periods import Month, MonthLike

KPI_KEYS = (
    "as_of",
    "mrr_start",
    "mrr_end",
    "mrr_new",
    "mrr_reactivation",
    "mrr_upsell",
    "mrr_cross_sell",
    "mrr_contraction",
    "mrr_churn",
    "accounts_start",
    "accounts_end",
    "accounts_new",
    "accounts_reactivated",
    "accounts_churned",
    "logo_churn_rate",
    "grr",
    "nrr",
    "nrr_trailing_12m",
    "grr_trailing_12m",
)


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def kpis_from_rates(row: dict[str, Any] | None, as_of: MonthLike) -> dict[str, Any]:
    """Map one row of :func:`monthly_rates` to the KPI keys (zeros when the month has no data)."""
    row = row or {}

    def money(k: str) -> float:
        return float(row.get(k) or 0.0)

    def count(k: str) -> int:
        return int(row.get(k) or 0)

    out: dict[str, Any] = {
        "as_of": str(Month.parse(as_of)),
        "mrr_start": money("mrr_start"),
        "mrr_end": money("mrr_end"),
        "mrr_new": money("new"),
        "mrr_reactivation": money("reactivation"),
        "mrr_upsell": money("upsell"),
        "mrr_cross_sell": money("cross_sell"),
        "mrr_contraction": money("contraction"),
        "mrr_churn": money("churn"),
        "accounts_start": count("accounts_start"),
        "accounts_end": count("accounts_end"),
        "accounts_new": count("accounts_new"),
        "accounts_reactivated": count("accounts_reactivated"),
        "accounts_churned": count("accounts_churned"),
        "logo_churn_rate": _clean(row.get("logo_churn_rate")),
        "grr": _clean(row.get("grr")),
        "nrr": _clean(row.get("nrr")),
        "nrr_trailing_12m": _clean(row.get("nrr_trailing_12m")),
        "grr_trailing_12m": _clean(row.get("grr_trailing_12m")),
    }
    reasons = {}
    if out["accounts_start"] == 0:
        reasons["logo_churn_rate_reason"] = "no active accounts at the end of the previous month"
    if out["mrr_start"] == 0:
        reasons["grr_reason"] = reasons["nrr_reason"] = "MRR of the previous month is 0"
    if out["nrr_trailing_12m"] is None:
        reasons["nrr_trailing_12m_reason"] = reasons["grr_trailing_12m_reason"] = (
            "no account was active 12 months before"
        )
    out.update(reasons)
    return out


ENGINES = ("polars", "spark")


def kpis(
    ds: Dataset,
    as_of: MonthLike,
    config: dict[str, Any] | None = None,
    rates: pl.DataFrame | None = None,
    engine: str = "polars",
) -> dict[str, Any]:
    """Headline KPIs for month ``as_of`` (the JSON of ``cs-metrics kpis``).

    Parameters
    ----------
    ds : Dataset
    as_of : "YYYY-MM", date or Month
    config : dict, optional
        Defaults to the dataset's configuration; ``revenue.churn_horizon_months`` sets H.
    rates : DataFrame, optional
        A precomputed :func:`monthly_rates` frame (to avoid computing it twice in reports).
    engine : {"polars", "spark"}
        ``"spark"`` hands the canonical subscriptions to Apache Spark through Arrow and runs the
        same definitions there (:mod:`cs_metrics.engine.spark`; needs ``cs-metrics[spark]``).

    Returns
    -------
    dict
        ``as_of, mrr_start, mrr_end, mrr_new, mrr_reactivation, mrr_upsell, mrr_cross_sell,
        mrr_contraction, mrr_churn, accounts_start, accounts_end, accounts_new,
        accounts_reactivated, accounts_churned, logo_churn_rate, grr, nrr, nrr_trailing_12m,
        grr_trailing_12m`` and ``churn_within_24m: {eligible, churned, rate, km_rate, km_ci_low,
        km_ci_high}`` (key named after H). Money in the reporting currency, rates as fractions,
        ``null`` where undefined with a ``*_reason`` beside it.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    cfg = config or ds.config
    m = Month.parse(as_of)
    horizon = int(cfg["revenue"]["churn_horizon_months"])
    if engine == "spark":
        from cs_metrics.engine.spark import spark_kpis, subscriptions_to_spark

        return spark_kpis(subscriptions_to_spark(ds, cfg), m, cfg)
    if rates is None:
        rates = monthly_rates(ds, m)
    cw = churn_within(
        ds, m, horizon, fiscal_year_start_month=cfg["general"]["fiscal_year_start_month"]
    )[0]
    return kpis_from(rates, cw, m, horizon)


def kpis_from(
    rates: pl.DataFrame, cw: dict[str, Any], as_of: MonthLike, horizon: int
) -> dict[str, Any]:
    """The KPI dict from :func:`monthly_rates` and one :func:`churn_within` record (any engine)."""
    m = Month.parse(as_of)
    row = rates.filter(pl.col("month_idx") == m.index)
    out = kpis_from_rates(row.row(0, named=True) if row.height else None, m)
    block = {
        k: _clean(cw.get(k))
        for k in ("eligible", "churned", "rate", "km_rate", "km_ci_low", "km_ci_high")
    }
    for k in ("rate_reason", "km_reason", "km_ci_reason"):
        if k in cw:
            block[k] = cw[k]
    out[f"churn_within_{horizon}m"] = block
    return out
