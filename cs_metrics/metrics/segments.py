"""Attribute score (fixed) and the S/A/B/C segment from attribute tier x health band (SPEC §6)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from cs_metrics.data.dataset import Dataset, memoised
from cs_metrics.metrics.health import health_scores
from cs_metrics.metrics.revenue import ACCOUNT, active_accounts, as_of_index
from cs_metrics.periods import add_months, month_end, parse_month


def renewal_due_lines(ds: Dataset, as_of: dt.date | str, months: int) -> pl.LazyFrame:
    """Subscription lines of active accounts ending between as_of's last day and ``months``
    months later (the last day of month as_of + months), both inclusive.

    Returns
    -------
    LazyFrame
        ``account_id, subscription_id, product, end_date, mrr``.
    """
    m = parse_month(as_of)
    lo, hi = month_end(m), month_end(add_months(m, months))
    act = active_accounts(ds, m).select(ACCOUNT)
    return (
        ds.subscriptions.filter(
            pl.col("end_date").is_between(lo, hi)
            & (pl.col("start_date") <= lo)
            & (pl.col("mrr") > 0)
        )
        .join(act, on=ACCOUNT, how="semi")
        .select(ACCOUNT, "subscription_id", "product", "end_date", "mrr")
    )


def attribute_scores(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame:
    """Attribute score of every active account: contract size + industry effort + phase.

    - size: 1 below ``attributes.mrr_band_edges[0]``, 2 from it, 3 from the second edge
      (lower edges inclusive);
    - effort: ``high_effort_points`` for ``high_effort_industries`` (金融, 医療 by default);
    - phase by months since the first active month: ``onboarding`` (< onboarding_months),
      ``adoption`` (< adoption_months), ``mature``; ``renewal_due`` overrides when a line ends
      within ``renewal_due_months`` (see :func:`renewal_due_lines`); each phase has its points;
    - tier: ``high`` when the total >= ``tier_high``, ``mid`` when >= ``tier_mid``, else ``low``.

    Returns
    -------
    DataFrame
        ``account_id, mrr, industry, csm, size_points, effort_points, phase, phase_points,
        attribute_score, attribute_tier``.
    """
    cfg = ds.config["attributes"]
    a = as_of_index(as_of)
    e1, e2 = (float(x) for x in cfg["mrr_band_edges"])
    due = renewal_due_lines(ds, as_of, int(cfg["renewal_due_months"])).select(ACCOUNT).unique()
    tenure = pl.lit(a) - pl.col("first_month_idx")
    phase = (
        pl.when(pl.col("renewal_due"))
        .then(pl.lit("renewal_due"))
        .when(tenure < cfg["onboarding_months"])
        .then(pl.lit("onboarding"))
        .when(tenure < cfg["adoption_months"])
        .then(pl.lit("adoption"))
        .otherwise(pl.lit("mature"))
    )
    phase_points = pl.col("phase").replace_strict(
        {p: int(cfg[f"{p}_points"]) for p in ("onboarding", "adoption", "mature", "renewal_due")},
        return_dtype=pl.Int64,
    )
    df = (
        active_accounts(ds, as_of)
        .join(ds.accounts.select(ACCOUNT, "industry", "csm"), on=ACCOUNT, how="left")
        .join(due.with_columns(pl.lit(True).alias("renewal_due")), on=ACCOUNT, how="left")
        .with_columns(pl.col("renewal_due").fill_null(False))
        .with_columns(
            (1 + (pl.col("mrr") >= e1).cast(pl.Int64) + (pl.col("mrr") >= e2).cast(pl.Int64)).alias(
                "size_points"
            ),
            pl.when(pl.col("industry").is_in(cfg["high_effort_industries"]))
            .then(int(cfg["high_effort_points"]))
            .otherwise(0)
            .cast(pl.Int64)
            .alias("effort_points"),
            phase.alias("phase"),
        )
        .with_columns(phase_points.alias("phase_points"))
        .with_columns(
            (pl.col("size_points") + pl.col("effort_points") + pl.col("phase_points")).alias(
                "attribute_score"
            )
        )
        .with_columns(
            pl.when(pl.col("attribute_score") >= cfg["tier_high"])
            .then(pl.lit("high"))
            .when(pl.col("attribute_score") >= cfg["tier_mid"])
            .then(pl.lit("mid"))
            .otherwise(pl.lit("low"))
            .alias("attribute_tier")
        )
    )
    return (
        df.select(
            ACCOUNT,
            "mrr",
            "industry",
            "csm",
            "size_points",
            "effort_points",
            "phase",
            "phase_points",
            "attribute_score",
            "attribute_tier",
        )
        .sort(ACCOUNT)
        .collect()
    )


@memoised
def segments(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame:
    """S/A/B/C segment of every active account = ``[segments][attribute_tier][health band]``.

    Returns
    -------
    DataFrame
        The columns of :func:`attribute_scores` plus ``score, band, segment``.
    """
    matrix = ds.config["segments"]
    attrs = attribute_scores(ds, as_of)
    health = health_scores(ds, as_of).scores.select(ACCOUNT, "score", "band")
    mapping = {f"{tier}|{band}": seg for tier, row in matrix.items() for band, seg in row.items()}
    return (
        attrs.join(health, on=ACCOUNT, how="left")
        .with_columns(
            pl.concat_str([pl.col("attribute_tier"), pl.lit("|"), pl.col("band")])
            .replace_strict(mapping, return_dtype=pl.String)
            .alias("segment")
        )
        .sort(ACCOUNT)
    )


def segment_frame(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame:
    """``[account_id, segment]``: pass it as ``by=`` to any revenue metric."""
    return segments(ds, as_of).select(ACCOUNT, "segment")


def segments_by_csm(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame:
    """Accounts and MRR per CSM x segment.

    Returns
    -------
    DataFrame
        ``csm, segment, accounts, mrr``.
    """
    return (
        segments(ds, as_of)
        .with_columns(pl.col("csm").fill_null("(未設定)"))
        .group_by("csm", "segment")
        .agg(pl.len().alias("accounts"), pl.col("mrr").sum().alias("mrr"))
        .sort("csm", "segment")
    )
