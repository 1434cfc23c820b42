"""Health score, segments (SPEC §6): edges, contributions identity, missing data, change."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from conftest import frames_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_metrics.config import load_config
from cs_metrics.metrics import health, segments

D = dt.date


def sub(acc, start="2025-01-01", mrr=100_000.0, end=None, product="core"):
    return {
        "subscription_id": f"s-{acc}-{product}-{start}",
        "account_id": acc,
        "product": product,
        "start_date": D.fromisoformat(start),
        "end_date": D.fromisoformat(end) if end else None,
        "mrr": mrr,
    }


def week(acc, start, logins=5, deliveries=2, outcome=0.5):
    return {
        "account_id": acc,
        "week_start": D.fromisoformat(start),
        "logins": float(logins),
        "deliveries": float(deliveries),
        "outcome_rate": outcome,
    }


ONE_MEASURE = {
    "health": {
        "measures": {
            "deliveries": {"weight": 0.0001},
            "touchpoints": {"weight": 0.0001},
            "outcome_rate": {"weight": 0.0001},
            "logins": {"weight": 1.0, "thresholds": [1.0, 3.0, 6.0, 10.0], "missing": "zero"},
        }
    }
}


def test_thresholds_lower_edge_inclusive_and_band_edges():
    # logins averaged over the 4-week window ending 2025-06-30: the value equals the edge 6.0
    cfg = load_config(
        {
            "health": {
                "measures": {
                    "deliveries": {
                        "weight": 1.0,
                        "rule": "thresholds",
                        "thresholds": [1.0],
                        "missing": "zero",
                    },
                    "logins": {
                        "weight": 1.0,
                        "rule": "thresholds",
                        "thresholds": [3.0, 6.0],
                        "missing": "zero",
                    },
                    "touchpoints": {
                        "weight": 1.0,
                        "rule": "thresholds",
                        "thresholds": [1.0],
                        "missing": "zero",
                    },
                    "outcome_rate": {
                        "weight": 1.0,
                        "rule": "thresholds",
                        "thresholds": [0.5],
                        "missing": "zero",
                    },
                },
                "band_green": 75.0,
                "band_yellow": 50.0,
            }
        }
    )
    weeks = [
        week("A", d, logins=6, deliveries=1, outcome=0.2)
        for d in ("2025-06-09", "2025-06-16", "2025-06-23", "2025-06-30")
    ]
    ds = frames_dataset(
        cfg,
        subscriptions=[sub("A")],
        usage_weekly=weeks,
        touchpoints=[{"account_id": "A", "occurred_on": D(2025, 6, 1), "kind": "qbr"}],
    )
    res = health.health_scores(ds, "2025-06")
    d = {r["measure"]: r for r in res.details.iter_rows(named=True)}
    assert d["logins"]["points"] == 1.0  # 6 >= 3 and 6 >= 6 (edge inclusive)
    assert d["deliveries"]["points"] == 1.0 and d["touchpoints"]["points"] == 1.0
    assert d["outcome_rate"]["points"] == 0.0
    s = res.scores.row(0, named=True)
    assert s["score"] == 75.0 and s["band"] == "green"  # exactly on the green edge


def test_contributions_sum_to_score_and_reweight_missing():
    cfg = load_config()
    weeks = [week("A", "2025-06-23", logins=4, deliveries=1, outcome=0.3)]
    ds = frames_dataset(cfg, subscriptions=[sub("A"), sub("B", mrr=50_000.0)], usage_weekly=weeks)
    res = health.health_scores(ds, "2025-06")
    for acc, group in res.details.group_by("account_id"):
        total = res.scores.filter(pl.col("account_id") == acc[0])["score"][0]
        assert group["contribution"].sum() == pytest.approx(total, abs=1e-9)
    b = res.details.filter(pl.col("account_id") == "B")
    # B has no usage rows: deliveries/logins score 0 ("zero"), outcome_rate is left out (reweight)
    assert b.filter(pl.col("measure") == "outcome_rate")["contribution"][0] == 0
    assert res.scores.filter(pl.col("account_id") == "B")["score"][0] == 0
    assert set(res.scores["account_id"]) == {"A", "B"}  # every active account gets a score


def test_month_with_no_usage_rows_still_scores_every_active_account():
    ds = frames_dataset(subscriptions=[sub("A")], usage_weekly=[week("A", "2025-01-06")])
    res = health.health_scores(ds, "2025-06")
    assert res.scores.height == 1 and res.scores["band"][0] == "red"


def test_point_in_time_ignores_later_rows():
    weeks = [week("A", "2025-06-23", logins=50, deliveries=9, outcome=0.9)]
    ds = frames_dataset(subscriptions=[sub("A")], usage_weekly=weeks)
    may = health.health_scores(ds, "2025-05").scores["score"][0]
    june = health.health_scores(ds, "2025-06").scores["score"][0]
    assert may < june


def test_change_names_the_measures_that_moved():
    weeks = [week("A", "2025-05-26", logins=0, deliveries=0)] + [
        week("A", d, logins=12, deliveries=0) for d in ("2025-06-09", "2025-06-16")
    ]
    ds = frames_dataset(subscriptions=[sub("A")], usage_weekly=weeks)
    h = health.health_with_change(ds, "2025-06").row(0, named=True)
    assert h["delta"] == pytest.approx(h["score"] - h["previous_score"])
    assert h["top_movers"][0]["measure"] == "logins"
    assert sum(h["contributions"].values()) == pytest.approx(h["score"])


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 10), st.floats(0, 1)), min_size=0, max_size=6
    )
)
def test_scores_stay_in_0_100(rows):
    weeks = [
        week("A", (D(2025, 6, 2) + dt.timedelta(days=7 * i % 28)).isoformat(), lg, dl, oc)
        for i, (lg, dl, oc) in enumerate(rows)
    ]
    tables = {"subscriptions": [sub("A"), sub("B")]}
    if weeks:
        tables["usage_weekly"] = pl.DataFrame(weeks).unique(["account_id", "week_start"])
    res = health.health_scores(frames_dataset(**tables), "2025-06")
    assert res.scores["score"].is_between(0, 100).all()
    for _, g in res.details.group_by("account_id"):
        assert g["contribution"].is_between(0, 100).all()


def test_segments_from_attribute_tier_and_band():
    acc = [
        {"account_id": "A", "account_name": "a", "industry": "金融", "csm": "鈴木"},
        {"account_id": "B", "account_name": "b", "industry": "小売", "csm": "津田"},
    ]
    subs = [sub("A", mrr=250_000.0), sub("B", mrr=50_000.0)]
    ds = frames_dataset(accounts=acc, subscriptions=subs)
    s = {r["account_id"]: r for r in segments.segments(ds, "2025-12").iter_rows(named=True)}
    # A: size 3 + effort 1 + mature 0 = 4 -> high; red health -> S.  B: 1 -> low; red -> B
    assert (s["A"]["attribute_score"], s["A"]["attribute_tier"], s["A"]["segment"]) == (
        4,
        "high",
        "S",
    )
    assert (s["B"]["attribute_tier"], s["B"]["segment"]) == ("low", "B")
    by_csm = segments.segments_by_csm(ds, "2025-12")
    assert by_csm["mrr"].sum() == 300_000


def test_renewal_due_phase_edges():
    # as of 2025-06: a line ending 2025-08-31 (last day two months later) is due; 2025-09-01 is not
    subs = [sub("A", end="2025-08-31"), sub("B", end="2025-09-01"), sub("C", end="2025-06-30")]
    s = {
        r["account_id"]: r["phase"]
        for r in segments.segments(frames_dataset(subscriptions=subs), "2025-06").iter_rows(
            named=True
        )
    }
    assert s == {"A": "renewal_due", "B": "adoption", "C": "renewal_due"}


def test_cli_json_contracts_and_salesforce_file(tmp_path, capsys):
    import json

    from conftest import SAMPLE

    from cs_metrics.cli.main import main

    base = ["--data", str(SAMPLE), "--as-of", "2026-09", "--format", "json"]
    sf = tmp_path / "sf.csv"
    assert main(["health", *base, "--salesforce-out", str(sf)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(
        r["band"] in ("green", "yellow", "red") and r["segment"] in "SABC" for r in rows
    )
    for r in rows:
        assert sum(r["contributions"].values()) == pytest.approx(r["score"], abs=1e-6)
        assert set(r["change"]) == {"previous", "delta", "top_movers"}
    raw = sf.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw[3:].decode().splitlines()[0] == (
        "Id,Health_Score__c,Health_Band__c,Segment__c,Top_Risk__c,Health_As_Of__c"
    )
    assert main(["risk", *base]) == 0
    out = json.loads(capsys.readouterr().out)
    assert isinstance(out, list) and {"account_id", "csm", "rule", "evidence", "mrr"} <= set(out[0])
    assert main(["nps", *base]) == 0
    assert {"nps", "n", "promoters", "passives", "detractors", "ci_low", "ci_high"} <= set(
        json.loads(capsys.readouterr().out)
    )
    assert main(["onboarding", *base]) == 0
    assert len(json.loads(capsys.readouterr().out)["per_session"]) == 12


def test_excel_csv_neutralises_formulas(tmp_path):
    from cs_metrics.exports import write_excel_csv

    df = pl.DataFrame(
        {"name": ['=HYPERLINK("x")', "+1", "@SUM", "普通", "-x"], "mrr": [-5.0, 1, 2, 3, 4]}
    )
    text = write_excel_csv(df, tmp_path / "x.csv").read_bytes()[3:].decode()
    lines = text.splitlines()
    assert lines[1].startswith("\"'=HYPERLINK") and lines[1].endswith(",-5.0")
    assert (
        lines[2].startswith("'+1") and lines[3].startswith("'@SUM") and lines[5].startswith("'-x")
    )
