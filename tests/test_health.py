"""Health score, segments (SPEC §6): edges, contributions identity, missing data, change."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from conftest import frames_dataset, line
from health_fixtures import write_cli_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_metrics.config import ConfigError, load_config
from cs_metrics.metrics import health, segments

D = dt.date
# As of 2025-06 (last day Mon 06-30) the 4 complete weeks are those starting 06-02 .. 06-23.
JUNE_WEEKS = ("2025-06-02", "2025-06-09", "2025-06-16", "2025-06-23")


def sub(acc, start="2025-01-01", mrr=100_000.0, end=None, product="core"):
    return line(acc, product, start, end, mrr)


def week(acc, start, logins=5, deliveries=2, outcome=0.5):
    return {
        "account_id": acc,
        "week_start": D.fromisoformat(start),
        "logins": float(logins),
        "deliveries": float(deliveries),
        "outcome_rate": outcome,
    }


def thresholds(t, missing="zero", weight=1.0, **kw):
    return {"weight": weight, "rule": "thresholds", "thresholds": t, "missing": missing, **kw}


FOUR_EQUAL = {
    "deliveries": thresholds([1.0], aggregate="mean"),
    "logins": thresholds([3.0, 6.0], aggregate="mean"),
    "touchpoints": thresholds([1.0]),
    "outcome_rate": thresholds([0.5]),
}


def details(res, acc="A"):
    return {
        r["measure"]: r
        for r in res.details.filter(pl.col("account_id") == acc).iter_rows(named=True)
    }


def test_thresholds_lower_edge_inclusive_and_score_on_the_green_edge():
    cfg = load_config({"health": {"measures": FOUR_EQUAL, "band_green": 75.0, "band_yellow": 50.0}})
    weeks = [week("A", d, logins=6, deliveries=1, outcome=0.2) for d in JUNE_WEEKS]
    ds = frames_dataset(
        cfg,
        subscriptions=[sub("A")],
        usage_weekly=weeks,
        touchpoints=[{"account_id": "A", "occurred_on": D(2025, 6, 1), "kind": "qbr"}],
    )
    res = health.health_scores(ds, "2025-06")
    d = details(res)
    assert d["logins"]["value"] == 6.0 and d["logins"]["points"] == 1.0  # 6 >= 3, 6 >= 6
    assert d["deliveries"]["points"] == 1.0 and d["touchpoints"]["points"] == 1.0
    assert d["outcome_rate"]["points"] == 0.0  # 0.2 < 0.5
    assert [d[m]["contribution"] for m in FOUR_EQUAL] == [25.0, 25.0, 25.0, 0.0]
    s = res.scores.row(0, named=True)
    assert s["score"] == 75.0 and s["band"] == "green"  # exactly on the green edge


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100.0, "green"),
        (70.0, "green"),
        (69.99, "yellow"),
        (40.0, "yellow"),
        (39.99, "red"),
        (0.0, "red"),
    ],
)
def test_band_edges_lower_edge_inclusive(score, band):
    cfg = load_config()["health"]  # green >= 70, yellow >= 40
    got = pl.select(health.band_expr(pl.lit(score), cfg)).item()
    assert got == band


def test_lower_direction_thresholds_and_percentile():
    measures = {
        "deliveries": {"weight": 0.0},
        "touchpoints": {"weight": 0.0},
        "logins": thresholds([2.0, 4.0], direction="lower", aggregate="mean"),
        "outcome_rate": {"weight": 1.0, "rule": "percentile", "direction": "higher"},
    }
    cfg = load_config({"health": {"measures": measures}})
    rows = []
    for acc, lg, oc in (("A", 2, 0.1), ("B", 4, 0.5), ("C", 5, 0.5), ("D", 1, 0.9)):
        rows += [week(acc, d, logins=lg, outcome=oc) for d in JUNE_WEEKS]
    ds = frames_dataset(cfg, subscriptions=[sub(a) for a in "ABCD"], usage_weekly=rows)
    res = health.health_scores(ds, "2025-06")
    pts = {(r["account_id"], r["measure"]): r["points"] for r in res.details.iter_rows(named=True)}
    # lower: 2 <= 2 and 2 <= 4 -> 1; 4 -> 0.5 (4 <= 4); 5 -> 0
    assert [pts[(a, "logins")] for a in "ABCD"] == [1.0, 0.5, 0.0, 1.0]
    # percentile: ranks 1, 2.5, 2.5, 4 of n = 4 -> 0, 0.5, 0.5, 1
    assert [pts[(a, "outcome_rate")] for a in "ABCD"] == [0.0, 0.5, 0.5, 1.0]
    # weight 0 measures contribute nothing; A = 50 x 1 + 50 x 0
    assert details(res)["deliveries"]["contribution"] == 0.0
    assert res.scores.filter(pl.col("account_id") == "A")["score"][0] == 50.0


def test_reweight_leaves_a_missing_measure_out_and_zero_scores_it_0():
    # default weights: deliveries .3 (zero), logins .3 (zero), touchpoints .2, outcome .2 (reweight)
    rows = [week("A", d, logins=10, deliveries=3, outcome=None) for d in JUNE_WEEKS]
    ds = frames_dataset(
        subscriptions=[sub("A"), sub("B")],
        usage_weekly=rows,
        touchpoints=[{"account_id": "B", "occurred_on": D(2024, 1, 1), "kind": "qbr"}],
    )
    res = health.health_scores(ds, "2025-06")
    a = details(res, "A")
    # A: outcome_rate has no value -> left out; total weight .8; deliveries and logins full
    assert a["outcome_rate"]["missing"] and a["outcome_rate"]["contribution"] == 0.0
    assert a["logins"]["contribution"] == 37.5 and a["deliveries"]["contribution"] == 37.5
    assert a["touchpoints"]["value"] == 0.0 and a["touchpoints"]["contribution"] == 0.0
    assert res.scores.filter(pl.col("account_id") == "A")["score"][0] == 75.0
    # B: no usage rows at all: deliveries/logins 0 points ("zero"), outcome left out
    b = res.scores.filter(pl.col("account_id") == "B").row(0, named=True)
    assert b["score"] == 0.0 and b["band"] == "red" and not b["no_data"]


def test_unavailable_table_counts_for_nobody_even_under_zero():
    # no touchpoints table: the touchpoints measure (policy "zero") is unavailable, not 0 points
    rows = [week("A", d, logins=10, deliveries=3, outcome=0.5) for d in JUNE_WEEKS]
    ds = frames_dataset(subscriptions=[sub("A")], usage_weekly=rows)
    res = health.health_scores(ds, "2025-06")
    assert set(res.unavailable) == {"touchpoints"}
    d = details(res)
    assert d["touchpoints"]["contribution"] == 0.0
    # total weight .8 (deliveries .3, logins .3, outcome .2 at 0.5 points as a lone account)
    assert d["logins"]["contribution"] == 37.5 and d["outcome_rate"]["contribution"] == 12.5
    assert res.scores["score"][0] == 87.5
    none = health.health_scores(frames_dataset(subscriptions=[sub("A")]), "2025-06")
    no = none.scores.row(0, named=True)
    assert no["no_data"] and no["score"] is None and no["band"] is None  # no data is not red


def test_sum_per_week_counts_missing_weeks_as_zero_and_running_week_is_left_out():
    # one row of 8 logins in the 4-week window -> 2.0 per week; the week starting 06-30 is running
    rows = [week("A", "2025-06-09", logins=8, deliveries=4), week("A", "2025-06-30", logins=99)]
    ds = frames_dataset(subscriptions=[sub("A")], usage_weekly=rows)
    d = details(health.health_scores(ds, "2025-06"))
    assert d["logins"]["value"] == 2.0 and d["deliveries"]["value"] == 1.0
    assert d["outcome_rate"]["value"] == 0.5  # "mean" of the rows present


def test_month_with_no_usage_rows_still_scores_every_active_account():
    ds = frames_dataset(subscriptions=[sub("A")], usage_weekly=[week("A", "2025-01-06")])
    res = health.health_scores(ds, "2025-06")
    assert res.scores.height == 1 and res.scores["band"][0] == "red"
    assert res.scores["score"][0] == 0.0


def test_only_active_accounts_get_a_score():
    ds = frames_dataset(
        subscriptions=[sub("A"), sub("B", end="2025-05-31"), sub("C", "2025-07-01")]
    )
    assert health.health_scores(ds, "2025-06").scores["account_id"].to_list() == ["A"]


def test_point_in_time_ignores_later_rows():
    weeks = [week("A", "2025-06-23", logins=50, deliveries=9, outcome=0.9)]
    tps = [{"account_id": "A", "occurred_on": D(2025, 6, 2), "kind": "qbr"}]
    ds = frames_dataset(subscriptions=[sub("A")], usage_weekly=weeks, touchpoints=tps)
    may = health.health_scores(ds, "2025-05")
    assert details(may)["touchpoints"]["value"] == 0.0
    assert may.scores["score"][0] < health.health_scores(ds, "2025-06").scores["score"][0]


def test_change_names_the_measures_that_moved():
    weeks = [week("A", d, logins=0, deliveries=0) for d in ("2025-05-05", "2025-05-12")] + [
        week("A", d, logins=12, deliveries=0) for d in JUNE_WEEKS
    ]
    ds = frames_dataset(subscriptions=[sub("A"), sub("N", "2025-06-01")], usage_weekly=weeks)
    h = {r["account_id"]: r for r in health.health_with_change(ds, "2025-06").iter_rows(named=True)}
    a = h["A"]
    assert a["delta"] == pytest.approx(a["score"] - a["previous_score"])
    assert a["top_movers"][0]["measure"] == "logins" and a["top_movers"][0]["change"] > 0
    assert sum(a["contributions"].values()) == pytest.approx(a["score"], abs=1e-9)
    # a new account has no previous month: previous/delta/top movers null
    assert h["N"]["previous_score"] is None and h["N"]["delta"] is None
    assert h["N"]["top_movers"] is None


def test_unchanged_account_has_an_empty_mover_list():
    weeks = [week("A", (D(2025, 4, 7) + dt.timedelta(weeks=i)).isoformat()) for i in range(12)]
    ds = frames_dataset(subscriptions=[sub("A")], usage_weekly=weeks)
    a = health.health_with_change(ds, "2025-06").row(0, named=True)
    assert a["delta"] == 0 and a["top_movers"] == []


@given(
    raw=st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=6),
    weights=st.lists(st.floats(0.01, 5, allow_nan=False), min_size=6, max_size=6),
)
@settings(max_examples=100, deadline=None)
def test_apportioned_hundredths_sum_to_the_rounded_score(raw, weights):
    w = weights[: len(raw)]
    total = sum(w)
    contrib = [100 * wi * p / total for wi, p in zip(w, raw, strict=True)]
    df = pl.DataFrame({"k": ["a"] * len(raw), "c": contrib}).with_columns(
        health.apportion_hundredths("c", "k").alias("h")
    )
    assert df["h"].sum() == round(sum(contrib) * 100)
    for c, h in zip(contrib, df["h"], strict=True):
        assert abs(h - 100 * c) < 1 + 1e-6  # each moved by less than a hundredth


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 4),
            st.integers(0, 40),
            st.integers(0, 10),
            st.one_of(st.none(), st.floats(0, 1)),
        ),
        min_size=0,
        max_size=10,
    ),
    weights=st.lists(st.sampled_from([0.0, 0.1, 0.3, 1.0, 2.5]), min_size=4, max_size=4),
    rule=st.sampled_from(["thresholds", "percentile"]),
)
def test_scores_stay_in_0_100_and_contributions_sum_to_the_score(rows, weights, rule):
    if not any(weights):
        weights = [1.0, *weights[1:]]
    names = ["deliveries", "logins", "touchpoints", "outcome_rate"]
    measures = {n: {"weight": w} for n, w in zip(names, weights, strict=True)}
    measures["logins"]["rule"] = rule
    cfg = load_config({"health": {"measures": measures}})
    weeks = [
        week("AB"[i % 2], JUNE_WEEKS[k % 4], lg, dl, oc) for i, (k, lg, dl, oc) in enumerate(rows)
    ]
    tables = {"subscriptions": [sub("A"), sub("B")]}
    if weeks:
        tables["usage_weekly"] = pl.DataFrame(weeks).unique(["account_id", "week_start"])
    res = health.health_scores(frames_dataset(cfg, **tables), "2025-06")
    assert res.scores["score"].is_between(0, 100).all()
    sums = res.details.group_by("account_id").agg(pl.col("contribution").sum().alias("s"))
    for r in res.scores.join(sums, on="account_id").iter_rows(named=True):
        if r["no_data"]:  # nothing counts: no score, no band, nothing contributed
            assert r["score"] is None and r["band"] is None and r["s"] == 0
            continue
        assert round(r["s"], 2) == r["score"]  # the same hundredths
        assert r["score"] == round(r["score"], 2)


def test_segments_from_attribute_tier_and_band():
    acc = [
        {"account_id": "A", "account_name": "a", "industry": "金融", "csm": "鈴木"},
        {"account_id": "B", "account_name": "b", "industry": "小売", "csm": "津田"},
        {"account_id": "C", "account_name": "c", "industry": "医療", "csm": "津田"},
    ]
    subs = [sub("A", mrr=250_000.0), sub("B", mrr=50_000.0), sub("C", "2025-11-01", 100_000.0)]
    # a touchpoints table (no touchpoint in the window: a measured 0) makes health red
    tps = [{"account_id": "B", "occurred_on": D(2024, 1, 1), "kind": "qbr"}]
    ds = frames_dataset(accounts=acc, subscriptions=subs, touchpoints=tps)
    s = {r["account_id"]: r for r in segments.segments(ds, "2025-12").iter_rows(named=True)}
    # A: size 3 + effort 1 + mature 0 = 4 -> high; red health -> S.  B: 1 -> low; red -> B
    assert (s["A"]["attribute_score"], s["A"]["attribute_tier"], s["A"]["segment"]) == (
        4,
        "high",
        "S",
    )
    assert (s["B"]["attribute_tier"], s["B"]["segment"]) == ("low", "B")
    # C: size 2 (100,000 is on the edge: inclusive) + 1 (医療) + onboarding 1 = 4 -> high
    assert (s["C"]["size_points"], s["C"]["phase"], s["C"]["attribute_score"]) == (
        2,
        "onboarding",
        4,
    )
    by_csm = segments.segments_by_csm(ds, "2025-12")
    assert by_csm["mrr"].sum() == 400_000 and by_csm["accounts"].sum() == 3


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


@pytest.mark.parametrize(
    ("user", "key"),
    [
        ({"health": {"band_green": 120.0}}, "health.band_green"),
        ({"health": {"measures": {"logins": {"direction": "up"}}}}, "health.measures"),
        ({"health": {"measures": {"logins": {"thresholds": [3.0, 1.0]}}}}, "health.measures"),
        ({"health": {"measures": {"logins": {"colour": "red"}}}}, "health.measures"),
        ({"segments": {"high": {"green": "Z", "yellow": "S", "red": "S"}}}, "segments.high"),
        ({"attributes": {"tier_mid": 9}}, "attributes.tier_mid"),
        ({"risk": {"no_touchpoint_days": {"S": 0}}}, "risk.no_touchpoint_days"),
        ({"risk": {"disabled_rules": ["nope"]}}, "risk.disabled_rules"),
        ({"slack": {"members": {"鈴木": "not-an-id"}}}, "slack.members"),
    ],
)
def test_invalid_configuration_names_the_key(user, key):
    with pytest.raises(ConfigError) as e:
        load_config(user)
    assert key in str(e.value)


def test_cli_json_contracts_and_salesforce_file(tmp_path, capsys):
    from cs_metrics.cli.main import main

    data = write_cli_dataset(tmp_path / "ds")
    base = ["--data", str(data), "--as-of", "2025-06", "--format", "json"]
    sf = tmp_path / "sf.csv"
    assert main(["health", *base, "--salesforce-out", str(sf)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["account_id"] for r in rows] == ["A1", "A2", "A3", "A4"]
    for r in rows:
        assert r["band"] in ("green", "yellow", "red") and r["segment"] in ("S", "A", "B", "C")
        assert round(sum(r["contributions"].values()), 2) == r["score"]
        assert set(r["change"]) == {"previous", "delta", "top_movers"}
    raw = sf.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw[3:].decode().splitlines()
    assert lines[0] == "Id,Health_Score__c,Health_Band__c,Segment__c,Top_Risk__c,Health_As_Of__c"
    assert (
        lines[2].startswith("A2,")
        and ",cancellation_notice," in lines[2]
        and lines[2].endswith("2025-06-30")
    )
    assert main(["risk", *base]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"account_id", "csm", "rule", "evidence", "mrr"} <= set(out[0])
    assert {(r["account_id"], r["rule"]) for r in out if r["rule"] == "no_login"} == {
        ("A2", "no_login"),
        ("A4", "no_login"),
    }
    assert main(["nps", *base]) == 0
    n = json.loads(capsys.readouterr().out)
    assert (n["n"], n["promoters"], n["detractors"], n["nps"]) == (2, 1, 1, 0.0)
    assert main(["onboarding", *base]) == 0
    o = json.loads(capsys.readouterr().out)
    assert len(o["per_session"]) == 12 and o["graduated_users"] == 1


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


def test_history_equals_each_month_on_its_own_and_availability_is_point_in_time():
    # outcome_rate only has values from 2025-06: in May it is unavailable (left out), in June not
    weeks = [
        week("A", d, logins=10, deliveries=3, outcome=None) for d in ("2025-05-05", "2025-05-12")
    ]
    weeks += [week(a, d, logins=4, deliveries=1, outcome=0.5) for a in "AB" for d in JUNE_WEEKS]
    tps = [{"account_id": "A", "occurred_on": D(2025, 5, 20), "kind": "qbr"}]
    ds = frames_dataset(
        subscriptions=[sub("A"), sub("B", "2025-06-01")], usage_weekly=weeks, touchpoints=tps
    )
    hist = health.health_history(ds, "2025-06", months=3)
    assert hist.scores.select("account_id", "month").rows() == [
        ("A", "2025-04"),
        ("A", "2025-05"),
        ("A", "2025-06"),
        ("B", "2025-06"),
    ]
    for m in ("2025-04", "2025-05", "2025-06"):
        one = health.health_scores(ds, m)
        assert (
            hist.scores.filter(pl.col("month") == m).drop("month", "month_idx").equals(one.scores)
        )
        assert (
            hist.details.filter(pl.col("month") == m).drop("month", "month_idx").equals(one.details)
        )
    may = health.health_scores(ds, "2025-05")
    assert may.unavailable == {  # why, from the catalogue in the configured language
        "outcome_rate": "週次利用のデータの列 outcome_rate にはこの月までの値がありません"
    }
    assert health.health_scores(ds, "2025-06").unavailable == {}
    # May: logins 20/4 = 5 -> 2 of 4 thresholds, deliveries 6/4 = 1.5 -> 2 of 4, 1 touchpoint of
    # [1, 2, 4] -> 1/3; weights .3/.3/.2 of .8 -> 18.75 + 18.75 + 8.33 = 45.83
    assert may.scores["score"][0] == 45.83


# ---- issue 13: missing data is "no data", never the worst score --------------------------------


def test_only_accounts_and_subscriptions_give_no_score_no_band_and_no_health_red(tmp_path, capsys):
    from cs_metrics.cli.main import main
    from cs_metrics.metrics.risk import risk_signals

    ds = frames_dataset(subscriptions=[sub("A"), sub("B", mrr=5.0)])
    res = health.health_scores(ds, "2025-06")
    assert res.scores["score"].to_list() == [None, None]
    assert res.scores["band"].to_list() == [None, None] and res.scores["no_data"].all()
    assert set(res.unavailable) == {"deliveries", "logins", "touchpoints", "outcome_rate"}
    risk = risk_signals(ds, "2025-06")
    assert "health_red" in risk.unavailable
    assert risk.signals.filter(pl.col("rule") == "health_red").height == 0
    seg = segments.segments(ds, "2025-06")
    assert seg["segment"].to_list() == [None, None]  # attribute x band: no band, no segment

    data = write_cli_dataset(tmp_path / "full")
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in ("accounts.csv", "subscriptions.csv"):
        (bare / f).write_bytes((data / f).read_bytes())
    assert main(["health", "--data", str(bare), "--as-of", "2025-06", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert all(r["score"] is None and r["band"] is None for r in out)
    assert all(r["score_reason_code"] == "health_no_data" and r["contributions"] == {} for r in out)
    assert main(["health", "--data", str(bare), "--as-of", "2025-06"]) == 0
    table = capsys.readouterr().out
    assert "red" not in table and "データなし=4" in table
    assert main(["risk", "--data", str(bare), "--as-of", "2025-06", "--format", "json"]) == 0
    got = capsys.readouterr()
    assert all(r["rule"] != "health_red" for r in json.loads(got.out))
    assert "ヘルススコア危険: 判定不可 — ヘルススコアのデータがありません" in got.err


def test_an_account_with_nothing_counted_has_no_score_beside_scored_accounts():
    # outcome_rate only, policy reweight: A has values, B has no usage row at all
    cfg = load_config(
        {
            "health": {
                "measures": {
                    "deliveries": {"weight": 0.0},
                    "logins": {"weight": 0.0},
                    "touchpoints": {"weight": 0.0},
                    "outcome_rate": {"weight": 1.0, "missing": "reweight"},
                }
            }
        }
    )
    rows = [week("A", d, outcome=0.9) for d in JUNE_WEEKS]
    ds = frames_dataset(cfg, subscriptions=[sub("A"), sub("B")], usage_weekly=rows)
    s = {
        r["account_id"]: r for r in health.health_scores(ds, "2025-06").scores.iter_rows(named=True)
    }
    assert s["A"]["score"] == 50.0 and s["A"]["band"] == "yellow"  # a lone account: 0.5 points
    assert s["B"]["score"] is None and s["B"]["band"] is None and s["B"]["no_data"]
    h = health.health_with_change(ds, "2025-06")
    assert h.filter(pl.col("account_id") == "B")["delta"].to_list() == [None]
