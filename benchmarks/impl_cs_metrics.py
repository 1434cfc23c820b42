"""The library: load the Parquet folder, then the SPEC §4 outputs."""

from __future__ import annotations

import polars as pl
from common import AS_OF_IDX, HORIZON, run, write_outputs


def main(data, out) -> None:
    from cs_metrics.data.load import load_dataset
    from cs_metrics.metrics import churn, retention
    from cs_metrics.periods import index_to_month

    ds = load_dataset(data)
    as_of = index_to_month(AS_OF_IDX)
    rates = retention.monthly_rates(ds, as_of)
    cw = churn.churn_within(ds, as_of, HORIZON)[0]
    coh = retention.cohort_retention(ds, as_of, cohort="month").with_columns(
        (
            pl.col("cohort").str.slice(0, 4).cast(pl.Int32) * 12
            + pl.col("cohort").str.slice(5, 2).cast(pl.Int32)
            - 1
        ).alias("s")
    )
    write_outputs(out, rates, {k: cw[k] for k in ("eligible", "churned", "rate", "km_rate")}, coh)


if __name__ == "__main__":
    run(main)
