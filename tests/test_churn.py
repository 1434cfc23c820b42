"""Churn (SPEC §4): churn within H (observed and Kaplan-Meier), lifetimes, churn reasons."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from conftest import ds_from_lines
from conftest import line as L

from cs_metrics.metrics import churn

# ---- churn within H, Kaplan-Meier ------------------------------------------------------------


def test_churn_within_observed_and_km_hand_computed():
    # as_of 2025-12; H = 3. Censored accounts are censored at as_of - s (SPEC §4).
    lines = [
        L("A", "core", "2025-01-01", "2025-02-28", 10),  # s=Jan, c=Mar: T=2 event
        L("B", "core", "2025-01-01", "2025-06-30", 10),  # T=6 event (after H)
        L("C", "core", "2025-01-01", None, 10),  # censored T=11 (Dec - Jan)
        L("D", "core", "2025-11-01", None, 10),  # censored T=1, not eligible
        L("E", "core", "2025-10-01", "2025-10-31", 10),  # T=1 event, not eligible (s > as_of-H)
    ]
    r = churn.churn_within(ds_from_lines(lines), "2025-12", horizon=3)[0]
    assert (r["eligible"], r["churned"]) == (3, 1)
    assert r["rate"] == pytest.approx(1 / 3)
    # KM: t=1: n=5, d=1 (E) -> 4/5; t=2: n=3 (A, B, C; D left at T=1), d=1 -> 2/3; S(3) = 8/15
    assert r["km_rate"] == pytest.approx(1 - 0.8 * 2 / 3)
    gw = 1 / (5 * 4) + 1 / (3 * 2)
    s3 = 8 / 15
    se = math.sqrt(gw) / abs(math.log(s3))
    assert r["km_ci_low"] == pytest.approx(1 - s3 ** math.exp(-1.959964 * se))
    assert r["km_ci_high"] == pytest.approx(1 - s3 ** math.exp(1.959964 * se))
    assert r["km_ci_low"] < r["km_rate"] < r["km_ci_high"]


def test_active_account_is_censored_at_as_of_minus_s_not_one_more():
    # D starts in November and is active in December (as_of): it has survived 1 month of
    # risk; month as_of + 1 is not observed, so it is not at risk at t = 2
    lines = [L("D", "core", "2025-11-01", None, 10), L("F", "core", "2025-12-01", None, 10)]
    lt = churn.account_lifetimes(ds_from_lines(lines), "2025-12").collect().sort("account_id")
    assert lt["T"].to_list() == [1, 0] and not lt["event"].any()
    # an account churning at t = 2 with another censored at 1: S(2) = 0 among those at risk
    lines = [
        L("A", "core", "2025-10-01", "2025-11-30", 10),  # T=2 event
        L("D", "core", "2025-11-01", None, 10),  # censored T=1: not at risk at t=2
    ]
    r = churn.churn_within(ds_from_lines(lines), "2025-12", horizon=2)[0]
    assert r["km_rate"] == pytest.approx(1.0)


def test_km_is_100_percent_when_everyone_churned_before_the_horizon():
    # 30 of 30 churned in their first month: nobody is at risk at 24, yet S(24) = 0 is known
    lines = [L(f"A{i:02d}", "core", "2024-01-01", "2024-01-31", 10) for i in range(30)]
    r = churn.churn_within(ds_from_lines(lines), "2024-06", horizon=24)[0]
    assert r["km_rate"] == 1.0 and r["km_ci_low"] is None and "km_ci_reason" in r
    assert "km_reason" not in r


def test_churn_within_by_cohort_fiscal_year():
    lines = [
        L("A", "core", "2024-03-01", "2024-04-30", 10),  # FY2023
        L("B", "core", "2024-04-01", None, 10),  # FY2024
    ]
    rows = churn.churn_within(ds_from_lines(lines), "2025-12", horizon=12, cohort="fiscal_year")
    by = {r["cohort"]: r for r in rows}
    assert by["2023"]["churned"] == 1 and by["2024"]["churned"] == 0


# ---- churn reasons --------------------------------------------------------------------------


def test_churn_reason_matching_nearest_within_window_ties_to_earlier():
    lines = [
        L("A", "core", "2024-01-01", "2024-06-30", 100),  # churn event dated 2024-06-30
        L("B", "core", "2024-01-01", "2024-06-30", 50),
        L("C", "core", "2024-01-01", "2024-06-30", 20),
    ]
    canc = [
        {"account_id": "A", "cancelled_on": dt.date(2024, 6, 20), "reason": "施策終了・中止"},
        {"account_id": "A", "cancelled_on": dt.date(2024, 5, 1), "reason": "予算削減"},
        # B: equidistant rows (10 days either side): the earlier row wins
        {"account_id": "B", "cancelled_on": dt.date(2024, 7, 10), "reason": "競合乗り換え"},
        {"account_id": "B", "cancelled_on": dt.date(2024, 6, 20), "reason": "機能不足"},
        # C: outside the 120-day window -> unknown
        {"account_id": "C", "cancelled_on": dt.date(2023, 12, 1), "reason": "予算削減"},
    ]
    ev = churn.churn_events(ds_from_lines(lines, canc), "2024-12")
    got = dict(zip(ev["account_id"], ev["reason_category"], strict=True))
    assert got == {"A": "施策終了・中止", "B": "機能不足", "C": "unknown"}
    shares = churn.churn_reasons(ds_from_lines(lines, canc), "2024-12")
    assert shares["events"].sum() == 3
    assert shares["share_events"].sum() == pytest.approx(1.0)
    assert shares.filter(pl.col("reason_category") == "施策終了・中止")["share_lost_mrr"][
        0
    ] == pytest.approx(100 / 170)


def test_one_cancellation_row_matches_at_most_one_event():
    lines = [
        L("A", "core", "2024-01-01", "2024-03-31", 100),  # churn dated 2024-03-31
        L("A", "core", "2024-05-01", "2024-05-31", 100),  # reactivated, churn dated 2024-05-31
    ]
    canc = [{"account_id": "A", "cancelled_on": dt.date(2024, 5, 20), "reason": "予算削減"}]
    ev = churn.churn_events(ds_from_lines(lines, canc), "2024-12")
    assert ev["reason_category"].to_list() == ["unknown", "予算削減"]


def test_cancellations_after_as_of_are_not_known_yet():
    lines = [L("A", "core", "2024-01-01", "2024-03-31", 100)]
    canc = [{"account_id": "A", "cancelled_on": dt.date(2024, 4, 20), "reason": "予算削減"}]
    ev = churn.churn_events(ds_from_lines(lines, canc), "2024-04")
    assert ev["reason_category"].to_list() == ["予算削減"]
    # the same report run as of March cannot see an April row, and has no event matched
    ev = churn.churn_events(ds_from_lines(lines, canc), "2024-03")
    assert ev.height == 0
