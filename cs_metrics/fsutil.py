"""Publishing folders atomically: build beside the target, then rename into place."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path


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
