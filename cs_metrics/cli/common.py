"""Shared command-line pieces: data arguments, the validation gate, output formats."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cs_metrics.config import load_config
from cs_metrics.errors import CsMetricsError, DataError, OutputError, redact
from cs_metrics.messages import message

__all__ = [
    "add_data_args",
    "add_force_arg",
    "check_output_path",
    "config_from_args",
    "log_dir",
    "open_validated",
    "print_json",
    "run_guarded",
    "write_error_log",
    "write_output_frame",
]


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
        cfg = cfg.updated({"general": {"lang": args.lang}})
    return cfg


def open_validated(args: argparse.Namespace):
    """Load and validate ``args.data``; raise DataError (with the report) when invalid.

    Returns (dataset, config, as_of, report); ``as_of`` is a :class:`~cs_metrics.periods.Month`
    checked against the data's range (``--as-of`` or the default month, SPEC §3).
    """
    from cs_metrics.data.validate import validate_dataset

    cfg = config_from_args(args)
    report = validate_dataset(args.data, mapping=getattr(args, "mapping", None), config=cfg)
    if not report.ok:
        raise DataError(report.errors, report=report)
    ds = report.dataset
    as_of = ds.resolve_month(getattr(args, "as_of", None))
    return ds, ds.config, as_of, report


def add_force_arg(p: argparse.ArgumentParser) -> None:
    """``--force``: replace an output file that this program did not write."""
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing output file that is not an earlier export of the same kind",
    )


def check_output_path(
    path: str | Path, option: str, suffixes: tuple[str, ...], data_dir: str | Path | None = None
) -> Path:
    """The file a user names for an output (``--accounts-out x.csv``), checked before anything
    is computed: its suffix says its format and must be one of ``suffixes`` (``x.xlsx`` is
    never written as CSV bytes), it is not a folder, and it is not a table's file in the data
    folder ``data_dir`` (``--salesforce-out data/touchpoints.csv`` would be read as a table).

    Raises
    ------
    OutputError
        ``output_suffix``, ``output_unwritable`` or ``output_in_data``.
    """
    from cs_metrics.data.schema import TABLES

    p = Path(path)
    if p.suffix.lower() not in suffixes:
        allowed = ", ".join(suffixes)
        raise OutputError("output_suffix", option=option, path=str(p), allowed=allowed)
    if p.is_dir():
        raise OutputError("output_unwritable", path=str(p), detail="a folder")
    if data_dir is not None and p.stem.lower() in TABLES:
        try:
            inside = p.resolve().parent == Path(data_dir).resolve()
        except OSError:
            inside = False
        if inside:
            raise OutputError("output_in_data", option=option, path=str(p))
    return p


def _same_kind(path: Path, data: bytes, frame: Any) -> bool:
    """Whether the existing ``path`` is an earlier export of the same kind: a CSV with the same
    header line, or a Parquet file with the same columns."""
    try:
        if path.suffix.lower() == ".parquet":
            import polars as pl

            return list(pl.read_parquet_schema(path)) == list(frame.columns)
        with path.open("rb") as f:
            head = f.read(len(data.split(b"\n", 1)[0]) + 1)
        return head.split(b"\n", 1)[0] == data.split(b"\n", 1)[0]
    except Exception:  # unreadable, not Parquet: not ours
        return False


def write_output_frame(
    frame: Any,
    path: str | Path,
    option: str,
    suffixes: tuple[str, ...],
    force: bool = False,
    data_dir: str | Path | None = None,
) -> Path:
    """Write ``frame`` to the file the user named, in the format its suffix says (``.csv``: UTF-8
    with BOM, injection-safe; ``.parquet``), atomically.

    An existing file is replaced only when it is an earlier export of the same kind (same
    header / columns) or with ``force``: a file this program did not write is never overwritten
    silently (``OutputError`` ``output_exists``, exit 2, nothing written).
    """
    import io

    from cs_metrics.exports import excel_csv_bytes
    from cs_metrics.fsutil import atomic_write_bytes

    p = check_output_path(path, option, suffixes, data_dir)
    if p.suffix.lower() == ".parquet":
        buf = io.BytesIO()
        frame.write_parquet(buf)
        data = buf.getvalue()
    else:
        data = excel_csv_bytes(frame)
    if p.exists() and not force and not _same_kind(p, data, frame):
        raise OutputError("output_exists", path=str(p))
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(p, data)
    return p


def print_json(obj: Any) -> None:
    """One JSON document on stdout; NaN or infinity is a bug (ValueError), never written."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, allow_nan=False) + "\n")


def _lang(args: argparse.Namespace) -> str:
    lang = getattr(args, "lang", None)
    if lang:
        return lang
    if getattr(args, "config", None):
        try:
            return load_config(args.config)["general"]["lang"]
        except CsMetricsError:
            pass
    return "ja"


def log_dir() -> Path:
    """Where internal errors are logged: ``$CS_METRICS_LOG_DIR`` or ``~/.cache/cs-metrics/logs``."""
    base = os.environ.get("CS_METRICS_LOG_DIR")
    return Path(base) if base else Path.home() / ".cache" / "cs-metrics" / "logs"


def write_error_log(exc: BaseException, folder: Path | None = None) -> Path | None:
    """Write the traceback of ``exc`` (secrets redacted) to a new log file; its path, or None."""
    import datetime as dt
    import traceback

    text = redact("".join(traceback.format_exception(exc)))
    folder = folder or log_dir()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"error-{stamp}-{os.getpid()}.log"
        path.write_text(" ".join(sys.argv) + "\n\n" + text, encoding="utf-8")
        return path
    except OSError:
        return None


def run_guarded(func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run a command. Expected problems (:class:`CsMetricsError`) are a message and exit 2; any
    other exception is a bug: "internal error", the traceback in a log file, exit 1.

    Nothing printed ever contains a secret (:func:`cs_metrics.errors.redact`).
    """
    lang = _lang(args)
    try:
        return int(func(args) or 0)
    except DataError as e:
        from cs_metrics.data.validate import format_issues

        print(redact(format_issues(e.issues, lang=lang, report=e.report)), file=sys.stderr)
        return 2
    except CsMetricsError as e:
        usage = getattr(e, "usage", "")
        if usage:  # a usage error: the command's usage line above the message
            usage = usage.removeprefix("usage: ")
            print(redact(message("usage_line", lang, usage=usage)), file=sys.stderr)
        print(f"{_prefix(lang)}{redact(e.message(lang))}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("中断しました" if lang == "ja" else "interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # a path that cannot be read or written, a file that vanished
        where = e.filename or ""
        detail = e.strerror or type(e).__name__
        err = OutputError("file_error", path=str(where), detail=detail)
        print(f"{_prefix(lang)}{redact(err.message(lang))}", file=sys.stderr)
        return 2
    except Exception as e:  # a bug: never a raw traceback, never a secret
        if os.environ.get("CS_METRICS_DEBUG"):
            raise
        log = write_error_log(e)
        where = str(log) if log else "-"
        print(f"{_prefix(lang)}{message('internal_error', lang, log=where)}", file=sys.stderr)
        return 1


def _prefix(lang: str) -> str:
    return "エラー: " if lang == "ja" else "error: "
