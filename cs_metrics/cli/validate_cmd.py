"""``cs-metrics validate DATA_DIR``: the validation gate as a readable report."""

from __future__ import annotations

import argparse

from cs_metrics.cli.common import config_from_args, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "validate",
        help="check a dataset folder (exit 2 on errors)",
        description="Validate a dataset folder: files, columns, values and cross-table keys. "
        "Exit 0 when clean (warnings are shown), 2 on errors.",
        epilog="example: cs-metrics validate data/sample --lang en",
    )
    p.add_argument("data", metavar="DATA_DIR")
    p.add_argument("--mapping", metavar="FILE", help="column-mapping TOML")
    p.add_argument("--config", metavar="FILE", help="configuration TOML")
    p.add_argument("--lang", choices=["ja", "en"])
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cs_metrics.data.validate import validate_dataset

    cfg = config_from_args(args)
    report = validate_dataset(args.data, mapping=args.mapping, config=cfg)
    if args.format == "json":
        print_json(report.to_dict())
    else:
        print(report.format(lang=cfg["general"]["lang"]))
    return 0 if report.ok else 2
