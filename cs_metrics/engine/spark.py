"""The Spark engine: the definitions of :mod:`cs_metrics.engine.core` run on Apache Spark.

Needs the optional extra (``pip install 'cs-metrics[spark]'``, i.e. pyspark) and a Java runtime
(17). Nothing here is imported unless the Spark engine is asked for.

Where Spark runs is Spark's own business, set the standard ways: ``SPARK_REMOTE`` (Spark
Connect, e.g. ``sc://host:15002``), ``spark-submit --master ...``, or the config key
``engine.spark_master`` (default ``local[*]``). Inputs reach Spark two ways:

- a dataset the loader read (CSV, Excel exports, any folder): after the validation gate its
  canonical ``subscriptions`` go to Spark through Arrow (:func:`subscriptions_to_spark`);
- a folder of canonical Parquet (``cs-metrics load --out``): Spark reads the files itself
  (:func:`read_canonical`), so data larger than the driver never passes through polars; the
  checks that run there are in :func:`validate_canonical`.

Only small results come back to the driver: the monthly bridge and rates (one row per month)
and accounts per lifetime (one row per lifetime, event and eligibility) for Kaplan-Meier.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import narwhals as nw
import polars as pl

from cs_metrics.data.issues import Issue
from cs_metrics.engine import core
from cs_metrics.engine.primitives import materialize
from cs_metrics.errors import DataError
from cs_metrics.periods import Month, index_to_month_expr

__all__ = [
    "SUBSCRIPTION_COLUMNS",
    "resolve_month",
    "get_session",
    "is_canonical_parquet",
    "read_canonical",
    "spark_churn_within",
    "spark_kpis",
    "spark_monthly_rates",
    "spark_mrr_by_account_product",
    "spark_outputs",
    "spark_unavailable",
    "subscriptions_to_spark",
    "validate_canonical",
]

# pyspark 4.x warns about pandas 3 on import; cs-metrics hands data over as Arrow, not pandas
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")

SUBSCRIPTION_COLUMNS = ("account_id", "product", "start_date", "end_date", "mrr")
_LOG4J = Path(__file__).with_name("log4j2.properties")
# An account's monthly MRR in exact Int64 micro-yen (see core.line_events) stays below this.
_MAX_ACCOUNT_MRR = (2**63 - 1) / 10**6


def spark_unavailable() -> str | None:
    """Why the Spark engine cannot start here (None when it can): pyspark or Java missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed: pip install 'cs-metrics[spark]'"
    if os.environ.get("SPARK_REMOTE"):
        return None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and not shutil.which("java"):
        return "no Java runtime (java) found: install Java 17 (e.g. openjdk-17-jre-headless)"
    return None


def get_session(config: dict[str, Any]):
    """The active SparkSession, or one built from Spark's standard settings.

    ``SPARK_REMOTE`` set: Spark Connect. Otherwise ``engine.spark_master`` (``local[*]`` by
    default) unless spark-submit already chose a master. The UI is off, the session time zone
    UTC (dates stay dates) and the log level ERROR, with no log4j banners on stderr.
    """
    reason = spark_unavailable()
    if reason:
        from cs_metrics.errors import UsageError

        raise UsageError("engine_unavailable", detail=reason)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName("cs-metrics")
    if not os.environ.get("SPARK_REMOTE"):
        master = config["engine"]["spark_master"]
        if "--master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
            builder = builder.master(master)
            if master.startswith("local"):
                # a few shuffle partitions per core, not the cluster default of 200
                builder = builder.config("spark.sql.shuffle.partitions", "8")
        builder = (
            builder.config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config(
                "spark.driver.extraJavaOptions",
                f"-Dlog4j2.configurationFile={_LOG4J} -Dlog4j.configurationFile={_LOG4J}",
            )
        )
    builder = builder.config("spark.sql.session.timeZone", "UTC").config(
        "spark.sql.execution.arrow.pyspark.enabled", "true"
    )
    session = builder.getOrCreate()
    if not os.environ.get("SPARK_REMOTE"):
        session.sparkContext.setLogLevel("ERROR")
    return session


