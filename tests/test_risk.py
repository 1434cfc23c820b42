"""Risk signals (SPEC §6): rule edges, unavailable tables, evidence, the risk list."""

from __future__ import annotations

import datetime as dt

import polars as pl
from conftest import frames_dataset

from cs_metrics.metrics import risk

D = dt.date


def sub(acc, start="2024-01-01", end=None, mrr=100_000.0):
    return {
        "subscription_id": f"s-{acc}-{start}",
        "account_id": acc,
        "product": "core",
        "start_date": D.fromisoformat(start),
        "end_date": D.fromisoformat(end) if end else None,
        "mrr": mrr,
    }


def week(acc, start, logins):
    return {
        "account_id": acc,
        "week_start": D.fromisoformat(start),
        "logins": float(logins),
        "deliveries": 1.0,
        "outcome_rate": 0.5,
    }


def flagged(res, rule):
    return set(res.signals.filter(pl.col("rule") == rule)["account_id"])


def test_no_login_edges_exactly_60_days_is_not_flagged():
    # as of 2025-06 (last day 06-30). A: last login week 2025-04-25..05-01 -> 60 days: not flagged.
    # B: week 2025-04-24..04-30 -> 61 days: flagged. C: never logged in: flagged.
    usage = [
        week("A", "2025-04-25", 3),
        week("B", "2025-04-24", 3),
        week("C", "2025-06-02", 0),
        week("A", "2025-06-02", 0),
    ]
    ds = frames_dataset(subscriptions=[sub("A"), sub("B"), sub("C")], usage_weekly=usage)
    res = risk.risk_signals(ds, "2025-06")
    assert flagged(res, "no_login") == {"B", "C"}
    ev = res.signals.filter((pl.col("rule") == "no_login") & (pl.col("account_id") == "B"))
    assert ev["value"][0] == 61


def test_rules_with_missing_tables_are_unavailable_not_flagging_everyone():
    ds = frames_dataset(subscriptions=[sub("A"), sub("B")])
    res = risk.risk_signals(ds, "2025-06")
    assert {
        "no_login",
        "usage_drop",
        "nps_detractor",
        "onboarding_stalled",
        "no_touchpoint",
        "cancellation_notice",
    } <= set(res.unavailable)
    assert not flagged(res, "no_login") and not flagged(res, "no_touchpoint")


def test_renewal_due_and_cancellation_notice():
    subs = [sub("A", end="2025-08-31"), sub("B"), sub("C", end="2025-03-31")]
    canc = [
        {"account_id": "B", "cancelled_on": D(2025, 6, 10), "reason": "施策終了のため"},  # notice
        {
            "account_id": "C",
            "cancelled_on": D(2025, 3, 1),
            "reason": "予算削減",
        },  # churned: no notice
        {
            "account_id": "A",
            "cancelled_on": D(2025, 7, 5),
            "reason": "x",
        },  # after as_of: unknown yet
    ]
    ds = frames_dataset(subscriptions=subs, cancellations=canc)
    res = risk.risk_signals(ds, "2025-06")
    assert flagged(res, "renewal_due") == {"A"}
    assert flagged(res, "cancellation_notice") == {"B"}


def test_nps_detractor_and_usage_drop_and_expansion():
    usage = [
        week("A", (D(2025, 3, 3) + dt.timedelta(weeks=i)).isoformat(), 10 if i < 13 else 1)
        for i in range(17)
    ]
    nps = [
        {"response_id": "r1", "account_id": "A", "responded_on": D(2025, 6, 1), "score": 6},
        {"response_id": "r2", "account_id": "B", "responded_on": D(2025, 6, 1), "score": 7},
    ]
    ds = frames_dataset(subscriptions=[sub("A"), sub("B")], usage_weekly=usage, nps_responses=nps)
    res = risk.risk_signals(ds, "2025-06")
    assert flagged(res, "nps_detractor") == {"A"}
    assert flagged(res, "usage_drop") == {"A"}
    assert "expansion_candidate" not in set(res.signals.filter(pl.col("account_id") == "A")["rule"])


def test_risk_list_orders_by_mrr_within_csm():
    acc = [
        {"account_id": a, "account_name": a, "industry": "IT", "csm": c}
        for a, c in (("A", "鈴木"), ("B", "鈴木"), ("C", "津田"))
    ]
    subs = [sub("A", mrr=50_000.0), sub("B", mrr=300_000.0), sub("C", mrr=10_000.0)]
    ds = frames_dataset(accounts=acc, subscriptions=subs)
    rl = risk.risk_list(ds, "2025-06")  # all are health_red without usage data
    assert rl.filter(pl.col("csm") == "鈴木")["account_id"].to_list() == ["B", "A"]
    by = risk.mrr_at_risk_by_csm(ds, "2025-06")
    assert by["csm"].to_list() == ["鈴木", "津田"]
