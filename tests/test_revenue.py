"""Revenue core (SPEC §4): hand-computed movement cases, known numbers, and property tests
against an independent naive implementation (tests/reference_spec4.py)."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
import reference_spec4 as ref
from conftest import ds_from_lines, line, make_dataset_dir, sub
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_metrics.data.load import load_dataset
from cs_metrics.metrics import churn, kpis, retention, revenue
from cs_metrics.periods import Month


def L(account, product, start, end, mrr):
    return line(account, product, start, end, mrr)


def bridge_row(ds, month: str) -> dict:
    b = revenue.mrr_bridge(ds, month)
    row = b.filter(pl.col("month_idx") == Month.parse(month).index)
    return row.row(0, named=True)


# ---- hand-computed movement cases -----------------------------------------------------------


def test_product_swap_within_month_is_contraction_plus_cross_sell():
    ds = ds_from_lines(
        [L("A", "core", "2025-01-01", "2025-02-28", 100), L("A", "chat", "2025-03-01", None, 80)]
    )
    r = bridge_row(ds, "2025-03")
    assert (r["contraction"], r["cross_sell"], r["churn"], r["new"]) == (100, 80, 0, 0)
    assert r["mrr_start"] == 100 and r["mrr_end"] == 80


def test_churn_then_return_is_reactivation_never_new():
    ds = ds_from_lines(
        [L("A", "core", "2025-01-01", "2025-02-28", 100), L("A", "core", "2025-06-01", None, 120)]
    )
    b = revenue.mrr_bridge(ds, "2025-07")
    assert b["new"].sum() == 100 and b["accounts_new"].sum() == 1
    r = bridge_row(ds, "2025-06")
    assert r["reactivation"] == 120 and r["accounts_reactivated"] == 1 and r["new"] == 0
    assert bridge_row(ds, "2025-03")["churn"] == 100


def test_zero_mrr_free_line_does_not_make_an_account_active():
    ds = ds_from_lines(
        [L("A", "core", "2025-01-01", None, 0), L("B", "core", "2025-01-01", None, 50)]
    )
    r = bridge_row(ds, "2025-02")
    assert r["accounts_end"] == 1 and r["mrr_end"] == 50
    # a free line of a product does not count as "having" it: paid start later is cross-sell
    ds = ds_from_lines(
        [
            L("A", "core", "2025-01-01", None, 100),
            L("A", "addon", "2025-01-01", None, 0),
            L("A", "addon", "2025-03-01", None, 30),
        ]
    )
    assert bridge_row(ds, "2025-03")["cross_sell"] == 30


def test_line_ending_on_month_last_day_is_active_that_month_day_before_is_not():
    ds = ds_from_lines(
        [
            L("A", "core", "2025-01-01", "2025-03-31", 100),
            L("B", "core", "2025-01-01", "2025-03-30", 50),
        ]
    )
    r = bridge_row(ds, "2025-03")
    assert r["mrr_end"] == 100 and r["churn"] == 50 and r["accounts_churned"] == 1
    assert bridge_row(ds, "2025-04")["churn"] == 100


def test_mid_month_start_counts_from_its_month():
    ds = ds_from_lines([L("A", "core", "2025-01-31", None, 100)])
    assert bridge_row(ds, "2025-01")["new"] == 100


def test_annual_contract_is_already_monthly():
    # ¥1,200,000 a year is recorded as mrr 100,000 with billing_interval_months 12
    ds = ds_from_lines([L("A", "core", "2025-01-01", "2025-12-31", 100_000)])
    r = bridge_row(ds, "2025-06")
    assert r["mrr_end"] == 100_000
    assert bridge_row(ds, "2026-01")["churn"] == 100_000


def test_two_lines_of_one_product_are_summed():
    ds = ds_from_lines(
        [L("A", "core", "2025-01-01", None, 100), L("A", "core", "2025-02-10", None, 40)]
    )
    r = bridge_row(ds, "2025-02")
    assert r["upsell"] == 40 and r["cross_sell"] == 0 and r["mrr_end"] == 140


def test_downgrade_to_another_tier_of_the_same_product_is_contraction():
    ds = ds_from_lines(
        [L("A", "core", "2025-01-01", "2025-03-31", 200), L("A", "core", "2025-04-01", None, 120)]
    )
    r = bridge_row(ds, "2025-04")
    assert r["contraction"] == 80 and r["cross_sell"] == 0 and r["upsell"] == 0


def test_upgrade_is_upsell():
    ds = ds_from_lines(
        [L("A", "core", "2025-01-01", "2025-03-31", 100), L("A", "core", "2025-04-01", None, 150)]
    )
    assert bridge_row(ds, "2025-04")["upsell"] == 50


def test_bridge_by_product_splits_new_and_churn():
    ds = ds_from_lines(
        [
            L("A", "core", "2025-01-01", "2025-02-28", 100),
            L("A", "addon", "2025-01-01", "2025-02-28", 30),
        ]
    )
    b = revenue.mrr_bridge(ds, "2025-03", by="product").filter(
        pl.col("month_idx") == Month.parse("2025-03").index
    )
    assert dict(zip(b["product"], b["churn"], strict=True)) == {"addon": 30, "core": 100}


# ---- files: the CLI on a dataset folder -----------------------------------------------------


def test_csv_dataset_loads_through_the_real_loader(tmp_path):
    folder = make_dataset_dir(
        tmp_path / "d", subscriptions=[sub("s1", "Ａ１", "core", "2024/01/05", "", "￥1,000")]
    )
    ds = load_dataset(folder)
    b = revenue.mrr_bridge(ds, "2024-01")
    assert b["new"].to_list() == [1000.0]


# ---- property tests against the naive reference ---------------------------------------------

ACCOUNTS = ["A", "B", "C", "D", "E"]
PRODUCTS = ["core", "addon", "api"]
BASE = dt.date(2023, 1, 1)


@st.composite
def subscription_lines(draw):
    n = draw(st.integers(1, 14))
    lines = []
    for _ in range(n):
        start = BASE + dt.timedelta(days=draw(st.integers(0, 800)))
        kind = draw(st.sampled_from(["open", "days", "month_end", "month_end_minus_1"]))
        if kind == "open":
            end = None
        else:
            end = start + dt.timedelta(days=draw(st.integers(0, 500)))
            if kind == "month_end":
                end = dt.date(end.year, end.month, 28) + dt.timedelta(days=4)
                end = end - dt.timedelta(days=end.day)
            elif kind == "month_end_minus_1":
                end = dt.date(end.year, end.month, 28) + dt.timedelta(days=4)
                end = end - dt.timedelta(days=end.day + 1)
                if end < start:
                    end = start
        mrr = draw(st.sampled_from([0, 100, 250, 1000, 33.3, 12345.67]))
        lines.append(
            {
                "account_id": draw(st.sampled_from(ACCOUNTS)),
                "product": draw(st.sampled_from(PRODUCTS)),
                "start_date": start,
                "end_date": end,
                "mrr": mrr,
            }
        )
    return lines


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=subscription_lines(), as_of_offset=st.integers(0, 40))
def test_every_key_matches_the_naive_reference(lines, as_of_offset):
    as_of_idx = Month.parse(BASE).index + as_of_offset
    as_of = dt.date(as_of_idx // 12, as_of_idx % 12 + 1, 1)
    if min(x["start_date"] for x in lines) > as_of:
        return
    ds = ds_from_lines(lines)
    expected = ref.bridge([x for x in lines if x["start_date"] <= ref.me(as_of_idx)], as_of_idx)
    rates = retention.monthly_rates(ds, as_of)
    got = {r["month_idx"]: r for r in rates.iter_rows(named=True)}
    for m, exp in expected.items():
        row = got.get(m)
        if row is None:  # months before the first paid line: all zero in the reference
            assert exp["mrr_end"] == 0 and exp["mrr_start"] == 0
            continue
        k = kpis.kpis_from_rates(row, dt.date(m // 12, m % 12 + 1, 1))
        for key, v in exp.items():
            assert _close(k[key], v), (m, key, k[key], v)
    # churn within H against the reference
    for h in (3, 12):
        e = ref.churn_within(lines, as_of_idx, h)
        g = churn.churn_within(ds, as_of, horizon=h)[0]
        for key in ("eligible", "churned", "rate", "km_rate", "km_ci_low", "km_ci_high"):
            if key in e:
                assert _close(g[key], e[key]), (h, key, g[key], e[key])


@settings(max_examples=40, deadline=None)
@given(lines=subscription_lines())
def test_bridge_identity_and_rate_bounds(lines):
    ds = ds_from_lines(lines)
    r = retention.monthly_rates(ds, "2025-06")
    ident = (
        r["mrr_start"]
        + r["new"]
        + r["reactivation"]
        + r["upsell"]
        + r["cross_sell"]
        - r["contraction"]
        - r["churn"]
        - r["mrr_end"]
    ).abs()
    assert (ident <= 1e-6).all()
    counts = (
        r["accounts_start"] + r["accounts_new"] + r["accounts_reactivated"] - r["accounts_churned"]
    )
    assert (counts == r["accounts_end"]).all()
    for row in r.iter_rows(named=True):
        if row["grr"] is not None:
            assert -1e-12 <= row["grr"] <= 1 + 1e-12
            assert row["grr"] <= row["nrr"] + 1e-12
        if row["grr_trailing_12m"] is not None:
            assert row["grr_trailing_12m"] <= row["nrr_trailing_12m"] + 1e-12
            assert 0 <= row["grr_trailing_12m"] <= 1 + 1e-12


# ---- breakdowns -----------------------------------------------------------------------------


def test_breakdowns_reconcile_with_totals():
    lines = [
        L("A", "core", "2024-01-01", None, 100),
        L("A", "addon", "2024-06-01", None, 30),
        L("B", "core", "2024-01-01", "2024-08-31", 200),
        L("C", "core", "2024-03-01", None, 50),
        L("C", "core", "2024-09-01", None, 25),
    ]
    ds = ds_from_lines(lines)
    seg = pl.DataFrame({"account_id": ["A", "B"], "segment": ["S", "B"]})  # C has none
    total = retention.monthly_rates(ds, "2025-03")
    for by in ("product", "industry", "primary_product", seg):
        part = retention.monthly_rates(ds, "2025-03", by=by)
        summed = part.group_by("month_idx").agg(pl.col("mrr_end", "new", "churn", "upsell").sum())
        j = total.join(summed, on="month_idx", suffix="_p")
        for c in ("mrr_end", "new", "churn", "upsell"):
            assert (j[c] - j[f"{c}_p"]).abs().max() < 1e-9, (by, c)
    part = retention.monthly_rates(ds, "2025-03", by=seg)
    assert set(part["segment"]) == {"S", "B", "(未設定)"}
    cw = churn.churn_within(ds, "2025-03", horizon=6, by=seg)
    assert sum(r["accounts"] for r in cw) == 3
    cr = retention.cohort_retention(ds, "2025-03", by="industry")
    assert cr.filter(pl.col("age") == 0)["cohort_accounts"].sum() == 3
    with pytest.raises(ValueError, match="cannot break down"):
        retention.monthly_rates(ds, "2025-03", by="nope")