def subscriptions_to_spark(ds, config: dict[str, Any]):
    """The dataset's canonical subscriptions as a Spark DataFrame, handed over through Arrow."""
    spark = get_session(config)
    table = ds.subscriptions.select(*SUBSCRIPTION_COLUMNS).collect().to_arrow()
    return spark.createDataFrame(table)


def is_canonical_parquet(folder: str | Path) -> bool:
    """A folder Spark can read itself: ``accounts`` and ``subscriptions`` as Parquet, no CSV.

    Each table is ``<table>.parquet`` (a file, or a folder of part files as Spark writes).
    """
    folder = Path(folder)
    if not folder.is_dir() or any(folder.glob("*.csv")):
        return False
    return all((folder / f"{t}.parquet").exists() for t in ("accounts", "subscriptions"))


def read_canonical(folder: str | Path, config: dict[str, Any]) -> dict[str, Any]:
    """Spark DataFrames of the canonical Parquet tables in ``folder`` (read by Spark itself).

    Returns ``{table: DataFrame}`` for every ``<table>.parquet`` of the schema found there.
    """
    from cs_metrics.data.schema import TABLES

    spark = get_session(config)
    return {
        name: spark.read.parquet(str(Path(folder) / f"{name}.parquet"))
        for name in TABLES
        if (Path(folder) / f"{name}.parquet").exists()
    }


def validate_canonical(tables: dict[str, Any], lang: str = "ja") -> tuple[list[Issue], list[str]]:
    """The validation gate's checks that run on Spark, for canonical Parquet.

    Runs the ``accounts`` and ``subscriptions`` suites (expectations/*.json: required columns
    and values, unique keys, non-negative amounts) plus the cross-table checks the revenue core
    depends on (``unknown_account``, ``end_before_start``), all as aggregations on Spark.

    Returns
    -------
    (issues, skipped)
        Errors found (row counts, no example rows) and a sentence per check not run at this
        scale, to be printed on stderr.
    """
    from cs_metrics.data.canonical_checks import run_checks

    return run_checks(tables, lang)


# The columns Dataset.export_date and Dataset.first_active_month read (SPEC §3), per table.
_PERIOD_COLUMNS = {
    "usage_weekly": ("week_start",),
    "touchpoints": ("occurred_on",),
    "nps_responses": ("responded_on",),
    "onboarding_sessions": ("held_on", "status"),
    "subscriptions": ("start_date", "end_date", "mrr"),
}


def resolve_month(
    tables: dict[str, Any], as_of: Any, config: Any, today: dt.date | None = None
) -> Month:
    """SPEC §3's month for Spark-read tables: ``as_of`` checked against the data's range, or the
    default month. The rule is :meth:`Dataset.resolve_month` itself, run on the distinct
    values of the few columns it reads (collected from Spark: dates, not rows).
    """
    from cs_metrics.data.dataset import Dataset

    small = {}
    for name, cols in _PERIOD_COLUMNS.items():
        if name in tables:
            f = nw.from_native(tables[name])
            if name == "subscriptions":
                f = f.with_columns((nw.col("mrr") > 0).cast(nw.Float64).alias("mrr"))
            small[name] = f.select(*cols).unique().collect(backend="polars").to_native().lazy()
    return Dataset(Path("."), small, config=config).resolve_month(as_of, today)


def _check_integer_bound(lines: nw.LazyFrame, lang: str = "ja") -> None:
    total = lines.select(nw.col("mrr").sum()).collect().item()
    if total is None or total < _MAX_ACCOUNT_MRR:
        return
    worst = (
        lines.group_by(core.ACCOUNT)
        .agg(nw.col("mrr").sum())
        .select(nw.col("mrr").max())
        .collect()
        .item()
    )
    if worst is not None and worst >= _MAX_ACCOUNT_MRR:
        from cs_metrics.messages import message

        text = message(
            "spark_money_bound", lang, value=f"{worst:,.0f}", bound=f"{_MAX_ACCOUNT_MRR:,.0f}"
        )
        raise DataError([Issue("subscriptions", "subscriptions", "out_of_range", text, "mrr")])


