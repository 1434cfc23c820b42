"""What-if scenarios (SPEC §9): hand-computed levers, thin levers refused with their counts, an
interval around every rate, and the ltv / scenario commands on awkward datasets (never NaN,
never a traceback)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from conftest import SAMPLE, frames_dataset, line, make_dataset_dir, sub

from cs_metrics.errors import UsageError
from cs_metrics.metrics.churn import churn_within
from cs_metrics.metrics.retention import trailing_retention
from cs_metrics.metrics.scenarios import what_if

R = "施策終了・中止"
CFG = {"revenue": {"churn_horizon_months": 3}, "scenario": {"min_group_accounts": 5}}


def acct(ids):
    return [
        {"account_id": a, "account_name": a, "industry": "IT", "csm": "鈴木"} for a in sorted(ids)
    ]


def save_example(config=CFG):
    """docs/metrics.md worked example, as of 2025-06, H = 3.

    A0-A9 from 2025-01: A0, A1 leave after one month (reason 施策終了・中止), A2, A3 after two
    (予算削減). B0-B3 from 2024-01 at 100: B0 leaves after 2025-03 (施策終了・中止).
    """
    lines = [line(f"A{i}", "core", "2025-01-01", None, 100) for i in range(4, 10)]
    lines += [line(f"A{i}", "core", "2025-01-01", "2025-01-31", 100) for i in (0, 1)]
    lines += [line(f"A{i}", "core", "2025-01-01", "2025-02-28", 100) for i in (2, 3)]
    lines += [line("B0", "core", "2024-01-01", "2025-03-31", 100)]
    lines += [line(f"B{i}", "core", "2024-01-01", None, 100) for i in (1, 2, 3)]
    canc = [
        {"account_id": "A0", "cancelled_on": dt.date(2025, 1, 20), "reason": R},
        {"account_id": "A1", "cancelled_on": dt.date(2025, 1, 25), "reason": R},
        {"account_id": "A2", "cancelled_on": dt.date(2025, 2, 20), "reason": "予算削減"},
        {"account_id": "A3", "cancelled_on": dt.date(2025, 2, 20), "reason": "予算削減"},
        {"account_id": "B0", "cancelled_on": dt.date(2025, 3, 15), "reason": R},
    ]
    ids = {x["account_id"] for x in lines}
    return frames_dataset(config, accounts=acct(ids), subscriptions=lines, cancellations=canc)


def _contains(fig: dict) -> None:
    """Every number has a 95% interval [lo, hi] with lo <= value <= hi."""
    for key, ci in (("rate", "rate_ci"), ("km_rate", "km_ci"), ("nrr_trailing_12m", "nrr_ci")):
        if fig[key] is None:
            assert fig[ci] is None and fig[f"{key}_reason"] and fig[f"{key}_reason_code"]
            continue
        lo, hi = fig[ci]
        assert lo <= fig[key] <= hi, (key, lo, fig[key], hi)


def test_save_lever_hand_computed_worked_example():
    w = what_if(save_example(), "2025-06", save_reason_pct=0.5)
    b, p = w["baseline"], w["projected"]
    # 14 eligible (s <= 2025-03), 4 churned within 3 months, 2 of them 施策終了・中止
    assert b["rate"] == pytest.approx(4 / 14) and p["rate"] == pytest.approx(3 / 14)
    # KM: t=1 n=14 d=2, t=2 n=12 d=2 -> S = 10/14; saving half of A0, A1 keeps them at risk:
    # t=1 n=14 d=1, t=2 n=13 d=2 -> S = 11/14
    assert b["km_rate"] == pytest.approx(4 / 14) and p["km_rate"] == pytest.approx(3 / 14)
    # NRR: B0-B3 were active 12 months ago (400); now 300; half of B0's 100 added back
    assert b["nrr_trailing_12m"] == pytest.approx(0.75)
    assert p["nrr_trailing_12m"] == pytest.approx(0.875)
    lever = w["levers"][0]
    assert lever == {
        "lever": "save_reason",
        "status": "applied",
        "groups": [{"group": R, "eligible": 14, "churned": 2}],
        "reason": None,
        "reason_code": None,
    }
    _contains(b)
    _contains(p)
    # the docs' worked example: the seeded bootstrap's lower ends, Wilson's upper ends (4 / 14:
    # 0.117-0.546; 3 / 14: 0.076-0.476), the wider of the two each side
    assert [round(x, 3) for x in b["rate_ci"]] == [0.071, 0.546]
    assert [round(x, 3) for x in p["rate_ci"]] == [0.036, 0.476]


def test_baseline_is_churn_within_and_trailing_nrr():
    from cs_metrics.data.load import load_dataset

    ds = load_dataset(SAMPLE)
    w = what_if(ds, "2026-09")
    cw = churn_within(ds, "2026-09", 24)[0]
    tr = trailing_retention(ds, "2026-09", 12).row(-1, named=True)
    assert w["baseline"]["rate"] == pytest.approx(cw["rate"])
    assert w["baseline"]["km_rate"] == pytest.approx(cw["km_rate"])
    assert w["baseline"]["nrr_trailing_12m"] == pytest.approx(tr["nrr_trailing_12m"])
    assert w["levers"] == [] and w["projected"] == w["baseline"]  # no lever: equal, intervals too


def test_sample_graduation_lever_is_insufficient_data_with_counts():
    from cs_metrics.data.load import load_dataset

    ds = load_dataset(SAMPLE)
    w = what_if(ds, "2026-09", save_reason_pct=0.3, graduation_target=0.8)
    save, grad = w["levers"]
    assert save["status"] == "applied"
    assert (
        grad["status"] == "insufficient_data" and grad["reason_code"] == "scenario_thin_graduation"
    )
    assert grad["groups"] == [
        {"group": "graduated", "eligible": 6, "churned": 0},
        {"group": "not_graduated", "eligible": 16, "churned": 3},
        {"group": "no_onboarding_records", "eligible": 67, "churned": 16},
    ]
    assert "6 社中 0 社" in grad["reason"]
    # only the save lever moves the projection: nowhere near the old 2.9%
    only_save = what_if(ds, "2026-09", save_reason_pct=0.3)
    assert w["projected"] == only_save["projected"]
    assert w["projected"]["rate"] > 0.1
    for fig in (w["baseline"], w["projected"]):
        _contains(fig)
    json.dumps(w, allow_nan=False)


def graduation_example(config=CFG, with_unrecorded=True):
    """as of 2025-06, H = 3, one onboarding session (graduated = it is done): G0-G5 graduated,
    none churned; N0-N5 not graduated, three churned after a month; U0-U3 without records, two
    churned after two months."""
    lines = [line(f"G{i}", "core", "2025-01-01", None, 100) for i in range(6)]
    lines += [
        line(f"N{i}", "core", "2025-01-01", "2025-01-31" if i < 3 else None, 100) for i in range(6)
    ]
    if with_unrecorded:
        lines += [
            line(f"U{i}", "core", "2025-01-01", "2025-02-28" if i < 2 else None, 100)
            for i in range(4)
        ]
    sessions = [
        {
            "account_id": a,
            "user_id": f"{a}-u",
            "session_no": 1,
            "status": "done" if a[0] == "G" else "missed",
            "held_on": dt.date(2025, 1, 10),
        }
        for a in [f"G{i}" for i in range(6)] + [f"N{i}" for i in range(6)]
    ]
    cfg = {**config, "onboarding": {"sessions": 1}}
    ids = {x["account_id"] for x in lines}
    return frames_dataset(
        cfg, accounts=acct(ids), subscriptions=lines, onboarding_sessions=sessions
    )


def test_graduation_lever_reweights_and_keeps_the_no_records_group():
    ds = graduation_example()
    base = what_if(ds, "2025-06")["baseline"]
    assert base["rate"] == pytest.approx(5 / 16)
    w = what_if(ds, "2025-06", graduation_target=1.0)
    lever = w["levers"][0]
    assert lever["status"] == "applied"
    assert [g["group"] for g in lever["groups"]] == [
        "graduated",
        "not_graduated",
        "no_onboarding_records",
    ]
    # all 12 with records behave like the graduates (0 of 6); the 4 without keep 2 of 4
    assert w["projected"]["rate"] == pytest.approx(2 / 16)
    assert w["projected"]["km_rate"] == pytest.approx(2 / 16)
    assert w["projected"]["nrr_trailing_12m"] == w["baseline"]["nrr_trailing_12m"]  # both null
    assert w["baseline"]["nrr_trailing_12m_reason_code"] == "no_accounts_12m_before"
    # graduation at today's share (6 of 12) reproduces the baseline exactly
    same = what_if(ds, "2025-06", graduation_target=0.5)
    assert same["projected"]["rate"] == pytest.approx(base["rate"])
    assert same["projected"]["km_rate"] == pytest.approx(base["km_rate"])
    _contains(w["projected"])


def test_empty_third_group_is_absent():
    w = what_if(graduation_example(with_unrecorded=False), "2025-06", graduation_target=1.0)
    assert [g["group"] for g in w["levers"][0]["groups"]] == ["graduated", "not_graduated"]
    assert w["projected"]["rate"] == 0.0
    _contains(w["projected"])


def test_thin_levers_are_refused_with_counts_and_not_applied():
    strict = {**CFG, "scenario": {"min_group_accounts": 30}}
    w = what_if(graduation_example(strict), "2025-06", graduation_target=1.0)
    lever = w["levers"][0]
    assert lever["status"] == "insufficient_data"
    assert lever["groups"][0] == {"group": "graduated", "eligible": 6, "churned": 0}
    assert "30" in lever["reason"] and lever["reason_code"] == "scenario_thin_graduation"
    assert w["projected"] == w["baseline"]
    s = what_if(save_example(strict), "2025-06", save_reason_pct=1.0)
    assert s["levers"][0]["status"] == "insufficient_data"
    assert s["levers"][0]["groups"] == [{"group": R, "eligible": 14, "churned": 2}]
    assert s["projected"] == s["baseline"]
    assert any("施策がない" in n or "現状と同じ" in n for n in s["notes"])


def test_levers_without_their_table_are_unavailable():
    ds = save_example()
    w = what_if(ds, "2025-06", graduation_target=0.8)
    assert w["levers"][0]["status"] == "unavailable"
    assert w["levers"][0]["reason_code"] == "scenario_no_onboarding"
    no_canc = frames_dataset(
        CFG, accounts=acct(["A"]), subscriptions=[line("A", "c", "2024-01-01", None, 1)]
    )
    w = what_if(no_canc, "2025-06", save_reason_pct=0.3)
    assert w["levers"][0]["status"] == "unavailable"
    assert w["levers"][0]["reason_code"] == "scenario_no_cancellations"


def test_out_of_range_and_unknown_reason_are_usage_errors():
    ds = save_example()
    for kwargs in ({"save_reason_pct": 1.5}, {"save_reason_pct": -0.1}, {"graduation_target": 30}):
        with pytest.raises(UsageError) as e:
            what_if(ds, "2025-06", **kwargs)
        assert e.value.code == "scenario_out_of_range"
    with pytest.raises(UsageError) as e:
        what_if(ds, "2025-06", save_reason_pct=0.3, reason="存在しない理由")
    assert e.value.code == "scenario_reason_unknown" and R in e.value.params["known"]


def test_bootstrap_is_seeded():
    ds = save_example()
    a = what_if(ds, "2025-06", save_reason_pct=0.5)
    b = what_if(ds, "2025-06", save_reason_pct=0.5)
    assert a == b
    other = save_example({**CFG, "scenario": {"min_group_accounts": 5, "bootstrap_seed": 7}})
    c = what_if(other, "2025-06", save_reason_pct=0.5)
    assert c["baseline"]["rate"] == a["baseline"]["rate"]
    assert c["baseline"]["nrr_ci"] != a["baseline"]["nrr_ci"]


@pytest.mark.parametrize("churned", [0, 8])
def test_a_rate_of_none_or_all_of_a_handful_is_never_a_zero_width_interval(churned):
    # 8 accounts acquired 2023-01, ``churned`` of them after 2 months (H = 3); one later account
    lines = [
        line(f"A{i}", "core", "2023-01-01", "2023-02-28" if i < churned else None, 100.0)
        for i in range(8)
    ]
    lines.append(line("B1", "core", "2025-05-01", None, 100.0))  # too recent to be eligible
    ds = frames_dataset(CFG, accounts=acct({x["account_id"] for x in lines}), subscriptions=lines)
    b = what_if(ds, "2025-06")["baseline"]
    assert b["rate"] == churned / 8 and b["km_rate"] == pytest.approx(churned / 8)
    for key in ("rate_ci", "km_ci"):
        lo, hi = b[key]
        assert hi - lo > 0.2, (key, lo, hi)  # Wilson 0/8: 0-0.324; 8/8: 0.676-1
        assert lo <= churned / 8 <= hi


def test_scenario_cli_json_shape_table_and_refusals(capsys):
    from cs_metrics.cli.main import main

    args = ["scenario", "--data", str(SAMPLE), "--as-of", "2026-09"]
    assert (
        main([*args, "--save-reason-pct", "0.3", "--graduation-target", "0.8", "--format", "json"])
        == 0
    )
    j = json.loads(capsys.readouterr().out)
    assert set(j) == {"as_of", "horizon", "baseline", "projected", "levers", "notes"}
    keys = {"rate", "rate_ci", "km_rate", "km_ci", "nrr_trailing_12m", "nrr_ci"}
    assert set(j["baseline"]) == set(j["projected"]) == keys
    assert [lv["lever"] for lv in j["levers"]] == ["save_reason", "graduation"]
    assert main([*args, "--graduation-target", "0.8"]) == 0
    out = capsys.readouterr().out
    assert "データ不足のため不適用" in out and "卒業 6社・うち解約 0社" in out and "95%" in out
    for bad in (["--save-reason-pct", "1.5"], ["--graduation-target", "abc"], ["--reason", R]):
        assert main([*args, *bad]) == 2  # a usage error is a message and exit 2 (no SystemExit)
        assert "Traceback" not in capsys.readouterr().err
    assert main([*args, "--save-reason-pct", "0.3", "--reason", "ないもの"]) == 2
    assert "予算削減" in capsys.readouterr().err


# ---- every ltv and scenario output on awkward datasets ------------------------------------


def _awkward_datasets(tmp) -> dict[str, tuple]:
    """name -> (folder, extra args). Small exports a real team could have."""
    out = {}
    # each monthly cohort loses the same share (4 of 40) every month: the old fit ran off
    rows = []
    for c in range(12):
        start = f"2024-{c + 1:02d}-01"
        for i in range(40):
            k = i // 4 + 1  # leaves after k months
            end_m = c + k
            end = None
            if k <= 10 and end_m <= 18:
                y, m = 2024 + end_m // 12, end_m % 12 + 1
                end = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).isoformat()
            rows.append(sub(f"s{c}-{i}", f"C{c:02d}-{i:02d}", "core", start, end, "100"))
    out["constant_share"] = (
        make_dataset_dir(tmp / "const", subscriptions=rows),
        ["--as-of", "2025-07"],
    )
    rows = [sub(f"s{i}", f"N{i:02d}", "core", "2024-01-01", None, "100") for i in range(30)]
    out["no_churn"] = (make_dataset_dir(tmp / "none", subscriptions=rows), ["--as-of", "2025-06"])
    ends = ["2024-01-31", "2024-02-29", "2024-03-31", "2024-04-30", "2024-05-31", "2024-06-30"]
    rows = [
        sub(f"s{i}", f"F{i:02d}", "core", f"2024-{i % 6 + 1:02d}-01", ends[i % 6], "100")
        for i in range(30)
    ]
    out["all_churn_period_1"] = (
        make_dataset_dir(tmp / "all", subscriptions=rows),
        ["--as-of", "2024-09"],
    )
    rows = [sub("s1", "ONE", "core", "2024-01-01", None, "100")]
    out["one_account"] = (make_dataset_dir(tmp / "one", subscriptions=rows), ["--as-of", "2025-06"])
    rows = [sub(f"s{i}", f"M{i}", "core", "2024-03-01", None, "100") for i in range(5)]
    out["one_month"] = (make_dataset_dir(tmp / "month", subscriptions=rows), ["--as-of", "2024-03"])
    out["sample_by_csm"] = (SAMPLE, ["--as-of", "2026-09"])
    return out


_BAD = re.compile(r"\bnan\b|\binf\b|infinity|traceback", re.IGNORECASE)


def _strict(text: str):
    def refuse(c):
        raise AssertionError(f"non-finite number in JSON: {c}")

    return json.loads(text, parse_constant=refuse)


def test_ltv_and_scenario_commands_on_awkward_datasets(tmp_path, capsys):
    from cs_metrics.cli.main import main

    for name, (folder, extra) in _awkward_datasets(tmp_path).items():
        by = ["--by", "csm"] if name == "sample_by_csm" else []
        runs = [
            ["ltv", "--data", str(folder), *extra, *by, "--format", "json"],
            ["ltv", "--data", str(folder), *extra, *by],
            ["scenario", "--data", str(folder), *extra, "--save-reason-pct", "0.3", "--graduation-target", "0.8", "--format", "json"],
            ["scenario", "--data", str(folder), *extra, "--save-reason-pct", "0.3"],
        ]  # fmt: skip
        for argv in runs:
            rc = main(argv)
            cap = capsys.readouterr()
            assert rc == 0, (name, argv, cap.err)
            assert not _BAD.search(cap.out) and not _BAD.search(cap.err), (name, argv, cap.out)
            if "json" in argv:
                j = _strict(cap.out)
                if argv[0] == "scenario":
                    _contains(j["baseline"])
                    _contains(j["projected"])
                else:
                    for g in j["predictive"]["groups"].values():
                        assert g["ltv_new"] is not None or g["ltv_new_reason"]
                        if g["ltv_new"] is not None:
                            assert g["ltv_new"] > 0
                            assert g["ltv_new_ci"] or g["ltv_new_ci_reason"]
                        fit = g["fit"]
                        assert fit is None or fit["log_likelihood"] <= 0
