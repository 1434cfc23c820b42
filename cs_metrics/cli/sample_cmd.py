"""``cs-metrics sample``: write the deterministic sample dataset."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="write the deterministic sample dataset (CSV, all 8 tables)",
        description="Generate sample data shaped like a Japanese B2B SaaS CS team. "
        "The same arguments always give byte-identical files.",
        epilog="examples:\n  cs-metrics sample --out data/sample\n"
        "  cs-metrics sample --out /tmp/big --accounts 5000 --months 60 --seed 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--seed", type=int, default=24, help="random seed (default 24: data/sample)")
    p.add_argument("--accounts", type=int, default=150, help="number of accounts (default 150)")
    p.add_argument("--months", type=int, default=40, help="months of history (default 40)")
    p.add_argument(
        "--end", default="2026-09", metavar="YYYY-MM", help="last month (default 2026-09)"
    )
    p.add_argument("--force", action="store_true", help="overwrite a non-empty folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from cs_metrics.data.sample import generate_sample
    from cs_metrics.periods import parse_month

    parse_month(args.end)
    if args.accounts < 1 or args.months < 3:
        print("error: --accounts must be >= 1 and --months >= 3", file=sys.stderr)
        return 2
    try:
        written = generate_sample(
            args.out,
            seed=args.seed,
            accounts=args.accounts,
            months=args.months,
            end=args.end,
            force=args.force,
        )
    except FileExistsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for name, path in written.items():
        print(f"{name:20s} {path}")
    return 0
