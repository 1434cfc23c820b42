"""The benchmark's three implementations agree on a small generated dataset (seconds)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def test_cs_metrics_duckdb_and_pandas_agree(tmp_path):
    pytest.importorskip("duckdb")
    sys.path.insert(0, str(BENCH))
    try:
        import compare
        import generate
        import impl_cs_metrics
        import impl_duckdb
        import impl_pandas

        accounts, subs = generate.generate(400, 36, seed=3)
        data = tmp_path / "data"
        data.mkdir()
        accounts.write_parquet(data / "accounts.parquet")
        subs.write_parquet(data / "subscriptions.parquet")
        for name, mod in (("cs", impl_cs_metrics), ("duck", impl_duckdb), ("pd", impl_pandas)):
            mod.main(data, tmp_path / name)
        assert compare.compare(tmp_path / "duck", tmp_path / "cs") == []
        assert compare.compare(tmp_path / "pd", tmp_path / "cs") == []
    finally:
        sys.path.remove(str(BENCH))
