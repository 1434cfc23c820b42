"""Render a report: validate → papermill → offline HTML → CSVs + metrics.json → atomic publish.

A report for month ``YYYY-MM`` lives in ``<out>/YYYY-MM/``: ``<kind>.html``, ``<kind>.ipynb``
(executed), ``metrics.json`` and the Excel CSVs. Everything is built in a temporary folder next
to it and swapped into place, so a failed or killed run leaves the previous report untouched; a
re-render replaces only the files its previous render wrote and nobody changed since
(:mod:`cs_metrics.reporting.publish`). ``<out>/index.html`` lists every month.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cs_metrics
from cs_metrics.config import load_config
from cs_metrics.errors import (
    CsMetricsError,
    DataError,
    OutputError,
    PeriodError,
    ReportError,
    ReportFailed,
    redact,
)
from cs_metrics.fsutil import (
    atomic_write_bytes,
    dead_owned_folder,
    make_owned_temp,
)
from cs_metrics.periods import Month, MonthLike, months_between
from cs_metrics.reporting.outputs import dumps, json_name, metrics_payload
from cs_metrics.reporting.publish import (
    REPORT_JSONS,
    check_month_folder,
    is_month_name,
    is_report_folder,
    publish_month,
    recorded_kinds,
)

# papermill and nbconvert import nbformat -> jsonschema, which compiles the optional
# rfc3987_syntax grammar at import (10+ s on a busy 2-core machine) only to check "iri" string
# formats that no notebook uses; without it jsonschema skips those formats (as in charts).
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

__all__ = [
    "KERNEL_WRITES",
    "CHROMIUM_FLAGS",
    "COMMAND_PARAMETERS",
    "INDEX_MARK",
    "KERNEL",
    "KINDS",
    "PRELOAD",
    "TEMPLATES",
    "TITLES",
    "backfill",
    "check_out_dir",
    "check_parameters",
    "chromium_executable",
    "export_html",
    "known_parameters",
    "notebook_path",
    "notebooks_dir",
    "published_months",
    "remove_stale_temp",
    "render_report",
    "write_index",
]

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
    "output_dir": "(internal)",
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


def _html_exporter() -> Any:
    """nbconvert's HTML exporter for reports (offline template, no code cells)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="cs_offline",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def _warm_exporter() -> Any:
    """An HTML exporter whose templates are already compiled (by exporting a one-cell notebook):
    made in a thread while the kernel runs the notebook, it saves about a second of export."""
    import nbformat

    exporter = _html_exporter()
    cell = nbformat.v4.new_code_cell(
        "", outputs=[nbformat.v4.new_output("display_data", {"text/html": "<p>.</p>"})]
    )
    exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[cell]), resources={})
    return exporter


