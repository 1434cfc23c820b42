"""LTV (SPEC §5): revenue by source identity, simple LTV, cohort LTV parts, predictive, CLI."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from conftest import SAMPLE, frames_dataset, line, make_dataset_dir, sub
from hypothesis import given, settings
from test_revenue import subscription_lines

from cs_metrics.metrics import ltv

D = dt.date


def s(acc, product, start, end, mrr):
    return line(acc, product, start, end, mrr, sid=f"{acc}-{product}-{start}")


def test_revenue_by_source_hand_computed():
    # A starts with core 100; core grows to 150 (upsell 50), addon 30 later (cross-sell),
    # then core drops to 80 (base 80, no upsell)
    lines = [
        s("A", "core", "2025-01-01", "2025-03-31", 100),
        s("A", "core", "2025-04-01", "2025-05-31", 150),
        s("A", "core", "2025-06-01", None, 80),
        s("A", "addon", "2025-02-01", None, 30),
    ]
    r = {
        row["month"].strftime("%Y-%m"): row
        for row in ltv.revenue_by_source(frames_dataset(subscriptions=lines), "2025-06").iter_rows(
            named=True
        )
    }
    assert (r["2025-01"]["base"], r["2025-01"]["upsell"], r["2025-01"]["cross_sell"]) == (100, 0, 0)
    assert (r["2025-04"]["base"], r["2025-04"]["upsell"], r["2025-04"]["cross_sell"]) == (
        100,
        50,
        30,
    )
    assert (r["2025-06"]["base"], r["2025-06"]["upsell"], r["2025-06"]["cross_sell"]) == (80, 0, 30)


@settings(max_examples=30, deadline=None)
@given(lines=subscription_lines())
def test_revenue_by_source_sums_to_mrr(lines):
    r = ltv.revenue_by_source(frames_dataset(subscriptions=lines), "2025-06")
    if r.height:
        assert ((r["base"] + r["upsell"] + r["cross_sell"] - r["mrr"]).abs() < 1e-6).all()
        assert r.select(pl.min_horizontal("base", "upsell", "cross_sell") >= 0).to_series().all()


def test_simple_ltv_known_value_and_zero_churn_is_null():
    # 100 accounts at ¥100; 5 churn in month 2 -> pooled churn 5/100 over the window (other months 0)
    lines = [
        s(f"A{i:03d}", "core", "2025-01-01", "2025-01-31" if i < 5 else None, 100)
        for i in range(100)
    ]
    cfg = frames_dataset(subscriptions=lines).config.updated(
        {"ltv": {"simple_ltv_window_months": 1}}
    )
    out = ltv.simple_ltv(frames_dataset(cfg, subscriptions=lines), "2025-02", cfg)
    # ARPA 100, margin 0.8, churn 5% -> 1,600 (ChartMogul-style: ARPA 100 / churn 5% = 2,000 at 100% margin)
    assert out["ltv"] == pytest.approx(100 * 0.8 / 0.05)
    none = ltv.simple_ltv(frames_dataset(cfg, subscriptions=lines), "2025-03", cfg)
    assert none["ltv"] is None and "undefined" in none["ltv_reason"]


def test_cohort_ltv_equals_sum_of_parts_and_payback():
    lines = [
        s("A", "core", "2025-01-01", None, 100),
        s("B", "core", "2025-01-01", "2025-02-28", 100),
        s("A", "addon", "2025-03-01", None, 50),
    ]
    acc = [
        {"account_id": "A", "account_name": "a", "acquisition_cost": 300.0},
        {"account_id": "B", "account_name": "b", "acquisition_cost": None},
    ]
    costs = [{"month": D(2025, m, 1), "amount": 20.0} for m in range(1, 7)]
    ds = frames_dataset(accounts=acc, subscriptions=lines, cs_costs=costs)
    c = ltv.cohort_ltv(ds, "2025-06")
    parts = c["gp_base"] + c["gp_upsell"] + c["gp_cross_sell"] - c["cac"] - c["cost_to_serve"]
    assert ((parts - c["net"]).abs() < 1e-9).all()
    r0 = c.row(0, named=True)
    # age 0: GP (100+100) x 0.8 / 2 accounts = 80; CAC mean 300 (1 missing); cost 20/2 accounts x 2 / 2 = 10
    assert r0["gross_profit"] == pytest.approx(80) and r0["cac"] == 300 and r0["cac_missing"] == 1
    assert r0["cost_to_serve"] == pytest.approx(10) and r0["net"] == pytest.approx(-230)
    assert c["payback_age"][0] is None or c["payback_age"][0] >= 0


def test_predictive_ltv_on_sample_is_finite_and_reconciles():
    from cs_metrics.data.load import load_dataset

    ds = load_dataset(SAMPLE)
    p = ltv.predictive_ltv(ds, "2026-09")
    g = p["groups"]["all"]
    assert g["ltv_new"] > 0 and g["ltv_new_no_expansion"] > 0
    assert p["accounts"]["residual_value"].is_finite().all()
    rbs = ltv.revenue_by_source(ds, "2026-09")
    assert ((rbs["base"] + rbs["upsell"] + rbs["cross_sell"] - rbs["mrr"]).abs() < 1e-6).all()
    cac = ltv.ltv_cac(ds, "2026-09", by="industry")
    assert {r["group"] for r in cac} >= {"金融", "医療"}


def test_ltv_cli_json_and_invalid_data(tmp_path, capsys):
    from cs_metrics.cli.main import main

    out = tmp_path / "acc.csv"
    assert (
        main(
            [
                "ltv",
                "--data",
                str(SAMPLE),
                "--as-of",
                "2026-09",
                "--format",
                "json",
                "--accounts-out",
                str(out),
            ]
        )
        == 0
    )
    j = json.loads(capsys.readouterr().out)
    assert {"simple_ltv", "predictive", "ltv_cac", "revenue_by_source"} <= set(j)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert main(["ltv", "--data", str(SAMPLE), "--as-of", "2026-09"]) == 0
    assert "LTV" in capsys.readouterr().out
    bad = make_dataset_dir(
        tmp_path / "bad", subscriptions=[sub("s1", "A", "core", "2024-01-01", "", "-5")]
    )
    assert main(["ltv", "--data", str(bad)]) == 2
    assert "mrr" in capsys.readouterr().err


def test_annual_contracts_use_yearly_periods():
    lines = []
    for i in range(40):
        end = "2024-12-31" if i < 8 else None  # 8 of 40 do not renew after the first year
        line = s(f"A{i:02d}", "core", "2024-01-01", end, 100)
        lines.append(line)
    ds = frames_dataset(
        subscriptions=pl.DataFrame(lines).with_columns(pl.lit(12).alias("billing_interval_months"))
    )
    p = ltv.predictive_ltv(ds, "2026-06")
    g = p["groups"]["all"]
    assert g["period_months"] == 12
    # one observed renewal decision per account (2 years for none): alive 40 -> 32 -> 32
    assert g["fit"]["n_periods"] == 2
    cfg = dict(ds.config)
    cfg["ltv"] = {**cfg["ltv"], "period": "month"}
    assert ltv.predictive_ltv(ds, "2026-06", cfg)["groups"]["all"]["period_months"] == 1
