"""Shared test helpers: build small datasets from Python rows."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"

# Jupyter/IPython/Chromium write under $HOME: keep tests out of the user's home.
os.environ.setdefault("MPLCONFIGDIR", "/tmp/cs-metrics-mpl")


@pytest.fixture(autouse=True, scope="session")
def _logs_out_of_home(tmp_path_factory):
    """Internal-error logs of in-process CLI runs go to a temporary folder, not ~/.cache."""
    if "CS_METRICS_LOG_DIR" not in os.environ:
        os.environ["CS_METRICS_LOG_DIR"] = str(tmp_path_factory.mktemp("logs"))
    yield


def write_table(folder: Path, name: str, rows: list[dict] | pl.DataFrame, fmt: str = "csv") -> Path:
    df = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt}"
    if fmt == "csv":
        df.write_csv(path)
    else:
        df.write_parquet(path)
    return path


def make_dataset_dir(folder: Path, **tables: list[dict] | pl.DataFrame) -> Path:
    """Write each keyword (table name -> rows) as CSV into ``folder``.

    ``accounts`` defaults to one row per account_id seen in ``subscriptions``.
    """
    if "accounts" not in tables and "subscriptions" in tables:
        subs = tables["subscriptions"]
        ids = (subs if isinstance(subs, pl.DataFrame) else pl.DataFrame(subs))["account_id"]
        tables["accounts"] = [
            {"account_id": a, "account_name": f"name {a}"} for a in sorted(set(ids.to_list()))
        ]
    for name, rows in tables.items():
        write_table(folder, name, rows)
    return folder


def sub(sid, account, product, start, end, mrr, **extra) -> dict:
    """A subscriptions row; ``end`` None = open-ended."""
    return {
        "subscription_id": sid,
        "account_id": account,
        "product": product,
        "start_date": start,
        "end_date": end or "",
        "mrr": mrr,
        **extra,
    }


def frames_dataset(config=None, **tables):
    """A Dataset straight from Python rows / DataFrames (no files): fast fixtures.

    Date-like columns given as ``datetime.date`` keep their type; ``accounts`` defaults to the
    account_ids of ``subscriptions``.
    """
    from cs_metrics.config import load_config
    from cs_metrics.data.dataset import Dataset

    cfg = load_config(config)
    frames = {}
    for name, rows in tables.items():
        df = rows if isinstance(rows, pl.DataFrame) else pl.DataFrame(rows)
        from cs_metrics.data.schema import TABLES

        df = df.with_columns(
            [pl.col(c.name).cast(c.dtype) for c in TABLES[name].columns if c.name in df.columns]
        )
        if name == "cancellations" and "reason_category" not in df.columns:
            df = df.with_columns(pl.col("reason").alias("reason_category"))
        frames[name] = df.lazy()
    if "accounts" not in frames:
        ids = sorted(set(frames["subscriptions"].collect()["account_id"].to_list()))
        frames["accounts"] = pl.DataFrame(
            {
                "account_id": ids,
                "account_name": ids,
                "industry": ["IT"] * len(ids),
                "csm": ["鈴木"] * len(ids),
            }
        ).lazy()
    return Dataset(Path("."), frames, {}, {}, cfg)


def ds_from_lines(lines: list[dict], cancellations: list[dict] | None = None):
    """A Dataset straight from Python rows (no files), for fast property tests."""
    from cs_metrics.config import load_config
    from cs_metrics.data.dataset import Dataset

    subs = pl.DataFrame(
        {
            "subscription_id": [f"s{i}" for i in range(len(lines))],
            "account_id": [x["account_id"] for x in lines],
            "product": [x["product"] for x in lines],
            "start_date": [x["start_date"] for x in lines],
            "end_date": [x["end_date"] for x in lines],
            "mrr": [float(x["mrr"]) for x in lines],
        },
        schema_overrides={"start_date": pl.Date, "end_date": pl.Date},
    )
    accounts = pl.DataFrame({"account_id": sorted({x["account_id"] for x in lines})}).with_columns(
        pl.col("account_id").alias("account_name"),
        pl.lit("IT").alias("industry"),
        pl.lit("csm").alias("csm"),
    )
    frames = {"accounts": accounts.lazy(), "subscriptions": subs.lazy()}
    if cancellations is not None:
        frames["cancellations"] = (
            pl.DataFrame(cancellations, schema_overrides={"cancelled_on": pl.Date})
            .with_columns(pl.col("reason").alias("reason_category"))
            .lazy()
        )
    return Dataset(Path("."), frames, {}, {}, load_config())


def line(account, product, start, end, mrr, sid=None) -> dict:
    """A typed subscriptions row (dates as ``datetime.date``) for ``frames_dataset``."""
    import datetime as dt

    return {
        "subscription_id": sid or f"s-{account}-{product}-{start}",
        "account_id": account,
        "product": product,
        "start_date": dt.date.fromisoformat(start),
        "end_date": dt.date.fromisoformat(end) if end else None,
        "mrr": mrr,
    }


@pytest.fixture(autouse=True)
def _validation_cache(tmp_path_factory, monkeypatch):
    """Each test gets its own empty validation cache (never the user's ~/.cache)."""
    monkeypatch.setenv("CS_METRICS_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


def data_words(folder: Path) -> set[str]:
    """The user's own words in a dataset (names, products, reasons, surveys) and the configured
    reason categories: allowed in either language by the purity checks."""
    import csv
    import io

    from cs_metrics.config import load_config

    words: set[str] = set(load_config(None)["reasons"]["categories"])
    cols = {
        "accounts": ("account_id", "account_name", "industry", "csm"),
        "subscriptions": ("product", "plan"),
        "cancellations": ("reason",),
        "touchpoints": ("kind",),
        "nps_responses": ("survey",),
    }
    for table, names in cols.items():
        path = folder / f"{table}.csv"
        if path.exists():
            for row in csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))):
                words |= {row[c] for c in names if row.get(c)}
    return words
