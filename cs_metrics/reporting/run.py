"""Render a report: validate → papermill → offline HTML → CSVs + metrics.json → atomic publish.

A report for month ``YYYY-MM`` lives in ``<out>/YYYY-MM/``: ``<kind>.html``, ``<kind>.ipynb``
(executed), ``metrics.json`` and the Excel CSVs. Everything is built in a temporary folder next
to it and renamed into place, so a failed or killed run leaves the previous report untouched.
``<out>/index.html`` lists every month.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cs_metrics
from cs_metrics.config import load_config
from cs_metrics.errors import DataError, PeriodError, ReportError, ReportFailed, redact
from cs_metrics.fsutil import replace_dir
from cs_metrics.periods import Month, MonthLike, months_between

# papermill and nbconvert import nbformat -> jsonschema, which compiles the optional
# rfc3987_syntax grammar at import (10+ s on a busy 2-core machine) only to check "iri" string
# formats that no notebook uses; without it jsonschema skips those formats (as in charts).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

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


# Parameters the command sets itself; `-p` may not override them (SPEC: a report is rendered
# from validated data for a month the data covers).
COMMAND_PARAMETERS = {
    "data_dir": "--data",
    "as_of": "--as-of",
    "config_path": "--config",
    "mapping_path": "--mapping",
    "lang": "--lang",
    "validation_path": "(internal)",
}
_TYPES: dict[str, tuple[type, ...]] = {
    "float": (float, int),
    "int": (int,),
    "str": (str,),
    "bool": (bool,),
}
_RANGE_RE = re.compile(r"range:\s*(-?[\d.]+)\s*\.\.\s*(-?[\d.]+)")


def known_parameters(kind: str) -> dict[str, Any]:
    """The notebook's parameters (papermill's inspection of its ``parameters`` cell): name ->
    ``{"inferred_type_name", "default", "help"}``."""
    import papermill as pm

    return {name: p for name, p in pm.inspect_notebook(str(notebook_path(kind))).items()}


def check_parameters(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Refuse unknown, command-set, mistyped or out-of-range ``-p`` values before anything runs.

    Types come from the annotations of the notebook's parameters cell (``x: float | None =
    0.8``); a range from its comment (``# ... range: 0..1``).

    Raises
    ------
    ReportError
        ``report_unknown_parameter``, ``report_parameter_reserved``, ``report_parameter_type``
        or ``report_parameter_range`` (exit status 2; nothing is written).
    """
    known = known_parameters(kind)
    unknown = sorted(set(params) - set(known))
    if unknown:
        free = sorted(set(known) - set(COMMAND_PARAMETERS))
        raise ReportError(
            "report_unknown_parameter",
            kind=kind,
            names=", ".join(unknown),
            known=", ".join(free) or "-",
        )
    for name, value in params.items():
        if name in COMMAND_PARAMETERS:
            raise ReportError(
                "report_parameter_reserved", name=name, option=COMMAND_PARAMETERS[name]
            )
        _check_value(name, value, known[name])
    return params


