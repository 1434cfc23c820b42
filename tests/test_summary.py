"""Report arithmetic (cs_metrics.metrics.summary): period views, changes, target status."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import frames_dataset, line

from cs_metrics.metrics.retention import monthly_rates
from cs_metrics.metrics.summary import (
    change,
    kpi_changes,
    period_bridge,
    series,
    target_gap,
    target_status,
)


@pytest.fixture(scope="module")
def rates() -> pl.DataFrame:
    # A: 100 from 2025-02; B: 50 from 2025-05, churns after 2025-08; C: 200 from 2026-01
    ds = frames_dataset(
        subscriptions=[
            line("A", "core", "2025-02-01", None, 100),
            line("B", "core", "2025-05-01", "2025-08-31", 50),
            line("C", "core", "2026-01-01", None, 200),
        ]
    )
    return monthly_rates(ds, "2026-05")


def test_fiscal_quarters_start_in_april_and_partial_ones_are_marked(rates):
    q = period_bridge(rates, "2026-05", "fiscal_quarter", 4, last=20)
    first = q.row(0, named=True)
    # data starts 2025-02: fiscal 2024 Q4 (Jan-Mar 2025) has only Feb and Mar
    assert (first["fiscal_year"], first["quarter"], first["months"], first["complete"]) == (
        2024,
        4,
        2,
        False,
    )
    q1 = q.filter((pl.col("fiscal_year") == 2025) & (pl.col("quarter") == 1)).row(0, named=True)
    assert (q1["first_month"], q1["last_month"], q1["complete"]) == ("2025-04", "2025-06", True)
    assert q1["new"] == 50 and q1["mrr_start"] == 100 and q1["mrr_end"] == 150
    assert q1["growth"] == pytest.approx(0.5)
    q2 = q.filter((pl.col("fiscal_year") == 2025) & (pl.col("quarter") == 2)).row(0, named=True)
    assert q2["churn"] == 50 and q2["accounts_churned"] == 1  # B's churn shows in September
    last = q.row(-1, named=True)  # 2026-04..05 of fiscal 2026 Q1: partial
    assert (last["fiscal_year"], last["quarter"], last["months"], last["complete"]) == (
        2026,
        1,
        2,
        False,
    )


def test_fiscal_years_and_a_calendar_start(rates):
    fy = period_bridge(rates, "2026-05", "fiscal_year", 4)
    assert fy["fiscal_year"].to_list() == [2024, 2025, 2026]
    assert fy["complete"].to_list() == [False, True, False]
    full = fy.row(1, named=True)
    assert (full["mrr_start"], full["new"], full["churn"], full["mrr_end"]) == (100, 250, 50, 300)
    cal = period_bridge(rates, "2026-05", "fiscal_year", 1)
    assert cal["fiscal_year"].to_list() == [2025, 2026]
    # the bridge identity holds per period
    for r in period_bridge(rates, "2026-05", "fiscal_quarter", 4, last=20).iter_rows(named=True):
        moved = r["new"] + r["reactivation"] + r["upsell"] + r["cross_sell"]
        assert r["mrr_end"] == pytest.approx(r["mrr_start"] + moved - r["contraction"] - r["churn"])


def test_changes_relative_for_money_points_for_rates(rates):
    ch = kpi_changes(rates, "2025-09")
    assert ch["mrr_end"]["value"] == 100 and ch["mrr_end"]["prev_month"] == 150
    assert ch["mrr_end"]["mom"] == pytest.approx(-1 / 3)
    assert ch["mrr_end"]["yoy"] is None  # no data a year before
    assert ch["logo_churn_rate"]["value"] == pytest.approx(0.5)
    assert ch["logo_churn_rate"]["mom"] == pytest.approx(0.5)  # points: 50% - 0%
    assert change(110, 100, "money") == pytest.approx(0.1)
    assert change(5, 0, "money") is None and change(None, 1, "rate") is None
    assert change(0.02, 0.015, "rate") == pytest.approx(0.005)
    assert change(7, 9, "count") == -2


def test_series_and_targets(rates):
    s = series(rates, "2026-05", "mrr_end", months=3)
    assert s["month"].to_list() == ["2026-03", "2026-04", "2026-05"]
    assert s["value"].to_list() == [300, 300, 300]
    assert target_status(1.12, 1.10, True) == "good"
    assert target_status(1.10, 1.10, True) == "good"  # meeting the target is good
    assert target_status(0.21, 0.10, False) == "bad"
    assert target_status(None, 0.10, False) == "neutral"
    assert target_gap(0.213, 0.10) == pytest.approx(0.113) and target_gap(None, 1) is None
