"""The shared revenue core (cs_metrics.engine): the polars plans of the generic operations equal
their generic narwhals formulation (the one Spark runs), and pyspark is never imported by the
default engine."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import narwhals as nw
import polars as pl
from hypothesis import HealthCheck, given, settings
from polars.testing import assert_frame_equal
from test_revenue import BASE, ds_from_lines, subscription_lines

from cs_metrics.engine import core
from cs_metrics.engine.primitives import expand_ranges
from cs_metrics.metrics import revenue
from cs_metrics.periods import Month


def _sorted(frame: nw.LazyFrame, keys: list[str]) -> pl.DataFrame:
    return frame.to_native().collect().sort(keys)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=subscription_lines())
def test_polars_plans_equal_the_generic_plans(lines):
    ds = ds_from_lines(lines)
    a = Month.parse(BASE).index + 30
    ev = core.line_events(nw.from_native(revenue.subscription_lines(ds, "2025-07")), a)
    for build, keys in (
        (core.product_segments, [core.ACCOUNT, "product", "idx"]),
        (core.account_segments, [core.ACCOUNT, "idx"]),
    ):
        fast = _sorted(build(ev, a), keys)
        generic = _sorted(build(ev, a, generic=True), keys)
        assert_frame_equal(fast, generic, check_dtypes=False)
    seg = core.account_segments(ev, a).filter(nw.col("mrr") > 0)
    keys = [core.ACCOUNT, "m"]
    native = _sorted(expand_ranges(seg, "idx", "next_idx", "m"), keys)
    generic = _sorted(expand_ranges(seg, "idx", "next_idx", "m", generic=True), keys)
    assert_frame_equal(native, generic, check_dtypes=False)


def test_month_label():
    frame = nw.from_native(pl.LazyFrame({"i": [2026 * 12 + 8, 2026 * 12 + 11, 2025 * 12]}))
    out = frame.select(core.month_label(nw.col("i")).alias("m")).collect().to_native()
    assert out["m"].to_list() == [
        "2026-09",
        "2026-12",
        "2025-01",
    ]


def test_default_engine_never_imports_pyspark(tmp_path):
    """`import cs_metrics.cli.main`, the validation gate and a polars kpis run leave pyspark out
    (Great Expectations would import an installed pyspark: the gate hides it)."""
    script = tmp_path / "probe.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            import cs_metrics.cli.main
            from cs_metrics.data.validate import validate_dataset
            from cs_metrics.metrics.kpis import kpis
            report = validate_dataset("data/sample")
            kpis(report.dataset, "2026-09")
            print(sorted(m for m in sys.modules if m.split(".")[0] == "pyspark"))
            """
        )
    )
    from conftest import ROOT

    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_km_from_counts_does_not_overflow_32_bit_counts():
    """n_at_risk * (n_at_risk - d) exceeds 2^32 from ~65k accounts: counts come as UInt32 from
    polars' len() and as Int64 from Spark; both give the same Greenwood sum."""
    from cs_metrics.metrics.churn import km_table_from_counts

    counts = pl.DataFrame(
        {"T": [1, 2], "n": [1000, 99000], "events": [500, 0]},
        schema={"T": pl.Int32, "n": pl.UInt32, "events": pl.UInt32},
    )
    row = km_table_from_counts(counts.lazy()).collect().row(0, named=True)
    n, d = 100_000, 500
    assert row["greenwood"] == d / (n * (n - d))
    assert row["survival"] == 1 - d / n
