"""Time every stage of the monthly report in one process (prints one JSON line).

    python benchmarks/stages.py DATA_DIR [--render]

Stages: ``validate`` (load, parse and the whole gate, no cache), then each metric family
computed the way the report's sections compute it (``revenue`` = the MRR bridge and monthly
rates, ``kpis`` = churn within H with Kaplan-Meier, ``cohorts``, ``churn_reasons``, ``ltv``,
``health_segments``, ``risk``, ``nps``, ``onboarding``), then ``sections`` (tables and charts
drawn from the computed figures) and, with ``--render``, the report's own stages in process
(``execution`` = papermill running the notebook, ``export`` = offline HTML, CSVs and
metrics.json, ``publish``). ``max_marks`` is the largest number of marks (SVG shapes) in any
chart of the report.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _timed(out: dict[str, float], name: str, fn: Callable[[], Any]) -> Any:
    t = time.perf_counter()
    value = fn()
    out[name] = out.get(name, 0.0) + time.perf_counter() - t
    return value


_MARK = re.compile(r"<(path|rect|circle|line|polygon|polyline|ellipse|symbol)\b")


def max_marks(html: str) -> int:
    """The largest number of shape elements in one ``<svg>`` of ``html``."""
    return max((len(_MARK.findall(svg)) for svg in html.split("<svg")[1:]), default=0)


def families(data: str) -> tuple[dict[str, float], Any]:
    """Validate, then each metric family; returns (timings, report context)."""
    from cs_metrics.data.validate import validate_dataset
    from cs_metrics.metrics.churn import churn_reasons
    from cs_metrics.metrics.ltv import cohort_ltv
    from cs_metrics.metrics.onboarding import onboarding_funnel, onboarding_summary
    from cs_metrics.metrics.retention import cohort_retention
    from cs_metrics.metrics.segments import segments_by_csm
    from cs_metrics.reporting.context import Report

    t: dict[str, float] = {}
    rep = _timed(t, "validate", lambda: validate_dataset(data, cache=False))
    if not rep.ok:
        raise SystemExit(rep.format("en"))
    ds = rep.dataset
    r = Report(ds, ds.resolve_month(None), rep.to_dict())
    _timed(t, "revenue", lambda: r.rates)
    _timed(t, "kpis", lambda: (r.kpis, r.changes))
    _timed(t, "cohorts", lambda: cohort_retention(ds, r.as_of, cohort="quarter"))
    if ds.has("cancellations"):
        _timed(t, "churn_reasons", lambda: churn_reasons(ds, r.as_of, months=12))
    _timed(t, "ltv", lambda: (r.simple_ltv, r.ltv_cac, r.revenue_by_source))
    _timed(t, "ltv", lambda: cohort_ltv(ds, r.as_of))
    _timed(t, "health_segments", lambda: (r.segments, segments_by_csm(ds, r.as_of)))
    _timed(t, "risk", lambda: (r.risk, r.risk_list))
    _timed(t, "nps", lambda: r.nps)
    if ds.has("onboarding_sessions"):
        _timed(
            t,
            "onboarding",
            lambda: (onboarding_summary(ds, r.as_of), onboarding_funnel(ds, r.as_of)),
        )
    return t, r


def sections(r: Any, t: dict[str, float]) -> int:
    """Draw every section of the monthly report; returns the largest chart's marks."""
    from cs_metrics.reporting import sections as S

    calls = [
        lambda: S.header(r, "Monthly"),
        lambda: S.headline_tiles(r),
        lambda: S.bridge_section(r),
        lambda: S.trends(r),
        lambda: S.period_views(r),
        lambda: S.reasons_section(r),
        lambda: S.cohort_section(r),
        lambda: S.ltv_section(r),
        lambda: S.health_section(r),
        lambda: S.risk_section(r),
        lambda: S.onboarding_section(r),
        lambda: S.data_quality(r),
    ]
    html = "".join(_timed(t, "sections", c) for c in calls)
    return max_marks(html)


def render(data: str, t: dict[str, float]) -> int:
    from cs_metrics.reporting import run

    with tempfile.TemporaryDirectory() as out:
        path = run.render_report("monthly", data, out_dir=out)
        for k, v in run.render_report.last_timings.items():
            if k in ("execution", "export", "publish"):
                t[k] = v
        return max_marks(Path(path).read_text("utf-8"))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("data")
    ap.add_argument("--render", action="store_true", help="also render the report in process")
    a = ap.parse_args()
    t0 = time.perf_counter()
    t, r = families(a.data)
    marks = sections(r, t)
    if a.render:
        marks = max(marks, render(a.data, t))
    t["total"] = time.perf_counter() - t0
    print(json.dumps({"stages": t, "max_marks": marks}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
