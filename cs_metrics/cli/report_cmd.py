"""``cs-metrics report``: render the monthly report, the churn-target review or the explore
notebook into reports/YYYY-MM/ (validated first, published atomically)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="render a report (monthly | review | explore | backfill) into reports/YYYY-MM/",
        description="Validate the data, execute the notebook with papermill, export offline HTML "
        "without code, and publish reports/YYYY-MM/ atomically (HTML, executed notebook, "
        "metrics.json, Excel CSVs); reports/index.html lists every month.",
        epilog="examples:\n  cs-metrics report monthly --data data/sample\n"
        "  cs-metrics report review --data data/sample --as-of 2026-09 -p save_campaign_end_pct 0.5\n"
        "  cs-metrics report backfill --data data/sample --from 2025-10 --to 2026-09",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "kind",
        choices=["monthly", "review", "explore", "backfill"],
        help="monthly KPI report, churn-target review, exploration notebook, or backfill "
        "(one report per month of a range)",
    )
    p.add_argument(
        "--data", required=True, metavar="DIR", help="dataset folder (one file per table)"
    )
    p.add_argument("--as-of", metavar="YYYY-MM", help="default: latest complete month in the data")
    p.add_argument("--from", dest="start", metavar="YYYY-MM", help="backfill: first month")
    p.add_argument("--to", dest="end", metavar="YYYY-MM", help="backfill: last month")
    p.add_argument(
        "--report",
        choices=["monthly", "review", "explore"],
        default="monthly",
        help="backfill: which report (default monthly)",
    )
    p.add_argument(
        "--out", default="reports", metavar="DIR", help="output folder (default reports/)"
    )
    p.add_argument("--lang", choices=["ja", "en"], help="report language (default from config)")
    p.add_argument("--config", metavar="FILE", help="configuration TOML merged over the defaults")
    p.add_argument("--mapping", metavar="FILE", help="column-mapping TOML for the export's columns")
    p.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="notebook parameter (repeatable)",
    )
    p.add_argument("--pdf", action="store_true", help="also print a PDF with headless Chromium")
    p.set_defaults(func=run)


def _value(text: str):
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    from cs_metrics.errors import UsageError
    from cs_metrics.reporting.run import backfill, render_report

    params = {name: _value(v) for name, v in args.param}
    common = dict(
        out_dir=args.out,
        lang=args.lang,
        config_path=args.config,
        mapping_path=args.mapping,
        params=params,
        pdf=args.pdf,
    )
    if args.kind == "backfill":
        if not (args.start and args.end):
            raise UsageError("option_required", option="--from YYYY-MM --to YYYY-MM")
        for path in backfill(args.report, args.data, args.start, args.end, **common):
            print(path.resolve().as_uri())
        return 0
    path = render_report(
        args.kind,
        args.data,
        args.as_of,
        progress=lambda m: print(f"… {m}", file=sys.stderr),
        **common,
    )
    print(path.resolve().as_uri())
    return 0
