"""Per-table value rules as Great Expectations suites (``expectations/<table>.json``).

The suites are generated from the one schema (:mod:`cs_metrics.data.schema`) plus the value rules
below by :func:`generate` (``scripts/make_expectations.py``); a test keeps the committed JSON in
sync. :func:`run_suites` runs each table's suite once on ``frame.to_pandas()`` through an ephemeral
GX context (no files, no network, no progress bars) and maps every failed expectation to an
:class:`~cs_metrics.data.issues.Issue` with the file, column, rule, number of rows and up to
``validation.max_examples`` example rows as in the file, with their values as written there.

GX is imported lazily, once per process (a cold import costs seconds); pandas is used only here.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.data.gate import ExpectationResult, suite_issue
from cs_metrics.data.issues import Issue
from cs_metrics.data.load import ROW, empty_required_rows
from cs_metrics.data.schema import NULLABLE_REQUIRED, ONBOARDING_STATUSES, TABLES, Table

__all__ = [
    "EXPECTATIONS_DIR",
    "VALUE_RULES",
    "build_data_docs",
    "build_suite_dict",
    "generate",
    "gx_state",
    "gx_suite_results",
    "load_suite_dict",
    "run_suites",
    "suite_json",
]

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
SUITE_PREFIX = "cs_metrics."

# Value rules beyond what the schema says by itself: (table, column) -> [(type, kwargs, rule)].
# Money columns get ">= 0" from their kind; required columns get "not null"; single-column keys
# get "unique". Rules that need the configuration (onboarding session_no <= N) or other tables
# live in cs_metrics.data.validate.
VALUE_RULES: dict[tuple[str, str], list[tuple[str, dict[str, Any], str]]] = {
    ("subscriptions", "billing_interval_months"): [
        ("expect_column_values_to_be_between", {"min_value": 1}, "out_of_range"),
    ],
    ("usage_weekly", "logins"): [
        ("expect_column_values_to_be_between", {"min_value": 0}, "negative_value"),
    ],
    ("usage_weekly", "deliveries"): [
        ("expect_column_values_to_be_between", {"min_value": 0}, "negative_value"),
    ],
    ("usage_weekly", "outcome_rate"): [
        ("expect_column_values_to_be_between", {"min_value": 0, "max_value": 1}, "out_of_range"),
    ],
    ("nps_responses", "score"): [
        ("expect_column_values_to_be_between", {"min_value": 0, "max_value": 10}, "out_of_range"),
    ],
    ("onboarding_sessions", "status"): [
        (
            "expect_column_values_to_be_in_set",
            {"value_set": list(ONBOARDING_STATUSES)},
            "not_in_set",
        ),
    ],
}


# ---- suites --------------------------------------------------------------------------------


def _expectation(type_: str, kwargs: dict[str, Any], rule: str) -> dict[str, Any]:
    return {"type": type_, "kwargs": kwargs, "meta": {"rule": rule}, "severity": "critical"}


def build_suite_dict(table: Table | str) -> dict[str, Any]:
    """The GX suite of one table as a JSON-ready dict (``gx.ExpectationSuite(**d)`` reads it)."""
    t = TABLES[table] if isinstance(table, str) else table
    exps: list[dict[str, Any]] = []
    for c in t.columns:
        if c.required and (t.name, c.name) not in NULLABLE_REQUIRED:
            exps.append(
                _expectation(
                    "expect_column_values_to_not_be_null", {"column": c.name}, "required_value"
                )
            )
    if len(t.key) == 1:
        exps.append(
            _expectation("expect_column_values_to_be_unique", {"column": t.key[0]}, "duplicate_key")
        )
    for c in t.columns:
        if c.kind == "money":
            exps.append(
                _expectation(
                    "expect_column_values_to_be_between",
                    {"column": c.name, "min_value": 0},
                    "negative_value",
                )
            )
        for type_, kwargs, rule in VALUE_RULES.get((t.name, c.name), []):
            exps.append(_expectation(type_, {"column": c.name, **kwargs}, rule))
    return {
        "name": SUITE_PREFIX + t.name,
        "expectations": exps,
        "meta": {
            "table": t.name,
            "generated_by": "scripts/make_expectations.py (from cs_metrics/data/schema.py and "
            "cs_metrics/data/gx.py VALUE_RULES); do not edit by hand",
        },
    }


def suite_json(table: Table | str) -> str:
    """The committed text of ``expectations/<table>.json``."""
    return json.dumps(build_suite_dict(table), ensure_ascii=False, indent=2) + "\n"


def generate(out_dir: str | Path = EXPECTATIONS_DIR) -> list[Path]:
    """Write one suite per table to ``out_dir/<table>.json``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TABLES:
        p = out / f"{name}.json"
        p.write_text(suite_json(name), encoding="utf-8")
        paths.append(p)
    return paths


