"""Local-mode Spark beside polars on the same canonical Parquet (docs/scale.md).

    python benchmarks/spark_timing.py [--accounts 100000] [--months 60] [--master local[2]]

Each engine runs in its own process on the generator's Parquet (benchmarks/generate.py): polars
loads the folder and computes the monthly rates and churn within 24 months; Spark reads the same
files itself and computes the same from the shared definitions (cs_metrics.engine). Wall time
includes reading the files and, for Spark, starting the JVM (printed separately). The outputs are
checked equal (1e-9) in the same run. A benchmark, not a test: it needs the spark extra and Java.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2026-09"


def _data(accounts: int, months: int) -> Path:
    folder = HERE / "data" / f"{accounts}x{months}"
    if not (folder / "subscriptions.parquet").exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--accounts",
                str(accounts),
                "--months",
                str(months),
                "--seed",
                "1",
                "--out",
                str(folder),
            ],
            check=True,
        )
    return folder


def _polars(data: str, out: str) -> dict:
    from cs_metrics.data.load import load_dataset
    from cs_metrics.metrics.churn import churn_within
    from cs_metrics.metrics.retention import monthly_rates

    t = time.perf_counter()
    ds = load_dataset(data)
    rates = monthly_rates(ds, AS_OF)
    cw = churn_within(ds, AS_OF, 24)
    seconds = time.perf_counter() - t
    rates.write_parquet(Path(out) / "polars_rates.parquet")
    return {"seconds": seconds, "churn_within": cw}


def _spark(data: str, out: str, master: str) -> dict:
    from cs_metrics.config import load_config
    from cs_metrics.engine import spark as se
    from cs_metrics.periods import parse_month

    cfg = load_config({"engine": {"spark_master": master}})
    t0 = time.perf_counter()
    se.get_session(cfg)
    t = time.perf_counter()
    tables = se.read_canonical(data, cfg)
    res = se.spark_outputs(tables["subscriptions"], parse_month(AS_OF), cfg)
    seconds = time.perf_counter() - t
    res["rates"].write_parquet(Path(out) / "spark_rates.parquet")
    return {"seconds": seconds, "startup": t - t0, "churn_within": res["churn_within"]}


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _child(engine: str, data: Path, out: Path, master: str) -> dict:
    p = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            engine,
            "--data",
            str(data),
            "--out",
            str(out),
            "--master",
            master,
        ],
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--child", choices=["polars", "spark"], help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        res = _polars(a.data, a.out) if a.child == "polars" else _spark(a.data, a.out, a.master)
        print(json.dumps(res))
        return 0
    import tempfile

    import polars as pl
    from polars.testing import assert_frame_equal

    data = _data(a.accounts, a.months)
    with tempfile.TemporaryDirectory() as tmp:
        pol = _child("polars", data, Path(tmp), a.master)
        spk = _child("spark", data, Path(tmp), a.master)
        try:
            assert_frame_equal(
                pl.read_parquet(Path(tmp) / "spark_rates.parquet"),
                pl.read_parquet(Path(tmp) / "polars_rates.parquet"),
                check_dtypes=False,
                rel_tol=1e-9,
                abs_tol=1e-9,
            )
            equal = _same(pol["churn_within"], spk["churn_within"])
            problem = "" if equal else "churn within 24m differs"
        except AssertionError as e:
            equal, problem = False, str(e).splitlines()[0]
    print(f"dataset: {a.accounts:,} accounts x {a.months} months ({data}); Spark {a.master}")
    print(f"{'engine':8s} {'seconds':>9s}")
    print(f"{'polars':8s} {pol['seconds']:9.2f}")
    print(f"{'spark':8s} {spk['seconds']:9.2f}  (+{spk['startup']:.1f} s JVM/session start)")
    print(f"spark / polars time: {spk['seconds'] / pol['seconds']:.1f}")
    print("equality: " + ("monthly rates and churn within 24m equal" if equal else problem))
    print(
        json.dumps(
            {
                "accounts": a.accounts,
                "months": a.months,
                "master": a.master,
                "polars_s": pol["seconds"],
                "spark_s": spk["seconds"],
                "spark_startup_s": spk["startup"],
                "equal": equal,
            }
        )
    )
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
