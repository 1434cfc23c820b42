"""Write the Great Expectations suites ``expectations/<table>.json`` from the schema.

Run after changing ``cs_metrics/data/schema.py`` or ``cs_metrics/data/gx.py`` (VALUE_RULES):

    .venv/bin/python scripts/make_expectations.py [--check]

``--check`` writes nothing and exits 1 when a committed suite differs (tests/test_validate.py
runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cs_metrics.data.gx import EXPECTATIONS_DIR, generate, suite_json
from cs_metrics.data.schema import TABLES


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=EXPECTATIONS_DIR, help="output folder")
    p.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = p.parse_args(argv)
    if args.check:
        stale = [
            name
            for name in TABLES
            if not (args.out / f"{name}.json").is_file()
            or (args.out / f"{name}.json").read_text("utf-8") != suite_json(name)
        ]
        for name in stale:
            print(f"out of date: {args.out / (name + '.json')}", file=sys.stderr)
        return 1 if stale else 0
    for path in generate(args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
