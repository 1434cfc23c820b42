"""Publishing folders atomically: build beside the target, then swap it into place.

Only what this program made is ever removed: a temporary or backup folder is its own only when it
holds an owner marker (:data:`OWNER`, the pid of the run that made it) - never because of its name.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "OWNER",
    "atomic_write_bytes",
    "carry",
    "dead_owned_folder",
    "make_owned_temp",
    "publish_new_dir",
    "read_manifest_files",
    "recover_dir",
    "remove_stale_temp_dirs",
    "replace_dir",
    "sha256_file",
    "umask",
]

OWNER = ".owner-pid"
_HOLDER = "-cs-metrics-old-"  # the folder that holds a target while it is being swapped


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes (read in blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def umask() -> int:
    """The process's umask (read without changing it where the system tells, on Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def make_owned_temp(parent: Path, prefix: str) -> Path:
    """A new hidden folder in ``parent`` (``prefix`` + random) with the mode the umask gives a
    new folder (``mkdtemp``'s 0700 would make a published folder private), marked as this
    process's own with :data:`OWNER`."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(tmp, 0o777 & ~umask())
    (tmp / OWNER).write_text(str(os.getpid()), encoding="utf-8")
    return tmp


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_owned_folder(folder: Path) -> bool:
    """Whether ``folder`` is a real folder (not a link) that a run of this program made and that
    run is gone: it holds a regular :data:`OWNER` file naming a process that no longer exists."""
    marker = folder / OWNER
    try:
        if folder.is_symlink() or not folder.is_dir():
            return False
        if not stat.S_ISREG(os.lstat(marker).st_mode):
            return False
        pid = int(marker.read_text("utf-8").strip())
    except (OSError, ValueError):
        return False
    return pid > 0 and pid != os.getpid() and not _alive(pid)


def _link_or_copy(src: str | Path, dst: str | Path) -> None:
    """A hard link (same file system: instant, nothing read), else a copy of a regular file."""
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        if not stat.S_ISREG(os.lstat(src).st_mode):
            raise
        shutil.copy2(src, dst, follow_symlinks=False)


def carry(src: Path, dst: Path) -> None:
    """Put a copy of ``src`` at ``dst`` without following symbolic links (a link stays a link)
    and without reading special files: files are hard-linked where possible."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(src, dst)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False when the system
    or the file system cannot."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError, TypeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def recover_dir(target: Path) -> None:
    """Repair a swap killed between its two renames: a dead run's holder folder of ``target``
    (``.<name>-cs-metrics-old-*``, owner-marked) gives the old folder back when ``target`` is
    missing, and is removed once ``target`` exists."""
    for holder in target.parent.glob(f".{target.name}{_HOLDER}*"):
        if not dead_owned_folder(holder):
            continue
        old = holder / "old"
        if (old.is_dir() and not old.is_symlink()) and not os.path.lexists(target):
            os.replace(old, target)
        shutil.rmtree(holder, ignore_errors=True)


def replace_dir(
    tmp: Path, target: Path, keep_from_old: Callable[[str], bool] | None = None
) -> None:
    """Move the finished folder ``tmp`` to ``target`` (same file system).

    Entries of an existing ``target`` for which ``keep_from_old(name)`` is true and that ``tmp``
    does not have are carried over (:func:`carry`). The two folders are swapped atomically where
    the system can (Linux); elsewhere the old folder is first moved into an owner-marked holder
    folder, so a run killed between the two renames is repaired on the next call. Nothing but
    ``tmp``, the old ``target`` and that holder is ever moved or removed.
    """
    recover_dir(target)
    if not os.path.lexists(target):
        os.replace(tmp, target)
        return
    if target.is_symlink() or not target.is_dir():  # never swap away a file or a link
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(target))
    if keep_from_old is not None:
        for f in target.iterdir():
            if not os.path.lexists(tmp / f.name) and keep_from_old(f.name):
                carry(f, tmp / f.name)
    if _exchange(tmp, target):
        shutil.rmtree(tmp, ignore_errors=True)  # the old folder, now at tmp's name
        return
    holder = make_owned_temp(target.parent, f".{target.name}{_HOLDER}")
    os.replace(target, holder / "old")
    os.replace(tmp, target)
    shutil.rmtree(holder, ignore_errors=True)


def remove_stale_temp_dirs(parent: Path, prefix: str) -> list[Path]:
    """Remove the folders of killed runs made by :func:`make_owned_temp` in ``parent`` with
    ``prefix``: only those holding the :data:`OWNER` mark of a process that is gone
    (:func:`dead_owned_folder`); a folder without the mark, whatever its name, is left alone.
    Returns the folders removed."""
    escaped = "".join(f"[{c}]" if c in "*?[]" else c for c in prefix)
    removed = []
    for d in Path(parent).glob(f"{escaped}*"):
        if dead_owned_folder(d):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def publish_new_dir(tmp: Path, target: Path) -> None:
    """Publish the finished folder ``tmp`` as ``target``, which must not exist or be an empty
    folder: a new ``target`` is one rename; an existing empty one (perhaps the current folder)
    is kept as it is (its permissions, a shell's working folder) and the entries are moved
    into it one by one, each atomically. The owner mark of ``tmp`` is not published."""
    tmp, target = Path(tmp), Path(target)
    (tmp / OWNER).unlink(missing_ok=True)
    if not os.path.lexists(target):
        os.replace(tmp, target)
        return
    for entry in sorted(tmp.iterdir()):
        os.replace(entry, target / entry.name)
    tmp.rmdir()


def read_manifest_files(path: Path, generator: str) -> dict[Any, Any] | None:
    """The ``files`` mapping of a JSON manifest at ``path`` written by ``generator``; None when
    there is none or it is not one (a link, unreadable, not JSON, another program's)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("generator") != generator:
        return None
    files = data.get("files")
    return files if isinstance(files, dict) else None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, renamed into place:
    a reader (or a killed run) never sees a half-written file; the temporary file is removed
    when writing fails. The file gets the mode of the file it replaces, else the one the umask
    gives a new file (not ``mkstemp``'s private 0600)."""
    path = Path(path)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
