"""Per (account, month) lookups over dated rows, for a range of months in one pass.

A signal "as of month m" reads rows dated up to m's last day E: the rows in a trailing window
ending at E (weekly usage, touchpoints, NPS responses), or the latest row on or before E (the
last login, the last touchpoint). Both are computed here for every (account, month) at once:

- :func:`rows_in_windows` sends each dated row to the few months whose window holds it, then
  joins on (account, month): the cost is about the rows, never rows x months;
- :func:`latest_by_account` is an as-of join per account (sorted, no cross product).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cs_metrics.periods import Month, last_active_index_expr, month_index_expr

__all__ = ["latest_by_account", "rows_in_windows", "window_months_expr"]

ACCOUNT = "account_id"


def window_months_expr(date: pl.Expr, span_days: int, lag_days: int = 0) -> pl.Expr:
    """The months whose trailing window contains ``date`` (a list of month indexes).

    Month m's window is the ``span_days`` days ending ``lag_days`` before its last day E:
    ``[E - lag - span + 1, E - lag]``. It contains d exactly when ``d + lag <= E <= d + lag +
    span - 1``: from the month of ``d + lag`` to the last month ending on or before ``d + lag +
    span - 1`` (empty when no month ends in between).
    """
    first = month_index_expr(date + pl.duration(days=lag_days))
    last = last_active_index_expr(date + pl.duration(days=lag_days + span_days - 1))
    return pl.int_ranges(first, last + 1, dtype=pl.Int32)


def rows_in_windows(
    rows: pl.LazyFrame,
    keys: pl.LazyFrame,
    date: str,
    span_days: int,
    lag_days: int = 0,
    months: tuple[int, int] | None = None,
) -> pl.LazyFrame:
    """Each row of ``rows`` paired with every key whose month's window holds its date.

    Parameters
    ----------
    rows : LazyFrame
        ``account_id``, the Date column ``date`` and any others.
    keys : LazyFrame
        ``account_id, month_idx (Int32)`` and any others (e.g. ``month_end``), one row per
        (account, month).
    span_days, lag_days : int
        The window of month m: ``[E - lag - span + 1, E - lag]``, E = m's last day (see
        :func:`window_months_expr`).
    months : (first, last) month indexes, optional
        The range of the keys' months, when known: rows outside every window of the range are
        dropped before they are paired (a one-month question reads a few weeks, not years).

    Returns
    -------
    LazyFrame
        The columns of ``rows`` and of ``keys``: one row per (row, key) pair.
    """
    if months is not None:
        lo = Month(months[0]).last_day - dt.timedelta(days=lag_days + span_days - 1)
        hi = Month(months[1]).last_day - dt.timedelta(days=lag_days)
        rows = rows.filter(pl.col(date).is_between(lo, hi))
    return (
        rows.with_columns(window_months_expr(pl.col(date), span_days, lag_days).alias("month_idx"))
        .explode("month_idx")
        .join(keys, on=[ACCOUNT, "month_idx"], how="inner")
    )


def latest_by_account(
    keys: pl.LazyFrame,
    rows: pl.LazyFrame,
    left_on: str,
    right_on: str,
    strategy: str = "backward",
) -> pl.LazyFrame:
    """Join to each key the row of the same account with the nearest ``right_on`` value:
    ``backward`` = the latest one ``<= left_on``; ``forward`` = the earliest one ``>=``.

    Both sides are sorted here; the right side should hold one row per account and value (the
    row picked among equal values is unspecified). Keys without such a row get nulls.
    """
    return keys.sort(left_on).join_asof(
        rows.sort(right_on),
        left_on=left_on,
        right_on=right_on,
        by=ACCOUNT,
        strategy=strategy,  # type: ignore[arg-type]
        check_sortedness=False,
    )
