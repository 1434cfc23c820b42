"""Formatting for people, by Japanese business conventions in ``ja`` and plain English in ``en``.

Shared by the command-line tables, the reports and the CSVs, so a number reads the same
everywhere. Words come from the one catalogue :mod:`cs_metrics.labels`.

Money (``general.display_unit``: 円, 千円, 万円 or 億円)
    ja, as readers write it: ``1,234,567円``, ``1,235千円``, ``2,027万円`` (one decimal below
    100万円: ``45.6万円``, a trailing ``.0`` dropped: ``5万円``), ``1.1億円`` (億円 shows amounts of
    1億 or more in 億円 with one decimal, smaller ones in 万円). Negative amounts with ``▲``
    (``▲1万円``); a change is signed (``+120万円``, ``▲45万円``). An amount that would round to
    zero in the unit is shown in 円 (``500円``), so ``0.0万`` never appears; zero is ``0円``.
    en: ``¥1,234,567``, ``¥1,235K`` (千円), ``¥20.3M`` (万円 and 億円), negative ``-¥12K``.
Rates
    ``12.3%``; a change of a rate in points: ``+1.2pt`` / ``▲1.2pt`` (ja), ``+1.2 pts`` (en).
Months and fiscal periods
    ``2026年9月`` / ``Sep 2026``; fiscal years (年度) by ``general.fiscal_year_start_month``:
    ``2026年度`` / ``FY2026``; fiscal quarters counted from that month (April start: 第1四半期 =
    4〜6月): ``2026年度 第2四半期`` / ``FY2026 Q2``; a period not complete at as_of is marked
    ``2026年度（9月まで）`` / ``FY2026 (to Sep)``.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from typing import Any

import polars as pl

from cs_metrics.labels import KPI_LABELS
from cs_metrics.labels import RULE_LABELS as _RULE_LABELS
from cs_metrics.labels import label as _catalogue_label
from cs_metrics.labels import rule_label as rule_label
from cs_metrics.periods import Month, MonthLike

__all__ = [
    "DISPLAY_UNITS",
    "KPI_LABELS",
    "RULE_LABELS",
    "UNIT_DIVISORS",
    "cohort_label",
    "fiscal_quarter_label",
    "fiscal_quarter_label_expr",
    "fiscal_year_label",
    "fiscal_year_label_expr",
    "fmt_count",
    "fmt_date",
    "fmt_int",
    "fmt_money",
    "fmt_money_ci",
    "fmt_month",
    "fmt_pct",
    "fmt_pp",
    "fmt_rate_ci",
    "is_missing",
    "label",
    "money_axis",
    "quarter_months",
    "render_table",
    "rule_label",
    "text_width",
]

UNIT_DIVISORS = {"円": 1, "千円": 1_000, "万円": 10_000, "億円": 100_000_000}
DISPLAY_UNITS = tuple(UNIT_DIVISORS)
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MINUS_JA = "▲"


# Rule labels live in the one catalogue (cs_metrics/labels.py); re-exported here for callers
# that format a rule with the other numbers.
RULE_LABELS = _RULE_LABELS


def label(key: str, lang: str = "ja", **kw: Any) -> str:
    """The ja/en label of a KPI key (or any catalogue key, see :func:`cs_metrics.labels.label`)."""
    return _catalogue_label(key, lang, **kw)


def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def _trim(body: str) -> str:
    return body[:-2] if body.endswith(".0") else body


def _ja_amount(x: float, unit: str) -> str:
    """|x| yen in ``unit`` without a sign (see the module docstring)."""
    if unit == "億円" and x >= 1e8:
        return f"{_trim(f'{x / 1e8:,.1f}')}億円"
    if unit == "億円":
        unit = "万円"
    div = UNIT_DIVISORS.get(unit, 1)
    if div == 1:
        return f"{x:,.0f}円"
    y = x / div
    decimals = 1 if unit == "万円" and y < 100 else 0
    body = f"{y:,.{decimals}f}"
    if float(body.replace(",", "")) == 0:  # would read as zero: show it in yen
        return f"{x:,.0f}円"
    return f"{_trim(body) if decimals else body}{unit}"


def _en_amount(x: float, unit: str) -> str:
    if unit == "円" or x == 0:
        return f"¥{x:,.0f}"
    if unit == "千円" or x < 1e5:
        body = f"{x / 1e3:,.0f}"
        return f"¥{body}K" if body != "0" else f"¥{x:,.0f}"
    if unit == "億円" and x >= 1e9:
        return f"¥{_trim(f'{x / 1e9:,.1f}')}B"
    y = x / 1e6
    return f"¥{_trim(f'{y:,.1f}') if y < 100 else f'{y:,.0f}'}M"


def fmt_money(v: Any, unit: str = "円", lang: str = "ja", signed: bool = False) -> str:
    """An amount in the display unit: ``20270000`` -> ``2,027万円`` (万円, ja), ``¥20.3M`` (en).

    ``signed`` writes ``+`` before a positive amount (a change); negatives are ``▲`` in ja and
    ``-`` in en either way. Missing values are ``—``.

    >>> fmt_money(20_270_000, "万円"), fmt_money(-10_000, "万円"), fmt_money(110_000_000, "億円")
    ('2,027万円', '▲1万円', '1.1億円')
    """
    if is_missing(v):
        return "—"
    x = float(v)
    body = _ja_amount(abs(x), unit) if lang == "ja" else _en_amount(abs(x), unit)
    if x < 0 and body not in ("0円", "¥0"):
        return (MINUS_JA if lang == "ja" else "-") + body
    return ("+" if signed and x > 0 else "") + body


def money_axis(unit: str, lang: str = "ja") -> tuple[float, str]:
    """(divisor, axis title suffix) for a chart axis in the display unit: ``(10000, "万円")``
    (ja) or ``(1e6, "¥M")`` (en). 億円 axes use 万円 below 1億 in ja, so the chart keeps 万円
    and the tick labels stay readable."""
    if lang == "ja":
        div = UNIT_DIVISORS.get(unit, 1)
        return (float(div), unit) if unit != "億円" else (1e8, "億円")
    return {"円": (1.0, "¥"), "千円": (1e3, "¥K")}.get(unit, (1e6, "¥M"))


def fmt_pct(v: Any, decimals: int = 1, signed: bool = False, lang: str = "ja") -> str:
    """``0.1234`` -> ``12.3%``; ``signed`` for a relative change (``+2.1%``, ``▲2.1%`` in ja)."""
    if is_missing(v):
        return "—"
    x = float(v) * 100
    if not signed:
        return f"{x:.{decimals}f}%"
    body = f"{abs(x):.{decimals}f}%"
    if float(f"{abs(x):.{decimals}f}") == 0:
        return f"±{body}" if lang == "ja" else body
    return ("+" if x > 0 else MINUS_JA if lang == "ja" else "-") + body


def fmt_pp(v: Any, decimals: int = 1, lang: str = "ja") -> str:
    """A change of a rate in percentage points: ``0.012`` -> ``+1.2pt`` (ja ``▲1.2pt`` when
    negative; en ``+1.2 pts``)."""
    if is_missing(v):
        return "—"
    x = float(v) * 100
    body = f"{abs(x):.{decimals}f}"
    unit = "pt" if lang == "ja" else " pts"
    if float(body) == 0:
        return f"±{body}{unit}" if lang == "ja" else f"{body}{unit}"
    return ("+" if x > 0 else MINUS_JA if lang == "ja" else "-") + body + unit


def fmt_int(v: Any) -> str:
    if is_missing(v):
        return "—"
    return f"{int(v):,}"


def fmt_count(n: Any, lang: str = "ja") -> str:
    """A number of accounts: ``12社`` / ``12 accounts``."""
    if is_missing(n):
        return "—"
    n = int(n)
    return f"{n:,}社" if lang == "ja" else f"{n:,} account{'s' if n != 1 else ''}"


def fmt_month(m: MonthLike | None, lang: str = "ja") -> str:
    """``2026-09`` (a string, a date or a Month) -> ``2026年9月`` / ``Sep 2026``."""
    if m is None:
        return "—"
    return Month.parse(m).label(lang)


def fmt_date(d: dt.date | None, lang: str = "ja") -> str:
    """``2026-09-30`` -> ``2026年9月30日`` / ``30 Sep 2026``."""
    if d is None:
        return "—"
    if lang == "ja":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{d.day} {_EN_MONTHS[d.month - 1]} {d.year}"


def fmt_rate_ci(v: Any, ci: Any, lang: str = "ja", decimals: int = 1) -> str:
    """``21.3%（95%: 13.0%〜30.2%）`` (ja) or ``21.3% (95%: 13.0% to 30.2%)``; ``—`` when missing."""
    if is_missing(v):
        return "—"
    text = fmt_pct(v, decimals)
    if not ci or any(is_missing(x) for x in ci):
        return text
    lo, hi = fmt_pct(ci[0], decimals), fmt_pct(ci[1], decimals)
    return f"{text}（95%: {lo}〜{hi}）" if lang == "ja" else f"{text} (95%: {lo} to {hi})"


def fmt_money_ci(v: Any, ci: Any, unit: str = "円", lang: str = "ja") -> str:
    """``802万円（95%: 647万円〜1,010万円）`` (ja, 万円); ``—`` when missing."""
    if is_missing(v):
        return "—"
    text = fmt_money(v, unit, lang)
    if not ci or any(is_missing(x) for x in ci):
        return text
    lo, hi = fmt_money(ci[0], unit, lang), fmt_money(ci[1], unit, lang)
    return f"{text}（95%: {lo}〜{hi}）" if lang == "ja" else f"{text} (95%: {lo} to {hi})"


# ---- fiscal periods ----------------------------------------------------------------------------


def quarter_months(quarter: int, start_month: int, lang: str = "ja") -> str:
    """The months of fiscal quarter ``quarter`` (1..4): April start, Q1 -> ``4〜6月`` /
    ``Apr-Jun``."""
    first = (start_month - 1 + 3 * (quarter - 1)) % 12
    last = (first + 2) % 12
    if lang == "ja":
        return f"{first + 1}〜{last + 1}月"
    return f"{_EN_MONTHS[first]}-{_EN_MONTHS[last]}"


def _partial(last: Month, as_of: Month | None, lang: str) -> str:
    if as_of is None or as_of >= last:
        return ""
    return f"（{as_of.month}月まで）" if lang == "ja" else f" (to {_EN_MONTHS[as_of.month - 1]})"


def fiscal_year_label(
    month: MonthLike,
    start_month: int,
    lang: str = "ja",
    as_of: MonthLike | None = None,
    with_months: bool = False,
) -> str:
    """The fiscal year (年度) holding ``month``: ``2026年度`` / ``FY2026``; marked
    ``2026年度（9月まで）`` / ``FY2026 (to Sep)`` when ``as_of`` falls before its last month.
    ``with_months`` adds its span: ``2026年度（2026年4月〜2027年3月）``."""
    m = Month.parse(month)
    fy = m.fiscal_year(start_month)
    first = Month.of(fy, start_month)
    last = first + 11
    text = f"{fy}年度" if lang == "ja" else f"FY{fy}"
    if with_months:
        span = f"{first.label(lang)}〜{last.label(lang)}" if lang == "ja" else ""
        text += f"（{span}）" if lang == "ja" else f" ({first.label(lang)} - {last.label(lang)})"
    return text + _partial(last, Month.parse(as_of) if as_of is not None else None, lang)


def fiscal_quarter_label(
    month: MonthLike, start_month: int, lang: str = "ja", as_of: MonthLike | None = None
) -> str:
    """The fiscal quarter holding ``month``, counted from the fiscal year's start:
    ``2026年度 第2四半期`` / ``FY2026 Q2``; marked ``（8月まで）`` / ``(to Aug)`` when ``as_of``
    falls before its last month."""
    m = Month.parse(month)
    fy, q = m.fiscal_year(start_month), m.fiscal_quarter(start_month)
    last = Month.of(fy, start_month) + 3 * q - 1
    text = f"{fy}年度 第{q}四半期" if lang == "ja" else f"FY{fy} Q{q}"
    return text + _partial(last, Month.parse(as_of) if as_of is not None else None, lang)


def _labels_expr(
    month_idx: pl.Expr, fn: Any, start_month: int, lang: str, as_of: MonthLike | None
) -> pl.Expr:
    """Apply a scalar label function to the (few) distinct months of a month-index column."""
    return month_idx.map_elements(
        lambda i: fn(Month(int(i)), start_month, lang, as_of), return_dtype=pl.String
    )


def fiscal_year_label_expr(
    month_idx: pl.Expr, start_month: int, lang: str = "ja", as_of: MonthLike | None = None
) -> pl.Expr:
    """:func:`fiscal_year_label` of a month-index column (for a table of a few periods)."""
    return _labels_expr(month_idx, fiscal_year_label, start_month, lang, as_of)


def fiscal_quarter_label_expr(
    month_idx: pl.Expr, start_month: int, lang: str = "ja", as_of: MonthLike | None = None
) -> pl.Expr:
    """:func:`fiscal_quarter_label` of a month-index column (for a table of a few periods)."""
    return _labels_expr(month_idx, fiscal_quarter_label, start_month, lang, as_of)


def cohort_label(cohort: Any, lang: str = "ja") -> str:
    """An acquisition cohort for people: a calendar quarter ``2023-Q2`` as its months
    (``2023年4〜6月`` / ``Apr-Jun 2023``: no quarter number a reader could take for a fiscal
    one), a month ``2023-06`` as ``2023年6月``, a fiscal year ``2025`` as ``2025年度``."""
    text = str(cohort)
    if len(text) == 7 and text[4:6] == "-Q" and text[:4].isdigit():
        year, q = int(text[:4]), int(text[6])
        first = 3 * (q - 1)
        if lang == "ja":
            return f"{year}年{first + 1}〜{first + 3}月"
        return f"{_EN_MONTHS[first]}-{_EN_MONTHS[first + 2]} {year}"
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit():
        return fmt_month(text, lang)
    if len(text) == 4 and text.isdigit():
        return f"{text}年度" if lang == "ja" else f"FY{text}"
    return text


# ---- terminal tables ---------------------------------------------------------------------------


def text_width(s: str) -> int:
    """Columns ``s`` takes in a terminal (East Asian wide characters count double)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def render_table(rows: list[tuple[str, str]], title: str | None = None) -> str:
    """Two-column text table aligned for terminals (East Asian wide characters count double)."""
    w = max((text_width(k) for k, _ in rows), default=0)
    lines = [title] if title else []
    for k, v in rows:
        lines.append(f"{k}{' ' * (w - text_width(k))}  {v}")
    return "\n".join(lines)
