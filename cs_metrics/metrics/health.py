"""Health score 0-100 with per-measure contributions and "why it changed" (SPEC §6).

Every account active in the month gets a score. Each configured measure (``[health.measures]``)
yields a raw *value*, *points* in 0..1 from its scoring rule, and a *contribution*
``100 x weight x points / total weight`` where the total weight leaves out the measures that do
not count for the account (missing under the ``reweight`` policy, or unavailable because their
table or column is absent from the dataset).

Rounding: contributions are reported in hundredths (2 decimals) by the largest-remainder
method: the unrounded contributions are floored to the hundredth, and the hundredths still
needed to reach the unrounded score rounded to 2 decimals go to the largest remainders (ties:
measure name). So the score is the unrounded score rounded to 2 decimals **and** exactly the sum
of the reported contributions (computed in integer hundredths). The band is read off that
reported score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cs_metrics.data.load import Dataset
from cs_metrics.metrics.revenue import ACCOUNT, active_accounts
from cs_metrics.periods import add_months, month_end, parse_month

BANDS = ("green", "yellow", "red")


@dataclass
class HealthResult:
    """Health of the accounts active in one month.

    ``scores``: one row per active account; ``details``: one row per account x measure;
    ``unavailable``: measure -> reason, for measures whose source table or column is absent (they
    count for nobody, whatever their missing-data policy).
    """

    scores: pl.DataFrame
    details: pl.DataFrame
    unavailable: dict[str, str] = field(default_factory=dict)


def complete_weeks(end: dt.date, weeks: int) -> tuple[dt.date, dt.date]:
    """First and last ``week_start`` of the ``weeks`` latest weeks that end (week_start + 6) on
    or before ``end``: ``(end - 6 - 7 x weeks + 1, end - 6)``, both inclusive. A week still
    running on ``end`` is left out (its row would hold a partial week)."""
    last = end - dt.timedelta(days=6)
    return last - dt.timedelta(days=7 * weeks - 1), last


def _usage_column_available(ds: Dataset, col: str, end: dt.date) -> str | None:
    """None when ``usage_weekly.<col>`` has a value dated by ``end``, else the reason."""
    if not ds.has("usage_weekly"):
        return "no usage_weekly table"
    u = ds["usage_weekly"]
    if col not in u.collect_schema().names():
        return f"no column usage_weekly.{col}"
    n = u.filter((pl.col("week_start") <= end) & pl.col(col).is_not_null()).select(pl.len())
    if n.collect().item() == 0:
        return f"usage_weekly.{col} has no values"
    return None


def measure_values(
    ds: Dataset, as_of: dt.date | str, accounts: pl.LazyFrame
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Raw value of every configured measure for ``accounts`` (long format; null = missing).

    - ``usage_weekly.<col>``: over the last N = ``health.usage_window_weeks`` *complete* weeks
      (see :func:`complete_weeks`: week_start in ``[E - 6 - 7N + 1, E - 6]``, E = as_of's last
      day, so each week ended by E and any weekly series has exactly N weeks there). With
      ``aggregate = "mean"``: the mean of the account's rows there; with ``"sum_per_week"``:
      their sum / N (a week without a row counts as 0). No row there: missing.
    - ``touchpoints``: the number of touchpoints with ``occurred_on`` in the
      ``health.touchpoint_window_days`` days ending at as_of's last day (0 when the table exists
      and the account has none: never missing).

    Returns
    -------
    (DataFrame, dict)
        ``account_id, measure, value, available``, and measure -> reason for unavailable
        measures (``available`` False: the source table or column is absent or empty).
    """
    cfg = ds.config["health"]
    end = month_end(parse_month(as_of))
    weeks = int(cfg["usage_window_weeks"])
    usage_start, usage_last = complete_weeks(end, weeks)
    tp_start = end - dt.timedelta(days=int(cfg["touchpoint_window_days"]) - 1)
    ids = accounts.select(ACCOUNT)
    parts: list[pl.LazyFrame] = []
    unavailable: dict[str, str] = {}
    for name, m in cfg["measures"].items():  # one expression per configured measure
        src = m["source"]
        value: pl.LazyFrame | None = None
        if src == "touchpoints":
            if ds.has("touchpoints"):
                counts = (
                    ds["touchpoints"]
                    .filter(pl.col("occurred_on").is_between(tp_start, end))
                    .group_by(ACCOUNT)
                    .agg(pl.len().cast(pl.Float64).alias("value"))
                )
                value = ids.join(counts, on=ACCOUNT, how="left").with_columns(
                    pl.col("value").fill_null(0.0)
                )
            else:
                unavailable[name] = "no touchpoints table"
        else:
            col = src.split(".", 1)[1]
            why = _usage_column_available(ds, col, end)
            if why is None:
                x = pl.col(col).cast(pl.Float64)
                agg = x.mean() if m.get("aggregate", "mean") == "mean" else x.sum() / weeks
                means = (
                    ds["usage_weekly"]
                    .filter(pl.col("week_start").is_between(usage_start, usage_last))
                    .group_by(ACCOUNT)
                    .agg(agg.alias("value"), x.is_not_null().sum().alias("_rows"))
                    .filter(pl.col("_rows") > 0)
                    .drop("_rows")
                )
                value = ids.join(means, on=ACCOUNT, how="left")
            else:
                unavailable[name] = why
        if value is None:
            part = ids.with_columns(
                pl.lit(None, pl.Float64).alias("value"), pl.lit(False).alias("available")
            )
        else:
            part = value.with_columns(pl.lit(True).alias("available"))
        parts.append(part.select(ACCOUNT, pl.lit(name).alias("measure"), "value", "available"))
    return pl.concat(parts).collect(), unavailable


