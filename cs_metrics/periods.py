"""Months, month indexes and fiscal years (SPEC §3).

A month is identified by its first day (``2026-10-01``) and written ``"2026-10"``. Inside the
metric core a month is an integer *month index* ``year * 12 + (month - 1)`` so that month
arithmetic is integer arithmetic on columns (no Python loops over months).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import polars as pl

from cs_metrics.errors import PeriodError

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "Month",
    "MonthLike",
    "fiscal_quarter_label_expr",
    "fiscal_year_expr",
    "index_to_month",
    "index_to_month_expr",
    "last_active_index_expr",
    "month_index_expr",
    "month_label_expr",
    "months_between",
    "parse_month",
    "quarter_label_expr",
]

_MONTH_RE = re.compile(r"^\s*(\d{4})[-/](\d{1,2})\s*$")
# Months outside these years are typos (0000-01, 9999-12), not periods anyone reports on.
MIN_YEAR, MAX_YEAR = 1900, 2999

_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, order=True, slots=True)
class Month:
    """A calendar month, the unit of every period (SPEC §3).

    Stored as its *index* ``year * 12 + (month - 1)``, so months order, subtract and add like
    integers and the same number is used in polars columns (``month_idx``). Written ``"2026-09"``.
    Parse once at the boundary with :meth:`Month.parse`; pass ``Month`` everywhere inside.

    >>> m = Month.parse("2026-09")
    >>> (str(m + 4), m.last_day.isoformat(), m.fiscal_year(4), m - Month.parse("2025-09"))
    ('2027-01', '2026-09-30', 2026, 12)
    """

    index: int

    @classmethod
    def of(cls, year: int, month: int) -> Month:
        """The month ``year``-``month`` (1..12)."""
        return cls(year * 12 + month - 1)

    @classmethod
    def parse(cls, value: str | dt.date | Month) -> Month:
        """A ``Month`` from ``"2026-09"`` (or ``"2026/9"``), a date (its month) or a ``Month``.

        Raises
        ------
        PeriodError
            ``month_invalid`` for anything else, or a year outside 1900..2999.
        """
        if isinstance(value, Month):
            return value
        if isinstance(value, dt.date):
            y, mo = value.year, value.month
        else:
            match = _MONTH_RE.match(str(value))
            if not match:
                raise PeriodError("month_invalid", value=repr(value))
            y, mo = int(match.group(1)), int(match.group(2))
        if not (1 <= mo <= 12 and MIN_YEAR <= y <= MAX_YEAR):
            raise PeriodError("month_invalid", value=repr(value))
        return cls.of(y, mo)

    @property
    def year(self) -> int:
        return self.index // 12

    @property
    def month(self) -> int:
        """Month of the year, 1..12."""
        return self.index % 12 + 1

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def __add__(self, months: int) -> Month:
        if not isinstance(months, int):
            return NotImplemented
        return Month(self.index + months)

    def __sub__(self, other: int | Month) -> Any:
        """``month - 3`` is a Month; ``month - other_month`` is the number of months between."""
        if isinstance(other, Month):
            return self.index - other.index
        if isinstance(other, int):
            return Month(self.index - other)
        return NotImplemented

    def fiscal_year(self, start_month: int) -> int:
        """Japanese 年度: named by the calendar year it starts in (start April: 2027-03 -> 2026)."""
        return self.year if self.month >= start_month else self.year - 1

    def fiscal_quarter(self, start_month: int) -> int:
        """Quarter 1..4 of the fiscal year (start April: April-June is 1)."""
        return (self.month - start_month) % 12 // 3 + 1

    def label(self, lang: str = "ja") -> str:
        """``2026年9月`` (ja) or ``Sep 2026`` (en), for people."""
        if lang == "ja":
            return f"{self.year}年{self.month}月"
        return f"{_EN_MONTHS[self.month - 1]} {self.year}"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __repr__(self) -> str:
        return f"Month('{self}')"


MonthLike = str | dt.date | Month


def months_between(start: MonthLike, end: MonthLike) -> list[Month]:
    """Every month from ``start`` to ``end`` inclusive (empty when ``start > end``)."""
    a, b = Month.parse(start), Month.parse(end)
    return [Month(i) for i in range(a.index, b.index + 1)]


# ---- kept for benchmarks/ (they predate Month); the package itself uses Month -------------


def parse_month(text: MonthLike) -> dt.date:
    """The first day of a month: ``Month.parse(text).first_day``."""
    return Month.parse(text).first_day


def index_to_month(i: int) -> dt.date:
    """The first day of the month with index ``i``: ``Month(i).first_day``."""
    return Month(i).first_day


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


def fiscal_year_expr(month_idx: pl.Expr, start_month: int) -> pl.Expr:
    """Fiscal year (年度, named by its starting calendar year) of a month index."""
    year = month_idx // 12
    month = month_idx % 12 + 1
    return pl.when(month >= start_month).then(year).otherwise(year - 1).cast(pl.Int32)


def quarter_label_expr(month_idx: pl.Expr) -> pl.Expr:
    """Calendar quarter label ``"2025-Q3"`` of a month index."""
    year = (month_idx // 12).cast(pl.String)
    q = ((month_idx % 12) // 3 + 1).cast(pl.String)
    return pl.concat_str([year, pl.lit("-Q"), q])


def fiscal_quarter_label_expr(month_idx: pl.Expr, start_month: int) -> pl.Expr:
    """Fiscal quarter label ``"FY2025-Q1"`` (Q1 starts at ``start_month``)."""
    fy = fiscal_year_expr(month_idx, start_month).cast(pl.String)
    q = (((month_idx % 12) - (start_month - 1)) % 12 // 3 + 1).cast(pl.String)
    return pl.concat_str([pl.lit("FY"), fy, pl.lit("-Q"), q])


def month_label_expr(month_idx: pl.Expr) -> pl.Expr:
    """``"2026-10"`` label of a month index."""
    return index_to_month_expr(month_idx).dt.strftime("%Y-%m")
