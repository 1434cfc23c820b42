"""Attribute score (fixed) and the S/A/B/C segment from attribute tier x health band (SPEC §6).

Every function has a range form (``*_history``, ``*_grid``: one row per account and month, each
month as of its own last day) and a one-month form that is the range form with one month.
"""

from __future__ import annotations

__all__ = [
    "account_month_grid",
    "attribute_history",
    "attribute_scores",
    "renewal_due_grid",
    "renewal_due_lines",
    "segment_frame",
    "segments",
    "segments_by_csm",
    "segments_history",
]

import polars as pl

from cs_metrics.data.dataset import Dataset, memoised
from cs_metrics.metrics.health import HealthResult, active_grid, health_history
from cs_metrics.metrics.revenue import ACCOUNT, UNSET, account_segments
from cs_metrics.periods import MonthLike, index_to_month_expr


def account_month_grid(ds: Dataset, as_of: MonthLike, months: int = 1) -> pl.LazyFrame:
    """Accounts active at the end of each of the ``months`` months ending at ``as_of``.

    Returns
    -------
    LazyFrame
        ``account_id, month_idx (Int32), month_end (Date), mrr, first_month_idx`` (the
        account's first active month ever; known at the month, as it lies before it).
    """
    first = (
        account_segments(ds, as_of)
        .filter(pl.col("mrr") > 0)
        .group_by(ACCOUNT)
        .agg(pl.col("idx").min().alias("first_month_idx"))
    )
    return (
        active_grid(ds, as_of, months)
        .join(first, on=ACCOUNT, how="left")
        .with_columns(index_to_month_expr(pl.col("month_idx")).dt.month_end().alias("month_end"))
        .select(ACCOUNT, "month_idx", "month_end", "mrr", "first_month_idx")
    )


def renewal_due_grid(ds: Dataset, grid: pl.LazyFrame, months: int) -> pl.LazyFrame:
    """Paid subscription lines ending between each grid month's last day E and the last day of
    the month ``months`` later, both inclusive, that started by E.

    Parameters
    ----------
    grid : LazyFrame
        ``account_id, month_idx, month_end`` (see :func:`account_month_grid`): active accounts.

    Returns
    -------
    LazyFrame
        ``account_id, month_idx, subscription_id, product, end_date, mrr``.
    """
    lines = ds.subscriptions.filter((pl.col("mrr") > 0) & pl.col("end_date").is_not_null()).select(
        ACCOUNT, "subscription_id", "product", "start_date", "end_date", "mrr"
    )
    hi = index_to_month_expr(pl.col("month_idx") + months).dt.month_end()
    return (
        grid.select(ACCOUNT, "month_idx", "month_end")
        .join(lines, on=ACCOUNT, how="inner")
        .filter(
            pl.col("end_date").is_between(pl.col("month_end"), hi)
            & (pl.col("start_date") <= pl.col("month_end"))
        )
        .select(ACCOUNT, "month_idx", "subscription_id", "product", "end_date", "mrr")
    )


def renewal_due_lines(ds: Dataset, as_of: MonthLike, months: int) -> pl.LazyFrame:
    """Subscription lines of active accounts ending between as_of's last day and ``months``
    months later (the last day of month as_of + months), both inclusive: the one-month case of
    :func:`renewal_due_grid`.

    Returns
    -------
    LazyFrame
        ``account_id, subscription_id, product, end_date, mrr``.
    """
    return renewal_due_grid(ds, account_month_grid(ds, as_of), months).drop("month_idx")


_ATTRIBUTE_COLUMNS = [
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
]


