"""``cs-metrics sample``: write the deterministic sample dataset."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


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
    p.add_argument(
        "--force",
        action="store_true",
        help="write into a folder that holds other files (they stay; a file with a table's "
        "name that this program did not write is kept as <name>.orig)",
    )
    p.set_defaults(func=run)


# Bounds of the generator's arguments: a sample, not a load test (benchmarks/generate.py is).
MAX_ACCOUNTS = 1_000_000
MAX_MONTHS = 600


def run(args: argparse.Namespace) -> int:
    from cs_metrics.data.sample import generate_sample
    from cs_metrics.errors import UsageError
    from cs_metrics.periods import Month

    end = Month.parse(args.end)
    bounds = {
        "--end": (end.year, 1990, 2100),  # the default plausible years of the gate
        "--accounts": (args.accounts, 1, MAX_ACCOUNTS),
        "--months": (args.months, 3, MAX_MONTHS),
        "--seed": (args.seed, 0, 2**63 - 1),
    }
    for option, (value, lo, hi) in bounds.items():
        if not lo <= value <= hi:
            raise UsageError("option_range", option=option, value=value, lo=lo, hi=hi)
    most = end - Month.of(1990, 1) + 1  # the first month must be in 1990 or later too
    if args.months > most:
        raise UsageError("option_range", option="--months", value=args.months, lo=3, hi=most)
    written = generate_sample(
        args.out,
        seed=args.seed,
        accounts=args.accounts,
        months=args.months,
        end=args.end,
        force=args.force,
    )
    for name, path in written.items():
        print(f"{name:20s} {path}")
    return 0
