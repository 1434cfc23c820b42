"""NPS (SPEC §6): known values, the adjusted-Wald interval, windows, groups, never an average."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from conftest import frames_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_metrics.metrics.nps import (
    nps,
    nps_change,
    nps_exprs,
    nps_from_counts,
    nps_period_change,
    nps_trend,
)

D = dt.date


def subs(*accs):
    return [
        {
            "subscription_id": f"s{a}",
            "account_id": a,
            "product": "p",
            "start_date": D(2024, 1, 1),
            "end_date": None,
            "mrr": 1.0,
        }
        for a in accs
    ]


def responses(*rows):
    """rows: (account, date, score[, survey])."""
    return [
        {
            "response_id": f"r{i}",
            "account_id": r[0],
            "responded_on": r[1],
            "score": r[2],
            "survey": r[3] if len(r) > 3 else "relationship",
        }
        for i, r in enumerate(rows)
    ]


def test_50_30_20_is_30_with_the_adjusted_wald_interval():
    r = nps_from_counts(50, 30, 20)
    assert r["nps"] == pytest.approx(30.0) and r["n"] == 100
    # by hand: n' = 103, p = 50.75/103 = 0.492718, d = 20.75/103 = 0.201456,
    # p - d = 0.291262, var = p + d - (p - d)^2 = 0.609341, se = sqrt(var / 103) = 0.076915
    p, d = 50.75 / 103, 20.75 / 103
    se = math.sqrt((p + d - (p - d) ** 2) / 103)
    assert se == pytest.approx(0.076915, abs=1e-6)
    assert r["ci_low"] == pytest.approx(100 * (p - d - 1.959964 * se))
    assert r["ci_high"] == pytest.approx(100 * (p - d + 1.959964 * se))
    assert (round(r["ci_low"], 1), round(r["ci_high"], 1)) == (14.1, 44.2)


def test_all_promoters_interval_is_clipped_and_no_responses_is_null():
    r = nps_from_counts(5, 0, 0)
    assert r["nps"] == 100 and r["ci_high"] == 100.0 and r["ci_low"] < 100
    empty = nps_from_counts(0, 0, 0)
    assert empty["nps"] is None and empty["ci_low"] is None and empty["reason"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300), st.integers(0, 300), st.integers(0, 300))
def test_vectorised_formula_equals_the_scalar_one(p, a, d):
    row = pl.DataFrame({"promoters": [p], "passives": [a], "detractors": [d]}).select(*nps_exprs())
    ref = nps_from_counts(p, a, d)
    for k in ("nps", "ci_low", "ci_high"):
        assert row[k][0] == pytest.approx(ref[k]) if ref[k] is not None else row[k][0] is None
    if ref["nps"] is not None:
        assert -100 <= ref["ci_low"] <= ref["nps_adjusted"] <= ref["ci_high"] <= 100


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=60))
def test_matches_an_independent_count_never_an_average(scores):
    rows = responses(*[("A", D(2025, 6, 1), s) for s in scores])
    r = nps(frames_dataset(subscriptions=subs("A"), nps_responses=rows), "2025-06")[0]
    pro = sum(s >= 9 for s in scores)
    det = sum(s <= 6 for s in scores)
    assert (r["promoters"], r["passives"], r["detractors"]) == (pro, len(scores) - pro - det, det)
    assert r["nps"] == pytest.approx(100 * (pro - det) / len(scores))


def test_not_an_average_of_scores():
    rows = responses(*[("A", D(2025, 6, 1), s) for s in (10, 10, 0, 8)])
    r = nps(frames_dataset(subscriptions=subs("A"), nps_responses=rows), "2025-06")[0]
    # mean score 7 would be "70"; NPS = (2 - 1) / 4 = 25
    assert (r["promoters"], r["passives"], r["detractors"], r["nps"]) == (2, 1, 1, 25.0)


def test_window_edges_and_point_in_time():
    rows = responses(
        ("A", D(2024, 6, 30), 0),  # before the 12-month window 2024-07..2025-06
        ("A", D(2024, 7, 1), 10),  # first day of the window
        ("A", D(2025, 6, 30), 9),  # as_of's last day
        ("A", D(2025, 7, 1), 0),  # after as_of: not known yet
    )
    ds = frames_dataset(subscriptions=subs("A"), nps_responses=rows)
    r = nps(ds, "2025-06")[0]
    assert (r["n"], r["nps"], r["window_start"], r["window_end"]) == (
        2,
        100.0,
        "2024-07",
        "2025-06",
    )
    assert nps(ds, "2025-06", window_months=1)[0]["n"] == 1
    assert nps(ds, "2026-09")[0]["nps"] is None  # nothing in that window


def test_by_survey_segment_and_missing_table():
    rows = responses(
        ("A", D(2025, 6, 1), 10, "relationship"),
        ("A", D(2025, 6, 2), 3, "onboarding"),
        ("B", D(2025, 6, 3), 9, "relationship"),
    )
    tps = [{"account_id": "A", "occurred_on": D(2025, 6, 5), "kind": "qbr"}]  # health has data
    ds = frames_dataset(subscriptions=subs("A", "B"), nps_responses=rows, touchpoints=tps)
    by_survey = {r["survey"]: r for r in nps(ds, "2025-06", by="survey")}
    assert by_survey["relationship"]["nps"] == 100.0 and by_survey["onboarding"]["nps"] == -100.0
    assert nps(ds, "2025-06", survey="onboarding")[0]["n"] == 1
    seg = nps(ds, "2025-06", by="segment")
    assert sum(r["n"] for r in seg) == 3 and all(r["segment"] in "SABC" for r in seg)
    # without any health data an account has no segment: its responses are "(未設定)"
    bare = frames_dataset(subscriptions=subs("A", "B"), nps_responses=rows)
    assert {r["segment"] for r in nps(bare, "2025-06", by="segment")} == {"(未設定)"}
    none = nps(frames_dataset(subscriptions=subs("A")), "2025-06")[0]
    assert none["nps"] is None and none["n"] == 0 and none["reason_code"] == "nps_no_table"


def test_trend_per_month_and_change_between_periods():
    rows = responses(
        ("A", D(2025, 4, 10), 10),
        ("A", D(2025, 4, 11), 10),
        ("A", D(2025, 6, 1), 0),
    )
    ds = frames_dataset(subscriptions=subs("A"), nps_responses=rows)
    t = nps_trend(ds, "2025-06", months=3, window_months=1)
    assert t["month"].to_list() == ["2025-04", "2025-05", "2025-06"]
    assert t["n"].to_list() == [2, 0, 1]
    assert t["nps"].to_list() == [100.0, None, -100.0]
    rolling = nps_trend(ds, "2025-06", months=2, window_months=3)
    assert rolling["n"].to_list() == [2, 3]
    ch = nps_period_change(ds, "2025-06", "2025-04", window_months=1)["change"]
    # 3 responses in all: the difference is -200 but the interval is wide (it reaches 0)
    assert ch["delta"] == -200.0 and -200 <= ch["ci_low"] < -100 < 0 < ch["ci_high"] < 100


def test_change_interval_by_hand():
    a, b = nps_from_counts(60, 20, 20), nps_from_counts(40, 30, 30)
    ch = nps_change(a, b)
    assert ch["delta"] == pytest.approx(30)
    se = math.hypot(a["se_adjusted"], b["se_adjusted"])
    diff = a["nps_adjusted"] - b["nps_adjusted"]
    assert ch["ci_low"] == pytest.approx(diff - 1.959964 * se)
    assert ch["ci_low"] < ch["delta"] < ch["ci_high"]
    assert nps_change(a, nps_from_counts(0, 0, 0))["delta"] is None


# ---- issue 13: an interval holds its estimate; a window of 0 or less is refused ----------------


@pytest.mark.parametrize("counts", [(1, 0, 0), (0, 0, 1), (2, 0, 0), (0, 0, 3), (1, 0, 1)])
def test_interval_for_a_handful_of_responses_contains_its_own_estimate(counts):
    r = nps_from_counts(*counts)
    assert -100 <= r["ci_low"] <= r["nps"] <= r["ci_high"] <= 100
    one = nps_from_counts(1, 0, 0)  # by hand: adjusted 25 ± 1.959964 x 37.5 = -48.5..98.5
    assert (round(one["ci_low"], 1), one["ci_high"], one["nps"]) == (-48.5, 100.0, 100.0)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))
def test_every_interval_and_change_interval_contains_its_estimate(p, a, d, q):
    r = nps_from_counts(p, a, d)
    row = pl.DataFrame({"promoters": [p], "passives": [a], "detractors": [d]}).select(*nps_exprs())
    if r["nps"] is None:
        return
    assert r["ci_low"] <= r["nps"] <= r["ci_high"]
    assert row["ci_low"][0] == pytest.approx(r["ci_low"])
    assert row["ci_high"][0] == pytest.approx(r["ci_high"])
    other = nps_from_counts(q, a, p + d)
    if other["nps"] is not None:
        ch = nps_change(r, other)
        assert ch["ci_low"] <= ch["delta"] <= ch["ci_high"]


@pytest.mark.parametrize("window", [0, -5, 10**8])
def test_window_of_zero_negative_or_absurd_months_is_refused_not_the_default(window):
    from cs_metrics.errors import UsageError

    ds = frames_dataset(subscriptions=subs("A"), nps_responses=responses(("A", D(2025, 6, 1), 9)))
    with pytest.raises(UsageError):
        nps(ds, "2025-06", window_months=window)
    with pytest.raises(UsageError):
        nps_trend(ds, "2025-06", window_months=window)


@pytest.mark.parametrize(
    "args",
    [
        ["--window-months", "0"],
        ["--window-months", "-5"],
        ["--by", "product"],
        ["--by", "bogus"],
        ["--survey", "relationshp"],
    ],
)
def test_nps_cli_refuses_bad_options_with_exit_2_and_a_message(tmp_path, capsys, args):
    from health_fixtures import write_cli_dataset

    from cs_metrics.cli.main import main

    data = write_cli_dataset(tmp_path / "ds")
    assert main(["nps", "--data", str(data), "--as-of", "2025-06", *args, "--lang", "en"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith("error: ") and "internal" not in out.err


def test_by_without_responses_gives_no_groups_instead_of_a_crash():
    ds = frames_dataset(subscriptions=subs("A"))
    assert nps(ds, "2025-06", by="survey") == []
    ds = frames_dataset(subscriptions=subs("A"), nps_responses=responses(("A", D(2024, 1, 5), 9)))
    assert nps(ds, "2025-06", by="survey", window_months=1) == []
    assert nps(ds, "2025-06", window_months=1)[0]["n"] == 0
