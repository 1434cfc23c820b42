"""The immutable Dataset, its memo, one way to configure, the Month type and the data's months."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from conftest import SAMPLE, frames_dataset, line

from cs_metrics.config import Config, load_config
from cs_metrics.data.load import load_dataset
from cs_metrics.errors import ConfigError, CsMetricsError, PeriodError
from cs_metrics.metrics.revenue import mrr_bridge
from cs_metrics.periods import Month, months_between


def _mrr_end(ds, month="2026-09") -> float:
    b = mrr_bridge(ds, month)
    return b.filter(pl.col("month") == Month.parse(month).first_day)["mrr_end"].item()


def test_derived_dataset_never_reuses_the_memo_of_the_original():
    ds = load_dataset(SAMPLE)
    assert _mrr_end(ds) == 20_110_000  # memoises the segments of the full data
    subs = ds["subscriptions"].filter(pl.col("account_id") != "ACC-0001")
    filtered = ds.with_tables(subscriptions=subs)
    fresh = frames_dataset(
        accounts=ds["accounts"].collect(), subscriptions=subs.drop("_row").collect()
    )
    assert _mrr_end(filtered) == _mrr_end(fresh) == 19_930_000
    assert _mrr_end(ds) == 20_110_000  # the original is unchanged


def test_dataset_tables_and_config_are_read_only():
    ds = load_dataset(SAMPLE)
    with pytest.raises(TypeError):
        ds.frames["subscriptions"] = ds["accounts"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        ds.frames = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        ds.config["general"]["lang"] = "en"
    assert isinstance(ds.config["attributes"]["mrr_band_edges"], tuple)
    en = ds.with_config({"general": {"lang": "en"}})
    assert en.config["general"]["lang"] == "en" and ds.config["general"]["lang"] == "ja"


def test_with_tables_removes_an_optional_table_and_rejects_unknown_names():
    ds = load_dataset(SAMPLE)
    assert ds.has("nps_responses")
    assert not ds.with_tables(nps_responses=None).has("nps_responses")
    with pytest.raises(KeyError):
        ds.with_tables(bogus=ds["accounts"])


def test_a_partial_config_dict_is_merged_over_the_defaults_and_validated():
    ds = load_dataset(SAMPLE, config={"general": {"lang": "en"}})
    assert ds.config["general"]["lang"] == "en"
    assert "施策終了・中止" in ds.config["reasons"]["categories"]  # defaults kept
    with pytest.raises(ConfigError) as e:
        load_dataset(SAMPLE, config={"ltv": {"gross_margin": 1.5}})
    assert "ltv.gross_margin" in str(e.value) and "ltv.gross_margin" in e.value.message("ja")


def test_config_is_one_validated_read_only_object():
    cfg = load_config()
    assert isinstance(cfg, Config) and load_config(cfg) is cfg
    assert cfg.to_dict()["general"]["fiscal_year_start_month"] == 4
    changed = cfg.updated({"targets": {"nrr_trailing_12m_min": 1.2}})
    assert changed["targets"]["nrr_trailing_12m_min"] == 1.2
    assert cfg["targets"]["nrr_trailing_12m_min"] == 1.1
    with pytest.raises(ConfigError) as e:
        cfg.updated({"general": {"nope": 1}})
    assert e.value.code == "config_unknown_key" and "general.nope" in str(e.value)
    with pytest.raises(ConfigError):
        load_config({"ltv": {"annual_discount_rate": 0}})


def test_config_toml_with_a_byte_order_mark_is_read(tmp_path):
    p = tmp_path / "c.toml"
    p.write_bytes('\ufeff[general]\nlang = "en"\n'.encode())
    assert load_config(p)["general"]["lang"] == "en"


# ---- Month ----------------------------------------------------------------------------------


def test_month_parses_once_and_does_arithmetic():
    m = Month.parse("2026-09")
    assert Month.parse(m) is m
    assert Month.parse(dt.date(2026, 9, 17)) == m == Month.parse("2026/9")
    assert str(m + 4) == "2027-01" and str(m - 9) == "2025-12"
    assert m - Month.parse("2024-09") == 24
    assert (m.first_day, m.last_day) == (dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert Month.parse("2024-02").last_day == dt.date(2024, 2, 29)
    assert m.index == 2026 * 12 + 8 and Month(m.index) == m
    assert sorted([m + 1, m, m - 1]) == [m - 1, m, m + 1]
    assert [str(x) for x in months_between("2026-11", "2027-02")] == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
    ]


def test_month_fiscal_year_quarter_and_labels():
    assert Month.parse("2027-03").fiscal_year(4) == 2026
    assert Month.parse("2026-04").fiscal_year(4) == 2026
    assert Month.parse("2026-12").fiscal_year(1) == 2026
    assert [Month.parse(f"2026-{x:02d}").fiscal_quarter(4) for x in (4, 6, 7, 10, 1, 3)] == [
        1,
        1,
        2,
        3,
        4,
        4,
    ]
    assert Month.parse("2026-09").label("ja") == "2026年9月"
    assert Month.parse("2026-09").label("en") == "Sep 2026"


@pytest.mark.parametrize("bad", ["0000-01", "2026-13", "2026-00", "26-09", "", "9999-12", "x"])
def test_month_refuses_what_is_not_a_month(bad):
    with pytest.raises(PeriodError) as e:
        Month.parse(bad)
    assert isinstance(e.value, CsMetricsError) and e.value.code == "month_invalid"
    assert "YYYY-MM" in e.value.message("ja")


# ---- the data's months (SPEC §3) ---------------------------------------------------------------


def _usage(weeks: list[str]) -> list[dict]:
    return [
        {
            "account_id": "A",
            "week_start": dt.date.fromisoformat(w),
            "logins": 1.0,
            "deliveries": 1.0,
        }
        for w in weeks
    ]


def test_default_month_is_the_last_month_the_data_covers_to_its_end():
    subs = [line("A", "core", "2025-01-01", None, 100)]
    # weekly data up to the week starting 2026-09-28 (ends 10-04): September is covered
    ds = frames_dataset(subscriptions=subs, usage_weekly=_usage(["2026-09-21", "2026-09-28"]))
    assert ds.default_as_of(dt.date(2026, 12, 1)) == Month.parse("2026-09")
    # one stray row a few days into October does not make October the default
    stray = frames_dataset(
        subscriptions=subs,
        usage_weekly=_usage(["2026-09-28"]),
        touchpoints=[{"account_id": "A", "occurred_on": dt.date(2026, 10, 2), "kind": "email"}],
    )
    assert stray.default_as_of(dt.date(2026, 12, 1)) == Month.parse("2026-09")
    # weekly data that stops a few days short of the month end still covers it
    short = frames_dataset(subscriptions=subs, usage_weekly=_usage(["2026-09-21"]))
    assert short.export_date(dt.date(2026, 12, 1)) == dt.date(2026, 9, 27)
    assert short.default_as_of(dt.date(2026, 12, 1)) == Month.parse("2026-09")
    # never a month that has not ended
    assert ds.default_as_of(dt.date(2026, 10, 3)) == Month.parse("2026-09")
    # contracts signed ahead do not move the export date; without activity tables it is today
    only_subs = frames_dataset(subscriptions=[*subs, line("B", "core", "2027-01-01", None, 5)])
    assert only_subs.default_as_of(dt.date(2026, 12, 1)) == Month.parse("2026-11")


def test_a_month_outside_the_data_is_refused_naming_the_range():
    subs = [line("A", "core", "2025-03-01", None, 100)]
    ds = frames_dataset(subscriptions=subs, usage_weekly=_usage(["2026-09-28"]))
    today = dt.date(2026, 12, 1)
    assert ds.month_range(today) == (Month.parse("2025-03"), Month.parse("2026-09"))
    assert ds.resolve_month(None, today) == Month.parse("2026-09")
    assert ds.resolve_month("2025-03", today) == Month.parse("2025-03")
    for bad in ("2026-10", "2025-02", "2030-01"):
        with pytest.raises(PeriodError) as e:
            ds.resolve_month(bad, today)
        assert e.value.code == "month_out_of_range"
        assert "2025-03" in e.value.message("ja") and "2026-09" in e.value.message("en")


def _weekly(first: str, n: int) -> list[str]:
    start = dt.date.fromisoformat(first)
    return [(start + dt.timedelta(weeks=k)).isoformat() for k in range(n)]


def test_stray_rows_months_later_do_not_move_the_export_date_or_the_default_month():
    subs = [line("A", "core", "2025-01-01", None, 100)]
    today = dt.date(2026, 12, 1)
    usage = _usage(_weekly("2025-01-06", 26))  # to the week ending 2025-07-06
    for table, row in (
        ("touchpoints", {"account_id": "A", "occurred_on": dt.date(2025, 9, 20), "kind": "x"}),
        (
            "nps_responses",
            {
                "response_id": "R",
                "account_id": "A",
                "responded_on": dt.date(2026, 3, 1),
                "score": 9,
            },
        ),
    ):
        ds = frames_dataset(subscriptions=subs, usage_weekly=usage, **{table: [row]})
        act = ds.activity(today)
        assert ds.export_date(today) == dt.date(2025, 7, 6), table
        assert ds.default_as_of(today) == Month.parse("2025-06"), table
        assert act.stray_after == {table: dt.date(2025, 7, 6)} and table not in act.tables
        with pytest.raises(PeriodError):
            ds.resolve_month("2025-09", today)
    # a later export that continues after a gap, on many dates, is the data: not stray
    later = _usage(_weekly("2025-01-06", 26) + _weekly("2025-09-01", 8))
    ds = frames_dataset(subscriptions=subs, usage_weekly=later)
    assert ds.export_date(today) == dt.date(2025, 10, 26) and ds.activity(today).stray_after == {}
