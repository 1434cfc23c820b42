"""The validation gate evaluated natively in polars: one pass per table.

Today's gate has four kinds of checks, each reported as an :class:`~cs_metrics.data.issues.Issue`
(file, column, rule, number of rows, example rows with their values as written in the file):

1. values present in the file that do not parse (:func:`cs_metrics.data.load.parse_issues`);
2. the table's Great Expectations suite, ``expectations/<table>.json`` — the declared contract.
   Each expectation is *interpreted* here as a polars row mask (:func:`expectation_mask`), so the
   suites drive this evaluator exactly as they drive GX; a suite with an expectation type or
   argument not interpreted here is run by GX for that table (:mod:`cs_metrics.data.gx`);
3. cross-table and configuration checks (``unknown_account``, ``end_before_start``, composite
   ``duplicate_key``, onboarding ``out_of_range``);
4. warnings (``currency_mismatch``, ``month_not_first_day``), then the plausibility rules of
   :mod:`cs_metrics.data.plausibility` (shared with the GX engine).

For each table, every check becomes one boolean expression over the parsed frame laid beside the
raw one, and one ``select`` computes, for all of them at once, the number of offending rows and
the first ``validation.max_examples`` row numbers (a single pass over the table). The values of
those few example rows are then read from the raw frame. Results, order and texts are the same as
the GX-based gate (``cs-metrics validate --engine gx``): ``tests/test_gate.py`` compares both on
every bad-input fixture, expectation by expectation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from cs_metrics.data.checks import duplicate_rows_mask, duplicate_rows_screen, row_columns
from cs_metrics.data.dataset import Dataset
from cs_metrics.data.issues import Issue
from cs_metrics.data.load import AMBIGUOUS_KINDS, ROW, ambiguous_amount_expr, other_currency_expr
from cs_metrics.data.schema import TABLES
from cs_metrics.messages import lang_of, message

__all__ = [
    "ExpectationResult",
    "Unsupported",
    "evaluate_gate",
    "expectation_mask",
    "load_suites",
    "polars_suite_results",
    "range_text",
    "suite_issue",
]


_RAW = "__raw__"  # prefix of the raw columns laid beside the parsed ones

# expectation type -> the keyword arguments interpreted here (others: run by GX instead)
SUPPORTED: dict[str, set[str]] = {
    "expect_column_values_to_not_be_null": {"column", "mostly"},
    "expect_column_values_to_be_unique": {"column", "mostly"},
    "expect_column_values_to_be_between": {
        "column",
        "min_value",
        "max_value",
        "strict_min",
        "strict_max",
        "mostly",
    },
    "expect_column_values_to_be_in_set": {"column", "value_set", "mostly"},
    "expect_column_values_to_not_be_in_set": {"column", "value_set", "mostly"},
}


class Unsupported(Exception):
    """An expectation this evaluator does not interpret (its table's suite then runs in GX)."""


@dataclass(frozen=True)
class ExpectationResult:
    """One expectation's outcome on one table, whichever engine computed it.

    ``rows`` are the first ``max_examples`` unexpected rows as numbered in the file (ascending);
    ``exception`` is set when the expectation could not be evaluated (e.g. a missing column).
    """

    table: str
    position: int  # index in the suite
    expectation: dict[str, Any]
    success: bool
    unexpected_count: int = 0
    rows: tuple[int, ...] = ()
    exception: str | None = None


# ---- expectations as polars masks ----------------------------------------------------------


def _bound(value: Any, dtype: pl.DataType) -> Any:
    if isinstance(value, bool) or value is None:
        raise Unsupported(f"bound {value!r}")
    if dtype.is_numeric() and isinstance(value, (int, float)):
        return value
    if dtype == pl.Date and isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    raise Unsupported(f"bound {value!r} for a {dtype} column")


def expectation_mask(exp: dict[str, Any], schema: pl.Schema) -> tuple[pl.Expr, pl.Expr]:
    """(unexpected, domain) row masks of one suite expectation, as GX defines them.

    ``unexpected`` marks the rows GX counts as unexpected; ``domain`` the rows the success
    fraction (``mostly``) is taken over: every row for ``not_be_null``, the non-null rows for the
    other (column map) expectations, which ignore nulls. Raises :class:`Unsupported` for a type
    or argument not interpreted here, and KeyError for a column that is not in ``schema``.
    """
    type_, kwargs = exp.get("type"), dict(exp.get("kwargs") or {})
    allowed = SUPPORTED.get(type_)
    if allowed is None or set(kwargs) - allowed:
        raise Unsupported(f"{type_}({', '.join(sorted(kwargs))})")
    column = kwargs["column"]
    dtype = schema[column]  # KeyError: reported like GX's missing-column exception
    c = pl.col(column)
    present = c.is_not_null()
    if type_ == "expect_column_values_to_not_be_null":
        return c.is_null(), pl.lit(True)
    if type_ == "expect_column_values_to_be_unique":
        return present & c.is_duplicated(), present
    if type_ in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        values = list(kwargs.get("value_set") or [])
        kind_ok = all(
            isinstance(v, str) if dtype == pl.String else isinstance(v, (int, float))
            for v in values
        )
        if not kind_ok or not (dtype == pl.String or dtype.is_numeric()):
            raise Unsupported(f"{type_} on a {dtype} column")
        inside = c.is_in(pl.lit(pl.Series(values, dtype=dtype)).implode())
        return present & (inside if "_not_be_in_set" in type_ else ~inside), present
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")
    if lo is None and hi is None:
        raise Unsupported("between without bounds")
    bad = pl.lit(False)
    if lo is not None:
        lo = _bound(lo, dtype)
        bad = bad | ((c <= lo) if kwargs.get("strict_min") else (c < lo))
    if hi is not None:
        hi = _bound(hi, dtype)
        bad = bad | ((c >= hi) if kwargs.get("strict_max") else (c > hi))
    return present & bad, present


# ---- one pass per table --------------------------------------------------------------------


@dataclass
class _Check:
    """One row-level check of a table: ``mask`` marks the offending rows."""

    table: str
    rule: str
    column: str | None
    mask: pl.Expr
    values: list[str]  # raw columns whose values are shown ("a, b" joined; null -> "")
    fields: dict[str, Any] = field(default_factory=dict)
    severity: str = "error"
    kind: str = "check"  # "parse" (value = raw as text), "suite", "check"
    domain: pl.Expr | None = None  # suites: rows the success fraction is taken over
    position: int = -1  # suites: index in the suite
    expectation: dict[str, Any] | None = None
    # ``subset``: the mask is written over the rows of this subset only (a cheap superset of
    # the offending rows, e.g. the parsed nulls); ``screen``: a scalar that is 0 only when no
    # row can offend (then the mask is not evaluated at all)
    subset: pl.Expr | None = None
    screen: pl.Expr | None = None


def _raw_nonempty(column: str, dtype: pl.DataType, subset: pl.Expr | None = None) -> pl.Expr:
    """The raw cell has a value (typed Parquet: not null; text: not blank after trimming)."""
    raw = pl.col(_RAW + column)
    raw = raw if subset is None else raw.filter(subset)
    if dtype != pl.String:
        return raw.is_not_null()
    return raw.str.strip_chars().str.len_chars().gt(0).fill_null(False)


def _duplicates_screen(columns: list[str]) -> pl.Expr:
    """0 when no two rows with every column non-null share a hash of ``columns`` (then there is
    no duplicate); sorting 64-bit hashes is much cheaper than an exact duplicate search."""
    h = pl.lit(0, pl.UInt64)
    for k, c in enumerate(columns):
        h = h ^ pl.col(c).hash(seed=k + 1)
    present = pl.all_horizontal([pl.col(c).is_not_null() for c in columns])
    # equal neighbours after sorting (a wrapping difference is 0 exactly when they are equal)
    return (h.filter(present).sort().reinterpret(signed=True).diff() == 0).sum()


def _parse_checks(ds: Dataset, name: str, raw_schema: pl.Schema) -> list[_Check]:
    """``unparseable``: a date/amount/integer present in the file whose parsed value is null."""
    checks = []
    for c in TABLES[name].columns:
        if c.name in raw_schema and c.kind in ("date", "money", "number", "int"):
            nulls = pl.col(c.name).is_null()
            present = _raw_nonempty(c.name, raw_schema[c.name], nulls)
            dots = None
            if c.kind in AMBIGUOUS_KINDS and raw_schema[c.name] == pl.String:
                dots = ambiguous_amount_expr(pl.col(_RAW + c.name).filter(nulls))
                present = present & ~dots
            checks.append(
                _Check(
                    name,
                    "unparseable",
                    c.name,
                    present,
                    [c.name],
                    {"kind": c.kind},
                    kind="parse",
                    subset=nulls,
                )
            )
            if dots is not None:
                checks.append(
                    _Check(
                        name,
                        "ambiguous_amount",
                        c.name,
                        dots,
                        [c.name],
                        {"kind": c.kind},
                        kind="parse",
                        subset=nulls,
                    )
                )
    return checks


def _suite_checks(
    name: str, suite: dict[str, Any], schema: pl.Schema, raw_schema: pl.Schema
) -> list[_Check] | None:
    """The suite's expectations as checks; None when one of them is not interpreted here."""
    checks = []
    for pos, exp in enumerate(suite.get("expectations", [])):
        kwargs = exp.get("kwargs") or {}
        column = kwargs.get("column")
        rule = (exp.get("meta") or {}).get("rule", exp.get("type"))
        sev = str(exp.get("severity") or "critical").lower()
        try:
            mask, domain = expectation_mask(exp, schema)
        except Unsupported:
            return None
        except KeyError:
            mask, domain = pl.lit(None, pl.Boolean), None  # reported as GX reports it
        unique = exp.get("type") == "expect_column_values_to_be_unique" and domain is not None
        check = _Check(
            name,
            rule,
            column,
            mask,
            [column] if column else [],
            severity="error" if sev == "critical" else "warning",
            kind="suite",
            domain=domain,
            position=pos,
            expectation=exp,
            screen=_duplicates_screen([column]) if unique else None,
        )
        checks.append(check)
        if rule == "required_value" and domain is not None:
            # counted as the cells that are empty in the file (an unparseable value is
            # reported once, as unparseable)
            nulls = pl.col(column).is_null()
            empty = (
                ~_raw_nonempty(column, raw_schema[column], nulls)
                if column in raw_schema
                else nulls.filter(nulls)
            )
            checks.append(
                _Check(name, rule, column, empty, [column], kind="required_rows", subset=nulls)
            )
    return checks


def _cross_checks(ds: Dataset, name: str, known: pl.Series | None) -> list[_Check]:
    """unknown_account, end_before_start, composite duplicate_key, onboarding out_of_range."""
    checks: list[_Check] = []
    if known is not None and name != "accounts" and TABLES[name].column("account_id"):
        a = pl.col("account_id")
        checks.append(
            _Check(
                name,
                "unknown_account",
                "account_id",
                a.is_not_null() & ~a.is_in(pl.lit(known).implode()),
                ["account_id"],
                {"accounts_file": ds.sources["accounts"].file},
            )
        )
    if name == "subscriptions":
        cond = pl.col("end_date") < pl.col("start_date")
        checks.append(
            _Check(
                name, "end_before_start", "start_date, end_date", cond, ["start_date", "end_date"]
            )
        )
    key = list(TABLES[name].key)
    if len(key) >= 2:
        cond = (
            pl.all_horizontal([pl.col(k).is_not_null() for k in key])
            & pl.struct(key).is_duplicated()
        )
        checks.append(
            _Check(name, "duplicate_key", ", ".join(key), cond, key, screen=_duplicates_screen(key))
        )
    if name == "onboarding_sessions":
        n = int(ds.config.get("onboarding", {}).get("sessions", 12))
        s = pl.col("session_no")
        checks.append(
            _Check(
                name,
                "out_of_range",
                "session_no",
                (s < 1) | (s > n),
                ["session_no"],
                {"range": f"1..{n}"},
            )
        )
    return checks


def _warning_checks(ds: Dataset, name: str) -> list[_Check]:
    """currency_mismatch (an error), month_not_first_day and duplicate_rows (warnings); dates
    outside the plausible years are errors of :mod:`cs_metrics.data.plausibility`."""
    checks: list[_Check] = []
    if name == "subscriptions":
        cur = str(ds.config.get("general", {}).get("currency", "JPY"))
        cond = other_currency_expr(pl.col("currency"), cur)
        checks.append(
            _Check(
                name,
                "currency_mismatch",
                "currency",
                cond,
                ["currency"],
                {"currency": cur},
                "error",  # amounts in another currency cannot be added to the reporting one
            )
        )
    if name == "cs_costs":
        cond = pl.col("month").dt.day() != 1
        checks.append(_Check(name, "month_not_first_day", "month", cond, ["month"], {}, "warning"))
    cols = row_columns(ds, name)
    shown = [c.name for c in TABLES[name].columns if c.name in ds.raw[name].collect_schema()]
    checks.append(
        _Check(
            name,
            "duplicate_rows",
            None,
            duplicate_rows_mask(cols),
            shown,
            {},
            "warning",
            screen=duplicate_rows_screen(cols),
        )
    )
    return checks


def _aggregates(i: int, c: _Check, max_ex: int) -> list[pl.Expr]:
    mask = c.mask.fill_null(False)
    rows = pl.col(ROW) if c.subset is None else pl.col(ROW).filter(c.subset)
    out = [mask.sum().alias(f"n{i}"), rows.filter(mask).head(max_ex).implode().alias(f"r{i}")]
    if c.domain is not None:
        out.append(c.domain.sum().alias(f"d{i}"))
    return out


def _evaluate(frame: pl.DataFrame, checks: list[_Check], max_ex: int) -> list[dict[str, Any]]:
    """Offending-row count and first rows of every check, in one select over ``frame``.

    A check with a ``screen`` is evaluated only when its screen is not 0 (a second select)."""
    if not checks:
        return []
    exprs: list[pl.Expr] = []
    for i, c in enumerate(checks):
        if c.screen is None:
            exprs += _aggregates(i, c, max_ex)
            continue
        exprs.append(c.screen.alias(f"s{i}"))
        if c.domain is not None:
            exprs.append(c.domain.sum().alias(f"d{i}"))
    row = frame.lazy().select(exprs).collect().row(0, named=True)
    again = [i for i, c in enumerate(checks) if c.screen is not None and row[f"s{i}"]]
    if again:
        exprs = [e for i in again for e in _aggregates(i, checks[i], max_ex)]
        row.update(frame.lazy().select(exprs).collect().row(0, named=True))
    return [
        {
            "n": int(row.get(f"n{i}") or 0),
            "rows": list(row.get(f"r{i}") or []),
            "domain": row.get(f"d{i}"),
        }
        for i in range(len(checks))
    ]


def _success(exp: dict[str, Any], n: int, domain: int | None) -> bool:
    mostly = (exp.get("kwargs") or {}).get("mostly")
    if mostly is None or not domain:
        return n == 0
    return (domain - n) / domain >= float(mostly)


def _examples(raw: pl.DataFrame, checks: list[_Check], results: list[dict]) -> list[list]:
    """The example rows' values as written in the file (one small filter of the raw frame)."""
    wanted = sorted({r for res in results if res["n"] for r in res["rows"]})
    if not wanted:
        return [[] for _ in checks]
    sub = raw.filter(pl.col(ROW).is_in(pl.lit(pl.Series(wanted, dtype=pl.Int64)).implode()))
    text = {c: sub[c].cast(pl.String).to_list() for c in sub.columns if c != ROW}
    index = {r: k for k, r in enumerate(sub[ROW].to_list())}
    out = []
    for c, res in zip(checks, results, strict=True):
        vals = []
        for r in res["rows"]:
            k = index.get(r)
            cells = [text[v][k] if (k is not None and v in text) else None for v in c.values]
            if c.kind in ("check",):
                present = [
                    "" if x is None else x
                    for v, x in zip(c.values, cells, strict=True)
                    if v in text
                ]
                vals.append(", ".join(present) if present else None)
            else:
                vals.append(cells[0] if cells else None)
        out.append(list(zip(res["rows"], vals, strict=True)))
    return out


# ---- issues --------------------------------------------------------------------------------


def range_text(kwargs: dict[str, Any]) -> str:
    """``0..10``, ``>= 0`` or ``<= 1`` from an expectation's min_value/max_value."""
    lo, hi = kwargs.get("min_value"), kwargs.get("max_value")

    def fmt(v: Any) -> str:
        return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)

    if lo is not None and hi is not None:
        return f"{fmt(lo)}..{fmt(hi)}"
    if lo is not None:
        return f">= {fmt(lo)}"
    return f"<= {fmt(hi)}"