def export_html(
    executed: Path,
    html_path: Path,
    run_time: str,
    title: str | None = None,
    exporter: Any = None,
) -> None:
    """Executed notebook → one offline HTML file without code cells (``title``: the page's
    <title>, in the report's language; ``exporter``: one from :func:`_warm_exporter`)."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    if title:
        nb.metadata["title"] = title
    exporter = exporter or _html_exporter()
    body, _ = exporter.from_notebook_node(nb, resources={"cs_run_time": run_time})
    html_path.write_text(body, encoding="utf-8")


# Run in the report's kernel as it starts (IPython's exec_lines): the kernel imports what the
# notebook uses and starts the chart renderer while this process validates the data.
PRELOAD = "from cs_metrics.reporting.context import preload; preload()"


@contextmanager
def _kernel(cwd: Path) -> Iterator[dict[str, Any]]:
    """papermill's kernel arguments, the kernel already starting in ``cwd`` (and preloading);
    it is shut down on the way out, whatever happens."""
    from cs_metrics.reporting.kernel import quiet_kernel

    name = _kernel_name()
    with quiet_kernel(name) as kernel:
        km = kernel.get("km")
        if km is not None:
            km.start_kernel(cwd=str(cwd), extra_arguments=[f"--IPKernelApp.exec_lines={PRELOAD}"])
        yield {"kernel_name": name, **kernel}


def _notebook_parameters(
    paths: tuple[Any, Any, Any], month: Month, validation: Any, tmp: Path, params: dict[str, Any]
) -> dict[str, Any]:
    """The notebook's parameters: absolute paths (data, config, mapping), the resolved month,
    the dataset's language, where the kernel reads the validation and writes its files."""
    data_dir, config_path, mapping_path = paths
    return {
        "data_dir": str(Path(data_dir).resolve()),
        "as_of": str(month),
        "config_path": str(Path(config_path).resolve()) if config_path else None,
        "mapping_path": str(Path(mapping_path).resolve()) if mapping_path else None,
        "lang": validation.dataset.config["general"]["lang"],
        "validation_path": str(tmp / "validation.json"),
        "output_dir": str(tmp),
        **params,
    }


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
    force: bool = False,
) -> Path:
    """Render one report and return the path of its HTML file.

    Steps: start the notebook's kernel (it boots while the rest runs), check the ``-p``
    parameters, validate the data (with the mapping), resolve the month against the data's
    range, execute the notebook in a temporary folder beside the target (its last cell writes
    metrics.json and the CSVs from the figures it computed), export offline HTML (optionally a
    PDF), then publish atomically. ``render_report.last_timings`` holds each step's seconds.
    ``force``: publish even over files of the month that were changed since cs-metrics wrote them
    (they are kept as ``<stem>.orig<suffix>``) or into a folder that is not a report.

    Raises
    ------
    DataError
        The data is invalid (nothing is written).
    PeriodError
        ``as_of`` is not a month the data covers (nothing is written).
    ReportError
        Bad parameters (exit 2), or :class:`~cs_metrics.errors.ReportFailed` when a section
        failed (exit 1; the traceback is in ``<out_dir>/logs/``; the previous report untouched).
    OutputError
        The output folder would overwrite what cs-metrics did not write (:func:`check_out_dir`).
    """
    from cs_metrics.labels import label

    say = progress or (lambda _msg: None)
    words = _progress_lang(lang, config_path)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    nb_in = notebook_path(kind)
    owned = validation is None  # validated here (not shared with other months of a backfill)
    with _kernel(nb_in.parent) as kernel:
        params = check_parameters(kind, dict(params or {}))
        if validation is None:
            say(label("progress.validating", words))
            validation = _validate(data_dir, mapping_path, config_path, lang)
        month = validation.dataset.resolve_month(as_of)
        timings["validation"] = time.perf_counter() - t0
        out = Path(out_dir)
        check_out_dir(out, month, kind, pdf, force)
        out.mkdir(parents=True, exist_ok=True)
        remove_stale_temp(out)
        tmp = _new_temp(out, month, kind)
        try:
            paths = (data_dir, config_path, mapping_path)
            nb_params = _notebook_parameters(paths, month, validation, tmp, params)
            inputs = _Inputs.of(validation, kind, owned, (paths, lang))
            validation = None  # the kernel computes from its own copy: see _Inputs
            _render_in(
                kind,
                inputs,
                month,
                nb_params,
                tmp,
                out,
                (pdf, force),
                kernel,
                say,
                words,
                timings,
            )
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    timings["total"] = time.perf_counter() - t0
    render_report.last_timings = timings  # type: ignore[attr-defined]
    return out / str(month) / f"{kind}.html"


KERNEL_WRITES = ("monthly", "review")  # notebooks whose last cell writes the JSON (and CSVs)


@dataclass
class _Inputs:
    """What publishing needs from the validated data: the validation's JSON, the config, and the
    dataset - kept only for a notebook that does not write its own files (explore) or when it
    is shared (a backfill). Otherwise it is released before the kernel runs, so that the parent
    does not hold a second copy of the data beside the kernel's (about 1.9 GB at 100k accounts
    with weekly usage); :meth:`dataset` loads it again should it be needed after all."""

    validation: dict[str, Any]
    config: Any
    _ds: Any
    _reload: Callable[[], Any]

    @classmethod
    def of(cls, validation: Any, kind: str, owned: bool, where: tuple[Any, Any]) -> _Inputs:
        (data_dir, config_path, mapping_path), lang = where
        ds = validation.dataset
        keep = not (owned and kind in KERNEL_WRITES)

        def reload() -> Any:
            return _validate(data_dir, mapping_path, config_path, lang).dataset

        return cls(validation.to_dict(), ds.config, ds if keep else None, reload)

    def dataset(self) -> Any:
        if self._ds is None:
            self._ds = self._reload()
        return self._ds


