"""``validate --data-docs DIR``: Great Expectations' Data Docs published without overwriting
anything of yours.

``DIR`` must be new, empty, or hold only what an earlier ``--data-docs`` run wrote there and
nobody changed since: a manifest, :data:`MANIFEST` (relative path -> sha256 of every file
written), tells. Anything else (your ``index.html``, a ``static/`` folder, a file added or edited
since) is refused before the data is validated (``data_docs_foreign``, exit 2). The site is built
in an owner-marked temporary folder beside ``DIR`` and swapped into place
(:func:`cs_metrics.fsutil.replace_dir`), so ``DIR`` is always the old site or the whole new one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from cs_metrics.errors import OutputError
from cs_metrics.fsutil import (
    OWNER,
    dead_owned_folder,
    make_owned_temp,
    read_manifest_files,
    recover_dir,
    replace_dir,
    sha256_file,
)

__all__ = ["MANIFEST", "check_data_docs_dir", "foreign_entries", "publish_data_docs"]

MANIFEST = ".cs-metrics-data-docs.json"
GENERATOR = "cs-metrics data-docs"
_TMP = "-cs-metrics-data-docs-"


def _recorded(folder: Path) -> dict[str, str] | None:
    files = read_manifest_files(folder / MANIFEST, GENERATOR)
    if files is None:
        return None
    return {str(k): v for k, v in files.items() if isinstance(v, str)}


def _walk(folder: Path) -> list[tuple[str, Path]]:
    """Every entry under ``folder`` that is not a plain folder (files, links, special files), as
    (path relative to ``folder`` with ``/``, path); links are not followed."""
    found = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        base = Path(root)
        for name in files + [d for d in dirs if (base / d).is_symlink()]:
            found.append(((base / name).relative_to(folder).as_posix(), base / name))
    return found


def foreign_entries(folder: Path) -> list[str]:
    """What in ``folder`` an earlier ``--data-docs`` run did not write or that changed since
    (relative paths, sorted); empty for a new or empty folder."""
    if not folder.is_dir():
        return []
    recorded = _recorded(folder)
    if recorded is None:
        return sorted(f.name for f in folder.iterdir())
    foreign = []
    for rel, path in _walk(folder):
        if rel == MANIFEST:
            continue
        ok = rel in recorded and not path.is_symlink() and path.is_file()
        if not (ok and sha256_file(path) == recorded[rel]):
            foreign.append(rel)
    return sorted(foreign)


def check_data_docs_dir(out_dir: str | Path) -> Path:
    """The folder the site is published as (a link to a folder is followed), after refusing a
    file or a folder with entries of yours.

    Raises
    ------
    OutputError
        ``output_unwritable`` (``out_dir`` is a file) or ``data_docs_foreign`` (exit 2).
    """
    out = Path(out_dir)
    if os.path.lexists(out) and not out.is_dir():
        raise OutputError("output_unwritable", path=str(out), detail="not a folder")
    out = out.resolve()
    recover_dir(out)  # a swap killed half-way gives the old folder back first
    foreign = foreign_entries(out)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise OutputError("data_docs_foreign", path=str(out), names=shown)
    return out


def publish_data_docs(ds: Any, out_dir: str | Path) -> Path:
    """Validate ``ds`` with Great Expectations and publish its Data Docs as ``out_dir`` (see the
    module docstring). Returns the site's ``index.html``.

    Raises
    ------
    OutputError
        As :func:`check_data_docs_dir` (checked again just before the swap).
    """
    from cs_metrics.data.gx import build_data_docs

    out = check_data_docs_dir(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}{_TMP}*"):
        if dead_owned_folder(stale):  # a killed run's
            shutil.rmtree(stale, ignore_errors=True)
    tmp = make_owned_temp(out.parent, f".{out.name}{_TMP}")
    try:
        build_data_docs(ds, tmp)
        (tmp / OWNER).unlink()
        files = {rel: sha256_file(path) for rel, path in _walk(tmp) if not path.is_symlink()}
        manifest = {"generator": GENERATOR, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", "utf-8")
        check_data_docs_dir(out)
        replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out / "index.html"