def points_expr(m: dict[str, Any]) -> pl.Expr:
    """Points 0..1 of one measure from its ``value`` column (evaluate over one measure's rows).

    ``thresholds`` with direction ``higher``: the share of thresholds t with ``value >= t``
    (a value equal to a threshold reaches it); direction ``lower``: the share with
    ``value <= t``. ``percentile``: ``(rank - 1) / (n - 1)`` over the non-missing values of the
    rows evaluated together (all active accounts of the month), ties sharing their average
    rank, 0.5 when n = 1; ``1 -`` that for direction ``lower``. Missing values give null.
    """
    x = pl.col("value")
    if m["rule"] == "thresholds":
        th = [float(t) for t in m["thresholds"]]
        cmp = (lambda t: x >= t) if m["direction"] == "higher" else (lambda t: x <= t)
        pts = pl.sum_horizontal([cmp(t).cast(pl.Int32) for t in th]) / len(th)
    else:
        n = x.is_not_null().sum()
        pct = pl.when(n > 1).then((x.rank("average") - 1) / (n - 1)).otherwise(0.5)
        pts = pct if m["direction"] == "higher" else 1 - pct
    return pl.when(x.is_null()).then(None).otherwise(pts).cast(pl.Float64)


def _points(values: pl.DataFrame, measures: dict[str, dict[str, Any]]) -> pl.DataFrame:
    # `points_expr` is per measure (the percentile ranks among that measure's values only), so
    # each measure's rows get their own expression: a loop over configured measures, not accounts.
    expr = pl.lit(None, pl.Float64)
    for name, m in reversed(list(measures.items())):
        expr = (
            pl.when(pl.col("measure") == name).then(points_expr(m).over("measure")).otherwise(expr)
        )
    return values.with_columns(
        expr.alias("points"),
        pl.col("measure")
        .replace_strict(
            {k: float(m["weight"]) for k, m in measures.items()}, return_dtype=pl.Float64
        )
        .alias("weight"),
        pl.col("measure")
        .replace_strict({k: m["missing"] for k, m in measures.items()}, return_dtype=pl.String)
        .alias("missing_policy"),
    )


def band_expr(score: pl.Expr, cfg: dict[str, Any]) -> pl.Expr:
    """``green`` when ``score >= band_green``, ``yellow`` when ``score >= band_yellow``, else
    ``red``: lower edges inclusive (a score exactly on an edge takes the better band)."""
    return (
        pl.when(score >= cfg["band_green"])
        .then(pl.lit("green"))
        .when(score >= cfg["band_yellow"])
        .then(pl.lit("yellow"))
        .otherwise(pl.lit("red"))
    )


def apportion_hundredths(value: str, key: str) -> pl.Expr:
    """Integer hundredths of ``value`` per row whose sum per ``key`` equals
    ``round(sum(value) * 100)`` (largest-remainder method; ties by row order)."""
    raw = pl.col(value) * 100
    floor = (raw + 1e-9).floor()
    target = raw.sum().over(key).round(0)
    deficit = target - floor.sum().over(key)
    rank = (raw - floor).rank("ordinal", descending=True).over(key)
    return (floor + (rank <= deficit).cast(pl.Float64)).cast(pl.Int64)