def suite_issue(
    ds: Dataset, result: ExpectationResult, n: int, examples: list[tuple[int, Any]]
) -> Issue:
    """The Issue of a failed expectation (both engines): message by rule, with range/set."""
    exp = result.expectation
    kwargs = exp.get("kwargs") or {}
    column = kwargs.get("column")
    rule = (exp.get("meta") or {}).get("rule", exp.get("type"))
    severity = (
        "error" if str(exp.get("severity") or "critical").lower() == "critical" else "warning"
    )
    file = ds.sources[result.table].file
    if result.exception is not None:
        text = f"{file}: {exp.get('type')}({column}): {result.exception}"
        return Issue(result.table, file, "check_failed", text, column=column, severity=severity)
    fields: dict[str, Any] = {"file": file, "column": column, "n": n}
    if rule == "out_of_range":
        fields["range"] = range_text(kwargs)
    if rule == "not_in_set":
        fields["allowed"] = ", ".join(map(str, kwargs.get("value_set", [])))
    try:
        text = message(rule, lang_of(ds.config), **fields)
    except KeyError:
        text = f"{file}: {exp.get('type')} ({column}): {n} row(s)"
    return Issue(result.table, file, rule, text, column, severity, n, examples)


def _check_issue(ds: Dataset, c: _Check, n: int, examples: list[tuple[int, Any]]) -> Issue:
    file = ds.sources[c.table].file
    text = message(c.rule, lang_of(ds.config), file=file, column=c.column, n=n, **c.fields)
    return Issue(c.table, file, c.rule, text, c.column, c.severity, n, examples)


