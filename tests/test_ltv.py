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
    assert none["ltv"] is None and none["ltv_reason_code"] == "no_churn_in_window"
    assert "算出できません" in none["ltv_reason"]


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


# ---- predictive LTV that cannot break, unknown CAC, cost to serve (issue 14) ----------------

D10 = 1.1 ** (1 / 12) - 1  # monthly rate of the default 10% annual discount


def _month_end(y: int, m: int) -> str:
    nxt = D(y + m // 12, m % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).isoformat()


def accounts_of(lines: list[dict], **cols) -> list[dict]:
    """One accounts row per account of ``lines`` with every optional column (as the loader
    gives them: ``industry``, ``csm``, ``acquisition_cost`` null unless given)."""
    ids = sorted({x["account_id"] for x in lines})
    base = {"industry": "IT", "csm": "鈴木", "acquisition_cost": None}
    return [{"account_id": a, "account_name": a, **base, **cols} for a in ids]


def ds_of(lines: list[dict] | pl.DataFrame, **tables):
    rows = lines.to_dicts() if isinstance(lines, pl.DataFrame) else lines
    tables.setdefault("accounts", accounts_of(rows))
    return frames_dataset(subscriptions=lines, **tables)


def four_a_month_lines(n: int = 100, months: int = 11, mrr: float = 100_000) -> list[dict]:
    """``n`` accounts from 2024-01 at ``mrr``; 4 leave at the end of each month for ``months``
    months (account i stays T = i // 4 + 1 months)."""
    out = []
    for i in range(n):
        t = i // 4 + 1
        end = _month_end(2024, t) if t <= months else None
        out.append(s(f"A{i:03d}", "core", "2024-01-01", end, mrr))
    return out


def test_predictive_ltv_worked_example_geometric_with_interval():
    # docs/metrics.md §6: 44 of 100 churned over 11 months, 880 account-months at risk
    # -> theta = 44/880 = 5%; no heterogeneity -> geometric; lifetime (1+d)/(d+0.05)
    ds = ds_of(four_a_month_lines())
    p = ltv.predictive_ltv(ds, "2024-12")
    g = p["groups"]["all"]
    assert g["fit"]["model"] == "geometric" and g["fit"]["theta"] == pytest.approx(0.05)
    assert g["fit"]["churned"] == 44 and g["fit"]["log_likelihood"] <= 0
    life = (1 + D10) / (D10 + 0.05)
    assert life == pytest.approx(17.3866, abs=1e-4)
    assert g["ltv_new"] == pytest.approx(0.8 * 100_000 * life)
    assert round(g["ltv_new"]) == 1_390_929
    assert g["ltv_new_no_expansion"] == pytest.approx(g["ltv_new"])  # flat MRR: no expansion
    lo, hi = g["ltv_new_ci"]
    assert lo < g["ltv_new"] < hi
    # the seeded bootstrap interval (docs) and, roughly, the delta-method one
    assert (round(lo), round(hi)) == (1_080_288, 1_874_363)
    se = (0.05 * 0.95 / 880) ** 0.5
    assert lo == pytest.approx(0.8e5 * (1 + D10) / (D10 + 0.05 + 1.96 * se), rel=0.05)
    assert hi == pytest.approx(0.8e5 * (1 + D10) / (D10 + 0.05 - 1.96 * se), rel=0.05)
    assert "一定の月次解約率 5.00%" in g["notes"][0]


def test_unknown_cac_is_unknown_in_cohort_ltv_and_ltv_cac():
    lines = [s("A", "core", "2025-01-01", None, 100), s("B", "core", "2025-02-01", None, 100)]
    acc = [
        {"account_id": "A", "account_name": "a", "csm": "x", "acquisition_cost": None},
        {"account_id": "B", "account_name": "b", "csm": "x", "acquisition_cost": 150.0},
    ]
    ds = frames_dataset(accounts=acc, subscriptions=lines)
    c = ltv.cohort_ltv(ds, "2025-06")
    jan = c.filter(pl.col("cohort") == "2025-01")
    assert jan["cac"].is_null().all() and jan["net"].is_null().all()  # never "cost 0"
    assert jan["payback_age"].is_null().all()
    assert set(jan["payback_reason_code"]) == {"ltv_cohort_cac_unknown"}
    feb = c.filter(pl.col("cohort") == "2025-02")
    assert set(feb["payback_age"]) == {1}  # 2 x 80 >= 150 at age 1
    assert feb["payback_reason"].is_null().all()
    young = ltv.cohort_ltv(ds, "2025-02").filter(pl.col("cohort") == "2025-02")
    assert young["payback_reason_code"].to_list() == ["ltv_cohort_not_paid_back"]
    only_a = frames_dataset(accounts=acc[:1], subscriptions=lines[:1])
    r = ltv.ltv_cac(only_a, "2025-06")[0]
    assert r["mean_cac"] is None and r["ltv_cac"] is None and r["cac_payback_months"] is None
    assert r["ltv_cac_reason_code"] == r["cac_payback_months_reason_code"] == "no_acquisition_cost"


def test_mid_month_cs_costs_row_counts_the_same_in_cohort_ltv_and_ltv_cac():
    lines = [s("A", "core", "2025-01-01", None, 100), s("B", "core", "2025-01-01", None, 100)]
    acc = [{"account_id": a, "account_name": a, "acquisition_cost": 10.0} for a in ("A", "B")]
    costs = [{"month": D(2025, 3, 15), "amount": 40.0}]  # mid-month: counts in March
    ds = frames_dataset(accounts=acc, subscriptions=lines, cs_costs=costs)
    cts = ltv.cost_to_serve(ds, "2025-03")
    assert cts.select("month_idx", "cost_per_account").row(0) == (2025 * 12 + 2, 20.0)
    c = ltv.cohort_ltv(ds, "2025-03")
    assert c.filter(pl.col("age") == 2)["cost_to_serve"].item() == pytest.approx(20.0)
    assert ltv.ltv_cac(ds, "2025-03")[0]["cost_to_serve_per_account"] == pytest.approx(20.0)


def test_ltv_period_auto_is_point_in_time():
    # as of 2024-12 only monthly lines exist; annual lines signed later must not change it
    monthly = [
        {**s(f"M{i:02d}", "core", "2024-01-01", _month_end(2024, 3) if i < 5 else None, 100)}
        for i in range(20)
    ]
    later = [s(f"Y{i:02d}", "core", "2025-03-01", None, 100) for i in range(40)]
    frame = lambda rows, interval: pl.DataFrame(rows).with_columns(  # noqa: E731
        pl.lit(interval).alias("billing_interval_months")
    )
    now = ds_of(frame(monthly, 1))
    with_later = ds_of(pl.concat([frame(monthly, 1), frame(later, 12)]))
    a = ltv.predictive_ltv(now, "2024-12")["groups"]["all"]
    b = ltv.predictive_ltv(with_later, "2024-12")["groups"]["all"]
    assert a["period_months"] == b["period_months"] == 1
    assert a["ltv_new"] == pytest.approx(b["ltv_new"])


def test_no_churn_gives_a_lower_bound_said_in_json_and_table():
    from cs_metrics.cli.ltv_cmd import render_ltv_table

    lines = [s(f"A{i:02d}", "core", "2024-01-01", None, 100) for i in range(30)]
    ds = ds_of(lines)
    summ = ltv.ltv_summary(ds, "2024-12")
    g = summ["predictive"]["groups"]["all"]
    assert g["ltv_new_is_lower_bound"] and g["ltv_new"] > 0
    assert g["ltv_new_ci"] is None and g["ltv_new_ci_reason_code"] == "ltv_lower_bound_no_interval"
    # lower bound = at the 95% upper churn bound after 30 x 11 account-months without churn
    up = 1 - 0.05 ** (1 / 330)
    assert g["ltv_new_no_expansion"] == pytest.approx(0.8 * 100 * (1 + D10) / (D10 + up))
    json.dumps(summ, allow_nan=False)
    text = render_ltv_table(summ, ds.config)
    assert "下限値" in text and "nan" not in text.lower()
    # the residual value of the current accounts comes from the same bound: said, no interval
    pred = summ["predictive"]
    assert pred["residual_value_total_is_lower_bound"] is True
    assert pred["residual_value_total_bound_reason_code"] == "ltv_residual_lower_bound"
    assert pred["residual_value_total_ci"] is None
    assert pred["residual_value_total_ci_reason_code"] == "ltv_lower_bound_no_interval"
    line = next(x for x in text.splitlines() if x.startswith("既存顧客の残存価値合計"))
    assert "下限値" in line


def test_everyone_churning_in_period_one_pays_once_and_never_pays_back_cac():
    lines = [
        s(f"A{i:02d}", "core", f"2024-{m:02d}-01", _month_end(2024, m), 100)
        for i, m in enumerate([1, 1, 2, 2, 3, 3, 4, 4, 5, 5] * 3)
    ]
    acc = [
        {"account_id": f"A{i:02d}", "account_name": "x", "acquisition_cost": 1000.0}
        for i in range(30)
    ]
    ds = frames_dataset(accounts=acc, subscriptions=lines)
    p = ltv.predictive_ltv(ds, "2024-08")
    g = p["groups"]["all"]
    assert g["fit"]["log_likelihood"] == 0.0 and g["fit"]["churned"] == 30
    assert g["ltv_new"] == pytest.approx(0.8 * 100)  # one payment
    r = ltv.ltv_cac(ds, "2024-08", pred=p)[0]
    assert r["cac_payback_months"] is None
    assert r["cac_payback_months_reason_code"] == "ltv_payback_beyond_lifetime"
    assert r["ltv_cac"] == pytest.approx(0.08)


def test_one_month_of_data_has_reasons_not_nan():
    lines = [s(f"A{i}", "core", "2024-01-01", None, 100) for i in range(3)]
    ds = ds_of(lines)
    summ = ltv.ltv_summary(ds, "2024-01")
    pred = summ["predictive"]
    assert pred["pooled_fit"] is None and pred["pooled_fit_reason_code"] == "sbg_no_period"
    g = pred["groups"]["all"]
    assert g["ltv_new"] is None and g["ltv_new_reason_code"] == "sbg_no_period"
    assert pred["residual_value_total"] is None
    json.dumps(summ, allow_nan=False)


def test_thin_by_group_uses_the_pooled_fit_and_says_so():
    lines = four_a_month_lines(n=60) + [
        s(f"B{i}", "core", "2024-01-01", None, 100) for i in range(5)
    ]
    acc = [{**a, "csm": "大" if a["account_id"][0] == "A" else "小"} for a in accounts_of(lines)]
    ds = ds_of(lines, accounts=acc)
    p = ltv.predictive_ltv(ds, "2024-12", by="csm")
    big, small = p["groups"]["大"], p["groups"]["小"]
    assert big["fit_source"] == "segment" and "fit_source_reason" not in big
    assert small["fit_source"] == "pooled"
    assert small["fit_source_reason_code"] == "ltv_pooled_thin_group"
    assert small["fit"] == p["pooled"]
    assert p["accounts"]["residual_value"].null_count() == 0


def test_by_product_segment_and_unknown_are_refused_with_an_honest_list():
    from cs_metrics.errors import UsageError

    ds = ds_of(four_a_month_lines(n=8))
    for by, code in (
        ("product", "ltv_by_product"),
        ("segment", "ltv_by_segment"),
        ("bogus", "by_unknown"),
    ):
        with pytest.raises(UsageError) as e:
            ltv.predictive_ltv(ds, "2024-12", by=by)
        assert e.value.code == code
        known = e.value.params["known"].split(", ")
        assert "product" not in known and "segment" not in known and "primary_product" in known
    assert ltv.predictive_ltv(ds, "2024-12", by="primary_product")["groups"]


def test_ltv_cli_by_csm_json_accounts_out_and_refusals(tmp_path, capsys):
    from cs_metrics.cli.main import main

    out = tmp_path / "acc.csv"
    args = ["ltv", "--data", str(SAMPLE), "--as-of", "2026-09", "--by", "csm"]
    assert main([*args, "--format", "json", "--accounts-out", str(out)]) == 0
    j = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(c))
    for g in j["predictive"]["groups"].values():
        lo, hi = g["ltv_new_ci"]
        assert lo <= g["ltv_new"] <= hi
    text = out.read_text("utf-8-sig").lower()
    assert "nan" not in text and "inf" not in text
    for by in ("product", "segment", "bogus"):
        assert main(["ltv", "--data", str(SAMPLE), "--by", by]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "primary_product" in err
