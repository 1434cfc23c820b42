"""The validation gate's checks for canonical tables that never pass through polars.

When the Spark engine reads a folder of canonical Parquet itself, the gate's Great Expectations
suites (expectations/*.json) are interpreted here as aggregations on the engine's frames
(narwhals: Spark, or polars in tests), for the two tables the revenue core reads. The same
rules, the same messages; counts of offending rows but no example rows (Parquet read by Spark
has no row numbers to show).
"""

from __future__ import annotations

from typing import Any

import narwhals as nw

from cs_metrics.data.issues import Issue
from cs_metrics.data.schema import TABLES
from cs_metrics.messages import message

__all__ = ["CHECKED_TABLES", "SKIPPED", "run_checks"]

CHECKED_TABLES = ("accounts", "subscriptions")
# What the full gate does that does not run on canonical Parquet at scale (printed on stderr).
SKIPPED = (
    "value parsing (encodings, date and ¥-amount formats): Parquet columns are typed",
    "example rows with row numbers (only counts are reported)",
    "the currency check, warnings (suspicious values) and checks of the tables the revenue core "
    "does not read (cancellations, usage_weekly, touchpoints, nps_responses, "
    "onboarding_sessions, cs_costs)",
)


def _condition(kind: str, kwargs: dict[str, Any]) -> tuple[str, nw.Expr] | None:
    col = nw.col(kwargs["column"])
    if kind == "expect_column_values_to_not_be_null":
        return "count", col.is_null()
    if kind == "expect_column_values_to_be_between":
        cond = nw.lit(False)
        if kwargs.get("min_value") is not None:
            cond = cond | (col < kwargs["min_value"])
        if kwargs.get("max_value") is not None:
            cond = cond | (col > kwargs["max_value"])
        return "count", ~col.is_null() & cond
    if kind == "expect_column_values_to_be_unique":
        return "unique", col
    return None


def _suite_issues(name: str, frame: nw.LazyFrame, lang: str) -> list[Issue]:
    from cs_metrics.data.gx import load_suite_dict

    file = f"{name}.parquet"
    cols = frame.collect_schema().names()
    aggs, meta, counts = [], [], []
    for e in load_suite_dict(name)["expectations"]:
        column = e["kwargs"].get("column")
        found = _condition(e["type"], e["kwargs"]) if column in cols else None
        if found is None:
            continue
        how, expr = found
        if how == "count":
            aggs.append(expr.cast(nw.Int64).sum().alias(f"c{len(aggs)}"))
            meta.append((e, column))
        else:  # every row whose non-null value appears on more than one row (as GX counts)
            dup = (
                frame.filter(~expr.is_null())
                .group_by(column)
                .agg(nw.len().alias("k"))
                .filter(nw.col("k") > 1)
                .select(nw.col("k").sum())
                .collect()
                .item()
            )
            counts.append(((e, column), dup))
    if aggs:
        counts += list(zip(meta, frame.select(*aggs).collect().row(0), strict=True))
    out = []
    for (e, column), n in counts:
        if not n:
            continue
        rule = e.get("meta", {}).get("rule", "out_of_range")
        fields = {"range": f">= {e['kwargs'].get('min_value')}"} if rule == "out_of_range" else {}
        text = message(rule, lang, file=file, column=column, n=int(n), **fields)
        out.append(Issue(name, file, rule, text, column, "error", int(n)))
    return out


def run_checks(tables: dict[str, Any], lang: str = "ja") -> tuple[list[Issue], list[str]]:
    """Errors in canonical ``accounts``/``subscriptions`` frames (native or narwhals) and the
    checks skipped.

    Both tables must be given. Missing required columns, the tables' suites, ``unknown_account`` (subscription
    account_ids not in accounts) and ``end_before_start``.
    """
    frames = {k: nw.from_native(v) for k, v in tables.items() if k in CHECKED_TABLES}
    issues: list[Issue] = []
    for name in CHECKED_TABLES:
        found = frames[name].collect_schema().names()
        missing = [c for c in TABLES[name].required_columns if c not in found]
        if missing:
            file = f"{name}.parquet"
            text = message(
                "missing_column",
                lang,
                file=file,
                table=name,
                missing=", ".join(missing),
                found=", ".join(found),
                example=f'"<your column>" = "{missing[0]}"',
            )
            issues.append(Issue(name, file, "missing_column", text, ", ".join(missing)))
    if issues:
        return issues, list(SKIPPED)
    for name in CHECKED_TABLES:
        issues += _suite_issues(name, frames[name], lang)
    subs, accounts = frames["subscriptions"], frames["accounts"]
    unknown = (
        subs.filter(~nw.col("account_id").is_null())
        .join(accounts.select("account_id").unique(), on="account_id", how="anti")
        .select(nw.len())
        .collect()
        .item()
    )
    backwards = (
        subs.filter(nw.col("end_date") < nw.col("start_date")).select(nw.len()).collect().item()
    )
    file = "subscriptions.parquet"
    if unknown:
        text = message(
            "unknown_account", lang, file=file, n=int(unknown), accounts_file="accounts.parquet"
        )
        issues.append(
            Issue("subscriptions", file, "unknown_account", text, "account_id", n_rows=int(unknown))
        )
    if backwards:
        text = message("end_before_start", lang, file=file, n=int(backwards))
        issues.append(
            Issue(
                "subscriptions",
                file,
                "end_before_start",
                text,
                "start_date, end_date",
                n_rows=int(backwards),
            )
        )
    return issues, list(SKIPPED)
