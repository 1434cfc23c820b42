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

from cs_metrics.data.dataset import Dataset
from cs_metrics.metrics.revenue import ACCOUNT, account_segments
from cs_metrics.metrics.windows import rows_in_windows
from cs_metrics.periods import Month, MonthLike, index_to_month_expr

__all__ = [
    "BANDS",
    "HealthResult",
    "active_grid",
    "apportion_hundredths",
    "band_expr",
    "health_history",
    "health_scores",
    "health_with_change",
    "measure_values",
    "points_expr",
]

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


def active_grid(ds: Dataset, as_of: MonthLike, months: int = 1) -> pl.LazyFrame:
    """Accounts active (MRR > 0 on the month's last day) in each of the ``months`` months ending
    at ``as_of``.

    Returns
    -------
    LazyFrame
        ``account_id, month_idx (Int32), mrr``.
    """
    m = Month.parse(as_of)
    a = m.index
    spine = pl.LazyFrame(
        {"month_idx": pl.int_range(a - months + 1, a + 1, eager=True, dtype=pl.Int32)}
    )
    return (
        account_segments(ds, m)
        .filter(pl.col("mrr") > 0)
        .join_where(
            spine,
            pl.col("idx") <= pl.col("month_idx"),
            pl.col("next_idx") > pl.col("month_idx"),
        )
        .select(ACCOUNT, pl.col("month_idx").cast(pl.Int32), "mrr")
    )


def _end_expr() -> pl.Expr:
    """Last day (Date) of the month ``month_idx``."""
    return index_to_month_expr(pl.col("month_idx")).dt.month_end()


def _first_value_date(ds: Dataset, col: str) -> dt.date | None:
    """Earliest ``week_start`` with a value in ``usage_weekly.<col>`` (None: never)."""
    u = ds["usage_weekly"]
    return u.filter(pl.col(col).is_not_null()).select(pl.col("week_start").min()).collect().item()


def _touchpoint_counts(
    ds: Dataset, keys: pl.LazyFrame, days: int, months: tuple[int, int]
) -> pl.LazyFrame:
    """Touchpoints in the ``days`` days ending at each key's month end (0 when none)."""
    tps = ds["touchpoints"].select(ACCOUNT, "occurred_on")
    counts = (
        rows_in_windows(tps, keys, "occurred_on", days, months=months)
        .group_by(ACCOUNT, "month_idx")
        .agg(pl.len().cast(pl.Float64).alias("value"))
    )
    return keys.join(counts, on=[ACCOUNT, "month_idx"], how="left").with_columns(
        pl.col("value").fill_null(0.0)
    )


def _usage_values(
    ds: Dataset,
    keys: pl.LazyFrame,
    measures: dict[str, tuple[str, str]],
    weeks: int,
    months: tuple[int, int],
) -> pl.DataFrame:
    """Every usage measure (name -> (column, aggregate)) over the last ``weeks`` complete weeks
    of each key's month, in one pass over the usage rows: ``account_id, month_idx`` and one
    column per measure name (null: no row with a value there)."""
    cols = sorted({c for c, _ in measures.values()})
    aggs = []
    for name, (col, aggregate) in measures.items():
        x = pl.col(col).cast(pl.Float64)
        agg = x.mean() if aggregate == "mean" else x.sum() / weeks
        aggs.append(pl.when(x.is_not_null().sum() > 0).then(agg).alias(name))
    rows = (
        rows_in_windows(
            ds["usage_weekly"].select(ACCOUNT, "week_start", *cols),
            keys,
            "week_start",
            7 * weeks,
            6,
            months,
        )
        .group_by(ACCOUNT, "month_idx")
        .agg(aggs)
    )
    return keys.join(rows, on=[ACCOUNT, "month_idx"], how="left").collect()