def attribute_history(ds: Dataset, grid: pl.LazyFrame) -> pl.LazyFrame:
    """Attribute score of every (account, month) of ``grid`` (see :func:`attribute_scores` for
    the definition; each month as of its own last day).

    Parameters
    ----------
    grid : LazyFrame
        :func:`account_month_grid`.

    Returns
    -------
    LazyFrame
        ``month_idx`` and the columns of :func:`attribute_scores`.
    """
    cfg = ds.config["attributes"]
    e1, e2 = (float(x) for x in cfg["mrr_band_edges"])
    due = (
        renewal_due_grid(ds, grid, int(cfg["renewal_due_months"]))
        .select(ACCOUNT, "month_idx")
        .unique()
        .with_columns(pl.lit(True).alias("renewal_due"))
    )
    tenure = pl.col("month_idx") - pl.col("first_month_idx")
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
    size = 1 + (pl.col("mrr") >= e1).cast(pl.Int64) + (pl.col("mrr") >= e2).cast(pl.Int64)
    effort = (
        pl.when(pl.col("industry").is_in(cfg["high_effort_industries"]))
        .then(int(cfg["high_effort_points"]))
        .otherwise(0)
        .cast(pl.Int64)
    )
    score = pl.col("size_points") + pl.col("effort_points") + pl.col("phase_points")
    tier = (
        pl.when(pl.col("attribute_score") >= cfg["tier_high"])
        .then(pl.lit("high"))
        .when(pl.col("attribute_score") >= cfg["tier_mid"])
        .then(pl.lit("mid"))
        .otherwise(pl.lit("low"))
    )
    return (
        grid.select(ACCOUNT, "month_idx", "mrr", "first_month_idx")
        .join(ds.accounts.select(ACCOUNT, "industry", "csm"), on=ACCOUNT, how="left")
        .join(due, on=[ACCOUNT, "month_idx"], how="left")
        .with_columns(pl.col("renewal_due").fill_null(False))
        .with_columns(
            size.alias("size_points"), effort.alias("effort_points"), phase.alias("phase")
        )
        .with_columns(phase_points.alias("phase_points"))
        .with_columns(score.alias("attribute_score"))
        .with_columns(tier.alias("attribute_tier"))
        .select("month_idx", *_ATTRIBUTE_COLUMNS)
    )


def attribute_scores(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """Attribute score of every active account: contract size + industry effort + phase.

    - size: 1 below ``attributes.mrr_band_edges[0]``, 2 from it, 3 from the second edge
      (lower edges inclusive);
    - effort: ``high_effort_points`` for ``high_effort_industries`` (金融, 医療 by default);
    - phase by months since the first active month: ``onboarding`` (< onboarding_months),
      ``adoption`` (< adoption_months), ``mature``; ``renewal_due`` overrides when a line ends
      within ``renewal_due_months`` (see :func:`renewal_due_lines`); each phase has its points;
    - tier: ``high`` when the total >= ``tier_high``, ``mid`` when >= ``tier_mid``, else ``low``.

    The one-month case of :func:`attribute_history`.

    Returns
    -------
    DataFrame
        ``account_id, mrr, industry, csm, size_points, effort_points, phase, phase_points,
        attribute_score, attribute_tier``.
    """
    grid = account_month_grid(ds, as_of)
    return attribute_history(ds, grid).drop("month_idx").sort(ACCOUNT).collect()


def segments_history(
    ds: Dataset, as_of: MonthLike, months: int = 1, health: HealthResult | None = None
) -> pl.DataFrame:
    """S/A/B/C segment of every account active in each of the ``months`` months ending at
    ``as_of`` = ``[segments][attribute_tier][health band]``, each month as of its own last day.

    Parameters
    ----------
    health : HealthResult, optional
        :func:`cs_metrics.metrics.health.health_history` of the same months, when the caller
        already has it (computed here otherwise).

    Returns
    -------
    DataFrame
        ``month_idx``, the columns of :func:`attribute_scores`, ``score, band, segment``.
    """
    matrix = ds.config["segments"]
    attrs = attribute_history(ds, account_month_grid(ds, as_of, months))
    h = health if health is not None else health_history(ds, as_of, months)
    scores = h.scores.lazy().select(ACCOUNT, "month_idx", "score", "band")
    mapping = {f"{tier}|{band}": seg for tier, row in matrix.items() for band, seg in row.items()}
    return (
        attrs.join(scores, on=[ACCOUNT, "month_idx"], how="left")
        .with_columns(
            pl.concat_str([pl.col("attribute_tier"), pl.lit("|"), pl.col("band")])
            .replace_strict(mapping, return_dtype=pl.String)
            .alias("segment")
        )
        .sort(ACCOUNT, "month_idx")
        .collect()
    )


@memoised
def segments(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """S/A/B/C segment of every active account = ``[segments][attribute_tier][health band]``
    (the one-month case of :func:`segments_history`).

    Returns
    -------
    DataFrame
        The columns of :func:`attribute_scores` plus ``score, band, segment``.
    """
    return segments_history(ds, as_of).drop("month_idx")


def segment_frame(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """``[account_id, segment]``: pass it as ``by=`` to any revenue metric."""
    return segments(ds, as_of).select(ACCOUNT, "segment")


def segments_by_csm(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """Accounts and MRR per CSM x segment.

    Returns
    -------
    DataFrame
        ``csm, segment, accounts, mrr``.
    """
    return (
        segments(ds, as_of)
        .with_columns(pl.col("csm").fill_null(UNSET))
        .group_by("csm", "segment")
        .agg(pl.len().alias("accounts"), pl.col("mrr").sum().alias("mrr"))
        .sort("csm", "segment")
    )
