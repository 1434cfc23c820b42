"""Publishing a report month: what a re-render may replace, and nothing else.

Each month folder ``<out>/YYYY-MM/`` holds a manifest, :data:`MANIFEST`, recording for each report
kind the files its last render wrote with their sha256. A re-render of that kind replaces or
removes only the files recorded for it and still unchanged; every other entry of the folder (your
notes, a deck named ``monthly.pptx``, hidden files, the other reports) is carried into the new
folder untouched. A file the new render would write that was changed since (a CSV annotated in
Excel) or that cs-metrics did not write is refused (``report_file_changed``, exit 2, before
anything runs) unless ``--force``: then your version is kept beside the new report as
``<stem>.orig<suffix>`` (``risk_list.orig.csv``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from cs_metrics.errors import OutputError
from cs_metrics.fsutil import (
    OWNER,
    carry,
    read_manifest_files,
    recover_dir,
    replace_dir,
    sha256_file,
)
from cs_metrics.periods import Month
from cs_metrics.reporting.outputs import dumps, json_name

__all__ = [
    "MANIFEST",
    "MONTHLY_CSVS",
    "REPORT_JSONS",
    "changed_files",
    "check_month_folder",
    "expected_files",
    "is_month_name",
    "is_report_folder",
    "publish_month",
    "read_manifest",
    "recorded_kinds",
]

MANIFEST = ".cs-metrics-report.json"
GENERATOR = "cs-metrics report"
MONTHLY_CSVS = ("kpi_summary.csv", "mrr_bridge.csv", "churned_accounts.csv", "risk_list.csv")
REPORT_JSONS = ("metrics.json", "review.json", "explore.json")
_MONTH_RE = re.compile(r"\d{4}-\d{2}")


def expected_files(kind: str, pdf: bool = False) -> set[str]:
    """The names a render of ``kind`` writes into its month folder."""
    names = {f"{kind}.html", f"{kind}.ipynb", json_name(kind)}
    if kind == "monthly":
        names |= set(MONTHLY_CSVS)
    if pdf:
        names.add(f"{kind}.pdf")
    return names


def is_month_name(name: str) -> bool:
    """Whether ``name`` is a month folder's name (``YYYY-MM`` with a real month)."""
    if not _MONTH_RE.fullmatch(name):
        return False
    try:
        Month.parse(name)
    except Exception:  # noqa: BLE001 - 2025-13 is a name, not a month
        return False
    return True


def _plain(name: Any) -> bool:
    return isinstance(name, str) and name not in ("", ".", "..") and Path(name).name == name


def read_manifest(folder: Path) -> dict[str, dict[str, str]] | None:
    """kind -> {file name: sha256} of ``folder``'s manifest; None when there is none (or it is
    not one: unreadable, not JSON, another program's)."""
    files = read_manifest_files(folder / MANIFEST, GENERATOR)
    if files is None:
        return None
    return {
        kind: {n: d for n, d in rec.items() if _plain(n) and isinstance(d, str)}
        for kind, rec in files.items()
        if isinstance(kind, str) and isinstance(rec, dict)
    }


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def is_report_folder(folder: Path) -> bool:
    """A real folder (not a link) with a cs-metrics manifest, or a report JSON of a render made
    before manifests existed."""
    if not _real_dir(folder):
        return False
    return read_manifest(folder) is not None or any(
        (folder / n).is_file() and not (folder / n).is_symlink() for n in REPORT_JSONS
    )


def recorded_kinds(folder: Path) -> list[str]:
    """The report kinds published in ``folder``: those of its manifest whose HTML is still there
    (any kind whose HTML is there, for a folder rendered before manifests existed)."""
    from cs_metrics.reporting.run import KINDS

    manifest = read_manifest(folder)
    kinds = [k for k in KINDS if manifest is None or f"{k}.html" in manifest.get(k, {})]
    return [k for k in kinds if (folder / f"{k}.html").is_file()]


def _own_unchanged(folder: Path, kind: str) -> set[str]:
    """The files of ``folder`` recorded as written by the last render of ``kind`` and unchanged."""
    recorded = (read_manifest(folder) or {}).get(kind, {})
    own = set()
    for name, digest in recorded.items():
        path = folder / name
        try:
            if not path.is_symlink() and path.is_file() and sha256_file(path) == digest:
                own.add(name)
        except OSError:
            continue
    return own