def _usage_source(ds: Dataset, col: str) -> tuple[tuple[str, dt.date | None] | None, pl.Expr]:
    """Why ``usage_weekly.<col>`` is unavailable (reason, available from) and the expression
    telling in which months it is available; reason None when the column can be read."""
    from cs_metrics.messages import lang_of, message, table_text

    lang, table = lang_of(ds.config), table_text("usage_weekly")
    if not ds.has("usage_weekly"):
        return (message("measure_no_table", lang, table=table), None), pl.lit(False)
    if col not in ds["usage_weekly"].collect_schema().names():
        why = message("measure_no_column", lang, table=table, column=col)
        return (why, None), pl.lit(False)
    first = _first_value_date(ds, col)
    if first is None:
        why = message("measure_no_values", lang, table=table, column=col)
        return (why, None), pl.lit(False)
    why = message("measure_no_values_yet", lang, table=table, column=col)
    return (why, first), _end_expr() >= first


def measure_values(
    ds: Dataset, grid: pl.LazyFrame, months: tuple[int, int] | None = None
) -> tuple[pl.DataFrame, dict[str, tuple[str, dt.date | None]]]:
    """Raw value of every configured measure for each (account, month) of ``grid``.

    E = the month's last day; every value only uses rows dated on or before E.

    - ``usage_weekly.<col>``: over the last N = ``health.usage_window_weeks`` *complete* weeks
      (week_start in ``[E - 6 - 7N + 1, E - 6]``: each week has ended by E, a week still running
      on E is left out, and any weekly series has exactly N weeks there). With ``aggregate = "mean"``:
      the mean of the account's rows there; with ``"sum_per_week"``: their sum / N (a week
      without a row counts as 0). No row there: missing (null).
    - ``touchpoints``: the number of touchpoints with ``occurred_on`` in the
      ``health.touchpoint_window_days`` days ending at E (0 when the table exists and the
      account has none: never missing).

    A measure is *unavailable* in a month when its table or column is absent, or (usage) the
    column has no value dated by E. Each row is sent only to the months whose window holds it
    (:func:`cs_metrics.metrics.windows.rows_in_windows`), so a range of months costs about the
    rows, not rows x months; all usage measures share one pass over the usage rows.
    ``months``: the (first, last) month indexes of the grid, if known (read from the grid
    otherwise); rows outside every window of that range are not read.

    Returns
    -------
    (DataFrame, dict)
        ``account_id, month_idx, measure, value, available``; and measure -> (reason, date from
        which it is available, or None) for measures unavailable in some month.
    """
    cfg = ds.config["health"]
    keys = grid.select(ACCOUNT, pl.col("month_idx").cast(pl.Int32))
    if months is None:  # the grid's months, when the caller does not know them
        b = keys.select(pl.col("month_idx").min().alias("a"), pl.col("month_idx").max().alias("b"))
        lo_hi = b.collect().row(0)
        months = (int(lo_hi[0] or 0), int(lo_hi[1] or 0))
    unavailable: dict[str, tuple[str, dt.date | None]] = {}
    available: dict[str, pl.Expr] = {}
    usage: dict[str, tuple[str, str]] = {}
    for name, m in cfg["measures"].items():  # a loop over the configured measures
        if m["source"] == "touchpoints":
            available[name] = pl.lit(ds.has("touchpoints"))
            if not ds.has("touchpoints"):
                from cs_metrics.messages import lang_of, message, table_text

                why = message("measure_no_table", lang_of(ds.config), table=table_text(m["source"]))
                unavailable[name] = (why, None)
            continue
        col = m["source"].split(".", 1)[1]
        why, available[name] = _usage_source(ds, col)
        if why is not None:
            unavailable[name] = why
        if why is None or why[1] is not None:
            usage[name] = (col, m.get("aggregate", "mean"))
    u = _usage_values(ds, keys, usage, int(cfg["usage_window_weeks"]), months) if usage else None
    parts: list[pl.LazyFrame] = []
    for name, m in cfg["measures"].items():
        if name in usage and u is not None:
            value = u.lazy().select(ACCOUNT, "month_idx", pl.col(name).alias("value"))
        elif m["source"] == "touchpoints" and ds.has("touchpoints"):
            value = _touchpoint_counts(ds, keys, int(cfg["touchpoint_window_days"]), months)
        else:
            value = keys.with_columns(pl.lit(None, pl.Float64).alias("value"))
        parts.append(
            value.select(
                ACCOUNT,
                "month_idx",
                pl.lit(name).alias("measure"),
                pl.when(available[name]).then(pl.col("value")).alias("value"),
                available[name].alias("available"),
            )
        )
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
    parts = [
        values.filter(pl.col("measure") == name).with_columns(
            points_expr(m).over("month_idx").alias("points"),
            pl.lit(float(m["weight"])).alias("weight"),
            pl.lit(m["missing"]).alias("missing_policy"),
        )
        for name, m in measures.items()
    ]
    return pl.concat(parts) if parts else values


