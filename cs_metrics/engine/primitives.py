"""Generic operations with one meaning and a physical plan per backend.

The metric definitions in :mod:`cs_metrics.engine.core` are written once against narwhals. A few
*operations* under them (a segmented running sum, expanding ``[lo, hi)`` ranges into rows, a
month spine, keeping an intermediate result) have one meaning but a different best plan per
engine: a polars plan that sorts once and runs one global integer cumulative sum is 2-3x faster
than windows partitioned by account, while on Spark a global (unpartitioned) window would pull
every row into one task. Each operation here therefore has a generic narwhals formulation (used
on Spark and any other lazy backend) and, where it pays, a native polars one; the tests run both
on polars and require identical results (tests/test_engine_core.py).

Nothing here knows what MRR, churn or a movement is.
"""

from __future__ import annotations

from collections.abc import Sequence

import narwhals as nw
import polars as pl

__all__ = [
    "SCALE",
    "expand_ranges",
    "is_polars",
    "materialize",
    "month_spine",
    "segments",
]

# Money inside running sums is an exact integer: micro-yen (amount x 10^6).
SCALE = 10**6


def is_polars(frame: nw.LazyFrame) -> bool:
    """Whether a narwhals frame wraps a polars LazyFrame (the in-process engine)."""
    return frame.implementation is nw.Implementation.POLARS


def segments(
    events: nw.LazyFrame,
    keys: Sequence[str],
    last: int,
    history: bool = False,
    generic: bool = False,
) -> nw.LazyFrame:
    """Running sums of integer ``units`` per ``keys`` in ``idx`` order, as constant segments.

    Parameters
    ----------
    events : LazyFrame
        ``*keys, idx, units`` (several rows per key and idx allowed; ``units`` integer).
    keys : column names of the groups.
    last : the last index; the last segment of a group runs to ``last + 1``.
    history : also return ``ever_active_before`` (some earlier segment of the group had a
        positive running sum).
    generic : force the windowed narwhals plan (tests compare it with the polars plan).

    Returns
    -------
    LazyFrame
        ``*keys, idx, next_idx, now, units[, ever_active_before]``: ``now`` is the exact running
        sum at ``idx`` (held for ``idx <= i < next_idx``) and ``now - units`` the sum just before.
    """
    keys = list(keys)
    if is_polars(events) and not generic:
        return nw.from_native(_segments_sorted(events.to_native(), keys, last, history))
    g = events.group_by(*keys, "idx").agg(nw.col("units").sum())
    out = g.with_columns(
        nw.col("units").cum_sum().over(*keys, order_by="idx").alias("now"),
        nw.col("idx")
        .shift(-1)
        .over(*keys, order_by="idx")
        .fill_null(last + 1)
        .cast(nw.Int32)
        .alias("next_idx"),
    )
    if history:
        active = (nw.col("now") > 0).cast(nw.Int64)
        out = out.with_columns(
            ((active.cum_sum().over(*keys, order_by="idx") - active) > 0).alias(
                "ever_active_before"
            )
        )
    extra = ["ever_active_before"] if history else []
    return out.select(*keys, "idx", "next_idx", "now", "units", *extra)


