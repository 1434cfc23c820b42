"""Render a report: validate → papermill → offline HTML → CSVs + metrics.json → atomic publish.

A report for month ``YYYY-MM`` lives in ``<out>/YYYY-MM/``: ``<kind>.html``, ``<kind>.ipynb``
(executed), ``metrics.json`` and the Excel CSVs. Everything is built in a temporary folder next
to it and renamed into place, so a failed or killed run leaves the previous report untouched.
``<out>/index.html`` lists every month.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cs_metrics
from cs_metrics.config import load_config
from cs_metrics.errors import DataError, ReportError
from cs_metrics.fsutil import replace_dir
from cs_metrics.periods import format_month, month_range, parse_month

KINDS = {"monthly": "monthly_kpi", "review": "churn_target_review", "explore": "explore"}
TITLES = {
    "monthly": ("月次KPIレポート", "Monthly KPI report"),
    "review": ("チャーン目標レビュー", "Churn-target review"),
    "explore": ("探索ノートブック", "Exploration notebook"),
}
KERNEL = "cs-metrics"
TEMPLATES = Path(__file__).parent / "templates"
# Headless Chromium as root on a closed network (PDF export and the browser test).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_executable() -> str | None:
    """Path of an installed Chromium, or None."""
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


def notebooks_dir() -> Path:
    """The project's notebooks/ folder (next to the package in a checkout)."""
    here = Path(cs_metrics.__file__).resolve().parent
    for cand in (here.parent / "notebooks", here / "notebooks"):
        if cand.is_dir():
            return cand
    raise ReportError("notebooks_missing")


def notebook_path(kind: str) -> Path:
    if kind not in KINDS:
        raise ReportError("report_unknown_kind", kind=kind, known=", ".join(KINDS))
    return notebooks_dir() / f"{KINDS[kind]}.ipynb"


def known_parameters(kind: str) -> dict[str, Any]:
    """The notebook's parameters (papermill's inspection of its ``parameters`` cell)."""
    import papermill as pm

    return {name: p for name, p in pm.inspect_notebook(str(notebook_path(kind))).items()}


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL if KERNEL in specs else "python3"


def _json_default(o: Any) -> Any:
    if isinstance(o, dt.date):
        return o.isoformat()
    raise TypeError(type(o).__name__)


def metrics_payload(ds, as_of: dt.date, cfg: dict[str, Any], kind: str) -> dict[str, Any]:
    """The numbers a report shows, as in ``cs-metrics kpis --format json``, plus provenance.

    No timestamps: the same inputs and config give byte-identical JSON.
    """
    from cs_metrics.metrics.kpis import kpis

    out = dict(kpis(ds, as_of, cfg))
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


def dumps(obj: Any) -> str:
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


def _write_csvs(ds, as_of: dt.date, cfg: dict[str, Any], folder: Path) -> None:
    import polars as pl

    from cs_metrics.exports import write_excel_csv
    from cs_metrics.metrics.churn import churn_events
    from cs_metrics.metrics.retention import monthly_rates

    rates = monthly_rates(ds, as_of)
    write_excel_csv(rates.drop("month_idx"), folder / "mrr_bridge.csv")
    from cs_metrics.metrics.kpis import kpis

    k = kpis(ds, as_of, cfg, rates=rates)
    flat = [
        {"key": key, "value": json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v}
        for key, v in k.items()
    ]
    write_excel_csv(
        pl.DataFrame(
            flat, schema={"key": pl.String, "value": pl.String}, strict=False
        ).with_columns(pl.col("value").cast(pl.String)),
        folder / "kpi_summary.csv",
    )
    names = ds.accounts.select("account_id", "account_name", "industry", "csm").collect()
    ev = churn_events(ds, as_of).join(names, on="account_id", how="left").drop("churn_month_idx")
    write_excel_csv(ev, folder / "churned_accounts.csv")
    try:
        from cs_metrics.metrics.risk import risk_list

        write_excel_csv(risk_list(ds, as_of), folder / "risk_list.csv")
    except Exception:  # noqa: BLE001 - optional tables may be missing
        pass