def load_suites(ds: Dataset, directory: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The suite of every table present (``expectations/<table>.json``)."""
    from cs_metrics.data.gx import load_suite_dict

    return {name: load_suite_dict(name, directory) for name in TABLES if name in ds.frames}


def _combined(parsed: pl.DataFrame, raw: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The parsed frame with the raw ``columns`` beside it (the frames are row-aligned)."""
    extra = raw.select([pl.col(c).alias(_RAW + c) for c in columns if c in raw.columns])
    return pl.concat([parsed, extra], how="horizontal")


def _table_issues(
    ds: Dataset, name: str, suite: dict[str, Any], known: pl.Series | None, directory: Any
) -> list[Issue]:
    """Every check of one table in one pass; issues in the order of today's gate."""
    max_ex = int(ds.config.get("validation", {}).get("max_examples", 5))
    parsed, raw = pl.collect_all([ds.frames[name], ds.raw[name]])
    checks = _parse_checks(ds, name, raw.schema)
    suite_checks = _suite_checks(name, suite, parsed.schema, raw.schema)
    checks += suite_checks or []
    checks += _cross_checks(ds, name, known) + _warning_checks(ds, name)
    raw_cols = sorted({c.column for c in checks if c.kind in ("parse", "required_rows")})
    results = _evaluate(_combined(parsed, raw, raw_cols), checks, max_ex)
    examples = _examples(raw, checks, results)
    out: list[Issue] = []
    gx_issues: list[Issue] = []
    if suite_checks is None:  # an expectation not interpreted here: GX runs this table's suite
        from cs_metrics.data.gx import run_suites

        gx_issues = run_suites(ds, directory, tables=[name])
    suite_done = False
    for k, (c, res, ex) in enumerate(zip(checks, results, examples, strict=True)):
        if c.kind != "parse" and not suite_done:
            out += gx_issues
            suite_done = True
        if c.kind == "required_rows":
            continue
        if c.kind == "suite":
            result = _suite_result(c, res, max_ex)
            if result.success:
                continue
            n, exs = res["n"], ex
            if c.rule == "required_value" and result.exception is None:
                n, exs = results[k + 1]["n"], examples[k + 1]
                if n == 0:  # every null is an unparseable value, reported as unparseable
                    continue
            out.append(suite_issue(ds, result, n, exs))
        elif res["n"]:
            out.append(_check_issue(ds, c, res["n"], ex))
    if not suite_done:
        out += gx_issues
    return out


def _suite_result(c: _Check, res: dict[str, Any], max_ex: int) -> ExpectationResult:
    exp = c.expectation or {}
    if c.domain is None:
        column = (exp.get("kwargs") or {}).get("column")
        return ExpectationResult(
            c.table,
            c.position,
            exp,
            False,
            exception=f'Error: The column "{column}" in BatchData does not exist.',
        )
    return ExpectationResult(
        c.table,
        c.position,
        exp,
        _success(exp, res["n"], res["domain"]),
        res["n"],
        tuple(sorted(res["rows"])[:max_ex]),
    )


def polars_suite_results(
    ds: Dataset, directory: str | Path | None = None
) -> list[ExpectationResult]:
    """Every expectation of every table's suite, evaluated here (for the GX agreement test)."""
    max_ex = int(ds.config.get("validation", {}).get("max_examples", 5))
    out = []
    for name, suite in load_suites(ds, directory).items():
        parsed, raw = pl.collect_all([ds.frames[name], ds.raw[name]])
        checks = _suite_checks(name, suite, parsed.schema, raw.schema) or []
        checks = [c for c in checks if c.kind == "suite"]
        results = _evaluate(parsed, checks, max_ex)
        out += [_suite_result(c, r, max_ex) for c, r in zip(checks, results, strict=True)]
    return out


def evaluate_gate(ds: Dataset, expectations: str | Path | None = None) -> list[Issue]:
    """All checks after loading (parse, suites, cross-table, warnings, loader warnings).

    ``ds`` should hold materialised frames (the gate collects each table once). Returns the
    issues sorted by table (in schema order), each table's in the order of the checks above.
    """
    suites = load_suites(ds, expectations)
    known = None
    if "accounts" in ds.frames:
        known = ds.frames["accounts"].select(pl.col("account_id").drop_nulls().unique()).collect()
        known = known.to_series()
    issues: list[Issue] = []
    for name in TABLES:
        if name in ds.frames:
            issues += _table_issues(ds, name, suites[name], known, expectations)
    from cs_metrics.data.plausibility import plausibility_issues

    issues += plausibility_issues(ds)  # bounds as errors, overlap/invisible warnings
    issues += list(ds.warnings)
    order = {name: i for i, name in enumerate(TABLES)}
    issues.sort(key=lambda i: order.get(i.table, -1))
    return issues
