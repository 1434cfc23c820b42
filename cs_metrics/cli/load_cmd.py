"""``cs-metrics load --data DIR --out OUTDIR``: validated canonical tables as a Parquet folder.

The folder is what ``--engine spark`` reads without the driver (docs/scale.md): one
``<table>.parquet`` per table, canonical column names and types, the loader's parsing done
(encodings, dates, ¥ amounts, Salesforce IDs, reason categories). Written into a temporary
folder beside OUTDIR and renamed into place; a non-empty OUTDIR is refused.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from cs_metrics.cli.common import add_data_args, open_validated

__all__ = ["register", "run"]

EPILOG = """examples:
  cs-metrics load --data exports/2026-10 --out lake/canonical
  cs-metrics kpis --data lake/canonical --engine spark --format json

Exit status: 0 written; 2 when the data is invalid (the validation report) or OUTDIR is not empty.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "load",
        help="write the validated dataset as canonical Parquet (input for --engine spark)",
        description="Load and validate a dataset folder, then write its canonical tables as "
        "Parquet (one file per table) into a new folder.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_args(p, as_of=False, fmt=False)
    p.add_argument("--out", required=True, metavar="OUTDIR", help="new or empty folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cs_metrics.data.load import ROW
    from cs_metrics.errors import OutputError
    from cs_metrics.fsutil import make_owned_temp, publish_new_dir, remove_stale_temp_dirs

    out = Path(os.path.abspath(args.out))  # "." has a name and a parent then
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise OutputError("output_folder_not_empty", path=str(out))
    ds, _, _, _ = open_validated(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{out.name}.cs-metrics-load-"
    remove_stale_temp_dirs(out.parent, prefix)
    tmp = make_owned_temp(out.parent, prefix)  # mode from the umask, like a mkdir
    try:
        for name, frame in ds.frames.items():
            cols = [c for c in frame.collect_schema().names() if c != ROW]
            frame.select(cols).sink_parquet(tmp / f"{name}.parquet")
        publish_new_dir(tmp, out)  # a new folder, or the files moved into the empty one
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"{out}: {', '.join(sorted(f'{n}.parquet' for n in ds.frames))}")
    return 0
