"""Publishing folders atomically: build beside the target, then rename into place."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write_bytes", "replace_dir"]


def replace_dir(
    tmp: Path, target: Path, keep_from_old: Callable[[str], bool] | None = None
) -> None:
    """Move the finished folder ``tmp`` to ``target`` (same file system).

    Files of an existing ``target`` for which ``keep_from_old(name)`` is true and that ``tmp``
    does not have are carried over. The old folder is renamed aside first, so ``target`` is
    never half-written; a run killed between the two renames is repaired on the next call.
    """
    old = target.with_name(f".{target.name}.old")
    if old.exists() and not target.exists():
        os.replace(old, target)
    if not target.exists():
        os.replace(tmp, target)
        return
    if keep_from_old is not None:
        for f in target.iterdir():
            if not (tmp / f.name).exists() and keep_from_old(f.name):
                if f.is_dir():
                    shutil.copytree(f, tmp / f.name)
                else:
                    shutil.copy2(f, tmp / f.name)
    shutil.rmtree(old, ignore_errors=True)
    os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, renamed into place:
    a reader (or a killed run) never sees a half-written file; the temporary file is removed
    when writing fails."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
