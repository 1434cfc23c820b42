"""The validation gate: file-level checks (loader), value parsing, the Great Expectations suites
(``expectations/*.json``) and the cross-table checks GX cannot express.

By default everything after loading is evaluated in polars, one pass per table, the suites
interpreted expectation by expectation (:mod:`cs_metrics.data.gate`). ``engine="gx"`` runs the
suites in Great Expectations instead (:mod:`cs_metrics.data.gx`) with the parse, cross-table and
warning checks of this module: the reference the polars engine is tested against.

``validate_dataset`` never raises for bad data: it returns a :class:`ValidationReport` whose
``errors`` block every metric command and report, and whose ``warnings`` are shown only.
Every finding is an :class:`~cs_metrics.data.issues.Issue` with a stable ``rule`` id; the rules and
their messages are listed in ``docs/mapping.md``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from cs_metrics.data.cache import load_entry, store_entry, validation_key
from cs_metrics.data.checks import (
    RowCheck,
    collect_issues,
    duplicate_rows_mask,
    flagged_rows,
    raw_values,
    row_columns,
)
from cs_metrics.data.dataset import Dataset
from cs_metrics.data.issues import Issue
from cs_metrics.data.load import ROW, load_dataset, other_currency_expr, parse_issues
from cs_metrics.data.schema import TABLES
from cs_metrics.errors import DataError
from cs_metrics.messages import lang_of

__all__ = [
    "ENGINES",
    "REPORT_SCHEMA_VERSION",
    "ValidationReport",
    "cross_table_issues",
    "duplicate_row_issues",
    "format_issues",
    "validate_dataset",
    "warning_issues",
]

# Version of the JSON structure of ``cs-metrics validate --format json``.
REPORT_SCHEMA_VERSION = 1


@dataclass
class ValidationReport:
    """Result of the gate. ``dataset`` is None when a file-level problem stopped loading."""

    path: str
    issues: list[Issue] = field(default_factory=list)
    dataset: Dataset | None = None
    lang: str = "ja"
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors and self.dataset is not None

    def sources(self) -> list[dict[str, Any]]:
        """One entry per file read: table, file, format, encoding, rows, sha256."""
        if self.dataset is None:
            return []
        return [
            {
                "table": s.table,
                "file": s.file,
                "format": s.format,
                "encoding": s.encoding,
                "rows": self.row_counts.get(t),
                "renamed": dict(s.renamed),
                "sha256": s.sha256,
            }
            for t, s in self.dataset.sources.items()
        ]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON structure (``schema_version`` 1), documented in docs/mapping.md."""
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "path": self.path,
            "ok": self.ok,
            "lang": self.lang,
            "n_errors": len(self.errors),
            "n_warnings": len(self.warnings),
            "errors": [_issue_dict(i) for i in self.errors],
            "warnings": [_issue_dict(i) for i in self.warnings],
            "sources": self.sources(),
            "encodings": self.dataset.encodings() if self.dataset else {},
        }

    def format(self, lang: str | None = None) -> str:
        return format_issues(self.issues, lang=lang or self.lang, report=self)


def _json_value(v: Any) -> Any:
    if v is None or isinstance(v, (str, bool, int)):
        return v
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else str(v)
    return str(v)


def _issue_dict(i: Issue) -> dict[str, Any]:
    return {
        "table": i.table,
        "file": i.file,
        "column": i.column,
        "rule": i.rule,
        "severity": i.severity,
        "message": i.message,
        "n_rows": i.n_rows,
        "examples": [{"row": int(r), "value": _json_value(v)} for r, v in i.examples],
    }


ENGINES = ("polars", "gx")