def _core(subs, as_of: dt.date | Month) -> dict[str, nw.LazyFrame]:
    """Lines, segments and the month spine on Spark (segments cached: every metric reads them)."""
    m = Month.parse(as_of)
    a = m.index
    lines = core.subscription_lines(nw.from_native(subs), a, m.last_day)
    _check_integer_bound(lines)
    events = core.line_events(lines, a)
    return {
        "lines": lines,
        "product": materialize(core.product_segments(events, a)),
        "account": materialize(core.account_segments(events, a)),
        "spine": core.spine_for(lines, a),
    }


def spark_monthly_rates(subs, as_of: dt.date, parts: dict | None = None) -> pl.DataFrame:
    """:func:`cs_metrics.metrics.retention.monthly_rates` on Spark (``by`` = None), collected.

    Same columns and values (to 1e-9) as the polars engine, one row per month.
    """
    p = parts or _core(subs, as_of)
    a = Month.parse(as_of).index
    moves = core.movements(p["product"], p["account"])
    bridge = core.bridge(moves, p["account"], p["spine"])
    active = p["account"].filter(nw.col("mrr") > 0).select(core.ACCOUNT, "idx", "next_idx", "mrr")
    trailing = core.trailing_retention(active, p["spine"], a, 12).select(
        "month_idx", "nrr_trailing_12m", "grr_trailing_12m"
    )
    rates = core.rates(bridge, trailing).collect(backend="polars").to_native()
    cols = rates.columns
    return (
        rates.with_columns(index_to_month_expr(pl.col("month_idx")).alias("month"))
        .select("month", *cols)
        .sort("month_idx")
    )


def spark_churn_within(
    subs, as_of: dt.date, horizon: int, parts: dict | None = None
) -> list[dict[str, Any]]:
    """:func:`cs_metrics.metrics.churn.churn_within` on Spark: lifetimes there, counts here."""
    from cs_metrics.metrics.churn import churn_within_from_counts

    p = parts or _core(subs, as_of)
    a = Month.parse(as_of).index
    counts = core.lifetime_counts(core.lifetimes(p["account"], a), a, horizon)
    return churn_within_from_counts(counts.collect(backend="polars").to_native(), horizon)


def spark_outputs(subs, as_of: dt.date, config: dict[str, Any]) -> dict[str, Any]:
    """Monthly rates, churn within H and the KPI dict from one pass over cached segments.

    Returns ``{"rates": DataFrame, "churn_within": [dict], "kpis": dict}`` as the polars engine's
    :func:`monthly_rates`, :func:`churn_within` and :func:`kpis` would.
    """
    from cs_metrics.metrics.kpis import kpis_from

    horizon = int(config["revenue"]["churn_horizon_months"])
    parts = _core(subs, as_of)
    try:
        rates = spark_monthly_rates(subs, as_of, parts)
        cw = spark_churn_within(subs, as_of, horizon, parts)
    finally:
        for key in ("product", "account"):
            parts[key].to_native().unpersist()
    first_day = Month.parse(as_of).first_day
    return {"rates": rates, "churn_within": cw, "kpis": kpis_from(rates, cw[0], first_day, horizon)}


def spark_kpis(subs, as_of: dt.date, config: dict[str, Any]) -> dict[str, Any]:
    """:func:`cs_metrics.metrics.kpis.kpis` on Spark: the same keys and values."""
    return spark_outputs(subs, as_of, config)["kpis"]


def spark_mrr_by_account_product(subs, as_of: dt.date):
    """MRR per account x product x month on Spark (stays distributed: a Spark DataFrame).

    ``account_id, product, month_idx, month ("YYYY-MM"), mrr``; one row per active month, as
    :func:`cs_metrics.metrics.revenue.mrr_by_account_product`.
    """
    m = Month.parse(as_of)
    a = m.index
    lines = core.subscription_lines(nw.from_native(subs), a, m.last_day)
    seg = core.product_segments(core.line_events(lines, a), a)
    out = core.mrr_by_month(seg, [core.ACCOUNT, "product"])
    return (
        out.with_columns(core.month_label(nw.col("month_idx")).alias("month"))
        .select(core.ACCOUNT, "product", "month_idx", "month", "mrr")
        .to_native()
    )


def note(text: str) -> None:
    """Engine-specific information goes to stderr (stdout keeps the polars engine's output)."""
    print(f"spark: {text}", file=sys.stderr)
