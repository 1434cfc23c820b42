"""``cs-metrics validate DATA_DIR``: the validation gate as a readable report (or JSON)."""

from __future__ import annotations

import argparse
import sys

from cs_metrics.cli.common import config_from_args, print_json

__all__ = ["register", "run"]

EPILOG = """examples:
  cs-metrics validate data/sample
  cs-metrics validate exports/2026-10 --mapping salesforce.toml
  cs-metrics validate exports/2026-10 --lang en --format json
  cs-metrics validate data/sample --engine gx          # the suites run by Great Expectations
  cs-metrics validate data/sample --data-docs gx-docs  # and GX's Data Docs in gx-docs/

Exit status: 0 when the data can be used (warnings are shown), 2 on errors.
Every finding names the file, the column, the rule and up to 5 rows as numbered in the file
(CSV header = row 1) with their values. Rules and messages: docs/mapping.md.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check a dataset folder (exit 2 on errors)",
        description="Validate a dataset folder: files, encodings, columns, values (Great "
        "Expectations suites in expectations/) and cross-table keys.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", metavar="DATA_DIR", help="dataset folder (one file per table)")
    p.add_argument("--mapping", metavar="FILE", help="column-mapping TOML (docs/mapping.md)")
    p.add_argument("--config", metavar="FILE", help="configuration TOML merged over the defaults")
    p.add_argument(
        "--lang", choices=["ja", "en"], help="message language (default from config: ja)"
    )
    p.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    p.add_argument(
        "--engine",
        choices=["polars", "gx"],
        default="polars",
        help="polars (default): the suites interpreted in polars, one pass per table; gx: the "
        "suites run by Great Expectations on a pandas copy (slow, the reference)",
    )
    p.add_argument(
        "--data-docs",
        metavar="OUT_DIR",
        help="also run the suites in Great Expectations and write its Data Docs (HTML) there: "
        "a new or empty folder, or one an earlier --data-docs run wrote (nothing of yours is "
        "overwritten)",
    )
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="validate again even if identical inputs passed before (the result of a clean "
        "dataset is cached in $CS_METRICS_CACHE_DIR or ~/.cache/cs-metrics)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cs_metrics.data.validate import validate_dataset

    cfg = config_from_args(args)
    if getattr(args, "data_docs", None):
        from cs_metrics.datadocs import check_data_docs_dir

        check_data_docs_dir(args.data_docs)  # refused before anything runs
    report = validate_dataset(
        args.data,
        mapping=args.mapping,
        config=cfg,
        engine=getattr(args, "engine", "polars"),
        cache=not getattr(args, "no_cache", False),
    )
    if getattr(args, "data_docs", None) and report.dataset is not None:
        from cs_metrics.datadocs import publish_data_docs

        index = publish_data_docs(report.dataset, args.data_docs)
        print(f"Data Docs: {index}", file=sys.stderr)
    if args.format == "json":
        print_json(report.to_dict())
    else:
        print(report.format(lang=cfg["general"]["lang"]))
    return 0 if report.ok else 2
