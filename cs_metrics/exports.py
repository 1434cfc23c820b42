"""Files for Excel and Salesforce: UTF-8 CSV with BOM, safe against CSV (formula) injection."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.periods import parse_month

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that start with ``= + - @`` (or tab/CR) with ``'`` so Excel shows them
    as text instead of evaluating a formula. Numeric columns are left numeric."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            c = pl.col(name)
            risky = c.str.contains(r"^[=+\-@\t\r]")
            exprs.append(pl.when(risky).then(pl.lit("'") + c).otherwise(c).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def excel_csv_bytes(frame: pl.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV with BOM (Excel opens Japanese correctly), injection-safe; list
    columns joined with " / "."""
    flat = frame.with_columns(
        [
            pl.col(n).cast(pl.List(pl.String)).list.join(" / ")
            for n, t in frame.schema.items()
            if isinstance(t, pl.List)
        ]
    )
    data = neutralise_text(flat).write_csv(date_format="%Y-%m-%d")
    return b"\xef\xbb\xbf" + data.encode("utf-8")


def write_excel_csv(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write :func:`excel_csv_bytes` of ``frame`` to ``path`` atomically (a temporary file beside
    it, then renamed: never half-written)."""
    from cs_metrics.fsutil import atomic_write_bytes

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(p, excel_csv_bytes(frame))
    return p


def salesforce_health_frame(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame:
    """Rows for Salesforce Data Loader: one per active account.

    Returns
    -------
    DataFrame
        ``Id`` (the account ID as in the data), ``Health_Score__c``, ``Health_Band__c``,
        ``Segment__c``, ``Top_Risk__c`` (the first risk rule by a fixed priority, empty when
        none), ``Health_As_Of__c`` (the as-of month's last day). Rename the custom fields in
        Data Loader's mapping to match your org.
    """
    from cs_metrics.metrics.risk import RISK_RULES, risk_signals
    from cs_metrics.metrics.segments import segments
    from cs_metrics.periods import month_end

    m = parse_month(as_of)
    seg = segments(ds, m)
    sig = risk_signals(ds, m).signals.filter(pl.col("kind") == "risk")
    priority = {r: i for i, r in enumerate(RISK_RULES)}
    top = (
        sig.with_columns(pl.col("rule").replace_strict(priority, return_dtype=pl.Int64).alias("p"))
        .sort("account_id", "p")
        .group_by("account_id", maintain_order=True)
        .agg(pl.col("rule").first().alias("Top_Risk__c"))
    )
    return (
        seg.join(top, on="account_id", how="left")
        .select(
            pl.col("account_id").alias("Id"),
            pl.col("score").alias("Health_Score__c"),
            pl.col("band").alias("Health_Band__c"),
            pl.col("segment").alias("Segment__c"),
            pl.col("Top_Risk__c").fill_null(""),
            pl.lit(month_end(m)).alias("Health_As_Of__c"),
        )
        .sort("Id")
    )