def _check_value(name: str, value: Any, spec: dict[str, Any]) -> None:
    annotation = str(spec.get("inferred_type_name") or "")
    optional = re.fullmatch(r"Optional\[(\w+)\]", annotation)
    annotation = f"{optional.group(1)} | None" if optional else annotation
    declared = [t.strip() for t in annotation.split("|")]
    if value is None and "None" in declared:
        return
    types = tuple(t for d in declared for t in _TYPES.get(d, ()))
    if types and (not isinstance(value, types) or isinstance(value, bool) != (bool in types)):
        expected = " | ".join(declared)
        raise ReportError("report_parameter_type", name=name, expected=expected, value=repr(value))
    found = _RANGE_RE.search(str(spec.get("help") or ""))
    if found and isinstance(value, int | float):
        lo, hi = float(found.group(1)), float(found.group(2))
        if not lo <= value <= hi:
            raise ReportError(
                "report_parameter_range",
                name=name,
                lo=found.group(1),
                hi=found.group(2),
                value=repr(value),
            )


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
    as_of: str | dt.date | Month | None = None,
    out_dir: str | Path = "reports",
    lang: str | None = None,
    config_path: str | Path | None = None,
    mapping_path: str | Path | None = None,
    params: dict[str, Any] | None = None,
    pdf: bool = False,
    progress: Callable[[str], None] | None = None,
    validation: Any = None,
) -> Path:
    """Render one report and return the path of its HTML file.

    Steps: check the ``-p`` parameters, validate the data (with the mapping), resolve the month
    against the data's range, execute the notebook in a temporary folder beside the target,
    export offline HTML (and the CSVs, metrics.json, optionally a PDF), then publish atomically.

    Raises
    ------
    DataError
        The data is invalid (nothing is written).
    PeriodError
        ``as_of`` is not a month the data covers (nothing is written).
    ReportError
        Bad parameters (exit 2), or :class:`~cs_metrics.errors.ReportFailed` when a section
        failed (exit 1; the traceback is in ``<out_dir>/logs/``; the previous report untouched).
    """
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    nb_in = notebook_path(kind)
    params = check_parameters(kind, dict(params or {}))
    if validation is None:
        say("validating")
        validation = _validate(data_dir, mapping_path, config_path, lang)
    ds = validation.dataset
    month = ds.resolve_month(as_of)
    timings["validation"] = time.perf_counter() - t0
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temp(out)
    tmp = _new_temp(out, month, kind)
    try:
        (tmp / "validation.json").write_text(dumps(validation.to_dict()), encoding="utf-8")
        nb_params = {
            "data_dir": str(Path(data_dir).resolve()),
            "as_of": str(month),
            "config_path": str(Path(config_path).resolve()) if config_path else None,
            "mapping_path": str(Path(mapping_path).resolve()) if mapping_path else None,
            "lang": ds.config["general"]["lang"],
            "validation_path": str(tmp / "validation.json"),
            **params,
        }
        say(f"executing {nb_in.name}")
        t1 = time.perf_counter()
        executed = _execute(kind, nb_in, tmp / f"{kind}.ipynb", nb_params, out / "logs", month)
        timings["execution"] = time.perf_counter() - t1
        say("exporting HTML")
        t2 = time.perf_counter()
        _write_outputs(kind, ds, month, executed, tmp, out / str(month), pdf)
        timings["export"] = time.perf_counter() - t2
        t3 = time.perf_counter()
        replace_dir(tmp, out / str(month), keep_from_old=lambda name: not name.startswith("."))
        write_index(out)
        timings["publish"] = time.perf_counter() - t3
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    timings["total"] = time.perf_counter() - t0
    render_report.last_timings = timings  # type: ignore[attr-defined]
    return out / str(month) / f"{kind}.html"


def _validate(data_dir: str | Path, mapping_path: Any, config_path: Any, lang: str | None) -> Any:
    """The validation gate (with the mapping); DataError when the data cannot be used."""
    from cs_metrics.data.validate import validate_dataset

    cfg = load_config(config_path)
    if lang:
        cfg = cfg.updated({"general": {"lang": lang}})
    validation = validate_dataset(data_dir, mapping=mapping_path, config=cfg)
    if not validation.ok:
        raise DataError(validation.errors, report=validation)
    return validation


_TEMP_RE = re.compile(r"^\.\d{4}-\d{2}-[a-z]+-")
_OWNER = ".owner-pid"


def _new_temp(out: Path, month: Month, kind: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix=f".{month}-{kind}-", dir=out))
    os.chmod(tmp, 0o755)
    (tmp / _OWNER).write_text(str(os.getpid()), encoding="utf-8")
    return tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp(out: Path) -> list[Path]:
    """Delete the temporary folders of runs that were killed (their owner process is gone).

    A run in progress (owner alive) is left alone. Returns the folders removed.
    """
    removed = []
    for d in out.iterdir() if out.is_dir() else []:
        if not (d.is_dir() and _TEMP_RE.match(d.name)):
            continue
        try:
            pid = int((d / _OWNER).read_text("utf-8").strip())
        except (OSError, ValueError):
            pid = -1
        if pid == os.getpid() or (pid > 0 and _alive(pid)):
            continue
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


