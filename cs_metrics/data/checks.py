"""Row checks of the polars validation paths (cross-table, configuration and plausibility
checks): the rows a check flags, with their values as written in the file, become
:class:`~cs_metrics.data.issues.Issue` s with the catalogue's message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.data.issues import Issue
from cs_metrics.data.load import ROW
from cs_metrics.messages import lang_of, message

__all__ = [
    "DUPLICATE_BLOCK_ROWS",
    "RowCheck",
    "collect_issues",
    "duplicate_rows_mask",
    "duplicate_rows_screen",
    "flagged_rows",
    "raw_values",
    "row_columns",
]


@dataclass
class RowCheck:
    """One check of one table: ``rows`` are the rows it flags (``_row``, ``__val``)."""

    table: str
    rule: str
    column: str | None
    rows: pl.LazyFrame  # columns: _row, __val (the value(s) as written in the file)
    fields: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"


def raw_values(
    ds: Dataset, table: str, columns: list[str], rows: pl.LazyFrame | None = None
) -> pl.LazyFrame:
    """``_row`` and the value(s) of ``columns`` as written in the file, joined by ", " (the
    parsed values for a table without raw text); for the ``_row`` of ``rows`` only when given
    (no text is built for the other rows)."""
    source = ds.raw.get(table)
    if source is None:
        source = ds.frames[table]
    if rows is not None:
        source = source.join(rows.select(ROW), on=ROW, how="semi")
    schema = source.collect_schema()
    parts = [pl.col(c).cast(pl.String).fill_null("") for c in columns if c in schema]
    value = pl.concat_str(parts, separator=", ") if parts else pl.lit(None, pl.String)
    return source.select(pl.col(ROW), value.alias("__val"))


def row_columns(ds: Dataset, table: str) -> list[str]:
    """The columns that make up a row of ``table`` as read: every column of the parsed frame
    but the row number (canonical columns, kept extra measures, derived ones)."""
    return [c for c in ds.frames[table].collect_schema().names() if c != ROW]


# A block of rows repeated in the same order is a paste, not chance: a run of at least this
# many consecutive copies, or copies making half the table (a small file appended to itself).
DUPLICATE_BLOCK_ROWS = 3


def duplicate_rows_mask(columns: list[str]) -> pl.Expr:
    """The later copies of rows pasted twice: rows equal in every one of ``columns`` (empty
    cells equal too) to an earlier row, in a run of consecutive copies of consecutive earlier
    rows at least DUPLICATE_BLOCK_ROWS long, or in a table where copies are half the rows (a
    file appended to itself). Isolated equal rows (two support tickets on one day, with no
    time column to tell them apart) are not flagged. Evaluated over the table in file order.
    """
    row = pl.col(ROW)
    first = row.min().over(columns)  # the row's first occurrence
    copy = first < row
    chain = copy & copy.shift(1).fill_null(False) & (first.diff() == 1) & (row.diff() == 1)
    run = (~chain).cum_sum()
    block = copy & (pl.len().over(run) >= DUPLICATE_BLOCK_ROWS)
    return block | (copy & (copy.sum() * 2 >= pl.len()))


def duplicate_rows_screen(columns: list[str]) -> pl.Expr:
    """0 when no two rows share a hash of ``columns`` (then :func:`duplicate_rows_mask` flags
    nothing): sorting 64-bit hashes is much cheaper than the exact search."""
    h = pl.struct(columns).hash(seed=7)
    return (h.sort().reinterpret(signed=True).diff() == 0).sum()


def flagged_rows(ds: Dataset, table: str, condition: pl.Expr, columns: list[str]) -> pl.LazyFrame:
    """The rows of ``table`` where ``condition`` holds (null: not flagged), with the values of
    ``columns`` as written, in file order."""
    rows = ds.frames[table].filter(condition.fill_null(False)).select(ROW)
    return rows.join(raw_values(ds, table, columns, rows), on=ROW, how="left").sort(ROW)


def collect_issues(ds: Dataset, checks: list[RowCheck]) -> list[Issue]:
    """One :class:`Issue` per check that flags rows (count, the first
    ``validation.max_examples`` rows with their values), in the order of ``checks``; all
    checks are collected in one pass."""
    if not checks:
        return []
    lang = lang_of(ds.config)
    max_ex = int(ds.config["validation"]["max_examples"])
    results = pl.collect_all(
        [
            c.rows.select(
                pl.len().alias("n"),
                pl.col(ROW).head(max_ex).implode().alias("rows"),
                pl.col("__val").head(max_ex).implode().alias("vals"),
            )
            for c in checks
        ]
    )
    out = []
    for c, df in zip(checks, results, strict=True):
        n = int(df["n"][0])
        if not n:
            continue
        file = ds.sources[c.table].file if c.table in ds.sources else c.table
        text = message(c.rule, lang, file=file, column=c.column, n=n, **c.fields)
        examples = list(zip(df["rows"][0].to_list(), df["vals"][0].to_list(), strict=True))
        out.append(Issue(c.table, file, c.rule, text, c.column, c.severity, n, examples))
    return out