def export_html(executed: Path, html_path: Path, run_time: str) -> None:
    """Executed notebook → one offline HTML file without code cells."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    exporter = HTMLExporter(
        template_name="cs_offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"cs_run_time": run_time})
    html_path.write_text(body, encoding="utf-8")


def render_report(
    kind: str,
    data_dir: str | Path,
    as_of: str | dt.date | None = None,
    out_dir: str | Path = "reports",
    lang: str | None = None,
    config_path: str | Path | None = None,
    params: dict[str, Any] | None = None,
    pdf: bool = False,
    progress: Callable[[str], None] | None = None,
    validation: Any = None,
) -> Path:
    """Render one report and return the path of its HTML file.

    Raises
    ------
    DataError
        The data is invalid (nothing is written).
    ReportError
        Unknown parameters, or execution/export failed (the previous report is untouched).
    """
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    nb_in = notebook_path(kind)
    known = known_parameters(kind)
    params = dict(params or {})
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ReportError(
            "report_unknown_parameter",
            kind=kind,
            names=", ".join(unknown),
            known=", ".join(sorted(known)),
        )
    cfg = load_config(config_path)
    if lang:
        cfg = cfg.updated({"general": {"lang": lang}})
    say("validating")
    if validation is None:
        from cs_metrics.data.validate import validate_dataset

        validation = validate_dataset(data_dir, config=cfg)
    if not validation.ok:
        raise DataError(validation.errors, report=validation)
    ds = validation.dataset
    month = parse_month(as_of) if as_of else ds.default_as_of()
    timings["validation"] = time.perf_counter() - t0

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / format_month(month)
    tmp = Path(tempfile.mkdtemp(prefix=f".{format_month(month)}-{kind}-", dir=out))
    os.chmod(tmp, 0o755)
    try:
        (tmp / "validation.json").write_text(dumps(validation.to_dict()), encoding="utf-8")
        nb_params = {
            "data_dir": str(Path(data_dir).resolve()),
            "as_of": format_month(month),
            "config_path": str(Path(config_path).resolve()) if config_path else None,
            "lang": cfg["general"]["lang"],
            "validation_path": str(tmp / "validation.json"),
            **params,
        }
        nb_params = {k: v for k, v in nb_params.items() if k in known}
        say(f"executing {nb_in.name}")
        t1 = time.perf_counter()
        import papermill as pm

        executed = tmp / f"{kind}.ipynb"
        try:
            pm.execute_notebook(
                str(nb_in),
                str(executed),
                parameters=nb_params,
                kernel_name=_kernel_name(),
                progress_bar=False,
                cwd=str(nb_in.parent),
                log_output=False,
            )
        except pm.PapermillExecutionError as e:
            raise ReportError(
                f"the {kind} notebook failed in cell {e.exec_count}: {e.ename}: {e.evalue}"
            ) from None
        timings["execution"] = time.perf_counter() - t1
        say("exporting HTML")
        t2 = time.perf_counter()
        run_time = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
        html_path = tmp / f"{kind}.html"
        export_html(
            executed, html_path, f"generated {run_time} · cs-metrics {cs_metrics.__version__}"
        )
        (tmp / "validation.json").unlink()
        if kind == "monthly":
            _write_csvs(ds, month, cfg, tmp)
        payload = metrics_payload(ds, month, cfg, kind)
        prev_json = target / "metrics.json"
        if prev_json.exists():
            try:
                prev = json.loads(prev_json.read_text("utf-8"))
                payload["reports"] = sorted(set(prev.get("reports", [])) | {kind})
            except ValueError:
                pass
        (tmp / "metrics.json").write_text(dumps(payload), encoding="utf-8")
        if pdf:
            _pdf(html_path, tmp / f"{kind}.pdf")
        timings["export"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        replace_dir(tmp, target, keep_from_old=lambda name: not name.startswith("."))
        write_index(out)
        timings["publish"] = time.perf_counter() - t3
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    timings["total"] = time.perf_counter() - t0
    render_report.last_timings = timings  # type: ignore[attr-defined]
    return target / f"{kind}.html"


def _pdf(html_path: Path, pdf_path: Path) -> None:
    import subprocess

    exe = chromium_executable()
    if not exe:
        raise ReportError("chromium_missing")
    with tempfile.TemporaryDirectory() as prof:
        subprocess.run(
            [
                exe,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={prof}",
                f"--print-to-pdf={pdf_path}",
                html_path.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def write_index(out_dir: str | Path) -> Path:
    """Regenerate ``index.html``: every month's reports with headline numbers."""
    from cs_metrics.format import fmt_money, fmt_pct
    from cs_metrics.reporting.html import CSS, esc

    out = Path(out_dir)
    rows = []
    for mj in sorted(out.glob("*/metrics.json"), reverse=True):
        try:
            m = json.loads(mj.read_text("utf-8"))
        except ValueError:
            continue
        folder = mj.parent.name
        links = " ".join(
            f'<a href="{esc(folder)}/{esc(f.name)}">{esc(f.stem)}</a>'
            for f in sorted(mj.parent.glob("*.html"))
        )
        cw = next(
            (v for k, v in m.items() if k.startswith("churn_within_") and isinstance(v, dict)), {}
        )
        rows.append(
            f"<tr><td>{esc(folder)}</td><td>{links}</td><td class='num'>{esc(fmt_money(m.get('mrr_end')))}</td>"
            f"<td class='num'>{esc(fmt_pct(m.get('logo_churn_rate')))}</td><td class='num'>{esc(fmt_pct(m.get('nrr')))}</td>"
            f"<td class='num'>{esc(fmt_pct(m.get('nrr_trailing_12m')))}</td><td class='num'>{esc(fmt_pct(cw.get('rate')))}</td></tr>"
        )
    body = (
        "<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'><title>cs-metrics reports</title>"
        f"<style>body{{font-family:'Noto Sans CJK JP','Hiragino Sans','Yu Gothic',Meiryo,sans-serif;margin:24px}}{CSS}</style>"
        "</head><body><h1>レポート一覧 / Reports</h1><table class='cs-table'><thead><tr>"
        "<th>月 / Month</th><th>レポート / Reports</th><th>MRR</th><th>ロゴチャーン率</th><th>NRR（月次）</th>"
        "<th>NRR（直近12か月）</th><th>24か月以内解約率</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>\n"
    )
    path = out / "index.html"
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(body, encoding="utf-8")
    os.replace(tmp, path)
    return path


def backfill(kind: str, data_dir: str | Path, start: str, end: str, **kwargs: Any) -> list[Path]:
    """Render ``kind`` for every month from ``start`` to ``end`` with a progress bar."""
    from tqdm import tqdm

    from cs_metrics.data.validate import validate_dataset

    cfg = load_config(kwargs.get("config_path"))
    validation = validate_dataset(data_dir, config=cfg)
    if not validation.ok:
        raise DataError(validation.errors, report=validation)
    paths = []
    for month in tqdm(
        month_range(start, end), desc=f"{kind} reports", unit="month", file=sys.stderr
    ):
        paths.append(render_report(kind, data_dir, month, validation=validation, **kwargs))
    return paths


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
