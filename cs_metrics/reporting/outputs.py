"""A report's machine-readable files: ``metrics.json`` (or ``review.json`` / ``explore.json``)
and the monthly report's Excel CSVs.

They are written by the notebook's kernel from the figures it has already computed for the
sections (the last cell: ``write_files(r, output_dir, "monthly")``), so a report computes its
figures once; ``cs-metrics report`` then only publishes them (``reporting/publish.py``). A
notebook run by hand (``output_dir`` None) writes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import cs_metrics
from cs_metrics.periods import Month

__all__ = ["dumps", "json_name", "metrics_payload", "write_files"]


def json_name(kind: str) -> str:
    """The JSON file of a report: ``metrics.json`` for the monthly report (its documented
    contract), ``review.json`` / ``explore.json`` for the others, so no report overwrites
    another's files."""
    return "metrics.json" if kind == "monthly" else f"{kind}.json"


def _json_default(o: Any) -> Any:
    if isinstance(o, dt.date):
        return o.isoformat()
    raise TypeError(type(o).__name__)


def dumps(obj: Any) -> str:
    """Sorted, indented JSON without NaN (the same inputs give byte-identical files)."""
    return (
        json.dumps(
            obj,
            ensure_ascii=False,
            indent=2,
            sort_keys=True,
            allow_nan=False,
            default=_json_default,
        )
        + "\n"
    )


def metrics_payload(
    ds: Any,
    as_of: dt.date | Month,
    cfg: Any,
    kind: str,
    kpis: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The numbers a report shows, as in ``cs-metrics kpis --format json``, plus provenance.

    ``kpis``: the KPIs already computed for this month (a report's context), else computed
    here. No timestamps: the same inputs and config give byte-identical JSON.
    """
    from cs_metrics.metrics.kpis import kpis as compute_kpis

    out = dict(kpis if kpis is not None else compute_kpis(ds, as_of, cfg))
    try:
        from cs_metrics.metrics.nps import nps

        n = nps(ds, as_of)[0]
        out["nps"] = {
            k: n.get(k)
            for k in ("nps", "n", "promoters", "passives", "detractors", "ci_low", "ci_high")
        }
    except Exception:  # noqa: BLE001 - optional extra
        pass
    out["inputs"] = {name: sha for name, sha in sorted(ds.checksums().items())}
    out["package_version"] = cs_metrics.__version__
    out["config"] = cfg.to_dict()
    out["reports"] = sorted({kind})
    return out


def write_files(r: Any, output_dir: str | Path | None, kind: str) -> None:
    """Write a report's JSON (and, for ``monthly``, its CSVs) into ``output_dir`` from the
    report context ``r`` (:class:`cs_metrics.reporting.context.Report`): the KPIs, rates and
    risk list the sections computed are reused. Nothing happens when ``output_dir`` is None
    (a notebook run by hand)."""
    if output_dir is None:
        return
    folder = Path(output_dir)
    if kind == "monthly":
        from cs_metrics.exports import write_report_csvs

        write_report_csvs(r.ds, r.as_of, folder)
    payload = metrics_payload(r.ds, r.as_of, r.cfg, kind, kpis=r.kpis)
    (folder / json_name(kind)).write_text(dumps(payload), encoding="utf-8")