def load_suite_dict(table: str, directory: str | Path | None = None) -> dict[str, Any]:
    """The suite of ``table`` from ``expectations/`` (generated from the schema when absent, e.g.
    in an installed wheel without the repository's ``expectations/`` folder)."""
    p = Path(directory or EXPECTATIONS_DIR) / f"{table}.json"
    if p.is_file():
        return json.loads(p.read_text("utf-8"))
    return build_suite_dict(table)


# ---- running -------------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


@contextlib.contextmanager
def _without_pyspark():
    """Hide an installed pyspark from GX's import (we validate through pandas only).

    GX imports pyspark when it is importable: with the ``spark`` extra installed that would
    load Spark's Python modules (and print their pandas warnings) on every polars run.
    """
    if "pyspark" in sys.modules:
        yield
        return
    sys.modules["pyspark"] = None  # type: ignore[assignment]  # import pyspark -> ImportError
    try:
        yield
    finally:
        if sys.modules.get("pyspark", 0) is None:
            del sys.modules["pyspark"]


def gx_state():
    """Import GX once per process, quietly (no analytics, no progress bars)."""
    if "gx" not in _STATE:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import logging
        import warnings

        with warnings.catch_warnings(), _without_pyspark():
            # GX's own DeprecationWarnings (sre_constants, ...)
            warnings.simplefilter("ignore", DeprecationWarning)
            import great_expectations as gx
            from great_expectations.data_context.types.base import (
                DataContextConfig,
                InMemoryStoreBackendDefaults,
                ProgressBarsConfig,
            )

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            analytics_enabled=False,
        )
        ctx = gx.get_context(mode="ephemeral", project_config=config)
        source = ctx.data_sources.add_pandas("cs_metrics")
        _STATE.update(gx=gx, ctx=ctx, source=source, batches={}, suites={})
    return _STATE


def _batch_definition(table: str):
    st = gx_state()
    if table not in st["batches"]:
        asset = st["source"].add_dataframe_asset(table)
        st["batches"][table] = asset.add_batch_definition_whole_dataframe(table)
    return st["batches"][table]


def _suite(table: str, directory: str | Path | None = None):
    st = gx_state()
    key = (table, str(directory or EXPECTATIONS_DIR))
    if key not in st["suites"]:
        d = dict(load_suite_dict(table, directory))
        d["name"] = f"{d.get('name', table)}#{len(st['suites'])}"
        st["suites"][key] = st["ctx"].suites.add(st["gx"].ExpectationSuite(**d))
    return st["suites"][key]


def _severity(cfg: Any) -> str:
    """GX "critical" -> "critical" (blocks metrics); "warning"/"info" -> "warning" (shown only)."""
    sev = getattr(cfg, "severity", None)
    return str(getattr(sev, "value", sev) or "critical").lower()


def _raw_values(ds: Dataset, table: str, column: str, rows: list[int]) -> list[Any]:
    """Values of ``column`` as written in the file at the given row numbers."""
    if not rows:
        return []
    df = (
        ds.raw[table]
        .filter(pl.col(ROW).is_in(rows))
        .select(ROW, pl.col(column).cast(pl.String).alias("v"))
        .collect()
    )
    by_row = dict(zip(df[ROW].to_list(), df["v"].to_list(), strict=True))
    return [by_row.get(r) for r in rows]


