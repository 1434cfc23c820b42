"""Japanese business conventions (and their English counterparts) for every number a person reads."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from cs_metrics.config import load_config
from cs_metrics.errors import ConfigError
from cs_metrics.format import (
    fiscal_quarter_label,
    fiscal_quarter_label_expr,
    fiscal_year_label,
    fmt_count,
    fmt_date,
    fmt_money,
    fmt_month,
    fmt_pct,
    fmt_pp,
    quarter_months,
    render_table,
)
from cs_metrics.periods import Month


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1_234_567, "円", "1,234,567円"),
        (1_234_567, "千円", "1,235千円"),
        (20_270_000, "万円", "2,027万円"),
        (456_000, "万円", "45.6万円"),
        (50_000, "万円", "5万円"),  # no trailing .0
        (4_000, "万円", "0.4万円"),
        (400, "万円", "400円"),  # would read 0.0万円: shown in yen
        (0, "万円", "0円"),
        (400, "千円", "400円"),
        (110_000_000, "億円", "1.1億円"),
        (1_234_000_000, "億円", "12.3億円"),
        (200_000_000, "億円", "2億円"),
        (20_270_000, "億円", "2,027万円"),  # under 1億: 万円
        (-10_000, "万円", "▲1万円"),
        (-1_500, "円", "▲1,500円"),
        (-120_000_000, "億円", "▲1.2億円"),
    ],
)
def test_money_in_japanese_as_readers_write_it(value, unit, text):
    assert fmt_money(value, unit, "ja") == text


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (1_234_567, "円", "¥1,234,567"),
        (1_234_567, "千円", "¥1,235K"),
        (20_270_000, "万円", "¥20.3M"),
        (150_000_000, "万円", "¥150M"),
        (1_100_000_000, "億円", "¥1.1B"),
        (45_000, "万円", "¥45K"),
        (-12_000, "千円", "-¥12K"),
        (0, "万円", "¥0"),
    ],
)
def test_money_in_english(value, unit, text):
    assert fmt_money(value, unit, "en") == text


def test_money_never_mixes_yen_sign_and_kanji_unit_nor_prints_zero_point_zero():
    for unit in ("円", "千円", "万円", "億円"):
        for v in (0, 1, 499, 999, 4_999, 10_000, 123_456_789, -3):
            text = fmt_money(v, unit, "ja")
            assert "¥" not in text and "0.0" not in text and text.endswith("円"), text


def test_signed_changes_and_missing_values():
    assert fmt_money(1_200_000, "万円", signed=True) == "+120万円"
    assert fmt_money(-450_000, "万円", signed=True) == "▲45万円"
    assert fmt_money(0, "万円", signed=True) == "0円"
    assert fmt_money(None, "万円") == "—" and fmt_money(float("nan")) == "—"
    assert fmt_money(5_000, "千円", "en", signed=True) == "+¥5K"


def test_percentages_and_points():
    assert fmt_pct(0.1234) == "12.3%"
    assert fmt_pct(0.0154, 2) == "1.54%"
    assert fmt_pct(0.021, signed=True) == "+2.1%"
    assert fmt_pct(-0.021, signed=True) == "▲2.1%"
    assert fmt_pct(-0.021, signed=True, lang="en") == "-2.1%"
    assert fmt_pp(0.012) == "+1.2pt"
    assert fmt_pp(-0.042) == "▲4.2pt"
    assert fmt_pp(0.0) == "±0.0pt"
    assert fmt_pp(0.012, lang="en") == "+1.2 pts"
    assert fmt_pp(None) == "—" and fmt_pct(None) == "—"


def test_months_dates_and_counts_for_people():
    assert fmt_month("2026-09") == "2026年9月"
    assert fmt_month(Month.parse("2026-09"), "en") == "Sep 2026"
    assert fmt_date(dt.date(2026, 9, 30)) == "2026年9月30日"
    assert fmt_date(dt.date(2026, 9, 30), "en") == "30 Sep 2026"
    assert fmt_count(12) == "12社" and fmt_count(1, "en") == "1 account"


def test_fiscal_quarters_follow_the_fiscal_start_not_the_calendar():
    # April start (default): Q1 = April-June, so September is Q2 and January is Q4 of the year before
    assert fiscal_quarter_label("2026-04", 4) == "2026年度 第1四半期"
    assert fiscal_quarter_label("2026-09", 4) == "2026年度 第2四半期"
    assert fiscal_quarter_label("2026-10", 4) == "2026年度 第3四半期"
    assert fiscal_quarter_label("2027-01", 4) == "2026年度 第4四半期"
    assert fiscal_quarter_label("2026-09", 4, "en") == "FY2026 Q2"
    assert quarter_months(1, 4) == "4〜6月" and quarter_months(4, 4) == "1〜3月"
    assert quarter_months(1, 4, "en") == "Apr-Jun"
    # a calendar fiscal year (start January): Q3 = July-September
    assert fiscal_quarter_label("2026-09", 1) == "2026年度 第3四半期"
    assert quarter_months(3, 1) == "7〜9月"
    # October start
    assert fiscal_quarter_label("2026-09", 10) == "2025年度 第4四半期"


def test_partial_years_and_quarters_are_marked():
    assert fiscal_year_label("2026-09", 4, as_of="2026-09") == "2026年度（9月まで）"
    assert fiscal_year_label("2026-09", 4, "en", as_of="2026-09") == "FY2026 (to Sep)"
    assert fiscal_year_label("2025-09", 4, as_of="2026-09") == "2025年度"  # complete
    assert fiscal_year_label("2027-03", 4, as_of="2027-03") == "2026年度"  # its last month
    assert fiscal_quarter_label("2026-08", 4, as_of="2026-08") == "2026年度 第2四半期（8月まで）"
    assert fiscal_quarter_label("2026-09", 4, as_of="2026-09") == "2026年度 第2四半期"
    assert fiscal_year_label("2026-05", 4, with_months=True) == "2026年度（2026年4月〜2027年3月）"


def test_fiscal_labels_as_an_expression():
    df = pl.DataFrame({"m": [Month.parse("2026-03").index, Month.parse("2026-08").index]})
    out = df.select(fiscal_quarter_label_expr(pl.col("m"), 4, "ja", as_of="2026-08"))["m"]
    assert out.to_list() == ["2025年度 第4四半期", "2026年度 第2四半期（8月まで）"]


def test_oku_yen_is_an_allowed_display_unit_and_others_are_refused_by_key():
    cfg = load_config({"general": {"display_unit": "億円"}})
    assert cfg["general"]["display_unit"] == "億円"
    with pytest.raises(ConfigError) as e:
        load_config({"general": {"display_unit": "兆円"}})
    assert "general.display_unit" in e.value.message("en") and "億円" in e.value.message("en")


def test_terminal_table_aligns_wide_characters():
    out = render_table([("期末MRR", "1円"), ("NPS", "2")])
    first, second = out.splitlines()
    assert first.startswith("期末MRR  ") and second.startswith("NPS      ")
