"""Signal backtest (SPEC §10): statistics by hand, a hand-built dataset, point in time, synthetic
warning signs and random signals, the CLI contract."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools
import json
import math

import numpy as np
import polars as pl
import pytest
from conftest import SAMPLE, frames_dataset, line, make_dataset_dir

from cs_metrics.metrics import backtest as bt

D = dt.date


# ---- statistics -------------------------------------------------------------------------------


def test_wilson_interval_known_values():
    lo, hi = bt.wilson_interval(0, 10)
    assert lo == 0 and hi == pytest.approx(0.277533, abs=1e-6)  # z²/(n + z²)
    lo, hi = bt.wilson_interval(5, 10)
    assert (lo, hi) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    lo, hi = bt.wilson_interval(38, 100)
    assert (lo, hi) == pytest.approx((0.290976, 0.477902), abs=1e-6)  # by hand: 0.3844 ± 0.0935
    assert bt.wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert bt.wilson_interval(0, 0) is None


def test_auc_known_values():
    stay, churn = np.array([30.0, 50.0, 60.0]), np.array([10.0, 40.0])
    score = np.concatenate([stay, churn])
    event = np.array([False] * 3 + [True] * 2)
    # P(a stayer scores higher than a churner): 10 < 30, 50, 60 (3); 40 < 50, 60 (2) -> 5/6
    assert bt.roc_auc(score, event) == pytest.approx(5 / 6)
    assert bt.roc_auc(np.array([1.0, 2, 8, 9]), np.array([True, True, False, False])) == 1.0
    assert bt.roc_auc(np.array([8.0, 9, 1, 2]), np.array([True, True, False, False])) == 0.0
    # a tie between a churner and a stayer counts one half: (1 + 0.5) / 2
    assert bt.roc_auc(np.array([5.0, 5, 9]), np.array([True, False, False])) == 0.75
    assert bt.roc_auc(np.array([1.0, 2]), np.array([False, False])) is None
    res = bt.auc_interval(
        np.array([1.0, 2, 8, 9]), np.array([True, True, False, False]), [0, 1, 2, 3]
    )
    assert res["ci"] is None and res["reason_code"] == "perfect"


def _delong_variance(score, event):
    """DeLong (1988) by its definition, O(n²): the reference for one unit per cluster."""
    x = -np.asarray(score)
    pos, neg = x[event], x[~event]
    psi = lambda a, b: 1.0 if a > b else 0.5 if a == b else 0.0  # noqa: E731
    v10 = np.array([np.mean([psi(p, q) for q in neg]) for p in pos])
    v01 = np.array([np.mean([psi(p, q) for p in pos]) for q in neg])
    return v10.mean(), v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)


def test_auc_interval_is_delong_with_one_unit_per_account_and_wider_with_repeats():
    rng = np.random.default_rng(3)
    event = rng.random(60) < 0.3
    score = np.round(rng.normal(60, 15, 60) - 15 * event)  # rounded: ties occur
    auc, var = _delong_variance(score, event)
    res = bt.auc_interval(score, event, np.arange(60))
    assert res["auc"] == pytest.approx(auc)
    logit, se = math.log(auc / (1 - auc)), math.sqrt(var) / (auc * (1 - auc))
    expected = [1 / (1 + math.exp(-(logit + s * bt.Z95 * se))) for s in (-1, 1)]
    assert res["ci"] == pytest.approx(expected)
    # the same 60 units seen three times each: the AUC is the same, the interval is not
    # narrower than DeLong's on the 60 (repeated months of one account are not new evidence)
    rep = bt.auc_interval(np.tile(score, 3), np.tile(event, 3), np.tile(np.arange(60), 3))
    assert rep["auc"] == pytest.approx(auc)
    assert rep["ci"][1] - rep["ci"][0] >= 0.99 * (expected[1] - expected[0])


def _per_account(n, y, f, h):
    return pl.DataFrame({"n": n, "y": y, "f": f, "h": h})


def test_lift_interval_by_hand_and_edges():
    # 4 accounts of 3 months: 3 churned months in all (base 3/12), 4 flags with 2 hits
    acc = _per_account([3, 3, 3, 3], [2, 1, 0, 0], [2, 0, 2, 0], [1, 0, 1, 0])
    lift, ci, code = bt.lift_interval(acc)
    assert lift == pytest.approx((2 / 4) / (3 / 12)) and code is None
    assert ci[0] < lift < ci[1]
    # no design effect here? then the interval is MOVER from the plain Wilson intervals
    e1 = 4 / bt.design_effect(pl.Series([1, 1]), pl.Series([2, 2]))
    e0 = 12 / bt.design_effect(acc["y"], acc["n"])
    (l1, u1), (l0, u0) = bt.wilson_interval(0.5 * e1, e1), bt.wilson_interval(0.25 * e0, e0)
    lo = math.log(2) - math.sqrt(math.log(0.5 / l1) ** 2 + math.log(u0 / 0.25) ** 2)
    hi = math.log(2) + math.sqrt(math.log(u1 / 0.5) ** 2 + math.log(0.25 / l0) ** 2)
    assert ci == pytest.approx((math.exp(lo), math.exp(hi)))
    # one flag, one hit: precision 1 but a wide interval, not a point
    lift, ci, _ = bt.lift_interval(_per_account([3, 3], [1, 0], [1, 0], [1, 0]))
    assert lift == 6.0 and ci[1] / ci[0] > 5
    assert bt.lift_interval(_per_account([3], [1], [0], [0]))[:2] == (None, None)
    assert bt.lift_interval(_per_account([3], [0], [1], [0]))[2] == "no_outcome"
    lift, ci, code = bt.lift_interval(_per_account([3, 3], [1, 0], [0, 2], [0, 0]))
    assert lift == 0.0 and ci[0] == 0.0 and code == "no_hits"


def test_design_effect_is_one_for_independent_units_and_grows_with_clustering():
    ones = pl.Series([1] * 10)
    assert bt.design_effect(pl.Series([1, 0] * 5), ones) == pytest.approx(1.0, abs=0.2)
    # all-or-nothing accounts of 5 months: the effective sample is about one unit per account
    deff = bt.design_effect(pl.Series([5, 0] * 5), pl.Series([5] * 10))
    assert deff == pytest.approx(5.0 * 10 / 9, rel=1e-9)


def test_lift_interval_covers_one_for_signals_unrelated_to_churn():
    """Coverage: flags and churn drawn independently, both clustered by account."""
    rng = np.random.default_rng(11)
    covered, reps = 0, 200
    for _ in range(reps):
        k = 150
        n = rng.integers(1, 13, k)
        risk = rng.beta(1, 12, k)  # account-level churn propensity (clustered outcomes)
        y = rng.binomial(n, risk)
        f = rng.binomial(n, rng.beta(1, 4, k))  # account-level flagging, unrelated to y
        h = rng.hypergeometric(y, n - y, f)  # flagged months that churned, by chance
        lift, ci, _ = bt.lift_interval(_per_account(n, y, f, h))
        covered += ci is not None and ci[0] <= 1 <= ci[1]
    assert covered / reps >= 0.93


# ---- a hand-built dataset ---------------------------------------------------------------------


def _weeks(acc, first, last, logins=3.0):
    out, d = [], first
    while d <= last:
        out.append(
            {
                "account_id": acc,
                "week_start": d,
                "logins": logins,
                "deliveries": 2.0,
                "outcome_rate": 0.5,
            }
        )
        d += dt.timedelta(weeks=1)
    return out


def hand_dataset(config=None):
    """Signals 2024-06..2024-08, H = 3 (data to 2024-11), units and outcomes by hand:

    A open-ended, logs in weekly; an add-on from 2024-09 (cross-sell: expanded in 06, 07, 08).
    B ends 2024-09-30 (churns in 10): last login week 05-27..06-02 -> 28, 59, 90 days: flagged
      in 08 only; churned within 3 in 07 and 08 (10 <= m + 3), not in 06.
    C ends 2024-07-31 (churns in 08), no usage rows (never logged in): flagged 06 and 07, both
      churned.
    D open-ended, last login week 03-04: flagged 06, 07, 08, never churns.
    E starts 2024-08-01, logs in: one unit (08).
    Units 12 (A3 B3 C2 D3 E1); churned 4 (B07 B08 C06 C07); no_login flags 6 (B08 C06 C07 D06
    D07 D08), hits 3: precision 1/2, recall 3/4, base rate 1/3, lift 1.5.
    """
    subs = [
        line("A", "core", "2024-01-01", None, 100_000),
        line("A", "addon", "2024-09-01", None, 20_000),
        line("B", "core", "2024-01-01", "2024-09-30", 100_000),
        line("C", "core", "2024-01-01", "2024-07-31", 100_000),
        line("D", "core", "2024-01-01", None, 100_000),
        line("E", "core", "2024-08-01", None, 100_000),
    ]
    usage = (
        _weeks("A", D(2024, 1, 1), D(2024, 11, 25))
        + _weeks("B", D(2024, 1, 1), D(2024, 5, 27))
        + _weeks("D", D(2024, 3, 4), D(2024, 3, 4))
        + _weeks("E", D(2024, 8, 5), D(2024, 11, 25))
    )
    return frames_dataset(config, subscriptions=subs, usage_weekly=usage)


def test_hand_built_counts():
    res = bt.backtest(hand_dataset(), "2024-06", "2024-08", 3)
    s = res.summary
    assert (s["from"], s["to"], s["horizon_months"]) == ("2024-06", "2024-08", 3)
    assert (s["account_months"], s["churned"], s["base_rate"]) == (12, 4, 4 / 12)
    units = {
        (r["account_id"], r["month_idx"] % 12 + 1): (r["churned"], r["expanded"])
        for r in res.units.iter_rows(named=True)
    }
    assert {k for k, (c, _) in units.items() if c} == {("B", 7), ("B", 8), ("C", 6), ("C", 7)}
    assert {k for k, (_, e) in units.items() if e} == {("A", 6), ("A", 7), ("A", 8)}
    sig = {x["signal"]: x for x in s["signals"]}
    nl = sig["no_login"]
    assert (nl["flagged"], nl["hits"], nl["precision"], nl["recall"]) == (6, 3, 0.5, 0.75)
    assert nl["base_rate"] == 4 / 12 and nl["lift"] == pytest.approx(1.5)
    assert nl["precision_ci"] == pytest.approx(list(bt.wilson_interval(3, 6)))
    # docs/metrics.md §12 worked example: deff 3.5 (precision) and 2.29 (base rate), MOVER
    assert nl["precision_ci"] == pytest.approx([0.188, 0.812], abs=5e-4)
    assert bt.design_effect(pl.Series([1, 2, 0]), pl.Series([1, 2, 3])) == pytest.approx(3.5)
    y, n = pl.Series([0, 2, 2, 0, 0]), pl.Series([3, 3, 2, 3, 1])
    assert bt.design_effect(y, n) == pytest.approx(2.2917, abs=1e-4)
    assert nl["lift_ci"] == pytest.approx([0.2157, 6.398], abs=1e-3)
    flagged = set(
        res.flags.filter(pl.col("rule") == "no_login")
        .select(pl.format("{}{}", "account_id", pl.col("month_idx") % 12 + 1))
        .to_series()
    )
    assert flagged == {"B8", "C6", "C7", "D6", "D7", "D8"}
    # renewal_due (ends after the month's last day, within 2 months): B (ends 09-30) in 07 and
    # 08, C (ends 07-31) in 06: 3 flags, 3 hits. C in 07 ends on that month's last day with no
    # renewal: renewal_unconfirmed (1 flag, 1 hit), not renewal_due.
    rd = sig["renewal_due"]
    assert (rd["flagged"], rd["hits"], rd["precision"], rd["recall"]) == (3, 3, 1.0, 0.75)
    assert rd["lift"] == pytest.approx(3.0) and rd["lift_ci"] == pytest.approx(
        [0.972, 11.21], abs=5e-3
    )
    ru = sig["renewal_unconfirmed"]
    assert (ru["flagged"], ru["hits"], ru["recall"]) == (1, 1, 0.25)
    ex = sig["expansion_candidate"]
    assert ex["target"] == "expansion" and ex["base_rate"] == 3 / 12
    for rule in ("nps_detractor", "cancellation_notice", "onboarding_stalled", "no_touchpoint"):
        x = sig[rule]
        assert x["flagged"] is None and x["flagged_reason_code"] == "backtest_unavailable"
        assert "のデータ（表）がありません" in x["flagged_reason"] and x["lift"] is None


def test_disabled_rule_is_reported_not_zero():
    from cs_metrics.config import load_config

    cfg = load_config({"risk": {"disabled_rules": ["no_login"]}, "general": {"lang": "en"}})
    res = bt.backtest(hand_dataset(cfg), "2024-06", "2024-08", 3)
    nl = next(x for x in res.summary["signals"] if x["signal"] == "no_login")
    assert nl["flagged"] is None and nl["flagged_reason_code"] == "backtest_disabled"
    assert "disabled" in nl["flagged_reason"]


def test_range_defaults_and_refusals():
    ds = hand_dataset()
    assert bt.default_range(ds) == ("2024-01", "2024-08", 3)  # data 2024-01 .. 2024-11
    assert bt.default_range(ds, horizon=1) == ("2024-01", "2024-10", 1)
    for start, stop, h in [
        ("2024-08", "2024-06", 3),  # from after to
        (None, "2024-09", 3),  # 3 months after 09 are not all in the data
        ("2023-12", None, 3),  # before the first active month
        (None, None, 0),
        (None, None, 11),  # longer than the data
    ]:
        with pytest.raises(bt.BacktestRangeError):
            bt.resolve_range(ds, start, stop, h)
    with pytest.raises(bt.BacktestRangeError, match="covers 2024-01 to 2024-11"):
        bt.resolve_range(ds, None, "2024-10", 3)


# ---- point in time ----------------------------------------------------------------------------

_DATED = {
    "usage_weekly": "week_start",
    "touchpoints": "occurred_on",
    "nps_responses": "responded_on",
    "onboarding_sessions": "held_on",
    "cancellations": "cancelled_on",
}


def cut_dataset(ds, cut: dt.date):
    """The data as it stood on ``cut``: rows dated later dropped, subscription lines starting
    later dropped, later end dates unknown (open)."""
    frames = {}
    for name, lf in ds.frames.items():
        if name == "subscriptions":
            lf = lf.filter(pl.col("start_date") <= cut).with_columns(
                pl.when(pl.col("end_date") > cut)
                .then(None)
                .otherwise(pl.col("end_date"))
                .alias("end_date")
            )
        elif name in _DATED:
            col = pl.col(_DATED[name])
            lf = lf.filter(col.is_null() | (col <= cut))
        frames[name] = lf.collect().lazy()
    return ds.with_tables(**frames)


def test_point_in_time_adding_later_data_changes_no_past_month():
    from cs_metrics.data.load import load_dataset

    full = load_dataset(SAMPLE)
    cut = cut_dataset(full, D(2025, 12, 31))
    assert str(cut.default_as_of()) == "2025-12"
    # months <= cut - H: identical figures whichever data is present
    a = bt.backtest(full, "2024-10", "2025-09", 3)
    b = bt.backtest(cut, "2024-10", "2025-09", 3)
    assert a.summary == b.summary
    for frame in ("units", "flags", "health", "details"):
        x, y = getattr(a, frame), getattr(b, frame)
        keys = [c for c in ("account_id", "month_idx", "rule", "measure") if c in x.columns]
        assert x.sort(keys).equals(y.sort(keys)), frame
    assert a.summary["churned"] > 10 and a.flags.height > 100  # a test with something in it
    # and the cut data cannot be asked about months it cannot see the outcome of
    with pytest.raises(bt.BacktestRangeError):
        bt.backtest(cut, "2024-10", "2025-10", 3)


# ---- synthetic data: a warning sign before churn, and random signals --------------------------


def synthetic(seed: int, warning: bool, accounts: int = 240):
    """30 months of weekly usage (2023-01 .. 2025-06). 35% of accounts churn (their line ends on
    the last day of a month between 2023-09 and 2025-02). ``warning``: churners stop logging in
    10 weeks before their end, and 10% of the others have a random quiet quarter. Otherwise
    (random signals) a random 30% have a quiet quarter, unrelated to churn. NPS scores are
    random either way."""
    rng = np.random.default_rng(seed)
    first, end = D(2023, 1, 2), D(2025, 6, 30)
    subs, usage, nps = [], [], []
    for i in range(accounts):
        acc = f"X{i:04d}"
        churn = rng.random() < 0.35
        c = int(rng.integers(8, 26))  # months after 2023-01 of the first inactive month
        y, m = 2023 + (c - 1) // 12, (c - 1) % 12 + 1
        last_day = D(y, m, calendar.monthrange(y, m)[1]) if churn else None
        subs.append(line(acc, "core", "2023-01-01", str(last_day) if churn else None, 50_000))
        stop = last_day or end
        quiet_from = quiet_to = None
        if warning and churn:
            quiet_from, quiet_to = stop - dt.timedelta(weeks=10), stop
        elif rng.random() < (0.10 if warning else 0.30):
            quiet_from = first + dt.timedelta(weeks=int(rng.integers(10, 110)))
            quiet_to = quiet_from + dt.timedelta(weeks=13)
        for k in range((stop - first).days // 7 + 1):
            w = first + dt.timedelta(weeks=k)
            quiet = quiet_from is not None and quiet_from <= w <= quiet_to
            usage.append(
                {
                    "account_id": acc,
                    "week_start": w,
                    "logins": 0.0 if quiet else float(rng.integers(2, 8)),
                    "deliveries": float(rng.integers(0, 4)),
                    "outcome_rate": float(rng.random()),
                }
            )
        for j in range(0, (stop - first).days, 90):
            nps.append(
                {
                    "response_id": f"{acc}-{j}",
                    "account_id": acc,
                    "responded_on": first + dt.timedelta(days=j + int(rng.integers(0, 90))),
                    "score": int(rng.integers(0, 11)),
                }
            )
    nps = [r for r in nps if r["responded_on"] <= end]
    return frames_dataset(subscriptions=subs, usage_weekly=usage, nps_responses=nps)


def test_a_warning_sign_before_churn_comes_out_precise_with_high_lift():
    res = bt.backtest(synthetic(5, warning=True), "2023-06", "2025-03", 3)
    nl = next(x for x in res.summary["signals"] if x["signal"] == "no_login")
    assert nl["flagged"] >= 30 and nl["precision"] >= 0.6
    assert nl["lift"] > 5 and nl["lift_ci"][0] > 1
    assert res.summary["health"]["auc"] > 0.6  # the logins measure carries the same sign


def test_random_signals_have_lift_intervals_containing_one():
    res = bt.backtest(synthetic(6, warning=False), "2023-06", "2025-03", 3)
    sig = {x["signal"]: x for x in res.summary["signals"]}
    for rule in ("no_login", "nps_detractor"):
        x = sig[rule]
        assert x["flagged"] >= 50, rule
        assert x["lift_ci"][0] <= 1 <= x["lift_ci"][1], (rule, x["lift"], x["lift_ci"])


# ---- command line -----------------------------------------------------------------------------

SIGNAL_KEYS = {
    "signal",
    "target",
    "flagged",
    "hits",
    "precision",
    "precision_ci",
    "recall",
    "base_rate",
    "lift",
    "lift_ci",
}


def _contract_keys(obj: dict) -> set[str]:
    """Keys without the ``*_reason`` / ``*_reason_code`` that accompany a null value."""
    keys = set()
    for k in obj:
        base = k.removesuffix("_code").removesuffix("_reason")
        if base != k:
            assert base in obj and (obj[base] is None or k.startswith("lift_ci")), k
            continue
        keys.add(k)
    return keys


def _no_nan(text: str) -> dict:
    def refuse(c):
        raise AssertionError(f"{c} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def cli_dataset(tmp_path_factory):
    ds = hand_dataset()
    folder = tmp_path_factory.mktemp("bt")
    tables = {n: f.collect() for n, f in ds.frames.items()}
    return make_dataset_dir(folder, **tables)


def test_cli_json_contract(cli_dataset, capsys):
    from cs_metrics.cli.main import main

    assert main(["backtest", "--data", str(cli_dataset), "--format", "json"]) == 0
    out = _no_nan(capsys.readouterr().out)
    assert _contract_keys(out) == {
        "from",
        "to",
        "horizon_months",
        "account_months",
        "churned",
        "base_rate",
        "signals",
        "health",
    }
    assert (out["from"], out["to"], out["horizon_months"]) == ("2024-01", "2024-08", 3)
    for s in out["signals"]:
        assert _contract_keys(s) == SIGNAL_KEYS
        assert s["target"] in ("churn", "expansion")
    assert {s["signal"] for s in out["signals"]} >= {"no_login", "health_red", "renewal_due"}
    assert _contract_keys(out["health"]) == {"auc", "auc_ci", "bands", "measures"}
    for b in out["health"]["bands"]:
        assert _contract_keys(b) == {"band", "n", "churned", "rate", "rate_ci"}
    for m in out["health"]["measures"]:
        assert _contract_keys(m) == {"measure", "auc"}


def test_cli_table_and_bad_ranges(cli_dataset, capsys):
    from cs_metrics.cli.main import main

    base = ["backtest", "--data", str(cli_dataset)]
    assert main([*base, "--from", "2024-06"]) == 0
    text = capsys.readouterr().out
    assert "60日超ログインなし" in text and "2024-06〜2024-08" in text and "nan" not in text
    assert main([*base, "--from", "2024-06", "--lang", "en"]) == 0
    assert "no login for over 60 days" in capsys.readouterr().out
    for bad in (["--horizon", "0"], ["--from", "2024-09", "--to", "2024-07"], ["--to", "2024-10"]):
        assert main([*base, *bad]) == 2, bad
        err = capsys.readouterr().err
        assert err.startswith("エラー: --") and "Traceback" not in err


def test_every_combination_of_tiny_ranges_is_json_safe(cli_dataset):
    """No NaN or infinity whatever the range (one month, H up to the data's end)."""
    ds = hand_dataset()
    for start, h in itertools.product(("2024-01", "2024-05", "2024-08"), (1, 3)):
        res = bt.backtest(ds, start, "2024-08", h)
        json.dumps(res.summary, allow_nan=False)


# ---- report section ---------------------------------------------------------------------------


def test_signal_sentence_in_words_a_cs_lead_uses():
    from cs_metrics.config import load_config
    from cs_metrics.reporting.backtest_section import signal_sentence

    risk_cfg = load_config()["risk"]
    sig = {"signal": "no_login", "target": "churn", "flagged": 52, "hits": 20}
    sig |= {"precision": 0.38, "lift": 6.2, "lift_ci": [4.1, 9.0]}
    assert signal_sentence(sig, 3, risk_cfg, 20, "ja") == (
        "60日超ログインなしの顧客は3か月以内に 38.0% が解約（全体平均の 6.2 倍、95%: 4.1〜9.0 倍; "
        "該当 52 件）"
    )
    few = signal_sentence({**sig, "flagged": 12}, 3, risk_cfg, 20, "ja")
    assert few == "60日超ログインなし: 該当 12 件のみ（20 件未満）のため判断できません"
    gone = {"signal": "nps_detractor", "flagged": None, "flagged_reason": "判定不可: x"}
    assert signal_sentence(gone, 3, risk_cfg, 20, "ja").endswith("判定不可: x")


def test_report_section_on_the_hand_built_dataset():
    from cs_metrics.periods import Month
    from cs_metrics.reporting.backtest_section import backtest_section
    from cs_metrics.reporting.context import Report

    ds = hand_dataset()
    r = Report(ds, Month.parse("2024-11"))
    html = backtest_section(r)
    assert "2024-01〜2024-08" in html
    assert "60日超ログインなし: 該当" in html and "のため判断できません" in html  # < 20 flags
    assert "NPS回答のデータ（表）がありません" in html and "AUC" in html and "notice" in html
    too_early = Report(ds, Month.parse("2024-02"))
    early = backtest_section(too_early)  # 2024-02 - 3 months is before the data: explained
    assert early.startswith('<div class="notice">') and "--to 2023-11" in early


# ---- suggested health weights -----------------------------------------------------------------


def test_logistic_fit_meets_its_optimality_conditions():
    from scipy.special import expit

    from cs_metrics.metrics.health_weights import fit_logistic_l2

    rng = np.random.default_rng(2)
    x = rng.random((400, 3))
    y = rng.random(400) < expit(1.0 - 3.0 * x[:, 0] + 0.5 * x[:, 1])
    b0, b = fit_logistic_l2(x, y, l2=2.0)
    resid = y - expit(b0 + x @ b)
    assert abs(resid.sum()) < 1e-3  # unpenalised intercept
    assert np.allclose(x.T @ resid, 2.0 * b, atol=1e-3)  # score = penalty gradient
    assert b[0] < -1.5  # the measure that lowers churn odds


def test_suggested_weights_find_the_warning_measure_and_change_nothing():
    from cs_metrics.metrics.health_weights import suggest_health_weights

    ds = synthetic(5, warning=True)
    before = ds.config.to_dict()
    res = bt.backtest(ds, "2023-06", "2025-03", 3)
    w = suggest_health_weights(res, ds.config)
    assert ds.config.to_dict() == before  # a suggestion, never applied
    assert max(w["suggested_weights"], key=w["suggested_weights"].get) == "logins"
    assert sum(w["suggested_weights"].values()) == pytest.approx(1.0, abs=1e-3)
    assert sum(w["configured_weights"].values()) == pytest.approx(1.0)
    assert w["configured_auc"] == pytest.approx(res.summary["health"]["auc"])
    assert 0.5 < w["cv_auc"] <= 1 and w["folds"] == 5
    json.dumps(w, allow_nan=False)


def test_cli_suggest_weights_is_an_extra_key_only_when_asked(cli_dataset, capsys):
    from cs_metrics.cli.main import main

    base = ["backtest", "--data", str(cli_dataset), "--format", "json"]
    assert main([*base, "--suggest-weights"]) == 0
    out = _no_nan(capsys.readouterr().out)
    assert set(out["weights_suggestion"]) >= {"suggested_weights", "cv_auc", "configured_auc"}