def band_expr(score: pl.Expr, cfg: dict[str, Any]) -> pl.Expr:
    """``green`` when ``score >= band_green``, ``yellow`` when ``score >= band_yellow``, else
    ``red``: lower edges inclusive (a score exactly on an edge takes the better band). No score
    (no data) has no band: null, never red."""
    return (
        pl.when(score.is_null())
        .then(pl.lit(None, pl.String))
        .when(score >= cfg["band_green"])
        .then(pl.lit("green"))
        .when(score >= cfg["band_yellow"])
        .then(pl.lit("yellow"))
        .otherwise(pl.lit("red"))
    )


def apportion_hundredths(value: str, key: str | list[str]) -> pl.Expr:
    """Integer hundredths of ``value`` per row whose sum per ``key`` equals
    ``round(sum(value) * 100)`` (largest-remainder method; ties by row order)."""
    raw = pl.col(value) * 100
    floor = (raw + 1e-9).floor()
    target = raw.sum().over(key).round(0)
    deficit = target - floor.sum().over(key)
    rank = (raw - floor).rank("ordinal", descending=True).over(key)
    return (floor + (rank <= deficit).cast(pl.Float64)).cast(pl.Int64)


_KEY = [ACCOUNT, "month_idx"]


def _contributions(pts: pl.DataFrame) -> pl.DataFrame:
    """Per account x month x measure: whether the measure ``counted``, its ``raw_contribution``
    (100 x weight x points / the counted weights) and its ``hundredths`` apportioned so that
    they sum to the rounded score; ``_g`` numbers the (account, month) groups."""
    counted = pl.col("available") & (
        pl.col("points").is_not_null() | (pl.col("missing_policy") == "zero")
    )
    return (  # sorted by (account, month): a run-length group id, no hashed key
        pts.sort(ACCOUNT, "month_idx", "measure")
        .with_columns(pl.struct(_KEY).rle_id().alias("_g"), counted.alias("counted"))
        .with_columns(
            pl.col("weight").filter(pl.col("counted")).sum().over("_g").alias("total_weight")
        )
        .with_columns(
            pl.when(pl.col("counted") & (pl.col("total_weight") > 0))
            .then(100 * pl.col("weight") * pl.col("points").fill_null(0.0) / pl.col("total_weight"))
            .otherwise(0.0)
            .alias("raw_contribution"),
            pl.col("points").is_null().alias("missing"),
        )
        .with_columns(apportion_hundredths("raw_contribution", "_g").alias("hundredths"))
    )


