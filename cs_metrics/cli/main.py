"""The ``cs-metrics`` command line. Each subcommand lives in its own module in this package and
exposes ``register(subparsers)``; ``main`` turns data and configuration problems into a readable
report and exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import importlib
import sys

from cs_metrics import __version__

__all__ = ["build_parser", "main"]

COMMAND_MODULES = [
    "validate_cmd",
    "sample_cmd",
    "kpis_cmd",
    "load_cmd",
    "ltv_cmd",
    "scenario_cmd",
    "health_cmd",
    "backtest_cmd",
    "notify_cmd",
    "report_cmd",
]

EPILOG = """examples:
  cs-metrics sample --out data/sample                 # regenerate the bundled sample
  cs-metrics validate data/sample                     # the validation gate (exit 2 on errors)
  cs-metrics kpis --data data/sample --as-of 2026-09  # churn, GRR/NRR, 2-year churn (table)
  cs-metrics kpis --data data/sample --format json    # the same as one JSON object
  cs-metrics load --data exports/x --out lake/x       # canonical Parquet (--engine spark)
  cs-metrics ltv --data data/sample                   # LTV summary
  cs-metrics scenario --data data/sample --save-reason-pct 0.3   # what-if churn and NRR
  cs-metrics risk --data data/sample                  # risk list per CSM
  cs-metrics backtest --data data/sample              # how well each signal predicted churn
  cs-metrics report monthly --data data/sample        # the monthly KPI report (HTML)

Data problems are shown as a table (file, column, rows) and exit with status 2.
"""


def build_parser() -> argparse.ArgumentParser:
    from cs_metrics.cli.usage import UsageParser

    parser = UsageParser(
        prog="cs-metrics",
        description="Customer-success metrics for B2B SaaS: churn, NRR/GRR, LTV, health, risk, NPS.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cs-metrics {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"cs_metrics.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"cs_metrics.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    import argparse

    from cs_metrics.cli.common import run_guarded
    from cs_metrics.cli.usage import lang_from_argv

    def parse(_: argparse.Namespace) -> argparse.Namespace:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # reported with the usage of the command they were given to
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            sub.choices.get(getattr(args, "command", None), parser).error(
                f"unrecognized arguments: {' '.join(extra)}"
            )
        if not getattr(args, "func", None):
            parser.print_help()
        return args

    # Parsing (and --help) runs guarded too: a bug there is "internal error", never a traceback;
    # a usage error is a message in the language asked for (--lang anywhere on the line), exit 2.
    # argparse's own exit (--help, --version: 0) passes through.
    parsed: list[argparse.Namespace] = []
    pre = argparse.Namespace(lang=lang_from_argv(sys.argv[1:] if argv is None else argv))
    rc = run_guarded(lambda ns: parsed.append(parse(ns)), pre)
    if rc or not getattr(parsed[0], "func", None):
        return rc
    return run_guarded(parsed[0].func, parsed[0])


if __name__ == "__main__":
    sys.exit(main())