def validate_dataset(
    path: str | Path | Dataset,
    mapping: Any = None,
    config: Any = None,
    *,
    expectations: str | Path | None = None,
    engine: str = "polars",
    cache: bool = True,
) -> ValidationReport:
    """Run the whole gate on a dataset folder (or an already loaded Dataset).

    Parameters
    ----------
    path
        Dataset folder, or a Dataset from :func:`load_dataset`.
    mapping
        Column-mapping TOML (path or dict), passed to the loader.
    config
        Configuration (dict, TOML path or None for the defaults): ``general.lang`` (message
        language), ``general.currency``, ``onboarding.sessions``, ``validation.max_examples``.
    expectations
        Folder of the GX suites (default: the repository's ``expectations/``).
    engine
        ``"polars"`` (default): every check in polars, one pass per table, the suites
        interpreted by :mod:`cs_metrics.data.gate`; ``"gx"``: the suites run by Great
        Expectations on a pandas copy (slow; the reference the polars engine is tested against).
    cache
        Reuse a result without errors stored by an earlier run on identical inputs (files,
        mapping, configuration, suites, package version; :mod:`cs_metrics.data.cache`), and
        store this one when it has no errors.

    Returns
    -------
    ValidationReport
        File-level problems (then ``dataset`` is None), or: unparseable values, the suites'
        failures, the cross-table checks and the warnings, per file in that order.
    """
    from cs_metrics.config import load_config

    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if isinstance(path, Dataset):
        ds = path
    else:
        cfg = load_config(config)
        try:
            ds = load_dataset(path, mapping=mapping, config=cfg)
        except DataError as e:
            return ValidationReport(str(path), list(e.issues), None, lang_of(cfg))
    names = list(ds.frames)
    key = _cache_key(ds, mapping, engine, expectations) if cache else None
    hit = load_entry(key) if key else None
    if hit is not None:  # validated before: parse once for the metrics, replay the warnings
        issues, rows = hit
        ds = ds.collected()
        return ValidationReport(str(ds.path), issues, ds, lang_of(ds.config), rows)
    # Read and parse every table once (a Parquet file is scanned once for both frames): the
    # checks below and the metrics then read materialised frames.
    collected = pl.collect_all([*ds.frames.values(), *(ds.raw[n] for n in names)])
    ds = Dataset(
        ds.path,
        {n: df.lazy() for n, df in zip(names, collected[: len(names)], strict=True)},
        ds.sources,
        {n: df.lazy() for n, df in zip(names, collected[len(names) :], strict=True)},
        ds.config,
        ds.warnings,
    )
    if engine == "gx":
        issues = _gx_gate(ds, expectations)
    else:
        from cs_metrics.data.gate import evaluate_gate

        issues = evaluate_gate(ds, expectations)
    rows = {n: df.height for n, df in zip(names, collected[: len(names)], strict=True)}
    if key:
        store_entry(key, issues, rows)  # only when there is no error
    return ValidationReport(str(ds.path), issues, ds, lang_of(ds.config), rows)


def _cache_key(ds: Dataset, mapping: Any, engine: str, expectations: Any) -> str | None:
    try:
        return validation_key(ds, mapping, engine, expectations)
    except (OSError, ValueError, TypeError):  # e.g. a suite that cannot be read: no caching
        return None


def _gx_gate(ds: Dataset, expectations: str | Path | None) -> list[Issue]:
    """The gate with the suites run by Great Expectations (``--engine gx``)."""
    from cs_metrics.data.gx import run_suites
    from cs_metrics.data.plausibility import plausibility_issues

    issues = parse_issues(ds, required_values=False)
    issues += run_suites(ds, expectations)
    issues += cross_table_issues(ds)
    issues += warning_issues(ds)
    issues += duplicate_row_issues(ds)
    issues += plausibility_issues(ds)  # issue 13: bounds as errors, overlap/invisible warnings
    issues += list(ds.warnings)
    order = {name: i for i, name in enumerate(TABLES)}
    issues.sort(key=lambda i: order.get(i.table, -1))  # stable: per file, checks in gate order
    return issues


# ---- cross-table and config-dependent checks (polars) --------------------------------------


