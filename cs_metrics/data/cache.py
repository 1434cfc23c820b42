"""Validation results cached across processes, keyed by everything that decides them.

The key is a sha256 over: the package version and the source of the gate's modules, the engine,
every input file (name, format, sha256 of its bytes, the columns renamed by the mapping), the
mapping, the whole configuration and the suites. Any change to any of them is a different key,
so a stale entry is never read. Only results without errors are stored (their warnings are
replayed exactly, in order); a dataset with errors is validated again every time, so a cached
entry can never hide an error.

The folder is ``$CS_METRICS_CACHE_DIR``, else ``$XDG_CACHE_HOME/cs-metrics``, else
``~/.cache/cs-metrics`` — never the data folder, which may be read-only or the user's. Entries
are small JSON files written atomically (a temporary file renamed into place); a cache that
cannot be read or written is simply not used.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cs_metrics.data.issues import Issue

__all__ = ["MAX_ENTRIES", "cache_dir", "load_entry", "store_entry", "validation_key"]

MAX_ENTRIES = 256  # oldest entries beyond this are removed when a new one is written
_SOURCES = (  # relative to the package: the code that decides a validation result
    "data/gate.py",
    "data/validate.py",
    "data/load.py",
    "data/gx.py",
    "data/plausibility.py",
    "data/schema.py",
    "data/cache.py",
    "messages.py",
)


def cache_dir() -> Path:
    """Where entries live (see the module docstring)."""
    env = os.environ.get("CS_METRICS_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "cs-metrics"


def _code_fingerprint() -> str:
    from cs_metrics import __version__

    h = hashlib.sha256(__version__.encode())
    here = Path(__file__).resolve().parents[1]
    for name in _SOURCES:
        p = here / name
        h.update(p.read_bytes() if p.is_file() else name.encode())
    return h.hexdigest()


def _mapping_text(mapping: Any) -> str:
    if mapping is None:
        return ""
    if isinstance(mapping, (str, Path)):
        p = Path(mapping)
        return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else str(p)
    return json.dumps(mapping, sort_keys=True, ensure_ascii=False, default=str)


def validation_key(
    ds: Any, mapping: Any, engine: str, expectations: str | Path | None = None
) -> str:
    """The key of a loaded dataset's validation result (hex sha256)."""
    from cs_metrics.data.gx import load_suite_dict

    parts = {
        "code": _code_fingerprint(),
        "engine": engine,
        "sources": [
            [s.table, s.file, s.format, s.sha256, sorted(s.renamed.items())]
            for s in ds.sources.values()
        ],
        "loader_warnings": [[w.rule, w.file, w.message] for w in ds.warnings],
        "mapping": _mapping_text(mapping),
        "config": ds.config.to_dict() if hasattr(ds.config, "to_dict") else dict(ds.config),
        "suites": {t: load_suite_dict(t, expectations) for t in ds.frames},
    }
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _issue_from(d: dict[str, Any]) -> Issue:
    examples = [(r, v) for r, v in d.get("examples", [])]
    return Issue(
        d["table"],
        d["file"],
        d["rule"],
        d["message"],
        d.get("column"),
        d.get("severity", "error"),
        int(d.get("n_rows", 0)),
        examples,
    )


def load_entry(key: str) -> tuple[list[Issue], dict[str, int]] | None:
    """(issues, row counts) stored under ``key``, or None (absent, unreadable, malformed)."""
    try:
        data = json.loads((cache_dir() / f"{key}.json").read_text("utf-8"))
        if data.get("key") != key:
            return None
        issues = [_issue_from(d) for d in data["issues"]]
        rows = {str(k): int(v) for k, v in data["row_counts"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(i.severity == "error" for i in issues):
        return None  # never written by store_entry; refuse rather than trust
    return issues, rows


def store_entry(key: str, issues: list[Issue], row_counts: dict[str, int]) -> bool:
    """Store a result without errors (atomically); returns whether it was written."""
    if any(i.severity == "error" for i in issues):
        return False
    data = {
        "key": key,
        "issues": [
            {
                "table": i.table,
                "file": i.file,
                "rule": i.rule,
                "message": i.message,
                "column": i.column,
                "severity": i.severity,
                "n_rows": i.n_rows,
                "examples": [[r, v] for r, v in i.examples],
            }
            for i in issues
        ],
        "row_counts": row_counts,
    }
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, default=str)
            os.replace(tmp, folder / f"{key}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder)
    except (OSError, TypeError, ValueError):
        return False
    return True


def _prune(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    for p in entries[:-MAX_ENTRIES]:
        p.unlink(missing_ok=True)
