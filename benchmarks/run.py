"""Benchmark the revenue core against DuckDB SQL and pandas on the same data, in one run.

    python benchmarks/run.py [--accounts 1000000] [--months 60] [--pandas-accounts 300000]

Each implementation runs in its own process (wall time includes reading the Parquet files; peak
memory is that process's max RSS). All outputs are checked equal (1e-9 relative, 1e-6 absolute):
the monthly bridge with logo churn, GRR/NRR monthly and trailing 12 months, churn within 24
months (observed and Kaplan-Meier) and monthly cohort retention. pandas runs at
``--pandas-accounts`` (default 300k) and its time is extrapolated linearly to the full scale —
stated in the output — because the expand-every-month approach does not fit the machine at 1M.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from compare import compare

HERE = Path(__file__).resolve().parent


def _data(accounts: int, months: int, seed: int) -> Path:
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
                str(seed),
                "--out",
                str(folder),
            ],
            check=True,
        )
    return folder


def _run(impl: str, data: Path, out: Path) -> dict:
    p = subprocess.run(
        [sys.executable, str(HERE / f"impl_{impl}.py"), str(data), str(out)],
        capture_output=True,
        text=True,
        cwd=HERE,
    )
    if p.returncode != 0:
        raise SystemExit(f"{impl} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--pandas-accounts", type=int, default=300_000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    data = _data(a.accounts, a.months, a.seed)
    pd_n = min(a.pandas_accounts, a.accounts)
    pd_data = data if pd_n == a.accounts else _data(pd_n, a.months, a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        res = {
            "cs_metrics": _run("cs_metrics", data, t / "cs"),
            "duckdb": _run("duckdb", data, t / "duck"),
        }
        res["pandas"] = _run("pandas", pd_data, t / "pd")
        problems = [f"duckdb: {p}" for p in compare(t / "duck", t / "cs")]
        if pd_data != data:
            _run("cs_metrics", pd_data, t / "cs_small")
            problems += [f"pandas: {p}" for p in compare(t / "pd", t / "cs_small")]
        else:
            problems += [f"pandas: {p}" for p in compare(t / "pd", t / "cs")]
    scale = a.accounts / pd_n
    pandas_full = res["pandas"]["seconds"] * scale
    print(f"dataset: {a.accounts:,} accounts x {a.months} months ({data})")
    print(f"{'implementation':16s} {'seconds':>9s} {'peak MB':>9s}")
    for name in ("cs_metrics", "duckdb"):
        print(f"{name:16s} {res[name]['seconds']:9.2f} {res[name]['peak_mb']:9.0f}")
    note = (
        ""
        if scale == 1
        else f"  (measured {res['pandas']['seconds']:.2f}s at {pd_n:,} accounts, x{scale:g} linear)"
    )
    print(f"{'pandas':16s} {pandas_full:9.2f} {res['pandas']['peak_mb']:9.0f}{note}")
    r1 = res["cs_metrics"]["seconds"] / res["duckdb"]["seconds"]
    r2 = pandas_full / res["cs_metrics"]["seconds"]
    print(f"cs_metrics / DuckDB time: {r1:.2f} (target <= 1)")
    print(f"pandas / cs_metrics time: {r2:.1f} (target >= 10)")
    print("equality: " + ("all outputs equal" if not problems else "; ".join(problems)))
    print(
        json.dumps(
            {
                "accounts": a.accounts,
                "months": a.months,
                "cs_metrics_s": res["cs_metrics"]["seconds"],
                "duckdb_s": res["duckdb"]["seconds"],
                "pandas_s": pandas_full,
                "pandas_measured_accounts": pd_n,
                "pandas_extrapolated": scale != 1,
                "cs_metrics_peak_mb": res["cs_metrics"]["peak_mb"],
                "duckdb_peak_mb": res["duckdb"]["peak_mb"],
                "pandas_peak_mb_at_measured": res["pandas"]["peak_mb"],
                "cs_metrics_over_duckdb": r1,
                "pandas_over_cs_metrics": r2,
                "equal": not problems,
            }
        )
    )
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