def _render_in(
    kind: str,
    inputs: _Inputs,
    month: Month,
    nb_params: dict[str, Any],
    tmp: Path,
    out: Path,
    pdf_force: tuple[bool, bool],
    kernel: dict[str, Any],
    say: Callable[[str], None],
    words: str,
    timings: dict[str, float],
) -> None:
    """Execute, export and publish one report built in ``tmp`` (see :func:`render_report`;
    ``pdf_force``: its ``pdf`` and ``force``); each step's seconds go into ``timings``."""
    from cs_metrics.labels import label

    pdf, force = pdf_force
    nb_in = notebook_path(kind)
    (tmp / "validation.json").write_text(dumps(inputs.validation), encoding="utf-8")
    gc.collect()  # the parent's copy of the data, when released (_Inputs)
    say(label("progress.executing", words, name=nb_in.name))
    t1 = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        exporter = pool.submit(_warm_exporter)  # compiles nbconvert's templates meanwhile
        executed = _execute(
            kind, nb_in, tmp / f"{kind}.ipynb", nb_params, out / "logs", month, kernel
        )
        timings["execution"] = time.perf_counter() - t1
        say(label("progress.exporting", words))
        t2 = time.perf_counter()
        _write_outputs(kind, inputs, month, executed, tmp, pdf, _ready(exporter))
    timings["export"] = time.perf_counter() - t2
    t3 = time.perf_counter()
    publish_month(tmp, out / str(month), kind, force)
    write_index(out)
    timings["publish"] = time.perf_counter() - t3


def _ready(future: Future) -> Any:
    """The warmed exporter, or None when warming failed (the export then reports the error)."""
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - export_html makes its own exporter and fails there
        return None


def _progress_lang(lang: str | None, config_path: Any) -> str:
    """The language of the progress lines, before the data is loaded."""
    if lang:
        return lang
    try:
        return load_config(config_path)["general"]["lang"]
    except CsMetricsError:
        return "ja"


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


_TEMP_RE = re.compile(rf"^\.\d{{4}}-\d{{2}}-({'|'.join(KINDS)})-")


def _new_temp(out: Path, month: Month, kind: str) -> Path:
    return make_owned_temp(out, f".{month}-{kind}-")


def remove_stale_temp(out: Path) -> list[Path]:
    """Delete the temporary folders of runs that were killed: hidden ``.YYYY-MM-<kind>-*``
    folders holding the owner marker of a process that is gone. A folder without the marker
    (yours, whatever its name), a link, or a run in progress is left alone. Returns the folders
    removed.
    """
    removed = []
    for d in out.iterdir() if out.is_dir() else []:
        if _TEMP_RE.match(d.name) and dead_owned_folder(d):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _execute(
    kind: str,
    nb_in: Path,
    executed: Path,
    params: dict[str, Any],
    logs: Path,
    month: Month,
    kernel: dict[str, Any],
) -> Path:
    """Run the notebook with papermill in ``kernel`` (from :func:`_kernel`); a failing cell
    becomes :class:`ReportFailed` with the traceback (secrets redacted) in a log file."""
    import papermill as pm

    try:
        pm.execute_notebook(
            str(nb_in),
            str(executed),
            parameters=params,
            progress_bar=False,
            cwd=str(nb_in.parent),
            log_output=False,
            **kernel,
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
    kind: str,
    inputs: _Inputs,
    month: Month,
    executed: Path,
    tmp: Path,
    pdf: bool,
    exporter: Any = None,
) -> None:
    """HTML (offline), the report's JSON and the optional PDF. The JSON and the monthly CSVs are the kernel's (its last cell); a
    notebook without that cell (explore) gets them computed here."""
    from cs_metrics.labels import label

    cfg = inputs.config
    run_time = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    html_path = tmp / f"{kind}.html"
    lang = cfg["general"]["lang"]
    stamp = label("word.generated", lang, when=run_time)
    title = f"{TITLES[kind][0 if lang == 'ja' else 1]} — {month.label(lang)}"
    footer = f"{stamp} · cs-metrics {cs_metrics.__version__}"
    export_html(executed, html_path, footer, title, exporter)
    (tmp / "validation.json").unlink()
    name = json_name(kind)  # metrics.json is the monthly report's contract; the others their own
    if (tmp / name).is_file():
        payload = json.loads((tmp / name).read_text("utf-8"))
    else:
        ds = inputs.dataset()
        if kind == "monthly":
            from cs_metrics.exports import write_report_csvs

            write_report_csvs(ds, month, tmp)
        payload = metrics_payload(ds, month, cfg, kind)
    (tmp / name).write_text(dumps(payload), encoding="utf-8")
    if pdf:
        _pdf(
            html_path,
            tmp / f"{kind}.pdf",
            TITLES[kind][0 if lang == "ja" else 1],
            month.label(lang),
        )