def _segments_sorted(events: pl.LazyFrame, keys: list[str], last: int, history: bool):
    """The polars plan: one sort, one global Int128 cumulative sum, no hash grouping.

    Sorted by ``keys, idx``, the last event of each ``(keys, idx)`` run carries the global
    running sum there; a segmented running sum equals it minus the global sum just before the
    group's first event (integers make that exact; Int128 so that the global sum cannot
    overflow). Group boundaries are where a key differs from the neighbouring row.
    """

    def differs(cols: list[str], n: int) -> pl.Expr:
        return pl.any_horizontal([pl.col(c) != pl.col(c).shift(n) for c in cols]).fill_null(True)

    ev = events.select(*keys, "idx", pl.col("units").cast(pl.Int128)).sort(*keys, "idx")
    ev = ev.with_columns(pl.col("units").cum_sum().alias("cs"))
    ev = ev.with_columns(
        pl.when(differs(keys, 1)).then(pl.col("cs") - pl.col("units")).forward_fill().alias("base")
    ).filter(differs([*keys, "idx"], -1))  # the last event of each (keys, idx)
    first = differs(keys, 1)
    out = ev.with_columns((pl.col("cs") - pl.col("base")).alias("now")).with_columns(
        pl.when(first)
        .then(pl.col("now"))
        .otherwise(pl.col("now") - pl.col("now").shift(1))
        .alias("units"),
        pl.when(differs(keys, -1))
        .then(last + 1)
        .otherwise(pl.col("idx").shift(-1))
        .cast(pl.Int32)
        .alias("next_idx"),
    )
    extra = []
    if history:
        active = (pl.col("now") > 0).cast(pl.Int64)
        out = out.with_columns((active.cum_sum() - active).alias("ca")).with_columns(
            ((pl.col("ca") - pl.when(first).then(pl.col("ca")).forward_fill()) > 0).alias(
                "ever_active_before"
            )
        )
        extra = ["ever_active_before"]
    return out.select(
        *keys,
        "idx",
        "next_idx",
        pl.col("now").cast(pl.Int64),
        pl.col("units").cast(pl.Int64),
        *extra,
    )


def expand_ranges(
    frame: nw.LazyFrame, lo: str, hi: str, name: str, generic: bool = False
) -> nw.LazyFrame:
    """One row per integer ``i`` in ``[lo, hi)`` of every row, in a new column ``name``.

    polars: ``int_ranges`` + ``explode``; Spark: ``sequence`` + ``explode``; other backends: a
    join with a spine of all indexes and a range filter.
    """
    cols = [c for c in frame.collect_schema().names() if c not in (name,)]
    native = frame.to_native()
    if is_polars(frame) and not generic:
        out = native.with_columns(pl.int_ranges(lo, hi, dtype=pl.Int32).alias(name)).explode(name)
        return nw.from_native(out.filter(pl.col(name).is_not_null()))
    if frame.implementation.is_pyspark() or frame.implementation.is_pyspark_connect():
        from pyspark.sql import functions as F

        out = native.filter(F.col(hi) > F.col(lo)).withColumn(
            name, F.explode(F.sequence(F.col(lo), F.col(hi) - F.lit(1)))
        )
        return nw.from_native(out.withColumn(name, F.col(name).cast("int")))
    bounds = frame.select(nw.col(lo).min().alias("a"), nw.col(hi).max().alias("b")).collect()
    a, b = bounds.row(0)
    if a is None or b is None or b <= a:
        return frame.filter(nw.col(lo) > nw.col(lo)).with_columns(nw.col(lo).alias(name))
    spine = month_spine(frame, int(a), int(b) - 1, name)
    return (
        frame.join(spine, how="cross")
        .filter((nw.col(name) >= nw.col(lo)) & (nw.col(name) < nw.col(hi)))
        .select(*cols, name)
    )


def month_spine(like: nw.LazyFrame, start: int, end: int, name: str = "month_idx"):
    """A one-column frame ``name`` = ``start..end`` (inclusive) on ``like``'s backend."""
    native = like.to_native()
    if is_polars(like):
        return nw.from_native(
            pl.LazyFrame({name: pl.int_range(start, end + 1, eager=True, dtype=pl.Int32)})
        )
    if like.implementation.is_pyspark() or like.implementation.is_pyspark_connect():
        from pyspark.sql import functions as F

        spark = native.sparkSession
        return nw.from_native(
            spark.range(start, end + 1, numPartitions=1).select(F.col("id").cast("int").alias(name))
        )
    raise NotImplementedError(f"month spine on {like.implementation}")


def materialize(frame: nw.LazyFrame) -> nw.LazyFrame:
    """Compute ``frame`` once and keep it for reuse (polars: collected; Spark: cached)."""
    native = frame.to_native()
    if is_polars(frame):
        return nw.from_native(native.collect().lazy())
    if frame.implementation.is_pyspark() or frame.implementation.is_pyspark_connect():
        return nw.from_native(native.cache())
    return frame
