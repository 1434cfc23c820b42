"""Shared command-line pieces: data arguments, the validation gate, output formats."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from cs_metrics.config import ConfigError, load_config
from cs_metrics.data.issues import DataError
from cs_metrics.periods import PeriodError


def add_data_args(p: argparse.ArgumentParser, as_of: bool = True, fmt: bool = True) -> None:
    """--data, --as-of, --config, --mapping, --format, --lang."""
    p.add_argument(
        "--data", required=True, metavar="DIR", help="dataset folder (one file per table)"
    )
    if as_of:
        p.add_argument(
            "--as-of",
            metavar="YYYY-MM",
            help="month to report (default: the latest complete month in the data)",
        )
    p.add_argument("--config", metavar="FILE", help="configuration TOML merged over the defaults")
    p.add_argument("--mapping", metavar="FILE", help="column-mapping TOML for the export's columns")
    if fmt:
        p.add_argument("--format", choices=["table", "json"], default="table", help="output format")
    p.add_argument("--lang", choices=["ja", "en"], help="label language (default from config: ja)")


def config_from_args(args: argparse.Namespace) -> dict[str, Any]:
    cfg = load_config(getattr(args, "config", None))
    if getattr(args, "lang", None):
        cfg["general"]["lang"] = args.lang
    return cfg


def open_validated(args: argparse.Namespace):
    """Load and validate ``args.data``; raise DataError (with the report) when invalid.

    Returns (dataset, config, as_of_date, report).
    """
    from cs_metrics.data.validate import validate_dataset
    from cs_metrics.periods import parse_month

    cfg = config_from_args(args)
    report = validate_dataset(args.data, mapping=getattr(args, "mapping", None), config=cfg)
    if not report.ok:
        raise DataError(report.errors, report=report)
    ds = report.dataset
    as_of_arg = getattr(args, "as_of", None)
    as_of = parse_month(as_of_arg) if as_of_arg else ds.default_as_of()
    return ds, cfg, as_of, report


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False) + "\n")


def run_guarded(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run a command; data, config and period errors become a message and exit code 2."""
    lang = getattr(args, "lang", None) or "ja"
    if not getattr(args, "lang", None) and getattr(args, "config", None):
        try:
            lang = load_config(args.config)["general"]["lang"]
        except ConfigError:
            pass
    try:
        rc = func(args)
        return int(rc or 0)
    except DataError as e:
        from cs_metrics.data.validate import format_issues

        print(format_issues(e.issues, lang=lang, report=e.report), file=sys.stderr)
        return 2
    except (ConfigError, PeriodError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:  # an output path that cannot be written, a file that vanished
        print(f"error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
