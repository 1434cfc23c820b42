"""A small on-disk dataset for the health / risk / NPS / onboarding / notify CLI tests.

As of 2025-06 (last day 2025-06-30), hand-checked:

- A1 鈴木 金融 MRR 300,000, name with markup ``<b>Acme & Co</b>``: logs in every week;
- A2 鈴木 MRR 100,000, name ``<@U999> 株式会社``: last login week 2025-03-03..03-09 → 113 days
  → ``no_login``; a cancellation notice on 2025-06-10 (解約予定);
- A3 津田 MRR 50,000: its line ends 2025-07-31 → ``renewal_due``; an NPS detractor (5) on
  2025-06-01;
- A4 津田 MRR 20,000: no usage rows at all → ``no_login`` (never logged in).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from conftest import make_dataset_dir

D = dt.date


def _weeks(acc: str, first: D, n: int, logins: float) -> list[dict]:
    return [
        {
            "account_id": acc,
            "week_start": first + dt.timedelta(weeks=i),
            "logins": logins,
            "deliveries": 2.0,
            "outcome_rate": 0.4,
        }
        for i in range(n)
    ]


def write_cli_dataset(folder: Path) -> Path:
    accounts = [
        {"account_id": "A1", "account_name": "<b>Acme & Co</b>", "industry": "金融", "csm": "鈴木"},
        {"account_id": "A2", "account_name": "<@U999> 株式会社", "industry": "IT", "csm": "鈴木"},
        {"account_id": "A3", "account_name": "普通商事", "industry": "小売", "csm": "津田"},
        {"account_id": "A4", "account_name": "四号", "industry": "小売", "csm": "津田"},
    ]
    subs = [
        {
            "subscription_id": f"S{a}",
            "account_id": a,
            "product": "core",
            "start_date": D(2025, 1, 1),
            "end_date": end,
            "mrr": mrr,
        }
        for a, mrr, end in (
            ("A1", 300_000, None),
            ("A2", 100_000, None),
            ("A3", 50_000, D(2025, 7, 31)),
            ("A4", 20_000, None),
        )
    ]
    usage = (
        _weeks("A1", D(2025, 1, 6), 25, 12.0)
        + _weeks("A2", D(2025, 1, 6), 9, 3.0)
        + _weeks("A3", D(2025, 1, 6), 25, 1.0)
    )
    nps = [
        {"response_id": "R1", "account_id": "A3", "responded_on": D(2025, 6, 1), "score": 5},
        {"response_id": "R2", "account_id": "A1", "responded_on": D(2025, 5, 1), "score": 10},
    ]
    cancellations = [{"account_id": "A2", "cancelled_on": D(2025, 6, 10), "reason": "施策終了"}]
    touchpoints = [{"account_id": "A1", "occurred_on": D(2025, 6, 20), "kind": "qbr"}]
    sessions = [
        {
            "account_id": "A1",
            "user_id": "U1",
            "session_no": k,
            "status": "done",
            "held_on": D(2025, 1, 6) + dt.timedelta(weeks=k - 1),
        }
        for k in range(1, 13)
    ]
    return make_dataset_dir(
        folder,
        accounts=accounts,
        subscriptions=subs,
        usage_weekly=usage,
        nps_responses=nps,
        cancellations=cancellations,
        touchpoints=touchpoints,
        onboarding_sessions=sessions,
    )
