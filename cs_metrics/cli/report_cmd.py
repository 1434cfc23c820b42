"""``cs-metrics report``: render the monthly report, the churn-target review or the explore
notebook into reports/YYYY-MM/ (validated first, published atomically)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["BACKFILL_ONLY", "SINGLE_MONTH_ONLY", "check_options", "register", "run"]


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
    p.add_argument(
        "--as-of",
        metavar="YYYY-MM",
        help="monthly, review, explore: the month (default: latest complete month in the data)",
    )
    p.add_argument("--from", dest="start", metavar="YYYY-MM", help="backfill only: first month")
    p.add_argument("--to", dest="end", metavar="YYYY-MM", help="backfill only: last month")
    p.add_argument(
        "--report",
        choices=["monthly", "review", "explore"],
        help="backfill only: which report (default monthly)",
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
    p.add_argument(
        "--force",
        action="store_true",
        help="publish even where a file the report writes was changed since cs-metrics wrote it "
        "(or was not written by it): your file is kept beside the new one as <name>.orig.<ext>",
    )
    p.set_defaults(func=run)


def _value(text: str):
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


BACKFILL_ONLY = (("start", "--from"), ("end", "--to"), ("report", "--report"))
SINGLE_MONTH_ONLY = (("as_of", "--as-of"),)


def check_options(args: argparse.Namespace) -> None:
    """Refuse an option of another kind of report instead of ignoring it (``report monthly
    --from 2025-01 --to 2025-03`` is not a backfill, ``report backfill --as-of`` picks no month).

    Raises
    ------
    UsageError
        ``report_option_backfill_only`` or ``report_option_not_for_backfill`` (exit 2).
    """
    from cs_metrics.errors import UsageError

    if args.kind == "backfill":
        for attr, option in SINGLE_MONTH_ONLY:
            if getattr(args, attr, None) is not None:
                raise UsageError("report_option_not_for_backfill", option=option)
        return
    for attr, option in BACKFILL_ONLY:
        if getattr(args, attr, None) is not None:
            raise UsageError("report_option_backfill_only", option=option, kind=args.kind)


def run(args: argparse.Namespace) -> int:
    from cs_metrics.errors import UsageError
    from cs_metrics.reporting.run import backfill, render_report

    check_options(args)
    params = {name: _value(v) for name, v in args.param}
    common = dict(
        out_dir=args.out,
        lang=args.lang,
        config_path=args.config,
        mapping_path=args.mapping,
        params=params,
        pdf=args.pdf,
        force=args.force,
    )
    if args.kind == "backfill":
        if not (args.start and args.end):
            raise UsageError("option_required", option="--from YYYY-MM --to YYYY-MM")
        for path in backfill(args.report or "monthly", args.data, args.start, args.end, **common):
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
