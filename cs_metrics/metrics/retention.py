"""Logo churn, GRR and NRR per month and over trailing 12 months; cohort retention (SPEC §4)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cs_metrics.data.load import Dataset
from cs_metrics.metrics.revenue import (
    ACCOUNT,
    _with_by,
    as_of_index,
    mrr_bridge,
    mrr_by_account,
)
from cs_metrics.periods import month_label_expr, quarter_label_expr


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def trailing_retention(
    ds: Dataset, as_of: dt.date | str, months: int = 12, by: str | None = None
) -> pl.DataFrame:
    """NRR and GRR over trailing ``months`` for every month up to ``as_of``.

    Definitions (SPEC §4): the cohort is the accounts active in m-12.
    ``nrr_trailing_12m`` = their total MRR in m / their total MRR in m-12 (their churn,
    contraction, expansion and reactivation included; new accounts excluded).
    ``grr_trailing_12m`` = the same with each account's MRR in m capped at its MRR in m-12.
    ``null`` when nobody was active in m-12 (or m-12 is before the data).

    Returns
    -------
    DataFrame
        ``[by,] month_idx, cohort_accounts, cohort_mrr_start, cohort_mrr_end, cohort_mrr_capped,
        nrr_trailing_12m, grr_trailing_12m`` (column names keep ``12m`` for ``months=12``;
        otherwise ``nrr_trailing``/``grr_trailing``).
    """
    a = as_of_index(as_of)
    am = _with_by(mrr_by_account(ds, as_of), ds, as_of, by)
    keys = [by] if by else []
    base = am.filter(pl.col("month_idx") + months <= a).select(
        ACCOUNT, *keys, (pl.col("month_idx") + months).alias("month_idx"), pl.col("mrr").alias("m0")
    )
    later = am.select(ACCOUNT, "month_idx", pl.col("mrr").alias("m1"))
    j = base.join(later, on=[ACCOUNT, "month_idx"], how="left").with_columns(
        pl.col("m1").fill_null(0.0)
    )
    suffix = "_12m" if months == 12 else ""
    return (
        j.group_by(*keys, "month_idx")
        .agg(
            pl.len().alias("cohort_accounts"),
            pl.col("m0").sum().alias("cohort_mrr_start"),
            pl.col("m1").sum().alias("cohort_mrr_end"),
            pl.min_horizontal("m0", "m1").sum().alias("cohort_mrr_capped"),
        )
        .with_columns(
            _ratio(pl.col("cohort_mrr_end"), pl.col("cohort_mrr_start")).alias(
                f"nrr_trailing{suffix}"
            ),
            _ratio(pl.col("cohort_mrr_capped"), pl.col("cohort_mrr_start")).alias(
                f"grr_trailing{suffix}"
            ),
        )
        .sort(*keys, "month_idx")
        .collect()
    )


def monthly_rates(ds: Dataset, as_of: dt.date | str, by: str | None = None) -> pl.DataFrame:
    """The MRR bridge with logo churn, GRR and NRR per month, and the trailing-12-month rates.

    Definitions (SPEC §4), month m against m-1:
    ``logo_churn_rate`` = accounts churned in m / accounts active in m-1;
    ``grr`` = (MRR(m-1) - churn - contraction) / MRR(m-1);
    ``nrr`` = (MRR(m-1) - churn - contraction + upsell + cross_sell) / MRR(m-1);
    ``null`` when the denominator is 0. Trailing rates as in :func:`trailing_retention`.

    Returns
    -------
    DataFrame
        The columns of :func:`cs_metrics.metrics.revenue.mrr_bridge` plus ``logo_churn_rate,
        grr, nrr, nrr_trailing_12m, grr_trailing_12m``.
    """
    keys = [by] if by else []
    bridge = mrr_bridge(ds, as_of, by=by)
    if by == "product":
        # trailing rates need an account attribute; per product they are not defined here
        trailing = bridge.select(*keys, "month_idx").with_columns(
            pl.lit(None, dtype=pl.Float64).alias("nrr_trailing_12m"),
            pl.lit(None, dtype=pl.Float64).alias("grr_trailing_12m"),
        )
    else:
        trailing = trailing_retention(ds, as_of, 12, by=by).select(
            *keys, "month_idx", "nrr_trailing_12m", "grr_trailing_12m"
        )
    kept = pl.col("mrr_start") - pl.col("churn") - pl.col("contraction")
    return (
        bridge.with_columns(
            _ratio(pl.col("accounts_churned").cast(pl.Float64), pl.col("accounts_start")).alias(
                "logo_churn_rate"
            ),
            _ratio(kept, pl.col("mrr_start")).alias("grr"),
            _ratio(kept + pl.col("upsell") + pl.col("cross_sell"), pl.col("mrr_start")).alias(
                "nrr"
            ),
        )
        .join(trailing, on=[*keys, "month_idx"], how="left")
        .sort(*keys, "month_idx")
    )


def cohort_retention(
    ds: Dataset, as_of: dt.date | str, cohort: str = "month", by: str | None = None
) -> pl.DataFrame:
    """Logo and revenue retention by months since the first active month, per cohort.

    Definition (SPEC §4): accounts grouped by first active month (``cohort="month"``) or its
    calendar quarter (``"quarter"``); at age k (months since each account's own first active
    month) ``logo_retention`` = accounts active / cohort size and ``revenue_retention`` = their
    MRR / the cohort's MRR at age 0. Reactivated accounts count as retained while active. Ages
    are shown only where every account of the cohort has been observed (k <= as_of - last
    first-month in the cohort).

    Returns
    -------
    DataFrame
        ``[by,] cohort, age, cohort_accounts, active_accounts, mrr, cohort_mrr_start,
        logo_retention, revenue_retention``.
    """
    if cohort not in ("month", "quarter"):
        raise ValueError(f"cohort must be 'month' or 'quarter', got {cohort!r}")
    a = as_of_index(as_of)
    am = mrr_by_account(ds, as_of)
    first = am.group_by(ACCOUNT).agg(pl.col("month_idx").min().alias("s"))
    label = month_label_expr(pl.col("s")) if cohort == "month" else quarter_label_expr(pl.col("s"))
    first = _with_by(first.with_columns(label.alias("cohort")), ds, as_of, by)
    keys = [by] if by else []
    gk = [*keys, "cohort"]
    sizes = first.group_by(gk).agg(
        pl.len().alias("cohort_accounts"), pl.col("s").max().alias("last_s")
    )
    rows = (
        am.join(first, on=ACCOUNT, how="inner")
        .with_columns((pl.col("month_idx") - pl.col("s")).alias("age"))
        .group_by(*gk, "age")
        .agg(pl.len().alias("active_accounts"), pl.col("mrr").sum().alias("mrr"))
        .join(sizes, on=gk, how="left")
        .filter(pl.col("age") <= a - pl.col("last_s"))
    )
    start = rows.filter(pl.col("age") == 0).select(*gk, pl.col("mrr").alias("cohort_mrr_start"))
    return (
        rows.join(start, on=gk, how="left")
        .with_columns(
            (pl.col("active_accounts") / pl.col("cohort_accounts")).alias("logo_retention"),
            _ratio(pl.col("mrr"), pl.col("cohort_mrr_start")).alias("revenue_retention"),
        )
        .select(
            *gk,
            "age",
            "cohort_accounts",
            "active_accounts",
            "mrr",
            "cohort_mrr_start",
            "logo_retention",
            "revenue_retention",
        )
        .sort(*gk, "age")
        .collect()
    )


def mrr_by_month(ds: Dataset, as_of: dt.date | str, by: str | None = None) -> pl.DataFrame:
    """Total MRR and active accounts per month (from the bridge), for trend charts.

    Returns
    -------
    DataFrame
        ``[by,] month, mrr, accounts``.
    """
    keys = [by] if by else []
    b = mrr_bridge(ds, as_of, by=by)
    return b.select(
        *keys, "month", pl.col("mrr_end").alias("mrr"), pl.col("accounts_end").alias("accounts")
    )