def _pdf(html_path: Path, pdf_path: Path, title: str = "", month_label: str = "") -> None:
    """Print the HTML to an A4 PDF with the report's own header (title, month) and page numbers,
    no browser header or footer (:func:`cs_metrics.reporting.pdf.print_pdf`: headless Chromium
    in its own process group, killed on any failure)."""
    from cs_metrics.reporting.pdf import print_pdf

    exe = chromium_executable()
    if not exe:
        raise ReportError("chromium_missing")
    print_pdf(html_path, pdf_path, title, month_label, exe, CHROMIUM_FLAGS)


def _month_json(folder: Path) -> dict[str, Any] | None:
    """The figures of a month's folder: its metrics.json, else a review.json or explore.json
    (None when none is a JSON object)."""
    for name in REPORT_JSONS:
        path = folder / name
        if path.is_file():
            try:
                data = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                return None
            return data if isinstance(data, dict) else None
    return None


INDEX_MARK = "<meta name='generator' content='cs-metrics'>"


def check_out_dir(
    out: Path,
    month: Month | str,
    kind: str | None = None,
    pdf: bool = False,
    force: bool = False,
) -> None:
    """Refuse to publish where it would overwrite or remove what the program did not make:
    ``--out`` that is a file, an ``index.html`` that is not cs-metrics' own (or is a link or a
    folder), and a month folder the render of ``kind`` would damage
    (:func:`cs_metrics.reporting.publish.check_month_folder`).

    Raises
    ------
    OutputError
        ``output_unwritable``, ``report_index_foreign``, ``report_target_not_folder``,
        ``report_folder_foreign`` or ``report_file_changed`` (exit 2, nothing written).
    """
    out = Path(out)
    if os.path.lexists(out) and not out.is_dir():
        raise OutputError("output_unwritable", path=str(out), detail="not a folder")
    index = out / "index.html"
    if os.path.lexists(index):
        try:
            regular = index.is_file() and not index.is_symlink()
            head = index.read_text("utf-8", errors="replace")[:2000] if regular else ""
        except OSError:
            head = ""
        if INDEX_MARK not in head and "<title>cs-metrics reports</title>" not in head:
            raise OutputError("report_index_foreign", path=str(index))
    check_month_folder(out, month, kind, pdf, force)


def _dig(m: Any, *keys: str) -> Any:
    for key in keys:
        m = m.get(key) if isinstance(m, dict) else None
    return m


def published_months(out: Path) -> list[tuple[Path, dict[str, Any], list[str]]]:
    """The published reports of ``out``, newest month first: (folder, its JSON, its report
    kinds). Only real ``YYYY-MM`` folders with a cs-metrics report count: no hidden, temporary
    or backup folder, no link, no folder of yours named like a month."""
    found = []
    for folder in sorted(out.iterdir() if out.is_dir() else [], reverse=True):
        if not (is_month_name(folder.name) and is_report_folder(folder)):
            continue
        m, kinds = _month_json(folder), recorded_kinds(folder)
        if m is not None and kinds:
            found.append((folder, m, kinds))
    return found


