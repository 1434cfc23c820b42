"""Report arithmetic: fiscal-quarter and fiscal-year views of the bridge, changes against last
month and last year, and the status of a figure against its target.

Reports only lay these out; every number a tile or a period table shows is computed here, from
the monthly frame of :func:`cs_metrics.metrics.retention.monthly_rates`.
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl

from cs_metrics.metrics.kpis import RATE_KEYS
from cs_metrics.metrics.revenue import MOVEMENTS
from cs_metrics.periods import Month, MonthLike

__all__ = [
    "MONEY_KEYS",
    "churn_within_trend",
    "mrr_drivers",
    "RATE_KEYS",
    "change",
    "kpi_changes",
    "period_bridge",
    "series",
    "target_gap",
    "target_status",
]

MONEY_KEYS = ("mrr_start", "mrr_end", *MOVEMENTS)
COUNT_KEYS = (
    "accounts_start",
    "accounts_end",
    "accounts_new",
    "accounts_reactivated",
    "accounts_churned",
)


def period_bridge(
    rates: pl.DataFrame,
    as_of: MonthLike,
    period: Literal["fiscal_quarter", "fiscal_year"],
    fiscal_year_start_month: int,
    last: int = 8,
) -> pl.DataFrame:
    """The MRR bridge summed over fiscal quarters or fiscal years (年度), up to ``as_of``.

    Parameters
    ----------
    rates
        :func:`~cs_metrics.metrics.retention.monthly_rates` (one row per month, no ``by``).
    period
        ``"fiscal_quarter"`` (Q1 starts at the fiscal start month: 4-6月 by default) or
        ``"fiscal_year"``.
    last
        Keep the last ``last`` periods.

    Returns
    -------
    DataFrame
        ``fiscal_year, quarter`` (null for years), ``first_month, last_month`` ("YYYY-MM"),
        ``months`` (months of the period in the data up to ``as_of``), ``complete`` (all 3 or 12
        months are in), ``mrr_start`` (first month's start), the six movements (sums),
        ``mrr_end`` (last month's end), ``accounts_start``, ``accounts_churned`` (sum) and
        ``growth`` = mrr_end / mrr_start - 1 (null when mrr_start is 0).
    """
    a = Month.parse(as_of).index
    fy_start = int(fiscal_year_start_month)
    shifted = pl.col("month_idx") - (fy_start - 1)  # month index counted from the fiscal start
    keys = [(shifted // 12).cast(pl.Int32).alias("fiscal_year")]
    length = 12
    if period == "fiscal_quarter":
        keys.append(((shifted % 12) // 3 + 1).cast(pl.Int32).alias("quarter"))
        length = 3
    elif period != "fiscal_year":
        raise ValueError(f"period must be 'fiscal_quarter' or 'fiscal_year', got {period!r}")
    d = rates.filter(pl.col("month_idx") <= a).sort("month_idx").with_columns(keys)
    group = ["fiscal_year", "quarter"] if length == 3 else ["fiscal_year"]
    out = (
        d.group_by(group, maintain_order=True)
        .agg(
            pl.col("month_idx").first().alias("first_idx"),
            pl.col("month_idx").last().alias("last_idx"),
            pl.len().alias("months"),
            pl.col("mrr_start").first(),
            *[pl.col(c).sum() for c in MOVEMENTS],
            pl.col("mrr_end").last(),
            pl.col("accounts_start").first(),
            pl.col("accounts_churned").sum(),
        )
        .with_columns(
            (pl.col("months") == length).alias("complete"),
            pl.when(pl.col("mrr_start") > 0)
            .then(pl.col("mrr_end") / pl.col("mrr_start") - 1)
            .alias("growth"),
        )
    )
    if length == 12:
        out = out.with_columns(pl.lit(None, dtype=pl.Int32).alias("quarter"))
    label = pl.date(pl.col("first_idx") // 12, pl.col("first_idx") % 12 + 1, 1)
    label_end = pl.date(pl.col("last_idx") // 12, pl.col("last_idx") % 12 + 1, 1)
    return out.tail(last).select(
        "fiscal_year",
        "quarter",
        label.dt.strftime("%Y-%m").alias("first_month"),
        label_end.dt.strftime("%Y-%m").alias("last_month"),
        "months",
        "complete",
        "mrr_start",
        *MOVEMENTS,
        "mrr_end",
        "accounts_start",
        "accounts_churned",
        "growth",
    )


def change(now: Any, before: Any, kind: Literal["money", "rate", "count"]) -> float | None:
    """Change of a figure: relative for money ((now - before) / before), the difference in
    points for rates (fractions) and the difference for counts; ``None`` when either value is
    missing or, for money, ``before`` is 0."""
    if now is None or before is None:
        return None
    if kind == "money":
        return None if before == 0 else (now - before) / before
    return now - before


def _kind(key: str) -> Literal["money", "rate", "count"]:
    if key in RATE_KEYS:
        return "rate"
    if key in COUNT_KEYS:
        return "count"
    return "money"


def kpi_changes(
    rates: pl.DataFrame, as_of: MonthLike, keys: tuple[str, ...] = ("mrr_end", *RATE_KEYS)
) -> dict[str, dict[str, Any]]:
    """Each KPI of ``as_of`` with its value last month and a year before and the changes.

    Returns
    -------
    dict
        ``{key: {"value", "prev_month", "prev_year", "mom", "yoy", "kind"}}`` where ``mom`` and
        ``yoy`` follow :func:`change` (``kind`` "money", "rate" or "count").
    """
    m = Month.parse(as_of)
    rows = {
        off: rates.filter(pl.col("month_idx") == (m - off).index)
        for off in (0, 1, 12)  # this month, last month, a year before
    }
    vals = {off: (r.row(0, named=True) if r.height else {}) for off, r in rows.items()}
    out = {}
    for key in keys:
        kind = _kind(key)
        now, prev, year = (vals[off].get(key) for off in (0, 1, 12))
        out[key] = {
            "value": now,
            "prev_month": prev,
            "prev_year": year,
            "mom": change(now, prev, kind),
            "yoy": change(now, year, kind),
            "kind": kind,
        }
    return out


def series(rates: pl.DataFrame, as_of: MonthLike, key: str, months: int = 12) -> pl.DataFrame:
    """The last ``months`` values of ``key`` up to ``as_of`` (``month``, ``value``), for
    sparklines and trends."""
    a = Month.parse(as_of).index
    return (
        rates.filter(pl.col("month_idx").is_between(a - months + 1, a))
        .sort("month_idx")
        .select(pl.col("month").dt.strftime("%Y-%m").alias("month"), pl.col(key).alias("value"))
    )


def target_status(value: float | None, target: float, higher_is_better: bool) -> str:
    """``"good"`` when ``value`` meets the target, ``"bad"`` when not, ``"neutral"`` when the
    value is undefined."""
    if value is None:
        return "neutral"
    ok = value >= target if higher_is_better else value <= target
    return "good" if ok else "bad"


def target_gap(value: float | None, target: float) -> float | None:
    """``value - target`` (in the figure's unit: points for rates); None when undefined."""
    return None if value is None else value - target


def churn_within_trend(ds: Any, as_of: MonthLike, horizon: int, months: int = 12) -> pl.DataFrame:
    """Churn within ``horizon`` months (observed and Kaplan-Meier) as of each of the ``months``
    months before ``as_of`` and ``as_of`` itself, each point in time (SPEC §3): the trend of
    the board's headline toward its target.

    One call of the vectorised :func:`~cs_metrics.metrics.churn.churn_within` per month
    (13 by default, about 40 ms each on the sample): a loop over a handful of report months,
    not over accounts.

    Returns
    -------
    DataFrame
        ``month`` ("YYYY-MM"), ``rate``, ``km_rate`` (null with no defined value), oldest first.
    """
    from cs_metrics.metrics.churn import churn_within

    m = Month.parse(as_of)
    first = ds.first_active_month() if hasattr(ds, "first_active_month") else None
    rows = []
    for back in range(months, -1, -1):
        mo = m - back
        if first is not None and mo < first:
            continue
        cw = churn_within(ds, mo, horizon)[0]
        rows.append({"month": str(mo), "rate": cw["rate"], "km_rate": cw["km_rate"]})
    schema = {"month": pl.String, "rate": pl.Float64, "km_rate": pl.Float64}
    return pl.DataFrame(rows, schema=schema)


def mrr_drivers(row: dict[str, Any], top: int = 3) -> list[tuple[str, float]]:
    """The month's MRR movements that moved MRR most: ``(movement, signed amount)`` for the
    ``top`` largest by size, losses negative (contraction, churn), zeros left out; ties in
    the bridge's order."""
    signs = {"new": 1, "reactivation": 1, "upsell": 1, "cross_sell": 1}
    moves = [(k, float(row.get(k) or 0) * signs.get(k, -1)) for k in MOVEMENTS]
    moves = [(k, v) for k, v in moves if v != 0]
    return sorted(moves, key=lambda kv: -abs(kv[1]))[:top]
