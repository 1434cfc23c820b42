"""Logo churn, GRR and NRR per month and over trailing 12 months; cohort retention (SPEC §4)."""

from __future__ import annotations

import narwhals as nw
import polars as pl

from cs_metrics.data.dataset import Dataset, memoised
from cs_metrics.engine import core
from cs_metrics.metrics.revenue import (
    ACCOUNT,
    By,
    account_segments,
    by_keys,
    month_spine,
    mrr_bridge,
    with_by,
)
from cs_metrics.periods import Month, MonthLike, month_label_expr, quarter_label_expr

__all__ = ["cohort_retention", "monthly_rates", "mrr_by_month", "trailing_retention"]


def trailing_retention(
    ds: Dataset, as_of: MonthLike, months: int = 12, by: By = None
) -> pl.DataFrame:
    """NRR and GRR over trailing ``months`` for every month up to ``as_of``.

    Definitions (SPEC §4): the cohort is the accounts active in m-12.
    ``nrr_trailing_12m`` = their total MRR in m / their total MRR in m-12 (their churn,
    contraction, expansion and reactivation included; new accounts excluded).
    ``grr_trailing_12m`` = the same with each account's MRR in m capped at its MRR in m-12.
    ``null`` when nobody was active in m-12 (or m-12 is before the data). Written once in
    :func:`cs_metrics.engine.core.trailing_retention` (shared with the Spark engine).

    Returns
    -------
    DataFrame
        ``[by,] month_idx, cohort_accounts, cohort_mrr_start, cohort_mrr_end, cohort_mrr_capped,
        nrr_trailing_12m, grr_trailing_12m`` (column names keep ``12m`` for ``months=12``;
        otherwise ``nrr_trailing``/``grr_trailing``).
    """
    m = Month.parse(as_of)
    keys = by_keys(by)
    seg = with_by(account_segments(ds, m).filter(pl.col("mrr") > 0), ds, m, by).select(
        ACCOUNT, *keys, "idx", "next_idx", "mrr"
    )
    out = core.trailing_retention(
        nw.from_native(seg), nw.from_native(month_spine(ds, m)), m.index, months, keys
    )
    return out.to_native().sort(*keys, "month_idx").collect()


@memoised  # kpis, the report and its CSV export read it: computed once per month
def monthly_rates(ds: Dataset, as_of: MonthLike, by: By = None) -> pl.DataFrame:
    """The MRR bridge with logo churn, GRR and NRR per month, and the trailing-12-month rates.

    Definitions (SPEC §4), month m against m-1:
    ``logo_churn_rate`` = accounts churned in m / accounts active in m-1;
    ``grr`` = (MRR(m-1) - churn - contraction) / MRR(m-1);
    ``nrr`` = (MRR(m-1) - churn - contraction + upsell + cross_sell) / MRR(m-1);
    ``null`` when the denominator is 0. Trailing rates as in :func:`trailing_retention`.
    Written once in :func:`cs_metrics.engine.core.rates` (shared with the Spark engine).

    Returns
    -------
    DataFrame
        The columns of :func:`cs_metrics.metrics.revenue.mrr_bridge` plus ``logo_churn_rate,
        grr, nrr, nrr_trailing_12m, grr_trailing_12m``.
    """
    m = Month.parse(as_of)
    keys = by_keys(by)
    bridge = mrr_bridge(ds, m, by=by)
    if isinstance(by, str) and by == "product":
        # trailing rates need an account attribute; per product they are not defined here
        trailing = bridge.select(*keys, "month_idx").with_columns(
            pl.lit(None, dtype=pl.Float64).alias("nrr_trailing_12m"),
            pl.lit(None, dtype=pl.Float64).alias("grr_trailing_12m"),
        )
    else:
        trailing = trailing_retention(ds, m, 12, by=by).select(
            *keys, "month_idx", "nrr_trailing_12m", "grr_trailing_12m"
        )
    out = core.rates(nw.from_native(bridge.lazy()), nw.from_native(trailing.lazy()), keys)
    return out.to_native().sort(*keys, "month_idx").collect()


def cohort_retention(
    ds: Dataset, as_of: MonthLike, cohort: str = "month", by: By = None
) -> pl.DataFrame:
    """Logo and revenue retention by months since the first active month, per cohort.

    Definition (SPEC §4): accounts grouped by first active month (``cohort="month"``) or its
    calendar quarter (``"quarter"``); at age k (months since each account's own first active
    month) ``logo_retention`` = accounts active / cohort size and ``revenue_retention`` = their
    MRR / the cohort's MRR at age 0. Reactivated accounts count as retained while active. Ages
    are shown only where every account of the cohort has been observed (k <= as_of - last
    first-month in the cohort). Written once in :func:`cs_metrics.engine.core.cohort_retention`.

    Returns
    -------
    DataFrame
        ``[by,] cohort, age, cohort_accounts, active_accounts, mrr, cohort_mrr_start,
        logo_retention, revenue_retention``.
    """
    if cohort not in ("month", "quarter"):
        raise ValueError(f"cohort must be 'month' or 'quarter', got {cohort!r}")
    m = Month.parse(as_of)
    seg = account_segments(ds, m).filter(pl.col("mrr") > 0)
    first = core.first_months(nw.from_native(seg)).to_native()
    label = month_label_expr(pl.col("s")) if cohort == "month" else quarter_label_expr(pl.col("s"))
    first = with_by(first.with_columns(label.alias("cohort")), ds, m, by)
    keys = by_keys(by)
    gk = [*keys, "cohort"]
    out = core.cohort_retention(nw.from_native(seg), nw.from_native(first), m.index, gk)
    return out.to_native().sort(*gk, "age").collect()


def mrr_by_month(ds: Dataset, as_of: MonthLike, by: By = None) -> pl.DataFrame:
    """Total MRR and active accounts per month (from the bridge), for trend charts.

    Returns
    -------
    DataFrame
        ``[by,] month, mrr, accounts``.
    """
    keys = by_keys(by)
    b = mrr_bridge(ds, as_of, by=by)
    return b.select(
        *keys, "month", pl.col("mrr_end").alias("mrr"), pl.col("accounts_end").alias("accounts")
    )
