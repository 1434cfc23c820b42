"""Risk signals (SPEC §6): every rule's edges, unavailable tables, evidence, the risk list.

All cases are as of 2025-06 (last day Monday 2025-06-30) unless stated.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from conftest import frames_dataset, line
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_metrics.config import load_config
from cs_metrics.metrics import risk

D = dt.date
END = D(2025, 6, 30)


def sub(acc, start="2024-01-01", end=None, mrr=100_000.0, product="core"):
    return line(acc, product, start, end, mrr)


def week(acc, start, logins, deliveries=1.0):
    start = D.fromisoformat(start) if isinstance(start, str) else start
    return {
        "account_id": acc,
        "week_start": start,
        "logins": float(logins),
        "deliveries": float(deliveries),
        "outcome_rate": 0.5,
    }


def accounts(*rows):
    return [
        {"account_id": a, "account_name": f"name {a}", "industry": ind, "csm": csm}
        for a, ind, csm in rows
    ]


def flagged(res, rule):
    return set(res.signals.filter(pl.col("rule") == rule)["account_id"])


def row(res, rule, acc):
    return res.signals.filter((pl.col("rule") == rule) & (pl.col("account_id") == acc)).row(
        0, named=True
    )


def test_no_login_edges_exactly_60_days_is_not_flagged():
    # A: last login week 04-25..05-01 -> 60 days: not flagged. B: 04-24..04-30 -> 61: flagged.
    # C: only weeks with 0 logins; E: no usage rows; F: first login after as_of: all "never".
    usage = [
        week("A", "2025-04-25", 3),
        week("A", "2025-06-02", 0),
        week("B", "2025-04-24", 3),
        week("C", "2025-06-02", 0),
        week("F", "2025-07-07", 5),
    ]
    ds = frames_dataset(subscriptions=[sub(a) for a in "ABCEF"], usage_weekly=usage)
    res = risk.risk_signals(ds, "2025-06")
    assert flagged(res, "no_login") == {"B", "C", "E", "F"}
    b = row(res, "no_login", "B")
    assert b["value"] == 61 and "61日" in b["evidence"] and "2025-04-30" in b["evidence"]
    assert row(res, "no_login", "C")["value"] is None
    assert row(res, "no_login", "C")["evidence"] == "ログイン記録なし"


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from("ABC"), st.integers(0, 40), st.integers(0, 2)),
        max_size=12,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_no_login_matches_an_independent_computation(rows):
    first = D(2024, 10, 7)  # a Monday; weeks up to 2025-07-14 (some after as_of)
    usage = [week(a, first + dt.timedelta(weeks=k), lg) for a, k, lg in rows]
    tables = {"subscriptions": [sub(a) for a in "ABC"]}
    if usage:
        tables["usage_weekly"] = usage
    else:
        tables["usage_weekly"] = pl.DataFrame(
            schema={
                "account_id": pl.String,
                "week_start": pl.Date,
                "logins": pl.Float64,
                "deliveries": pl.Float64,
            }
        )
    res = risk.risk_signals(frames_dataset(**tables), "2025-06")
    expected = {}
    for a in "ABC":
        ends = [
            first + dt.timedelta(weeks=k, days=6)
            for x, k, lg in rows
            if x == a and lg > 0 and first + dt.timedelta(weeks=k) <= END
        ]
        days = (END - max(ends)).days if ends else None
        if days is None or days > 60:
            expected[a] = days
    got = {
        r["account_id"]: (None if r["value"] is None else int(r["value"]))
        for r in res.signals.filter(pl.col("rule") == "no_login").iter_rows(named=True)
    }
    assert got == expected


def test_renewal_due_edges():
    # ends after as_of's last day up to the last day two months later: due; a day later: not;
    # on as_of's last day itself: not due (already ended: renewal_unconfirmed or renewed)
    subs = [
        sub("A", end="2025-06-30"),
        sub("B", end="2025-08-31"),
        sub("C", end="2025-09-01"),
        sub("E", end="2025-07-01"),
        sub("X", end="2025-06-29"),  # not active in June: no row at all
    ]
    res = risk.risk_signals(frames_dataset(subscriptions=subs), "2025-06")
    assert flagged(res, "renewal_due") == {"B", "E"}
    assert row(res, "renewal_due", "E")["value"] == 1
    assert row(res, "renewal_due", "B")["value"] == 62
    assert "X" not in set(res.signals["account_id"])


def test_renewal_unconfirmed_is_its_own_signal():
    # A: ended on as_of's last day, nothing after: unconfirmed. B: renewed from 07-01, but that
    # line is not known on 06-30 (point in time, SPEC §3): unconfirmed in June, not in July.
    # C: only another product continues: unconfirmed. D: the later line is free (0). E: ends a
    # day later (renewal_due, not unconfirmed). F: renewed with a gap. G: a line of the same
    # product started by 06-30 runs on: renewed as known then, not flagged.
    subs = [
        sub("A", end="2025-06-30", mrr=120_000.0),
        sub("B", end="2025-06-30"),
        line("B", "core", "2025-07-01", None, 100_000.0),
        sub("C", end="2025-06-30"),
        line("C", "addon", "2025-06-01", None, 20_000.0),
        sub("D", end="2025-06-30"),
        line("D", "core", "2025-06-15", None, 0.0),
        sub("E", end="2025-07-01"),
        sub("F", end="2025-06-30"),
        line("F", "core", "2025-08-01", None, 90_000.0),
        sub("G", end="2025-06-30"),
        line("G", "core", "2025-06-20", "2026-06-30", 110_000.0),
    ]
    ds = frames_dataset(subscriptions=subs)
    res = risk.risk_signals(ds, "2025-06")
    assert flagged(res, "renewal_unconfirmed") == {"A", "B", "C", "D", "F"}
    assert flagged(res, "renewal_due") == {"E"}
    assert flagged(risk.risk_signals(ds, "2025-07"), "renewal_unconfirmed") == set()
    a = row(res, "renewal_unconfirmed", "A")
    assert (
        a["value"] == 120_000 and a["evidence"] == "契約終了 2025-06-30 (core) 以降の更新契約なし"
    )
    cfg = load_config({"general": {"lang": "en"}})
    en = risk.risk_signals(frames_dataset(cfg, subscriptions=subs), "2025-06")
    assert row(en, "renewal_unconfirmed", "A")["evidence"] == (
        "contract ended 2025-06-30 (core); no renewal line"
    )


def test_cancellation_notice_with_expected_last_month():
    subs = [
        sub("A"),
        sub("B"),
        sub("C", end="2025-03-31"),
        sub("D", end="2025-09-30"),
        sub("E", start="2024-01-01", end="2024-03-31"),
        sub("E", start="2025-01-01", product="core2"),
        sub("G", start="2024-01-01", end="2024-03-31"),
        sub("G", start="2025-01-01", product="core2"),
    ]
    canc = [
        {"account_id": "A", "cancelled_on": D(2025, 7, 5), "reason": "x"},  # after as_of
        {"account_id": "B", "cancelled_on": D(2025, 6, 10), "reason": "施策終了のため"},
        {"account_id": "C", "cancelled_on": D(2025, 3, 1), "reason": "予算"},  # churned
        {"account_id": "D", "cancelled_on": D(2025, 6, 30), "reason": "予算"},  # on the last day
        {"account_id": "E", "cancelled_on": D(2024, 3, 1), "reason": "old"},  # before a churn
        {"account_id": "G", "cancelled_on": D(2025, 5, 2), "reason": "again"},  # after it
    ]
    ds = frames_dataset(subscriptions=subs, cancellations=canc)
    res = risk.risk_signals(ds, "2025-06")
    assert flagged(res, "cancellation_notice") == {"B", "D", "G"}
    assert row(res, "cancellation_notice", "B")["evidence"].endswith("最終月(見込み): 未定")
    d = row(res, "cancellation_notice", "D")
    assert d["value"] == 0 and d["evidence"].endswith("最終月(見込み): 2025-09")


def test_usage_drop_edge_and_expansion_candidate():
    # baseline: the 12 complete weeks before the recent 4 (recent = weeks starting 06-02..06-23)
    base = [D(2025, 3, 10) + dt.timedelta(weeks=i) for i in range(12)]
    recent = [D(2025, 6, 2) + dt.timedelta(weeks=i) for i in range(4)]
    usage = (
        [week("A", d, 10) for d in base]
        + [week("A", d, 5) for d in recent]  # exactly half: not a drop
        + [week("B", d, 10) for d in base]
        + [week("B", d, lg) for d, lg in zip(recent, (5, 5, 5, 4), strict=True)]  # 4.75: drop
        + [week("G", d, 10, deliveries=3) for d in base]
        + [week("G", d, 12, deliveries=3) for d in recent]  # +20%: expansion (edge inclusive)
    )
    tps = [
        {"account_id": "G", "occurred_on": D(2025, 6, d), "kind": "meeting"} for d in (1, 8, 15, 22)
    ]
    ds = frames_dataset(subscriptions=[sub(a) for a in "ABG"], usage_weekly=usage, touchpoints=tps)
    res = risk.risk_signals(ds, "2025-06")
    assert flagged(res, "usage_drop") == {"B"}
    assert row(res, "usage_drop", "B")["value"] == -0.525
    assert flagged(res, "expansion_candidate") == {"G"}
    g = row(res, "expansion_candidate", "G")
    assert g["kind"] == "opportunity" and abs(g["value"] - 0.2) < 1e-12
    assert "G" not in flagged(res, "health_red")


def test_nps_detractor_window_edges_and_accounts_without_nps():
    # the window is the 180 days ending 06-30: from 2025-01-02
    nps = [
        {"response_id": "r1", "account_id": "A", "responded_on": D(2025, 6, 30), "score": 6},
        {"response_id": "r2", "account_id": "B", "responded_on": D(2025, 6, 1), "score": 7},
        {"response_id": "r3", "account_id": "C", "responded_on": D(2025, 1, 2), "score": 0},
        {"response_id": "r4", "account_id": "D", "responded_on": D(2025, 1, 1), "score": 3},
        {"response_id": "r5", "account_id": "E", "responded_on": D(2025, 7, 1), "score": 2},
        {"response_id": "r6", "account_id": "A", "responded_on": D(2025, 5, 1), "score": 2},
    ]
    ds = frames_dataset(subscriptions=[sub(a) for a in "ABCDEF"], nps_responses=nps)
    res = risk.risk_signals(ds, "2025-06")
    assert flagged(res, "nps_detractor") == {"A", "C"}  # F has no response: not flagged
    a = row(res, "nps_detractor", "A")
    assert a["value"] == 6 and "2025-06-30" in a["evidence"] and "2件" in a["evidence"]


def test_onboarding_stalled_edges():
    def s(user, no, held, status="done"):
        return {
            "account_id": user[0],
            "user_id": user,
            "session_no": no,
            "status": status,
            "held_on": held,
        }

    rows = [
        s("A1", 1, D(2025, 6, 2)),
        s("A1", 2, D(2025, 6, 9)),  # last done 21 days before 06-30: not yet stalled
        s("B1", 1, D(2025, 6, 1)),
        s("B1", 2, D(2025, 6, 8)),  # 22 days: stalled
        s("B1", 3, D(2025, 6, 15), "missed"),
        s("C1", 1, D(2024, 6, 3)),  # started before the 6-month lookback: history
        s("E1", 1, D(2025, 6, 20), "missed"),  # nothing done, started 10 days ago
    ] + [s("G1", k, D(2025, 1, 6) + dt.timedelta(weeks=k - 1)) for k in range(1, 13)]
    ds = frames_dataset(subscriptions=[sub(a) for a in "ABCEG"], onboarding_sessions=rows)
    res = risk.risk_signals(ds, "2025-06")
    assert flagged(res, "onboarding_stalled") == {"B"}
    assert "最少 2回完了" in row(res, "onboarding_stalled", "B")["evidence"]


def test_no_touchpoint_limit_by_segment():
    # S: MRR 250,000 (3) + 金融 (1) = high tier, red health -> S (30 days);
    # B: MRR 50,000 (1) = low tier, red -> B (90 days). Both mature (since 2024-01).
    acc = accounts(
        ("S1", "金融", "鈴木"),
        ("S2", "金融", "鈴木"),
        ("B1", "IT", "津田"),
        ("B2", "IT", "津田"),
        ("B3", "IT", "津田"),
    )
    subs = [sub(a, mrr=250_000.0) for a in ("S1", "S2")] + [
        sub(a, mrr=50_000.0) for a in ("B1", "B2", "B3")
    ]
    tps = [
        {"account_id": a, "occurred_on": d, "kind": "email"}
        for a, d in (
            ("S1", D(2025, 5, 31)),  # 30 days: not flagged
            ("S2", D(2025, 5, 30)),  # 31 days: flagged
            ("B1", D(2025, 4, 1)),  # 90 days: not flagged
            ("B2", D(2025, 3, 31)),  # 91 days: flagged
            ("B3", D(2025, 7, 1)),  # after as_of: none known -> flagged
        )
    ]
    ds = frames_dataset(accounts=acc, subscriptions=subs, touchpoints=tps)
    res = risk.risk_signals(ds, "2025-06")
    segs = dict(res.signals.select("account_id", "segment").unique().iter_rows())
    assert segs["S1"] == "S" and segs["B1"] == "B"
    assert flagged(res, "no_touchpoint") == {"S2", "B2", "B3"}
    assert row(res, "no_touchpoint", "B2")["value"] == 91
    assert row(res, "no_touchpoint", "B3")["value"] is None


def test_rules_with_missing_tables_are_unavailable_not_flagging_everyone():
    ds = frames_dataset(subscriptions=[sub("A"), sub("B")])
    res = risk.risk_signals(ds, "2025-06")
    missing = {
        "no_login",
        "usage_drop",
        "nps_detractor",
        "onboarding_stalled",
        "no_touchpoint",
        "cancellation_notice",
        "expansion_candidate",
    }
    # no health measure has data either: health_red is unavailable, never "everyone is red"
    assert set(res.unavailable) == missing | {"health_red"}
    assert res.signals.height == 0
    st_ = {r["rule"]: r for r in res.status.iter_rows(named=True)}
    assert {r for r, x in st_.items() if x["status"] == "unavailable"} == missing | {"health_red"}
    assert st_["health_red"]["accounts"] is None and st_["renewal_due"]["accounts"] == 0
    assert st_["no_login"]["accounts"] is None and "週次利用" in st_["no_login"]["reason"]


def test_disabled_rules_flag_nobody():
    cfg = load_config({"risk": {"disabled_rules": ["health_red"]}})
    res = risk.risk_signals(frames_dataset(cfg, subscriptions=[sub("A")]), "2025-06")
    assert res.signals.height == 0
    assert res.status.filter(pl.col("rule") == "health_red")["status"][0] == "disabled"


def test_evidence_in_english():
    cfg = load_config({"general": {"lang": "en"}})
    ds = frames_dataset(cfg, subscriptions=[sub("A")], usage_weekly=[week("A", "2025-03-03", 1)])
    ev = row(risk.risk_signals(ds, "2025-06"), "no_login", "A")["evidence"]
    assert ev == "113 days since last login (week ending 2025-03-09)"


def test_risk_list_orders_csms_and_accounts_by_mrr_at_risk():
    acc = accounts(
        ("A", "IT", "鈴木"), ("B", "IT", "鈴木"), ("C", "IT", "津田"), ("E", "IT", "津田")
    )
    subs = [
        sub("A", mrr=50_000.0),
        sub("B", mrr=300_000.0),
        sub("C", mrr=400_000.0),
        sub("E", mrr=10_000.0),
    ]
    # a touchpoints table without a touchpoint in the window: every account's health is a
    # measured 0 (red), and no_touchpoint flags them all too
    tps = [{"account_id": "A", "occurred_on": dt.date(2020, 1, 6), "kind": "qbr"}]
    ds = frames_dataset(accounts=acc, subscriptions=subs, touchpoints=tps)
    rl = risk.risk_list(ds, "2025-06")
    # 津田 410,000 at risk > 鈴木 350,000
    assert rl["account_id"].to_list() == ["C", "E", "B", "A"]
    assert rl["csm_mrr_at_risk"].to_list() == [410_000.0, 410_000.0, 350_000.0, 350_000.0]
    by = risk.mrr_at_risk_by_csm(ds, "2025-06")
    assert by.rows() == [("津田", 2, 410_000.0), ("鈴木", 2, 350_000.0)]


def test_config_knows_every_rule_name():
    """config.py keeps its own copy of the rule names (it must not import metrics code)."""
    from cs_metrics import config

    assert set(config.RISK_RULE_NAMES) == set(risk.RISK_RULES) | set(risk.OPPORTUNITY_RULES)


def _usage_weeks(acc, last_login_week, until="2025-06-23"):
    """Weekly rows from 2025-01-06: 5 logins up to ``last_login_week``, 0 after, 3 deliveries."""
    out, d = [], D(2025, 1, 6)
    while d <= D.fromisoformat(until):
        out.append(week(acc, d, 5 if d <= D.fromisoformat(last_login_week) else 0, 3))
        d += dt.timedelta(weeks=1)
    return out


def test_risk_list_priority_is_mrr_times_combined_severity_times_recency():
    # as of 2025-06: A (100k) cancellation notice dated in May: severity 1.0, not new.
    # B (300k) no login since April (flagged in May too) + a cancellation notice in June (new):
    # severity 1 - (1 - 0.7)(1 - 1.0) = 1, recency 1.5 -> 450k.
    # C (200k) renewal due end of August: new this month (May looks to July only) -> 0.3 x 200k x 1.5 = 90k.
    acc = accounts(("A", "IT", "鈴木"), ("B", "IT", "鈴木"), ("C", "IT", "鈴木"))
    subs = [
        sub("A", mrr=100_000.0),
        sub("B", mrr=300_000.0),
        sub("C", end="2025-08-31", mrr=200_000.0),
    ]
    canc = [
        {"account_id": "A", "cancelled_on": D(2025, 5, 10), "reason": "予算"},
        {"account_id": "B", "cancelled_on": D(2025, 6, 10), "reason": "施策終了"},
    ]
    usage = _usage_weeks("A", "2025-06-23") + _usage_weeks("B", "2025-03-03")
    usage += _usage_weeks("C", "2025-06-23")
    tps = [{"account_id": a, "occurred_on": D(2025, 6, 20), "kind": "meeting"} for a in "ABC"]
    ds = frames_dataset(
        accounts=acc, subscriptions=subs, cancellations=canc, usage_weekly=usage, touchpoints=tps
    )
    rl = risk.risk_list(ds, "2025-06")
    got = {r["account_id"]: r for r in rl.iter_rows(named=True)}
    assert rl["account_id"].to_list() == ["B", "A", "C"] and rl["rank"].to_list() == [1, 2, 3]
    b = got["B"]
    assert b["rules"][0] == "cancellation_notice" and "no_login" in b["rules"]
    assert b["new_rules"] == ["cancellation_notice"] and b["severity"] == 1.0
    assert b["priority"] == 450_000 and b["top_rule"] == "cancellation_notice"
    assert b["next_action"] == "解約理由を確認し、施策終了なら別用途を提案"
    assert b["rule_labels"][0] == "解約予定の連絡あり"
    assert got["A"]["new_rules"] == [] and got["A"]["priority"] == 100_000
    assert got["C"]["rules"] == ["renewal_due"] and got["C"]["priority"] == 90_000
    assert got["C"]["next_action"] == "更新リマインドを送り、QBRを設定"


def test_severity_and_next_action_come_from_config_in_the_reports_language():
    cfg = load_config(
        {
            "general": {"lang": "en"},
            "risk": {
                "severity": {"renewal_due": 0.2},
                "recency_weight": 1.0,
                "next_action": {"en": {"renewal_due": "Call them"}},
            },
        }
    )
    ds = frames_dataset(cfg, subscriptions=[sub("A", end="2025-07-31", mrr=50_000.0)])
    r = risk.risk_list(ds, "2025-06").row(0, named=True)
    assert r["rules"] == ["renewal_due"] and r["severity"] == 0.2 and r["priority"] == 10_000
    assert r["next_action"] == "Call them" and r["rule_labels"] == ["renewal within 2 months"]


def test_green_health_with_a_risk_signal_says_why():
    # logins stopped in March, but deliveries, outcome and touchpoints keep the score green:
    # the row explains the score (logins 0 points) instead of contradicting the signal
    usage = _usage_weeks("A", "2025-03-03")
    tps = [
        {"account_id": "A", "occurred_on": D(2025, m, 10), "kind": "meeting"}
        for m in (4, 5, 5, 6, 6)
    ]
    cfg = load_config({"health": {"band_green": 60.0}})
    ds = frames_dataset(cfg, subscriptions=[sub("A")], usage_weekly=usage, touchpoints=tps)
    r = risk.risk_list(ds, "2025-06").row(0, named=True)
    assert "no_login" in r["rules"] and r["band"] == "green"
    assert r["health_note"].startswith(f"ヘルス良好（{round(r['score'], 1)}点）の内訳: ")
    assert "ログイン数 0.0" in r["health_note"] and "配信数" in r["health_note"]


def test_risk_matrix_lists_every_csm_and_rule_with_zeros():
    acc = accounts(("A", "IT", "鈴木"), ("B", "IT", "津田"), ("C", "IT", None))
    usage = _usage_weeks("A", "2025-06-23") + _usage_weeks("C", "2025-06-23")
    usage += _usage_weeks("B", "2025-06-23")
    tps = [{"account_id": a, "occurred_on": D(2025, 6, 20), "kind": "meeting"} for a in "ABC"]
    subs = [sub("A", end="2025-07-31"), sub("B"), sub("C", end="2025-06-30")]
    ds = frames_dataset(accounts=acc, subscriptions=subs, usage_weekly=usage, touchpoints=tps)
    mx = risk.risk_matrix(ds, "2025-06")
    assert set(mx["csm"]) == {"鈴木", "津田", "（未設定）"}
    assert mx.height == 3 * mx["rule"].n_unique()
    cell = {(r["csm"], r["rule"]): (r["accounts"], r["mrr"]) for r in mx.iter_rows(named=True)}
    assert cell[("鈴木", "renewal_due")] == (1, 100_000.0)
    assert cell[("（未設定）", "renewal_unconfirmed")] == (1, 100_000.0)
    assert cell[("津田", "renewal_due")] == (0, 0.0)
    assert mx["csm"].to_list()[-1] == "津田"  # nothing at risk: last
