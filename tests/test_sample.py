"""The bundled sample: byte-for-byte reproducible, valid, and shaped like the team."""

from __future__ import annotations

import polars as pl
from conftest import SAMPLE

from cs_metrics.data.load import load_dataset
from cs_metrics.data.sample import generate_sample
from cs_metrics.metrics import churn, retention


def test_regeneration_reproduces_the_committed_sample_byte_for_byte(tmp_path):
    written = generate_sample(tmp_path / "s")
    assert written, "nothing written"
    for path in written.values():
        committed = SAMPLE / path.name
        assert committed.read_bytes() == path.read_bytes(), f"{path.name} differs from data/sample"


def test_other_seeds_differ(tmp_path):
    a = generate_sample(tmp_path / "a", seed=1)
    b = generate_sample(tmp_path / "b", seed=2)
    assert a["subscriptions"].read_bytes() != b["subscriptions"].read_bytes()


def test_refuses_to_overwrite_a_foreign_folder(tmp_path):
    import pytest

    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        generate_sample(tmp_path / "x")


def test_sample_shape_matches_the_team():
    ds = load_dataset(SAMPLE)
    acc = ds.accounts.collect()
    assert 140 <= acc.height <= 160
    assert acc["csm"].n_unique() == 5
    assert {"金融", "医療"} <= set(acc["industry"].to_list())
    for t in (
        "cancellations",
        "usage_weekly",
        "touchpoints",
        "nps_responses",
        "onboarding_sessions",
        "cs_costs",
    ):
        assert ds.has(t), t
    cw = churn.churn_within(ds, "2026-09", 24)[0]
    assert 0.17 <= cw["rate"] <= 0.25, cw  # ~21%
    reasons = churn.churn_reasons(ds, "2026-09", start="2023-01")
    share = reasons.filter(pl.col("reason_category") == "施策終了・中止")["share_events"][0]
    assert 0.6 <= share <= 0.85, share  # ~74%
    b = retention.monthly_rates(ds, "2026-09")
    assert b.height >= 36
    for m in ("new", "reactivation", "upsell", "cross_sell", "contraction", "churn"):
        assert (b[m] > 0).sum() > 0, m
    subs = ds.subscriptions.collect()
    assert set(subs["billing_interval_months"].unique().to_list()) == {1, 12}
    assert subs["product"].n_unique() >= 4
    known = set(acc["account_id"])
    for t in ("subscriptions", "cancellations", "usage_weekly", "nps_responses"):
        assert set(ds[t].collect()["account_id"]) <= known


def test_the_latest_month_shows_every_movement_with_reasons_for_churn():
    ds = load_dataset(SAMPLE)
    last = retention.monthly_rates(ds, "2026-09").tail(1).row(0, named=True)
    assert str(last["month"])[:7] == "2026-09"
    for m in ("new", "reactivation", "upsell", "cross_sell", "contraction", "churn"):
        assert last[m] > 0, m
    ev = churn.churn_events(ds, "2026-09").filter(pl.col("churn_month") == pl.date(2026, 9, 1))
    assert ev.height >= 1 and ev["reason_category"].is_not_null().all()
    assert "unknown" not in ev["reason_category"].to_list()