def health_scores(ds: Dataset, as_of: dt.date | str) -> HealthResult:
    """Health score, band and per-measure contributions of every account active at ``as_of``.

    Parameters
    ----------
    ds : Dataset
        Needs ``subscriptions`` (who is active); uses ``usage_weekly`` and ``touchpoints`` when
        present. Only rows dated on or before as_of's last day are used.
    as_of : date or "YYYY-MM"

    Notes
    -----
    A measure *counts* for an account when it has a value, or when it is missing under the
    ``zero`` policy (0 points); a missing measure under ``reweight`` and an unavailable measure
    (source absent) do not count, and the weights of the counting measures are renormalised.
    An account for which nothing counts scores 0 with ``no_data`` True (band red). Bands:
    ``score >= band_green`` green, ``>= band_yellow`` yellow, else red (lower edges inclusive).

    Returns
    -------
    HealthResult
        ``scores``: ``account_id, mrr, score, band, no_data``; ``details``: ``account_id,
        measure, value, points, weight, contribution, missing`` (``contribution`` in score
        points, 2 decimals, summing exactly to ``score``; ``missing`` True when the measure
        did not have a value for the account).
    """
    cfg = ds.config["health"]
    accounts = active_accounts(ds, as_of)
    vals, unavailable = measure_values(ds, as_of, accounts)
    pts = _points(vals, cfg["measures"])
    counted = pl.col("available") & (
        pl.col("points").is_not_null() | (pl.col("missing_policy") == "zero")
    )
    details = (
        pts.with_columns(counted.alias("counted"))
        .with_columns(
            pl.col("weight").filter(pl.col("counted")).sum().over(ACCOUNT).alias("total_weight")
        )
        .with_columns(
            pl.when(pl.col("counted") & (pl.col("total_weight") > 0))
            .then(100 * pl.col("weight") * pl.col("points").fill_null(0.0) / pl.col("total_weight"))
            .otherwise(0.0)
            .alias("raw_contribution"),
            pl.col("points").is_null().alias("missing"),
        )
        .sort(ACCOUNT, "measure")
        .with_columns(
            apportion_hundredths("raw_contribution", ACCOUNT).alias("hundredths"),
        )
    )
    scores = (
        details.group_by(ACCOUNT)
        .agg(
            # (x / 100).round(2): the nearest double to the hundredths (polars may divide by
            # multiplying with 0.01, which leaves 47.730000000000004 for 4773)
            (pl.col("hundredths").sum() / 100).round(2).alias("score"),
            (~pl.col("counted")).all().alias("no_data"),
        )
        .join(accounts.select(ACCOUNT, "mrr").collect(), on=ACCOUNT, how="right")
        .with_columns(pl.col("score").fill_null(0.0), pl.col("no_data").fill_null(True))
        .with_columns(band_expr(pl.col("score"), cfg).alias("band"))
        .select(ACCOUNT, "mrr", "score", "band", "no_data")
        .sort(ACCOUNT)
    )
    details = details.with_columns(
        (pl.col("hundredths") / 100).round(2).alias("contribution")
    ).select(ACCOUNT, "measure", "value", "points", "weight", "contribution", "missing")
    return HealthResult(scores, details, unavailable)


def health_with_change(ds: Dataset, as_of: dt.date | str, top: int = 2) -> pl.DataFrame:
    """This month's health with the change from the previous month and why it moved.

    ``previous_score`` = the score in the month before (each month point in time: only rows
    dated by that month's last day); null when the account was not active then. ``delta`` =
    score - previous_score. ``top_movers`` = up to ``top`` measures whose contribution changed
    most (largest absolute change first, ties by measure name; unchanged measures left out),
    each ``{"measure", "change"}``; their changes plus the others' add up to ``delta``.

    Returns
    -------
    DataFrame
        ``account_id, mrr, score, band, no_data, contributions (struct measure -> score
        points), values (struct measure -> raw value), points (struct measure -> points 0..1),
        previous_score, delta, top_movers (list of struct)``.
    """
    m = parse_month(as_of)
    now = health_scores(ds, m)
    prev = health_scores(ds, add_months(m, -1))
    measures = list(ds.config["health"]["measures"])
    wide = {"contribution": "contributions", "value": "values", "points": "points"}
    contrib = now.scores.select(ACCOUNT)
    for col, name in wide.items():  # three columns of per-measure structs
        part = (
            now.details.pivot(
                on="measure", index=ACCOUNT, values=col, aggregate_function="first"
            ).select(ACCOUNT, pl.struct(measures).alias(name))
            if now.details.height
            else pl.DataFrame(schema={ACCOUNT: pl.String, name: pl.Struct({})})
        )
        contrib = contrib.join(part, on=ACCOUNT, how="left")
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
    prev_scores = prev.scores.select(ACCOUNT, pl.col("score").alias("previous_score"))
    return (
        now.scores.join(contrib, on=ACCOUNT, how="left")
        .join(prev_scores, on=ACCOUNT, how="left")
        .with_columns((pl.col("score") - pl.col("previous_score")).round(2).alias("delta"))
        .join(moves, on=ACCOUNT, how="left")
        .with_columns(
            pl.when(pl.col("previous_score").is_not_null())
            .then(pl.col("top_movers").fill_null(pl.lit([], dtype=moves.schema["top_movers"])))
            .alias("top_movers")
        )
        .sort(ACCOUNT)
    )
