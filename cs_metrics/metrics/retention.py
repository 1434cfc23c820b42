"""Logo churn, GRR and NRR per month and over trailing 12 months; cohort retention (SPEC §4)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cs_metrics.data.dataset import Dataset, memoised
from cs_metrics.metrics.revenue import (
    _DECIMALS,
    ACCOUNT,
    By,
    _month_spine,
    _over,
    _with_by,
    account_segments,
    as_of_index,
    by_keys,
    mrr_bridge,
)
from cs_metrics.periods import month_label_expr, quarter_label_expr


def _ratio(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den > 0).then(num / den).otherwise(None)


def trailing_retention(
    ds: Dataset, as_of: dt.date | str, months: int = 12, by: By = None
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
    keys = by_keys(by)
    seg = _with_by(account_segments(ds, as_of).filter(pl.col("mrr") > 0), ds, as_of, by).select(
        ACCOUNT, *keys, "idx", "next_idx", "mrr"
    )
    # Sparse: pair every active segment a (shifted by `months`) with every active segment b of
    # the same account; the months m with m - months in a and m in b form one interval
    # [lo, hi) in which b's MRR (and min(a, b) for GRR) counts. Interval sums become
    # +value at lo and -value at hi, summed over a month spine: no account x month grid.
    shifted = seg.select(
        ACCOUNT,
        *keys,
        (pl.col("idx") + months).alias("lo"),
        pl.min_horizontal(pl.col("next_idx") + months, pl.lit(a + 1)).alias("hi"),
        pl.col("mrr").alias("m0"),
    ).filter(pl.col("lo") < pl.col("hi"))
    pairs = (
        shifted.join(
            seg.select(
                ACCOUNT,
                pl.col("idx").alias("b0"),
                pl.col("next_idx").alias("b1"),
                pl.col("mrr").alias("m1"),
            ),
            on=ACCOUNT,
        )
        .select(
            *keys,
            pl.max_horizontal("lo", "b0").alias("lo"),
            pl.min_horizontal("hi", "b1").alias("hi"),
            "m1",
            pl.min_horizontal("m0", "m1").alias("cap"),
        )
        .filter(pl.col("lo") < pl.col("hi"))
    )

    def steps(frame: pl.LazyFrame, cols: dict[str, pl.Expr]) -> pl.LazyFrame:
        up = frame.select(
            *keys, pl.col("lo").alias("month_idx"), *[e.alias(n) for n, e in cols.items()]
        )
        down = frame.select(
            *keys, pl.col("hi").alias("month_idx"), *[(-e).alias(n) for n, e in cols.items()]
        )
        return pl.concat([up, down]).group_by(*keys, "month_idx").agg(pl.col(list(cols)).sum())

    base = steps(
        shifted,
        {"cohort_accounts": pl.lit(1, dtype=pl.Int64), "cohort_mrr_start": pl.col("m0")},
    )
    later = steps(pairs, {"cohort_mrr_end": pl.col("m1"), "cohort_mrr_capped": pl.col("cap")})
    grid = _month_spine(ds, as_of)
    if keys:
        grid = seg.select(*keys).unique().join(grid, how="cross")
    suffix = "_12m" if months == 12 else ""
    value_cols = ["cohort_accounts", "cohort_mrr_start", "cohort_mrr_end", "cohort_mrr_capped"]
    return (
        grid.join(base, on=[*keys, "month_idx"], how="left")
        .join(later, on=[*keys, "month_idx"], how="left")
        .with_columns(pl.col(value_cols).fill_null(0))
        .sort(*keys, "month_idx")
        .with_columns(_over(pl.col(value_cols).cum_sum(), keys))
        .with_columns(pl.col(value_cols[1:]).round(_DECIMALS))
        .filter(pl.col("cohort_accounts") > 0)
        .with_columns(
            _ratio(pl.col("cohort_mrr_end"), pl.col("cohort_mrr_start")).alias(
                f"nrr_trailing{suffix}"
            ),
            _ratio(pl.col("cohort_mrr_capped"), pl.col("cohort_mrr_start")).alias(
                f"grr_trailing{suffix}"
            ),
        )
        .collect()
    )


@memoised  # kpis, the report and its CSV export read it: computed once per month
def monthly_rates(ds: Dataset, as_of: dt.date | str, by: By = None) -> pl.DataFrame:
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
    keys = by_keys(by)
    bridge = mrr_bridge(ds, as_of, by=by)
    if isinstance(by, str) and by == "product":
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
    ds: Dataset, as_of: dt.date | str, cohort: str = "month", by: By = None
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
    seg = account_segments(ds, as_of).filter(pl.col("mrr") > 0)
    first = seg.group_by(ACCOUNT).agg(pl.col("idx").min().alias("s"))
    label = month_label_expr(pl.col("s")) if cohort == "month" else quarter_label_expr(pl.col("s"))
    first = _with_by(first.with_columns(label.alias("cohort")), ds, as_of, by)
    keys = by_keys(by)
    gk = [*keys, "cohort"]
    sizes = first.group_by(gk).agg(
        pl.len().alias("cohort_accounts"), pl.col("s").max().alias("last_s")
    )
    # each active segment adds (1 account, its MRR) to ages [idx - s, next_idx - s)
    spans = seg.join(first, on=ACCOUNT, how="inner").select(
        *gk,
        (pl.col("idx") - pl.col("s")).alias("lo"),
        (pl.col("next_idx") - pl.col("s")).alias("hi"),
        "mrr",
    )
    up = spans.select(*gk, pl.col("lo").alias("age"), pl.lit(1, pl.Int64).alias("n"), "mrr")
    down = spans.select(
        *gk, pl.col("hi").alias("age"), pl.lit(-1, pl.Int64).alias("n"), -pl.col("mrr")
    )
    deltas = pl.concat([up, down]).group_by(*gk, "age").agg(pl.col("n", "mrr").sum())
    ages = (
        sizes.select(*gk, "last_s")
        .with_columns(pl.int_ranges(0, a - pl.col("last_s") + 1, dtype=pl.Int32).alias("age"))
        .explode("age")
    )
    rows = (
        ages.join(deltas, on=[*gk, "age"], how="left")
        .with_columns(pl.col("n", "mrr").fill_null(0))
        .sort(*gk, "age")
        .with_columns(
            pl.col("n").cum_sum().over(gk).alias("active_accounts"),
            pl.col("mrr").cum_sum().over(gk).round(_DECIMALS).alias("mrr"),
        )
        .join(sizes.select(*gk, "cohort_accounts"), on=gk, how="left")
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


def mrr_by_month(ds: Dataset, as_of: dt.date | str, by: By = None) -> pl.DataFrame:
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