def cross_table_issues(ds: Dataset) -> list[Issue]:
    """Errors GX cannot express (each with file, column, row numbers and values).

    - ``unknown_account``: an ``account_id`` of another table that is not in ``accounts``
      (Salesforce 15/18-character IDs and full-width characters are already canonical);
    - ``end_before_start``: a subscription line whose ``end_date`` is before its ``start_date``;
    - ``duplicate_key``: two rows with the same composite key (usage_weekly
      (account_id, week_start), onboarding_sessions (user_id, session_no));
    - ``out_of_range``: onboarding ``session_no`` outside 1..N, N = ``onboarding.sessions``.
    """
    checks: list[RowCheck] = []
    if "accounts" in ds.frames:
        known = ds.frames["accounts"].select("account_id").drop_nulls().unique()
        accounts_file = ds.sources["accounts"].file
        for name, lf in ds.frames.items():
            if name == "accounts" or TABLES[name].column("account_id") is None:
                continue
            unknown = (
                lf.filter(pl.col("account_id").is_not_null())
                .join(known, on="account_id", how="anti")
                .select(ROW)
            )
            values = raw_values(ds, name, ["account_id"], unknown)
            rows = unknown.join(values, on=ROW, how="left").sort(ROW)
            checks.append(
                RowCheck(
                    name, "unknown_account", "account_id", rows, {"accounts_file": accounts_file}
                )
            )
    if "subscriptions" in ds.frames:
        checks.append(
            RowCheck(
                "subscriptions",
                "end_before_start",
                "start_date, end_date",
                flagged_rows(
                    ds,
                    "subscriptions",
                    pl.col("end_date") < pl.col("start_date"),
                    ["start_date", "end_date"],
                ),
            )
        )
    for name in ds.frames:
        key = list(TABLES[name].key)
        if len(key) < 2:
            continue  # single-column keys: the GX suites (expect_column_values_to_be_unique)
        cond = pl.all_horizontal([pl.col(k).is_not_null() for k in key]) & (pl.len().over(key) > 1)
        checks.append(
            RowCheck(name, "duplicate_key", ", ".join(key), flagged_rows(ds, name, cond, key))
        )
    if "onboarding_sessions" in ds.frames:
        n = int(ds.config["onboarding"]["sessions"])
        s = pl.col("session_no")
        checks.append(
            RowCheck(
                "onboarding_sessions",
                "out_of_range",
                "session_no",
                flagged_rows(ds, "onboarding_sessions", (s < 1) | (s > n), ["session_no"]),
                {"range": f"1..{n}"},
            )
        )
    return collect_issues(ds, checks)


def warning_issues(ds: Dataset) -> list[Issue]:
    """Suspicious but computable data (exit 0, shown as warnings).

    - ``currency_mismatch``: a subscription whose ``currency`` is not ``general.currency``;
    - ``month_not_first_day``: a ``cs_costs.month`` that is not the first day of its month.

    Dates outside the plausible years are errors: :mod:`cs_metrics.data.plausibility`.
    """
    checks: list[RowCheck] = []
    cur = str(ds.config["general"]["currency"])
    if "subscriptions" in ds.frames:
        cond = other_currency_expr(pl.col("currency"), cur)
        checks.append(
            RowCheck(
                "subscriptions",
                "currency_mismatch",
                "currency",
                flagged_rows(ds, "subscriptions", cond, ["currency"]),
                {"currency": cur},
                "error",  # amounts in another currency cannot be added to the reporting one
            )
        )
    if "cs_costs" in ds.frames:
        checks.append(
            RowCheck(
                "cs_costs",
                "month_not_first_day",
                "month",
                flagged_rows(ds, "cs_costs", pl.col("month").dt.day() != 1, ["month"]),
                severity="warning",
            )
        )
    return collect_issues(ds, checks)