def write_index(out_dir: str | Path, lang: str | None = None) -> Path:
    """Regenerate ``index.html``: every month's reports with headline numbers, in one language
    (``lang``, else the language of the newest report)."""
    from cs_metrics.format import fmt_money, fmt_pct
    from cs_metrics.labels import label
    from cs_metrics.periods import Month
    from cs_metrics.reporting.html import CSS, esc

    out = Path(out_dir)
    months = published_months(out)
    if lang is None:
        lang = _dig(months[0][1], "config", "general", "lang") if months else None
        lang = lang if lang in ("ja", "en") else "ja"
    ja = lang == "ja"
    rows = []
    for folder, m, kinds in months:
        unit = _dig(m, "config", "general", "display_unit")
        unit = unit if isinstance(unit, str) else "円"
        titles = {k: v[0] if ja else v[1] for k, v in TITLES.items()}
        links = " ".join(
            f'<a href="{esc(folder.name)}/{esc(k)}.html">{esc(titles[k])}</a>' for k in kinds
        )
        cw = next(
            (v for k, v in m.items() if k.startswith("churn_within_") and isinstance(v, dict)), {}
        )
        cells = [
            fmt_money(m.get("mrr_end"), unit, lang),
            fmt_pct(m.get("logo_churn_rate")),
            fmt_pct(m.get("nrr")),
            fmt_pct(m.get("nrr_trailing_12m")),
            fmt_pct(cw.get("km_rate")),
        ]
        try:
            name = Month.parse(folder.name).label(lang)
        except Exception:  # noqa: BLE001 - a folder named like a month that is not one
            name = folder.name
        rows.append(
            f"<tr><td>{esc(name)}</td><td>{links}</td>"
            + "".join(f"<td class='num'>{esc(c)}</td>" for c in cells)
            + "</tr>"
        )
    heads = [
        "月" if ja else "Month",
        "レポート" if ja else "Reports",
        label("kpi.mrr_end", lang),
        label("kpi.logo_churn_rate", lang),
        label("kpi.nrr", lang),
        label("kpi.nrr_trailing_12m", lang),
        label("kpi.churn_within", lang, h=24) + ("（KM）" if ja else " (KM)"),
    ]
    title = "レポート一覧" if ja else "Reports"
    body = (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>{INDEX_MARK}"
        f"<title>{title}</title>"
        "<style>body{font-family:'Noto Sans CJK JP','Hiragino Sans','Yu Gothic',Meiryo,"
        f"sans-serif;margin:24px}}{CSS}</style></head><body><h1>{title}</h1>"
        "<table class='cs-table'><thead><tr>"
        + "".join(f"<th>{esc(h)}</th>" for h in heads)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>\n"
    )
    path = out / "index.html"
    atomic_write_bytes(path, body.encode("utf-8"))
    return path


def backfill(
    kind: str, data_dir: str | Path, start: MonthLike, end: MonthLike, **kwargs: Any
) -> list[Path]:
    """Render ``kind`` for every month from ``start`` to ``end`` with a progress bar.

    The data is validated once; both months are checked against the data's range, and every
    month's folder against what it would overwrite (:func:`check_out_dir`), before any report is
    rendered.

    Raises
    ------
    PeriodError
        ``month_range_reversed`` when ``start`` is after ``end``; ``month_out_of_range`` when
        either is outside the data.
    OutputError
        A month's folder holds files the render would overwrite (see :func:`check_out_dir`).
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
    out = Path(kwargs.get("out_dir", "reports"))
    for month in months_between(first, last):
        check_out_dir(out, month, kind, kwargs.get("pdf", False), kwargs.get("force", False))
    paths = []
    from cs_metrics.labels import label

    lang = ds.config["general"]["lang"]
    desc = TITLES[kind][0 if lang == "ja" else 1]
    for month in tqdm(
        months_between(first, last),
        desc=desc,
        unit=label("progress.unit", lang),
        file=sys.stderr,
    ):
        paths.append(render_report(kind, data_dir, month, validation=validation, **kwargs))
    return paths