def changed_files(folder: Path, kind: str, names: set[str]) -> list[str]:
    """Which of ``names`` exist in ``folder`` but are not the unchanged files of the last render
    of ``kind`` (changed since, or never written by cs-metrics)."""
    if not _real_dir(folder):
        return []
    own = _own_unchanged(folder, kind)
    return sorted(n for n in names if os.path.lexists(folder / n) and n not in own)


def _shown(names: list[str]) -> str:
    return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")


def check_month_folder(
    out: Path, month: Month | str, kind: str | None = None, pdf: bool = False, force: bool = False
) -> None:
    """Refuse, before anything runs, a month folder that a render of ``kind`` would damage.

    Raises
    ------
    OutputError
        ``report_target_not_folder`` (``YYYY-MM`` is a file or a link), ``report_folder_foreign``
        (a non-empty folder that is no cs-metrics report; allowed with ``force``: the report is
        written beside its files) or ``report_file_changed`` (a file the render would write was
        changed since cs-metrics wrote it, or was not written by it; with ``force`` it is kept as
        ``<stem>.orig<suffix>``).
    """
    target = out / str(month)
    if not os.path.lexists(target):
        return
    if not _real_dir(target):
        raise OutputError("report_target_not_folder", path=str(target))
    if force:
        return
    if any(target.iterdir()) and not is_report_folder(target):
        raise OutputError("report_folder_foreign", path=str(target))
    if kind is not None:
        changed = changed_files(target, kind, expected_files(kind, pdf))
        if changed:
            raise OutputError("report_file_changed", path=str(target), names=_shown(changed))


def _orig_name(name: str, taken: Path, target: Path) -> str:
    p = Path(name)
    for k in range(1, 1000):
        cand = f"{p.stem}.orig{k if k > 1 else ''}{p.suffix}"
        if not (os.path.lexists(taken / cand) or os.path.lexists(target / cand)):
            return cand
    raise OutputError("output_unwritable", path=str(target / name), detail="no free backup name")


def _carry_old(tmp: Path, target: Path, kind: str, written: set[str], force: bool) -> set[str]:
    """Carry every entry of the old ``target`` that is not the unchanged own file of ``kind``
    into ``tmp``; returns the names carried under their own name."""
    own = _own_unchanged(target, kind)
    carried = set()
    for f in sorted(target.iterdir()):
        name = f.name
        if name == MANIFEST or name in own:
            continue  # replaced (or, when this render does not write it again, removed)
        if name in written:
            if f.is_file() and not f.is_symlink() and sha256_file(f) == sha256_file(tmp / name):
                continue  # the same bytes: nothing of yours is lost
            if not force:
                raise OutputError("report_file_changed", path=str(target), names=name)
            carry(f, tmp / _orig_name(name, tmp, target))
            continue
        carry(f, tmp / name)
        carried.add(name)
    return carried


def publish_month(tmp: Path, target: Path, kind: str, force: bool = False) -> None:
    """Publish the finished month folder ``tmp`` (a render of ``kind``) as ``target``.

    The old folder's entries that are not this kind's unchanged files are carried over (see the
    module docstring), the manifest is written, then the folders are swapped atomically
    (:func:`cs_metrics.fsutil.replace_dir`).
    """
    recover_dir(target)  # first: a swap killed half-way gives the old folder back
    if os.path.lexists(target) and not _real_dir(target):
        raise OutputError("report_target_not_folder", path=str(target))
    (tmp / OWNER).unlink(missing_ok=True)
    written = {f.name for f in tmp.iterdir() if f.name != MANIFEST}
    files: dict[str, dict[str, str]] = {}
    if os.path.lexists(target):
        old = read_manifest(target) or {}
        carried = _carry_old(tmp, target, kind, written, force)
        files = {
            k: {n: d for n, d in rec.items() if n in carried} for k, rec in old.items() if k != kind
        }
    files[kind] = {n: sha256_file(tmp / n) for n in sorted(written)}
    manifest = {"generator": GENERATOR, "files": {k: v for k, v in files.items() if v}}
    (tmp / MANIFEST).write_text(dumps(manifest), encoding="utf-8")
    replace_dir(tmp, target)
