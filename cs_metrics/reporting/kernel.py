"""A quiet kernel for papermill: the notebook's kernel over local IPC sockets instead of TCP.

ipykernel logs "Kernel is running over TCP without encryption ..." on every start over TCP, on
the kernel's stderr, which papermill passes through to the terminal of ``cs-metrics report``
(12 times inside a backfill's progress bar). The warning names its own remedy: IPC transport.
Over IPC the kernel listens on Unix sockets in a private temporary folder (no TCP port is opened
at all) and logs nothing. Where Unix sockets are not available (Windows) the kernel keeps TCP
and its log level is raised to ERROR, so the warning is filtered at its source either way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["quiet_kernel"]


@contextmanager
def quiet_kernel(kernel_name: str) -> Iterator[dict[str, Any]]:
    """Keyword arguments for ``papermill.execute_notebook`` that start ``kernel_name`` without
    the TCP warning; the socket folder is removed afterwards.

    >>> with quiet_kernel("python3") as kw:  # doctest: +SKIP
    ...     papermill.execute_notebook(src, dst, kernel_name="python3", **kw)
    """
    from jupyter_client.manager import KernelManager

    if os.name == "nt":
        yield {"extra_arguments": ["--IPKernelApp.log_level=ERROR"]}
        return
    # a short path: a Unix socket path must stay under ~100 bytes
    folder = tempfile.mkdtemp(prefix="csk-", dir="/tmp" if os.path.isdir("/tmp") else None)
    try:
        km = KernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(folder, "k"))
        try:
            yield {"km": km}
        finally:  # a kernel manager given to papermill is ours to shut down
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