def _exception_message(info: Any) -> str | None:
    """The first exception message of a GX result (flat, or nested per metric in GX 1.x)."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    for v in info.values():
        if isinstance(v, dict) and v.get("raised_exception"):
            return str(v.get("exception_message"))
    return None


def gx_suite_results(
    ds: Dataset, directory: str | Path | None = None, tables: list[str] | None = None
) -> list[ExpectationResult]:
    """Run each table's suite once in GX (on ``frame.to_pandas()``); one result per
    expectation, in suite order (GX returns them out of order)."""
    max_ex = int(ds.config["validation"]["max_examples"])
    names = [t for t in TABLES if t in ds.frames and (tables is None or t in tables)]
    out: list[ExpectationResult] = []
    for name in names:
        suite = _suite(name, directory)
        spec = load_suite_dict(name, directory)["expectations"]
        order = {e.id: i for i, e in enumerate(suite.expectations)}
        used = {getattr(e, "column", None) for e in suite.expectations}
        columns = [ROW] + sorted(c for c in used if c)
        columns = [c for c in columns if c in ds.frames[name].collect_schema()]
        pdf = ds.frames[name].select(columns).collect().to_pandas()
        batch = _batch_definition(name).get_batch(batch_parameters={"dataframe": pdf})
        result = batch.validate(
            suite,
            result_format={
                "result_format": "SUMMARY",
                "partial_unexpected_count": max_ex,
                "unexpected_index_column_names": [ROW],
            },
        )
        found = []
        for r in result.results:
            cfg = r.expectation_config
            pos = order.get(cfg.id, len(order))
            exp = dict(spec[pos]) if pos < len(spec) else {"type": cfg.type, "kwargs": cfg.kwargs}
            exp["severity"] = _severity(cfg)
            exception = _exception_message(r.exception_info)
            if exception is not None:
                found.append(ExpectationResult(name, pos, exp, False, exception=exception))
                continue
            res = r.result or {}
            rows = [int(d[ROW]) for d in res.get("partial_unexpected_index_list") or []]
            found.append(
                ExpectationResult(
                    name,
                    pos,
                    exp,
                    bool(r.success),
                    int(res.get("unexpected_count") or 0),
                    tuple(sorted(rows)[:max_ex]),
                )
            )
        out += sorted(found, key=lambda x: x.position)
    return out


def run_suites(
    ds: Dataset, directory: str | Path | None = None, tables: list[str] | None = None
) -> list[Issue]:
    """Run each table's suite once in GX; every failed expectation becomes an Issue.

    Parameters
    ----------
    ds
        A loaded dataset (its frames carry ``_row``, the row number as in the file).
    directory
        Folder of the suites (default: the repository's ``expectations/``).
    tables
        Only these tables (default: every table present).

    Returns
    -------
    list of Issue
        In table order, then suite order. ``required_value`` counts only empty cells: a value
        that is present but unparseable is reported once, by
        :func:`cs_metrics.data.load.parse_issues`.
    """
    max_ex = int(ds.config["validation"]["max_examples"])
    out: list[Issue] = []
    for r in gx_suite_results(ds, directory, tables):
        if r.success:
            continue
        column = (r.expectation.get("kwargs") or {}).get("column")
        rule = (r.expectation.get("meta") or {}).get("rule", r.expectation.get("type"))
        if r.exception is not None:
            out.append(suite_issue(ds, r, 0, []))
            continue
        if rule == "required_value":
            empty = (
                empty_required_rows(ds.raw[r.table], column)
                .select(
                    pl.len().alias("n"),
                    pl.col(ROW).head(max_ex).implode().alias("rows"),
                    pl.col("__raw").head(max_ex).implode().alias("vals"),
                )
                .collect()
            )
            n = int(empty["n"][0])
            if n == 0:  # every null is an unparseable value, reported by parse_issues
                continue
            examples = list(
                zip(empty["rows"][0].to_list(), empty["vals"][0].to_list(), strict=True)
            )
        else:
            n = r.unexpected_count
            examples = list(
                zip(r.rows, _raw_values(ds, r.table, column, list(r.rows)), strict=True)
            )
        out.append(suite_issue(ds, r, n, examples))
    return out


def build_data_docs(ds: Dataset, out_dir: str | Path, directory: str | Path | None = None) -> Path:
    """Validate every table with GX and write Great Expectations Data Docs to ``out_dir``.

    The site (``index.html``, one page per suite and per validation run) is GX's own HTML: it
    loads its stylesheets and scripts from the internet when opened. Returns the index path.
    """
    st = gx_state()
    gx, ctx = st["gx"], st["ctx"]
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # the context lives as long as the process: earlier runs' results would become pages too
    store = ctx.validation_results_store
    for key in store.list_keys():
        store.remove_key(key)
    site = f"cs_metrics_docs_{len(st.setdefault('sites', []))}"
    st["sites"].append(site)
    ctx.add_data_docs_site(
        site_name=site,
        site_config={
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(out),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    for name in (t for t in TABLES if t in ds.frames):
        suite = _suite(name, directory)
        columns = [ROW] + sorted(
            {c for e in suite.expectations if (c := getattr(e, "column", None))}
        )
        columns = [c for c in columns if c in ds.frames[name].collect_schema()]
        vd = ctx.validation_definitions.add(
            gx.ValidationDefinition(
                name=f"{site}.{name}", data=_batch_definition(name), suite=suite
            )
        )
        pdf = ds.frames[name].select(columns).collect().to_pandas()
        vd.run(batch_parameters={"dataframe": pdf}, result_format="SUMMARY")
    ctx.build_data_docs(site_names=[site])
    return out / "index.html"
