"""Publishing folders atomically: build beside the target, then rename into place.

Every temporary or backup folder this module makes has a unique name (``mkdtemp``) and, for
temporary folders, an owner mark inside (:data:`OWNER_MARK`, the process id): only a folder with
that mark whose process is gone is ever removed as stale. A folder the program did not make is
never removed, whatever its name.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "OWNER_MARK",
    "atomic_write_bytes",
    "current_umask",
    "make_temp_dir",
    "publish_new_dir",
    "remove_stale_temp_dirs",
    "replace_dir",
]

OWNER_MARK = ".cs-metrics-owner"  # inside each temporary folder: the pid of the run making it
_TEMP_SUFFIX = ".cs-metrics-tmp"
_OLD_SUFFIX = ".cs-metrics-old"


def current_umask() -> int:
    """The process's umask (read from /proc where it can be, without changing it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_temp_dir(parent: Path, prefix: str) -> Path:
    """A new folder in ``parent`` with a unique name (``prefix`` + random + a fixed suffix), the
    mode a ``mkdir`` would give under the umask (``mkdtemp`` alone gives 0700), and an owner
    mark holding this process's id. :func:`replace_dir` / :func:`publish_new_dir` remove the
    mark when the folder is published."""
    parent = Path(parent)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=_TEMP_SUFFIX, dir=parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    (tmp / OWNER_MARK).write_text(f"{os.getpid()}\n", encoding="utf-8")
    return tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_dirs(parent: Path, prefix: str) -> list[Path]:
    """Remove the temporary folders of killed runs made by :func:`make_temp_dir` in ``parent``
    with ``prefix``: only folders holding the owner mark of a process that is gone (a folder
    without the mark, whatever its name, is left alone). Returns the folders removed."""
    removed = []
    for d in Path(parent).glob(f"{_glob_escape(prefix)}*{_TEMP_SUFFIX}"):
        if d.is_symlink() or not d.is_dir():
            continue
        try:
            pid = int((d / OWNER_MARK).read_text("utf-8").strip())
        except (OSError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _glob_escape(text: str) -> str:
    """``text`` with glob's special characters escaped."""
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _unmark(tmp: Path) -> None:
    (tmp / OWNER_MARK).unlink(missing_ok=True)


def replace_dir(
    tmp: Path, target: Path, keep_from_old: Callable[[str], bool] | None = None
) -> None:
    """Move the finished folder ``tmp`` to ``target`` (same file system).

    Files of an existing ``target`` for which ``keep_from_old(name)`` is true and that ``tmp``
    does not have are carried over. The old folder is renamed aside first, to a new unique name
    made for it (never a fixed name a user's folder could have), so ``target`` is never
    half-written; when the second rename fails the old folder is put back. Only that renamed
    old folder is removed afterwards.
    """
    tmp, target = Path(tmp), Path(target)
    _unmark(tmp)
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
    # An empty folder of our own; renaming a folder onto an empty one replaces it (POSIX).
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=_OLD_SUFFIX, dir=target.parent))
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def publish_new_dir(tmp: Path, target: Path) -> None:
    """Publish the finished folder ``tmp`` as ``target``, which must not exist or be an empty
    folder: a new ``target`` is one rename; an existing empty one (perhaps the current folder)
    is kept as it is (its permissions, a shell's working folder) and the entries are moved
    into it one by one, each atomically."""
    tmp, target = Path(tmp), Path(target)
    _unmark(tmp)
    if not target.exists():
        os.replace(tmp, target)
        return
    for entry in sorted(tmp.iterdir()):
        os.replace(entry, target / entry.name)
    tmp.rmdir()


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
