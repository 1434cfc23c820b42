"""The Spark engine equals the polars engine (1e-9) on the sample, on generated datasets and on
the benchmark generator's Parquet, through the library, the CLI, Arrow and Parquet input.

Needs the extra (requirements-spark.lock) and Java; skipped with the reason when they are
missing, except in CI (CI=true), where a missing engine is a failure. One local[2] SparkSession
serves the whole module.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys

import pytest
from conftest import ROOT, SAMPLE

from cs_metrics.config import load_config

pytestmark = pytest.mark.spark

CFG = load_config({"engine": {"spark_master": "local[2]"}})
_reason = None
try:
    from cs_metrics.engine import spark as se

    _reason = se.spark_unavailable()
except ImportError as e:  # pragma: no cover
    _reason = str(e)
if _reason:
    if os.environ.get("CI"):
        raise RuntimeError(f"CI must run the Spark equality tests: {_reason}")
    pytest.skip(f"Spark engine unavailable: {_reason}", allow_module_level=True)


@pytest.fixture(scope="module")
def spark():
    session = se.get_session(CFG)
    yield session


def _close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_close(a[k], b[k]) for k in a)
    return a == b


def assert_same_outputs(ds, as_of, out) -> None:
    """Spark ``spark_outputs`` vs the polars engine: every month's rates, churn within, KPIs."""
    from polars.testing import assert_frame_equal

    from cs_metrics.metrics.churn import churn_within
    from cs_metrics.metrics.kpis import kpis
    from cs_metrics.metrics.retention import monthly_rates

    rates = monthly_rates(ds, as_of)
    assert out["rates"].columns == rates.columns
    assert_frame_equal(out["rates"], rates, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-9)
    cw = churn_within(ds, as_of, 24)
    assert _close(out["churn_within"], cw), (out["churn_within"], cw)
    k = kpis(ds, as_of, CFG)
    assert list(out["kpis"]) == list(k)
    assert all(_close(out["kpis"][key], k[key]) for key in k), (out["kpis"], k)


def test_sample_through_arrow(spark):
    from cs_metrics.data.load import load_dataset

    ds = load_dataset(SAMPLE, config=CFG)
    as_of = ds.default_as_of()
    out = se.spark_outputs(se.subscriptions_to_spark(ds, CFG), as_of, CFG)
    assert_same_outputs(ds, as_of, out)
    mrr = se.spark_mrr_by_account_product(se.subscriptions_to_spark(ds, CFG), as_of)
    import polars as pl

    from cs_metrics.metrics.revenue import mrr_by_account_product

    want = mrr_by_account_product(ds, as_of).collect()
    got = pl.from_arrow(mrr.toArrow())
    key = ["account_id", "product", "month_idx"]
    assert got.height == want.height
    assert got.sort(key)["mrr"].to_list() == want.sort(key)["mrr"].to_list()
    assert (
        got.sort(key)["month"].to_list() == want.sort(key)["month"].dt.strftime("%Y-%m").to_list()
    )


def test_cli_json_equal_on_csv_and_parquet(spark, tmp_path, capsys):
    """`cs-metrics kpis --engine spark --format json`: the polars JSON, on CSV and Parquet."""
    from cs_metrics.cli.main import main

    cfg = tmp_path / "spark.toml"
    cfg.write_text('[engine]\nspark_master = "local[2]"\n')
    base = ["kpis", "--data", str(SAMPLE), "--format", "json", "--as-of", "2026-09"]
    assert main(base) == 0
    polars_json = json.loads(capsys.readouterr().out)
    assert main([*base, "--engine", "spark", "--config", str(cfg)]) == 0
    captured = capsys.readouterr()
    assert _close(json.loads(captured.out), polars_json)
    assert "spark:" in captured.err and "Arrow" in captured.err
    canon = tmp_path / "canon"
    assert main(["load", "--data", str(SAMPLE), "--out", str(canon)]) == 0
    capsys.readouterr()
    pq = ["kpis", "--data", str(canon), "--format", "json", "--as-of", "2026-09"]
    assert main([*pq, "--engine", "spark", "--config", str(cfg)]) == 0
    captured = capsys.readouterr()
    assert _close(json.loads(captured.out), polars_json)
    assert "read by Spark" in captured.err and "not checked at this scale" in captured.err
    # the default month (SPEC §3) is resolved by the same rule from Spark-read tables
    assert main(["kpis", "--data", str(SAMPLE), "--format", "json"]) == 0
    default_json = json.loads(capsys.readouterr().out)
    pq_default = ["kpis", "--data", str(canon), "--format", "json", "--engine", "spark"]
    assert main([*pq_default, "--config", str(cfg)]) == 0
    assert _close(json.loads(capsys.readouterr().out), default_json)
    # a month outside the data is refused on Spark input too (exit 2)
    assert main([*pq_default, "--config", str(cfg), "--as-of", "1999-01"]) == 2


