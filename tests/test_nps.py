"""NPS (SPEC §6): known values, the adjusted-Wald interval, windows, never an average."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from conftest import frames_dataset

from cs_metrics.metrics.nps import nps, nps_change, nps_from_counts


def test_50_30_20_is_30():
    r = nps_from_counts(50, 30, 20)
    assert r["nps"] == pytest.approx(30.0)
    # adjusted Wald: n' = 103, p = 50.75/103, d = 20.75/103
    p, d = 50.75 / 103, 20.75 / 103
    se = math.sqrt((p + d - (p - d) ** 2) / 103)
    assert r["ci_low"] == pytest.approx(100 * (p - d - 1.959964 * se))
    assert r["ci_high"] == pytest.approx(100 * (p - d + 1.959964 * se))


def test_all_promoters_interval_is_clipped_and_no_responses_is_null():
    r = nps_from_counts(5, 0, 0)
    assert r["nps"] == 100 and r["ci_high"] <= 100
    assert nps_from_counts(0, 0, 0)["nps"] is None


def test_not_an_average_of_scores():
    rows = [
        {"response_id": f"r{i}", "account_id": "A", "responded_on": dt.date(2025, 6, 1), "score": s}
        for i, s in enumerate([10, 10, 0, 8])
    ]
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
    ds = frames_dataset(subscriptions=subs, nps_responses=rows)
    r = nps(ds, "2025-06")[0]
    assert (r["promoters"], r["passives"], r["detractors"], r["nps"]) == (2, 1, 1, 25.0)
    # window: 12 months ending 2025-06 excludes a response in 2024-06 and one in 2025-07
    assert nps(ds, "2026-06")[0]["n"] == 0


def test_change_has_an_interval():
    a, b = nps_from_counts(60, 20, 20), nps_from_counts(40, 30, 30)
    ch = nps_change(a, b)
    assert ch["delta"] == pytest.approx(30)
    assert ch["ci_low"] < ch["delta"] < ch["ci_high"]
