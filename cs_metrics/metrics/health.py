"""Health score 0-100 with per-measure contributions and "why it changed" (SPEC §6).

Every active account of the month gets a score. Each configured measure (``[health.measures]``)
yields a raw value, *points* in 0..1 from its rule, and a *contribution*
``100 x weight x points / total weight`` where the total weight leaves out measures that are
missing for the account under the ``reweight`` policy. Contributions are rounded to 2 decimals
and the score is their sum, so the contributions always add up to the score exactly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import polars as pl

from cs_metrics.data.load import Dataset
from cs_metrics.metrics.revenue import ACCOUNT, active_accounts
from cs_metrics.periods import add_months, month_end, parse_month


@dataclass
class HealthResult:
    """``scores``: one row per active account; ``details``: one row per account x measure."""

    scores: pl.DataFrame
    details: pl.DataFrame


def measure_values(ds: Dataset, as_of: dt.date | str, accounts: pl.LazyFrame) -> pl.DataFrame:
    """Raw value of every configured measure for ``accounts`` (long; null = missing).

    ``usage_weekly.<col>``: the mean of ``<col>`` over the account's weekly rows with
    ``week_start`` in the ``health.usage_window_weeks`` weeks ending at as_of's last day.
    ``touchpoints``: the number of touchpoints in the ``health.touchpoint_window_days`` days
    ending at as_of's last day (0 when the table exists and the account has none).

    Returns
    -------
    DataFrame
        ``account_id, measure, value, available`` (``available`` False when the source table
        or column is absent: the measure is then missing for everyone).
    """
    cfg = ds.config["health"]
    end = month_end(parse_month(as_of))
    usage_start = end - dt.timedelta(days=7 * int(cfg["usage_window_weeks"]) - 1)
    tp_start = end - dt.timedelta(days=int(cfg["touchpoint_window_days"]) - 1)
    ids = accounts.select(ACCOUNT)
    parts = []
    for name, m in cfg["measures"].items():
        src = m["source"]
        value: pl.LazyFrame | None = None
        if src == "touchpoints" and ds.has("touchpoints"):
            counts = (
                ds["touchpoints"]
                .filter(pl.col("occurred_on").is_between(tp_start, end))
                .group_by(ACCOUNT)
                .agg(pl.len().cast(pl.Float64).alias("value"))
            )
            value = ids.join(counts, on=ACCOUNT, how="left").with_columns(
                pl.col("value").fill_null(0.0)
            )
        elif src.startswith("usage_weekly.") and ds.has("usage_weekly"):
            col = src.split(".", 1)[1]
            if col in ds["usage_weekly"].collect_schema().names():
                means = (
                    ds["usage_weekly"]
                    .filter(pl.col("week_start").is_between(usage_start, end))
                    .group_by(ACCOUNT)
                    .agg(pl.col(col).cast(pl.Float64).mean().alias("value"))
                )
                value = ids.join(means, on=ACCOUNT, how="left")
        if value is None:
            part = ids.with_columns(
                pl.lit(None, pl.Float64).alias("value"), pl.lit(False).alias("available")
            )
        else:
            part = value.with_columns(pl.lit(True).alias("available"))
        parts.append(part.select(ACCOUNT, pl.lit(name).alias("measure"), "value", "available"))
    return pl.concat(parts).collect()


def _points(values: pl.DataFrame, measures: dict[str, dict[str, Any]]) -> pl.DataFrame:
    out = []
    for name, m in measures.items():
        v = values.filter(pl.col("measure") == name)
        x = pl.col("value")
        if m["rule"] == "thresholds":
            th = [float(t) for t in m["thresholds"]]
            if m["direction"] == "higher":
                reached = pl.sum_horizontal([(x >= t).cast(pl.Int32) for t in th])
            else:
                reached = pl.sum_horizontal([(x <= t).cast(pl.Int32) for t in th])
            pts = reached / len(th)
        else:
            n = x.is_not_null().sum()
            rank = x.rank("average")
            pct = pl.when(n > 1).then((rank - 1) / (n - 1)).otherwise(0.5)
            pts = pct if m["direction"] == "higher" else 1 - pct
        out.append(
            v.with_columns(
                pl.when(x.is_null()).then(None).otherwise(pts).cast(pl.Float64).alias("points"),
                pl.lit(float(m["weight"])).alias("weight"),
                pl.lit(m["missing"]).alias("missing_policy"),
            )
        )
    return pl.concat(out)


def _band(score: pl.Expr, cfg: dict[str, Any]) -> pl.Expr:
    return (
        pl.when(score >= cfg["band_green"])
        .then(pl.lit("green"))
        .when(score >= cfg["band_yellow"])
        .then(pl.lit("yellow"))
        .otherwise(pl.lit("red"))
    )


def health_scores(ds: Dataset, as_of: dt.date | str) -> HealthResult:
    """Health score, band and per-measure contributions of every account active at ``as_of``.

    Definitions: see the module docstring and ``[health]`` in the default configuration. Bands:
    ``score >= band_green`` green, ``>= band_yellow`` yellow, else red (lower edges inclusive).
    An account with every measure missing (under ``reweight``) scores 0 with ``no_data`` True.

    Returns
    -------
    HealthResult
        ``scores``: ``account_id, mrr, score, band, no_data``; ``details``: ``account_id,
        measure, value, points, weight, contribution, missing``.
    """
    cfg = ds.config["health"]
    accounts = active_accounts(ds, as_of)
    vals = measure_values(ds, as_of, accounts)
    pts = _points(vals, cfg["measures"])
    counted = pl.col("points").is_not_null() | (pl.col("missing_policy") == "zero")
    details = (
        pts.with_columns(counted.alias("counted"))
        .with_columns(
            pl.col("weight").filter(pl.col("counted")).sum().over(ACCOUNT).alias("total_weight")
        )
        .with_columns(
            pl.when(pl.col("counted") & (pl.col("total_weight") > 0))
            .then(100 * pl.col("weight") * pl.col("points").fill_null(0.0) / pl.col("total_weight"))
            .otherwise(0.0)
            .round(2)
            .alias("contribution"),
            pl.col("points").is_null().alias("missing"),
        )
        .select(ACCOUNT, "measure", "value", "points", "weight", "contribution", "missing")
        .sort(ACCOUNT, "measure")
    )
    scores = (
        details.group_by(ACCOUNT)
        .agg(
            pl.col("contribution").sum().round(2).alias("score"),
            pl.col("missing").all().alias("no_data"),
        )
        .join(accounts.select(ACCOUNT, "mrr").collect(), on=ACCOUNT, how="right")
        .with_columns(pl.col("score").fill_null(0.0), pl.col("no_data").fill_null(True))
        .with_columns(_band(pl.col("score"), cfg).alias("band"))
        .select(ACCOUNT, "mrr", "score", "band", "no_data")
        .sort(ACCOUNT)
    )
    return HealthResult(scores, details)


def health_with_change(ds: Dataset, as_of: dt.date | str, top: int = 2) -> pl.DataFrame:
    """This month's health with the change from the previous month and why it moved.

    ``delta`` = score now - score in the previous month (null when the account was not active
    then); ``top_movers`` = the measures whose contribution changed most (by absolute change),
    each as ``{"measure", "change"}``.

    Returns
    -------
    DataFrame
        ``account_id, mrr, score, band, no_data, contributions (struct measure -> points),
        previous_score, delta, top_movers (list of struct)``.
    """
    m = parse_month(as_of)
    now = health_scores(ds, m)
    prev = health_scores(ds, add_months(m, -1))
    contrib = now.details.pivot(
        on="measure", index=ACCOUNT, values="contribution", aggregate_function="first"
    )
    measures = [c for c in contrib.columns if c != ACCOUNT]
    contrib = contrib.select(ACCOUNT, pl.struct(measures).alias("contributions"))
    moves = (
        now.details.select(ACCOUNT, "measure", "contribution")
        .join(
            prev.details.select(ACCOUNT, "measure", pl.col("contribution").alias("before")),
            on=[ACCOUNT, "measure"],
            how="inner",
        )
        .with_columns((pl.col("contribution") - pl.col("before")).round(2).alias("change"))
        .filter(pl.col("change") != 0)
        .sort(ACCOUNT, pl.col("change").abs(), "measure", descending=[False, True, False])
        .group_by(ACCOUNT, maintain_order=True)
        .agg(pl.struct("measure", "change").head(top).alias("top_movers"))
    )
    return (
        now.scores.join(contrib, on=ACCOUNT, how="left")
        .join(
            prev.scores.select(ACCOUNT, pl.col("score").alias("previous_score")),
            on=ACCOUNT,
            how="left",
        )
        .with_columns((pl.col("score") - pl.col("previous_score")).round(2).alias("delta"))
        .join(moves, on=ACCOUNT, how="left")
        .sort(ACCOUNT)
    )
