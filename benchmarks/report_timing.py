"""Time each stage of the monthly report on the bundled sample (target: under 15 s in total).

    python benchmarks/report_timing.py [--data data/sample] [--runs 2]

Stages: validation (loader + Great Expectations + cross-table checks), execution (papermill:
kernel start and the notebook's computations and charts), export (offline HTML, CSVs,
metrics.json), publish (rename into place, index). Prints a table and a final JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default=str(ROOT / "data" / "sample"))
    ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    t0 = time.perf_counter()
    from cs_metrics.reporting import run  # noqa: E402 - timed import

    import_s = time.perf_counter() - t0
    results = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory() as out:
            t = time.perf_counter()
            run.render_report("monthly", args.data, out_dir=out)
            wall = time.perf_counter() - t
            stages = dict(run.render_report.last_timings)
            stages["wall"] = wall
            results.append(stages)
            print(
                f"run {i + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in stages.items()),
                file=sys.stderr,
            )
    cold, warm = results[0], min(results, key=lambda r: r["wall"])
    print(f"{'stage':12s} {'cold (s)':>9s} {'warm (s)':>9s}")
    print(f"{'import':12s} {import_s:9.2f} {0.0:9.2f}")
    for k in ("validation", "execution", "export", "publish", "total"):
        print(f"{k:12s} {cold[k]:9.2f} {warm[k]:9.2f}")
    e2e = cold["total"] + import_s
    verdict = "meets" if e2e < 15 else "misses"
    print(f"end to end, cold process: {e2e:.2f}s ({verdict} the 15 s target)")
    print(
        json.dumps(
            {
                "import": round(import_s, 3),
                "cold": {k: round(v, 3) for k, v in cold.items()},
                "warm": {k: round(v, 3) for k, v in warm.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
