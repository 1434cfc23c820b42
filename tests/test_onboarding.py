"""Onboarding (SPEC §6): graduation, time to graduate, funnel, stalled users, point in time."""

from __future__ import annotations

import datetime as dt

import polars as pl
from conftest import frames_dataset

from cs_metrics.metrics import onboarding

D = dt.date


START = D(2025, 1, 6)


def sessions(user, done, start=START, n=12, account="A"):
    return [
        {
            "account_id": account,
            "user_id": user,
            "session_no": k,
            "status": "done" if k <= done else "scheduled",
            "held_on": start + dt.timedelta(weeks=k - 1),
        }
        for k in range(1, n + 1)
    ]


SUBS = [
    {
        "subscription_id": f"s{a}",
        "account_id": a,
        "product": "p",
        "start_date": D(2025, 1, 1),
        "end_date": None,
        "mrr": 1.0,
    }
    for a in "AB"
]


def make(rows=None):
    rows = rows if rows is not None else sessions("u1", 12) + sessions("u2", 4)
    return frames_dataset(subscriptions=SUBS, onboarding_sessions=rows)


def users_of(ds, as_of):
    return {r["user_id"]: r for r in onboarding.onboarding_users(ds, as_of).iter_rows(named=True)}


def test_graduation_time_and_stalled():
    users = users_of(make(), "2025-06")
    # u1: sessions weekly from 2025-01-06, the 12th on 2025-03-24: 77 days
    assert users["u1"]["graduated"] and users["u1"]["days_to_graduate"] == 77
    assert users["u1"]["next_session_no"] is None
    u2 = users["u2"]
    assert not u2["graduated"] and u2["stalled"] and u2["next_session_no"] == 5
    assert u2["days_to_graduate"] is None
    acc = onboarding.onboarding_accounts(make(), "2025-06").row(0, named=True)
    assert (acc["users"], acc["graduated_users"], acc["graduated"], acc["stalled_users"]) == (
        2,
        1,
        False,
        1,
    )
    assert acc["mean_sessions_done"] == 8.0


def test_time_to_graduate_runs_from_the_first_held_session_to_the_last_done():
    rows = sessions("u1", 12)
    rows[0]["held_on"] = D(2025, 3, 31)  # session 1 made up last, after session 12 (03-24)
    u = users_of(make(rows), "2025-06")["u1"]
    assert u["graduated"] and u["first_held_on"] == D(2025, 1, 13)
    assert u["last_done_on"] == D(2025, 3, 31) and u["days_to_graduate"] == 77
    gap = sessions("u3", 6)
    gap[2]["status"] = "missed"  # session 3 missed: the next session to do is 3
    u3 = users_of(make(gap), "2025-06")["u3"]
    assert u3["next_session_no"] == 3 and u3["sessions_done"] == 5


def test_stalled_edges():
    # as of 2025-06 (last day 06-30); stalled_weeks 3 -> more than 21 days without progress
    rows = (
        sessions("a21", 2, start=D(2025, 6, 2))  # last done 06-09: 21 days -> not stalled
        + sessions("a22", 2, start=D(2025, 6, 1))  # last done 06-08: 22 days -> stalled
        + sessions("old", 2, start=D(2024, 6, 3))  # started before 2024-12-01: history
        + [  # nothing done yet, program started 10 days ago
            {
                "account_id": "B",
                "user_id": "new",
                "session_no": 1,
                "status": "missed",
                "held_on": D(2025, 6, 20),
            }
        ]
    )
    users = users_of(make(rows), "2025-06")
    assert {u for u, r in users.items() if r["stalled"]} == {"a22"}
    assert users["a21"]["days_since_progress"] == 21 and users["a22"]["days_since_progress"] == 22
    assert onboarding.stalled_users(make(rows), "2025-06")["user_id"].to_list() == ["a22"]


def test_funnel_counts_users_per_session_overall_and_per_account():
    rows = sessions("u1", 12) + sessions("u2", 4) + sessions("v1", 2, account="B")
    f = onboarding.onboarding_funnel(make(rows), "2025-06")
    assert f["users_done"].to_list() == [3, 3, 2, 2] + [1] * 8
    assert f["drop_from_previous"].to_list() == [0, 0, 1, 0, 1] + [0] * 7
    assert f["share_of_users"][0] == 1.0 and f["users"][0] == 3
    per = onboarding.onboarding_funnel(make(rows), "2025-06", by="account_id")
    b = per.filter(pl.col("account_id") == "B")
    assert b["users_done"].to_list() == [1, 1] + [0] * 10 and b["users"][0] == 1


def test_point_in_time_sessions_after_as_of_are_not_done_yet():
    users = onboarding.onboarding_users(make(), "2025-01")
    u1 = users.filter(pl.col("user_id") == "u1").row(0, named=True)
    assert not u1["graduated"] and u1["sessions_done"] == 4  # Jan 6, 13, 20, 27
    assert onboarding.onboarding_users(make(), "2024-12").height == 0  # not started yet
    s = onboarding.onboarding_summary(make(), "2025-06")
    assert s["users"] == 2 and len(s["per_session"]) == 12
    assert s["per_session"][4] == {
        "session_no": 5,
        "users_done": 1,
        "share_of_users": 0.5,
        "drop_from_previous": 1,
    }


def test_sessions_beyond_n_are_ignored_and_missing_table():
    rows = sessions("u1", 11) + [
        {"account_id": "A", "user_id": "u1", "session_no": 13, "status": "done", "held_on": None}
    ]
    assert not users_of(make(rows), "2025-06")["u1"]["graduated"]
    ds = frames_dataset(subscriptions=SUBS)
    assert onboarding.onboarding_users(ds, "2025-06") is None
    assert onboarding.onboarding_summary(ds, "2025-06")["available"] is False
    assert onboarding.stalled_users(ds, "2025-06").height == 0
