"""Months, month indexes and fiscal years (SPEC §3).

A month is identified by its first day (``2026-10-01``) and written ``"2026-10"``. Inside the
metric core a month is an integer *month index* ``year * 12 + (month - 1)`` so that month
arithmetic is integer arithmetic on columns (no Python loops over months).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

import polars as pl

_MONTH_RE = re.compile(r"^\s*(\d{4})[-/](\d{1,2})\s*$")


class PeriodError(ValueError):
    """A month string that is not ``YYYY-MM``."""


def parse_month(text: str | dt.date) -> dt.date:
    """Parse ``"2026-10"`` (or ``2026/10``, or a date) into the month's first day."""
    if isinstance(text, dt.date):
        return text.replace(day=1)
    m = _MONTH_RE.match(str(text))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise PeriodError(f"not a month: {text!r} (expected YYYY-MM, e.g. 2026-10)")
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def format_month(d: dt.date | int) -> str:
    """``2026-10-01`` (or its month index) -> ``"2026-10"``."""
    if isinstance(d, int):
        d = index_to_month(d)
    return f"{d.year:04d}-{d.month:02d}"


def month_to_index(d: dt.date | str) -> int:
    """Month index of a date or ``YYYY-MM`` string."""
    d = parse_month(d) if isinstance(d, str) else d
    return d.year * 12 + d.month - 1


def index_to_month(i: int) -> dt.date:
    """First day of the month with index ``i``."""
    return dt.date(i // 12, i % 12 + 1, 1)


def month_end(d: dt.date) -> dt.date:
    """Last day of ``d``'s month."""
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def add_months(d: dt.date, n: int) -> dt.date:
    """First day of the month ``n`` months after ``d``'s month."""
    return index_to_month(month_to_index(d.replace(day=1)) + n)


def month_range(start: dt.date | str, end: dt.date | str) -> list[str]:
    """``["2025-01", ..., "2025-12"]`` inclusive."""
    a, b = month_to_index(parse_month(start)), month_to_index(parse_month(end))
    return [format_month(i) for i in range(a, b + 1)]


def fiscal_year(d: dt.date, start_month: int = 4) -> int:
    """Japanese 年度: the fiscal year is named by the calendar year it starts in."""
    return d.year if d.month >= start_month else d.year - 1


def latest_complete_month(today: dt.date | None = None) -> dt.date:
    """The last complete calendar month before ``today``."""
    today = today or dt.date.today()
    return add_months(today.replace(day=1), -1)


# ---- polars expressions ----------------------------------------------------------------------


def month_index_expr(date: pl.Expr) -> pl.Expr:
    """Month index (Int32) of a Date expression."""
    return (date.dt.year().cast(pl.Int32) * 12 + date.dt.month().cast(pl.Int32) - 1).alias(
        "month_idx"
    )


def index_to_month_expr(idx: pl.Expr) -> pl.Expr:
    """First day of the month (Date) of a month-index expression."""
    return pl.date(idx // 12, idx % 12 + 1, 1)


def last_active_index_expr(end_date: pl.Expr) -> pl.Expr:
    """Index of the last month whose last day is <= ``end_date`` (the line's last active month).

    A line ending on a month's last day is active that month; one ending any earlier day is not.
    """
    is_month_end = end_date.dt.month_end() == end_date
    return month_index_expr(end_date) - pl.when(is_month_end).then(0).otherwise(1)


def fiscal_year_expr(month_idx: pl.Expr, start_month: int = 4) -> pl.Expr:
    """Fiscal year (年度, named by its starting calendar year) of a month index."""
    year = month_idx // 12
    month = month_idx % 12 + 1
    return pl.when(month >= start_month).then(year).otherwise(year - 1).cast(pl.Int32)


def quarter_label_expr(month_idx: pl.Expr) -> pl.Expr:
    """Calendar quarter label ``"2025-Q3"`` of a month index."""
    year = (month_idx // 12).cast(pl.String)
    q = ((month_idx % 12) // 3 + 1).cast(pl.String)
    return pl.concat_str([year, pl.lit("-Q"), q])


def fiscal_quarter_label_expr(month_idx: pl.Expr, start_month: int = 4) -> pl.Expr:
    """Fiscal quarter label ``"FY2025-Q1"`` (Q1 starts at ``start_month``)."""
    fy = fiscal_year_expr(month_idx, start_month).cast(pl.String)
    q = (((month_idx % 12) - (start_month - 1)) % 12 // 3 + 1).cast(pl.String)
    return pl.concat_str([pl.lit("FY"), fy, pl.lit("-Q"), q])


def month_label_expr(month_idx: pl.Expr) -> pl.Expr:
    """``"2026-10"`` label of a month index."""
    return index_to_month_expr(month_idx).dt.strftime("%Y-%m")
