"""The headline KPI summary for one month: what `cs-metrics kpis` prints and reports show."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from cs_metrics.config import Config
from cs_metrics.data.dataset import Dataset
from cs_metrics.messages import lang_of, reason_fields
from cs_metrics.metrics.churn import churn_within
from cs_metrics.metrics.retention import monthly_rates
from cs_metrics.metrics.revenue import MOVEMENTS
from cs_metrics.periods import Month, MonthLike

__all__ = [
    "ACCOUNT_MOVEMENT_KEYS",
    "ENGINES",
    "KPI_KEYS",
    "MRR_MOVEMENT_KEYS",
    "RATE_KEYS",
    "kpis",
    "kpis_from",
    "kpis_from_rates",
]

# The month's rates: columns of monthly_rates and keys of the KPI dict (fractions).
RATE_KEYS = ("logo_churn_rate", "grr", "nrr", "nrr_trailing_12m", "grr_trailing_12m")
# The month's MRR movements (the bridge's order) and account counts.
MRR_MOVEMENT_KEYS = tuple(f"mrr_{m}" for m in MOVEMENTS)
ACCOUNT_MOVEMENT_KEYS = ("accounts_new", "accounts_reactivated", "accounts_churned")
KPI_KEYS = (
    "as_of",
    "mrr_start",
    "mrr_end",
    *MRR_MOVEMENT_KEYS,
    "accounts_start",
    "accounts_end",
    *ACCOUNT_MOVEMENT_KEYS,
    *RATE_KEYS,
)


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def kpis_from_rates(
    row: dict[str, Any] | None, as_of: MonthLike, lang: str | None = None
) -> dict[str, Any]:
    """Map one row of :func:`monthly_rates` to the KPI keys (zeros when the month has no data).

    A rate that is undefined is ``null`` with ``<key>_reason`` (in ``lang``; None:
    :func:`cs_metrics.messages.lang_of` without a configuration) and ``<key>_reason_code``.
    """
    row = row or {}
    lang = lang or lang_of(None)

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
    if out["accounts_start"] == 0:
        out.update(reason_fields("logo_churn_rate", "no_accounts_prev_month", lang))
    if out["mrr_start"] == 0:
        for key in ("grr", "nrr"):
            out.update(reason_fields(key, "mrr_prev_month_zero", lang))
    if out["nrr_trailing_12m"] is None:
        for key in ("nrr_trailing_12m", "grr_trailing_12m"):
            out.update(reason_fields(key, "no_accounts_12m_before", lang))
    return out


ENGINES = ("polars", "spark")


def kpis(
    ds: Dataset,
    as_of: MonthLike,
    config: Config | None = None,
    rates: pl.DataFrame | None = None,
    engine: str = "polars",
) -> dict[str, Any]:
    """Headline KPIs for month ``as_of`` (the JSON of ``cs-metrics kpis``).

    Parameters
    ----------
    ds : Dataset
    as_of : "YYYY-MM", date or Month
    config : Config, optional
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
        ``null`` where undefined with a ``*_reason`` (in the configured language) and its
        ``*_reason_code`` (:mod:`cs_metrics.messages`) beside it.
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
    cw = churn_within(ds, m, horizon, config=cfg)[0]
    return kpis_from(rates, cw, m, horizon, lang_of(cfg))


def kpis_from(
    rates: pl.DataFrame,
    cw: dict[str, Any],
    as_of: MonthLike,
    horizon: int,
    lang: str | None = None,
) -> dict[str, Any]:
    """The KPI dict from :func:`monthly_rates` and one :func:`churn_within` record (any engine);
    ``lang`` as in :func:`kpis_from_rates`."""
    m = Month.parse(as_of)
    row = rates.filter(pl.col("month_idx") == m.index)
    out = kpis_from_rates(row.row(0, named=True) if row.height else None, m, lang)
    block = {
        k: _clean(cw.get(k))
        for k in ("eligible", "churned", "rate", "km_rate", "km_ci_low", "km_ci_high")
    }
    for k in ("rate", "km", "km_ci"):
        for suffix in ("_reason", "_reason_code"):
            if k + suffix in cw:
                block[k + suffix] = cw[k + suffix]
    out[f"churn_within_{horizon}m"] = block
    return out