def _scores(details: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """``score`` (the sum of the hundredths) and ``no_data`` of every (account, month) of the
    active ``grid`` (no counted measure: no score)."""
    return (
        details.group_by("_g", *_KEY)
        .agg(
            # (x / 100).round(2): the nearest double to the hundredths (polars may divide by
            # multiplying with 0.01, which leaves 47.730000000000004 for 4773)
            (pl.col("hundredths").sum() / 100).round(2).alias("score"),
            # a measure switched off (weight 0) counts for nothing
            (~(pl.col("counted") & (pl.col("weight") > 0))).all().alias("no_data"),
        )
        .drop("_g")
        .join(grid, on=_KEY, how="right")
        .with_columns(pl.col("no_data").fill_null(True))
        .with_columns(pl.when(~pl.col("no_data")).then(pl.col("score")).alias("score"))
    )


def health_history(ds: Dataset, as_of: MonthLike, months: int = 12) -> HealthResult:
    """Health of every active account in each of the ``months`` months ending at ``as_of``.

    Each month is computed as of its own last day E (only rows dated by E; percentiles against
    that month's active accounts), exactly as :func:`health_scores` would for that month.

    Notes
    -----
    A measure *counts* for an account when it has a value, or when it is missing under the
    ``zero`` policy (0 points); a missing measure under ``reweight`` and an unavailable measure
    (source absent) do not count, and the weights of the counting measures are renormalised.
    An account for which nothing counts (every measure unavailable, or missing under
    ``reweight``) has no score and no band (both null) and ``no_data`` True: missing data is
    not bad health, so it is never red (SPEC §6). Bands:
    ``score >= band_green`` green, ``>= band_yellow`` yellow, else red (lower edges inclusive).

    Returns
    -------
    HealthResult
        ``scores``: ``account_id, month ("YYYY-MM"), month_idx, mrr, score, band, no_data``;
        ``details``: ``account_id, month, month_idx, measure, value, points, weight,
        contribution, missing, counted`` (``counted``: the measure enters the score: it has
        a value, or is missing under the ``zero`` policy); ``unavailable``: measures
        unavailable at ``as_of``.
    """
    cfg = ds.config["health"]
    m = Month.parse(as_of)
    a = m.index
    grid = active_grid(ds, m, months)
    vals, unavail = measure_values(ds, grid, (a - months + 1, a))
    end = m.last_day
    unavailable = {k: why for k, (why, since) in unavail.items() if since is None or since > end}
    details = _contributions(_points(vals, cfg["measures"]))
    labels = {i: str(Month(i)) for i in range(a - months + 1, a + 1)}  # few months, many rows
    month = pl.col("month_idx").replace_strict(labels, return_dtype=pl.String).alias("month")
    scores = (
        _scores(details, grid.collect())
        .with_columns(band_expr(pl.col("score"), cfg).alias("band"), month)
        .select(ACCOUNT, "month", "month_idx", "mrr", "score", "band", "no_data")
        .sort(ACCOUNT, "month_idx")
    )
    details = details.with_columns(
        (pl.col("hundredths") / 100).round(2).alias("contribution"), month
    ).select(
        ACCOUNT,
        "month",
        "month_idx",
        "measure",
        "value",
        "points",
        "weight",
        "contribution",
        "missing",
        "counted",
    )
    return HealthResult(scores, details, unavailable)


def health_scores(ds: Dataset, as_of: MonthLike) -> HealthResult:
    """Health score, band and per-measure contributions of every account active at ``as_of``.

    Parameters
    ----------
    ds : Dataset
        Needs ``subscriptions`` (who is active); uses ``usage_weekly`` and ``touchpoints`` when
        present. Only rows dated on or before as_of's last day are used.
    as_of : "YYYY-MM", date or Month

    Definitions: see the module docstring and :func:`health_history` (this is its one-month
    case).

    Returns
    -------
    HealthResult
        ``scores``: ``account_id, mrr, score, band, no_data``; ``details``: ``account_id,
        measure, value, points, weight, contribution, missing`` (``contribution`` in score
        points, 2 decimals, summing exactly to ``score``; ``missing`` True when the measure
        did not have a value for the account).
    """
    h = health_history(ds, as_of, months=1)
    drop = ["month", "month_idx"]
    return HealthResult(h.scores.drop(drop), h.details.drop(drop), h.unavailable)


def health_with_change(ds: Dataset, as_of: MonthLike, top: int = 2) -> pl.DataFrame:
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
    m = Month.parse(as_of)
    a = m.index
    both = health_history(ds, m, months=2)
    drop = ["month", "month_idx"]
    this, before = pl.col("month_idx") == a, pl.col("month_idx") == a - 1
    now = HealthResult(both.scores.filter(this).drop(drop), both.details.filter(this).drop(drop))
    prev = HealthResult(
        both.scores.filter(before).drop(drop), both.details.filter(before).drop(drop)
    )
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
