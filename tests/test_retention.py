"""Retention (SPEC §4): logo churn, GRR/NRR per month and trailing 12 months, cohort retention."""

from __future__ import annotations

import polars as pl
import pytest
from conftest import ds_from_lines
from conftest import line as L

from cs_metrics.config import load_config
from cs_metrics.metrics import kpis, retention
from cs_metrics.periods import Month

CFG = load_config()


def test_logo_churn_10_of_100_is_10_percent():
    lines = [
        L(f"A{i:03d}", "core", "2024-01-01", "2024-05-31" if i < 10 else None, 100)
        for i in range(100)
    ]
    rates = retention.monthly_rates(ds_from_lines(lines), "2024-06")
    row = rates.filter(pl.col("month_idx") == Month.parse("2024-06").index).row(0, named=True)
    assert row["logo_churn_rate"] == pytest.approx(0.10)
    assert row["grr"] == pytest.approx(0.90) and row["nrr"] == pytest.approx(0.90)


def test_trailing_nrr_excludes_new_accounts_and_caps_grr():
    lines = [
        L("A", "core", "2024-01-01", None, 100),  # grows to 150
        L("A", "addon", "2025-01-01", None, 50),
        L("B", "core", "2024-01-01", "2024-06-30", 100),  # churns
        L("C", "core", "2024-06-01", None, 500),  # new after the cohort month: excluded
    ]
    k = kpis.kpis(ds_from_lines(lines), "2025-01", CFG)
    assert k["nrr_trailing_12m"] == pytest.approx(150 / 200)
    assert k["grr_trailing_12m"] == pytest.approx(100 / 200)


def test_cohort_retention_logo_and_revenue():
    lines = [
        L("A", "core", "2025-01-01", None, 100),
        L("A", "addon", "2025-03-01", None, 50),
        L("B", "core", "2025-01-01", "2025-01-31", 100),
    ]
    cr = retention.cohort_retention(ds_from_lines(lines), "2025-03")
    assert cr["logo_retention"].to_list() == [1.0, 0.5, 0.5]
    assert cr["revenue_retention"].to_list() == [1.0, 0.5, 0.75]