def duplicate_row_issues(ds: Dataset) -> list[Issue]:
    """``duplicate_rows`` (warning), every table: rows equal to another row in every column
    (a file appended to itself): each such row would be counted twice."""
    checks = []
    for name in ds.frames:
        shown = [c.name for c in TABLES[name].columns if c.name in ds.raw[name].collect_schema()]
        rows = flagged_rows(ds, name, duplicate_rows_mask(row_columns(ds, name)), shown)
        checks.append(RowCheck(name, "duplicate_rows", None, rows, {}, "warning"))
    return collect_issues(ds, checks)


# ---- the readable report -------------------------------------------------------------------

_LABELS = {
    "ja": {
        "title": "データ検証",
        "ok": "問題はありません",
        "errors": "エラー",
        "warnings": "警告",
        "count": "{n} 件",
        "table": "テーブル",
        "file": "ファイル",
        "format": "形式",
        "column": "列",
        "rule": "ルール",
        "rows": "行数",
        "examples": "例（行: 値）",
        "encoding": "文字コード",
        "empty": "(空)",
        "more": "ほか {n} 行",
        "blocked": "エラーがあるため指標は計算しません。ファイルを修正して再実行してください。",
        "passed": "検証に合格しました（警告は確認のみ）。",
    },
    "en": {
        "title": "Data validation",
        "ok": "no problems found",
        "errors": "Errors",
        "warnings": "Warnings",
        "count": "{n}",
        "table": "table",
        "file": "file",
        "format": "format",
        "column": "column",
        "rule": "rule",
        "rows": "rows",
        "examples": "examples (row: value)",
        "encoding": "encoding",
        "empty": "(empty)",
        "more": "{n} more row(s)",
        "blocked": "Metrics are not computed while there are errors: fix the files and run again.",
        "passed": "Validation passed (warnings are for review only).",
    },
}


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, w: int) -> str:
    return s + " " * max(0, w - _width(s))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(_width(x) for x in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(_pad(h, w) for h, w in zip(header, widths, strict=True)).rstrip()
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return out


def _example_text(v: Any, empty: str) -> str:
    if v is None or (isinstance(v, str) and not v.strip()):
        return empty
    s = str(v)
    return s if len(s) <= 40 else s[:37] + "..."


def format_issues(
    issues: list[Issue], lang: str = "ja", report: ValidationReport | None = None
) -> str:
    """A readable report: the files read (format, encoding, rows), then one block per finding
    with its message, file, column, rule, number of rows and example rows with their values."""
    L = _LABELS.get(lang, _LABELS["en"])
    path = report.path if report else ""
    lines = [f"{L['title']}: {path}" if path else L["title"]]
    if report is not None and report.dataset is not None:
        rows = [
            [
                s["table"],
                s["file"],
                s["format"],
                s["encoding"] or "-",
                "" if s["rows"] is None else str(s["rows"]),
            ]
            for s in report.sources()
        ]
        lines.append("")
        lines += _table([L["table"], L["file"], L["format"], L["encoding"], L["rows"]], rows)
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity != "error"]
    if not issues:
        lines.append("")
        lines.append(L["ok"])
        return "\n".join(lines)
    for title, group in ((L["errors"], errors), (L["warnings"], warnings)):
        if not group:
            continue
        lines.append("")
        lines.append(f"{title}: {L['count'].format(n=len(group))}")
        for k, i in enumerate(group, 1):
            lines.append(f"{k:>3}. {i.message}")
            parts = [f"{L['file']}: {i.file}"]
            if i.column:
                parts.append(f"{L['column']}: {i.column}")
            parts.append(f"{L['rule']}: {i.rule}")
            if i.n_rows:
                parts.append(f"{L['rows']}: {i.n_rows}")
            lines.append("     " + "   ".join(parts))
            if i.examples:
                ex = ", ".join(f"{r}: {_example_text(v, L['empty'])}" for r, v in i.examples)
                more = i.n_rows - len(i.examples)
                if more > 0:
                    ex += f" ({L['more'].format(n=more)})"
                lines.append(f"     {L['examples']}: {ex}")
    lines.append("")
    lines.append(L["blocked"] if errors else L["passed"])
    return "\n".join(lines)