def test_parquet_checks_on_spark(spark, tmp_path):
    import polars as pl

    from cs_metrics.data.canonical_checks import run_checks

    accounts = pl.DataFrame({"account_id": ["A", "B"], "account_name": ["a", None]})
    subs = pl.DataFrame(
        {
            "subscription_id": ["s1", "s1", "s3"],
            "account_id": ["A", "Z", "B"],
            "product": ["core", "core", None],
            "start_date": [dt.date(2025, 1, 1)] * 3,
            "end_date": [None, dt.date(2024, 1, 1), None],
            "mrr": [100.0, -5.0, 10.0],
        }
    )
    tables = {
        "accounts": spark.createDataFrame(accounts.to_arrow()),
        "subscriptions": spark.createDataFrame(subs.to_arrow()),
    }
    issues, skipped = run_checks(tables, "en")
    rules = sorted((i.table, i.rule, i.n_rows) for i in issues)
    assert rules == [
        ("accounts", "required_value", 1),
        ("subscriptions", "duplicate_key", 2),
        ("subscriptions", "end_before_start", 1),
        ("subscriptions", "negative_value", 1),
        ("subscriptions", "required_value", 1),
        ("subscriptions", "unknown_account", 1),
    ]
    assert skipped and all(isinstance(s, str) for s in skipped)
    # the same checks on polars frames (narwhals) find the same
    polars_rules = sorted(
        (i.table, i.rule, i.n_rows)
        for i in run_checks({"accounts": accounts.lazy(), "subscriptions": subs.lazy()}, "en")[0]
    )
    assert polars_rules == rules


def test_benchmark_generator_parquet(spark, tmp_path):
    """Spark reads the generator's Parquet itself; equal to polars on the same files."""
    from cs_metrics.data.load import load_dataset

    data = tmp_path / "gen"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "generate.py"),
            "--accounts",
            "3000",
            "--months",
            "40",
            "--seed",
            "3",
            "--out",
            str(data),
        ],
        check=True,
        capture_output=True,
    )
    from cs_metrics.periods import Month

    as_of = Month.parse("2026-09").first_day
    tables = se.read_canonical(data, CFG)
    # the generator writes a few zero-length lines ending before they start (never active)
    assert {i.rule for i in se.validate_canonical(tables, "en")[0]} <= {"end_before_start"}
    out = se.spark_outputs(tables["subscriptions"], as_of, CFG)
    assert_same_outputs(load_dataset(data, config=CFG), as_of, out)


def test_generated_datasets(spark):
    """Random subscription sets (few examples: each Spark run takes seconds)."""
    from hypothesis import HealthCheck, given, settings
    from test_revenue import BASE, ds_from_lines, subscription_lines

    from cs_metrics.periods import Month

    @settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
    @given(lines=subscription_lines())
    def check(lines):
        ds = ds_from_lines(lines)
        as_of = (Month.parse(BASE) + 30).first_day
        assert_same_outputs(
            ds, as_of, se.spark_outputs(se.subscriptions_to_spark(ds, CFG), as_of, CFG)
        )

    check()