def _execute(
    kind: str, nb_in: Path, executed: Path, params: dict[str, Any], logs: Path, month: Month
) -> Path:
    """Run the notebook with papermill; a failing cell becomes :class:`ReportFailed` with the
    traceback (secrets redacted) in a log file."""
    import papermill as pm

    try:
        pm.execute_notebook(
            str(nb_in),
            str(executed),
            parameters=params,
            kernel_name=_kernel_name(),
            progress_bar=False,
            cwd=str(nb_in.parent),
            log_output=False,
        )
    except pm.PapermillExecutionError as e:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / f"{month}-{kind}-{stamp}.log"
        text = "\n".join(e.traceback) if e.traceback else f"{e.ename}: {e.evalue}"
        text = re.sub(r"\x1b\[[0-9;]*m", "", text)
        log.write_text(redact(f"{kind} {month}, cell {e.exec_count}\n\n{text}\n"), "utf-8")
        section = f"cell {e.exec_count}: {e.ename}"
        raise ReportFailed("report_failed", section=section, log=str(log)) from None
    return executed


def _write_outputs(
    kind: str, ds: Any, month: Month, executed: Path, tmp: Path, target: Path, pdf: bool
) -> None:
    """HTML (offline), the CSVs of the monthly report, metrics.json and the optional PDF."""
    cfg = ds.config
    run_time = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    html_path = tmp / f"{kind}.html"
    export_html(executed, html_path, f"generated {run_time} · cs-metrics {cs_metrics.__version__}")
    (tmp / "validation.json").unlink()
    (tmp / _OWNER).unlink()
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


def _pdf(html_path: Path, pdf_path: Path) -> None:
    """Print the HTML to PDF with headless Chromium in its own process group, killed on any
    failure or interruption (no orphan keeps writing into the temporary folder)."""
    exe = chromium_executable()
    if not exe:
        raise ReportError("chromium_missing")
    with tempfile.TemporaryDirectory() as prof:
        cmd = [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={prof}",
            f"--print-to-pdf={pdf_path}",
            html_path.resolve().as_uri(),
        ]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            _, err = proc.communicate(timeout=120)
        except BaseException:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if proc.returncode != 0 or not pdf_path.is_file():
            detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["-"]
            raise ReportError("pdf_failed", detail=detail[0][:200])


def write_index(out_dir: str | Path) -> Path:
    """Regenerate ``index.html``: every month's reports with headline numbers."""
    from cs_metrics.format import fmt_money, fmt_pct
    from cs_metrics.reporting.html import CSS, esc

    out = Path(out_dir)
    rows = []
    for mj in sorted(out.glob("[0-9]*/metrics.json"), reverse=True):
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


def backfill(
    kind: str, data_dir: str | Path, start: MonthLike, end: MonthLike, **kwargs: Any
) -> list[Path]:
    """Render ``kind`` for every month from ``start`` to ``end`` with a progress bar.

    The data is validated once; both months are checked against the data's range before any
    report is rendered.

    Raises
    ------
    PeriodError
        ``month_range_reversed`` when ``start`` is after ``end``; ``month_out_of_range`` when
        either is outside the data.
    """
    from tqdm import tqdm

    first, last = Month.parse(start), Month.parse(end)
    if first > last:
        raise PeriodError("month_range_reversed", start=str(first), end=str(last))
    validation = _validate(
        data_dir, kwargs.get("mapping_path"), kwargs.get("config_path"), kwargs.get("lang")
    )
    ds = validation.dataset
    ds.resolve_month(first), ds.resolve_month(last)
    paths = []
    for month in tqdm(
        months_between(first, last), desc=f"{kind} reports", unit="month", file=sys.stderr
    ):
        paths.append(render_report(kind, data_dir, month, validation=validation, **kwargs))
    return paths
