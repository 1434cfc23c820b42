"""Onboarding (SPEC §6): graduation, funnel, stalled users, point in time."""

from __future__ import annotations

import datetime as dt

from conftest import frames_dataset

from cs_metrics.metrics import onboarding


def sessions(user, done, start=dt.date(2025, 1, 6), n=12):
    return [
        {
            "account_id": "A",
            "user_id": user,
            "session_no": k,
            "status": "done" if k <= done else "scheduled",
            "held_on": start + dt.timedelta(weeks=k - 1),
        }
        for k in range(1, n + 1)
    ]


def make():
    subs = [
        {
            "subscription_id": "s",
            "account_id": "A",
            "product": "p",
            "start_date": dt.date(2025, 1, 1),
            "end_date": None,
            "mrr": 1.0,
        }
    ]
    return frames_dataset(
        subscriptions=subs, onboarding_sessions=sessions("u1", 12) + sessions("u2", 4)
    )


def test_graduation_time_and_stalled():
    users = {
        r["user_id"]: r
        for r in onboarding.onboarding_users(make(), "2025-06").iter_rows(named=True)
    }
    assert users["u1"]["graduated"] and users["u1"]["days_to_graduate"] == 77
    assert not users["u2"]["graduated"] and users["u2"]["stalled"]
    acc = onboarding.onboarding_accounts(make(), "2025-06").row(0, named=True)
    assert (acc["users"], acc["graduated_users"], acc["graduated"]) == (2, 1, False)


def test_funnel_counts_users_per_session():
    f = onboarding.onboarding_funnel(make(), "2025-06")
    assert f["users_done"].to_list() == [2, 2, 2, 2] + [1] * 8
    assert f["share_of_users"][0] == 1.0


def test_point_in_time_sessions_after_as_of_are_not_done_yet():
    users = onboarding.onboarding_users(make(), "2025-01")
    u1 = users.filter(users["user_id"] == "u1").row(0, named=True)
    assert not u1["graduated"] and u1["sessions_done"] == 4  # Jan 6, 13, 20, 27
    s = onboarding.onboarding_summary(make(), "2025-06")
    assert s["users"] == 2 and len(s["per_session"]) == 12
