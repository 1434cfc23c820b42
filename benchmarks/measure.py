"""Run a command in a fresh process and measure wall time and the peak memory of its process tree.

The peak is the largest sum of RSS over the process and all its descendants (e.g. the report's
Jupyter kernel), sampled every 50 ms with psutil; the process's own max RSS (from the kernel,
exact) is reported beside it.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass

import psutil


@dataclass
class Run:
    seconds: float
    peak_mb: float  # process tree, sampled
    own_peak_mb: float  # the process itself (ru_maxrss)
    returncode: int
    stdout: str
    stderr: str
    # user + system CPU seconds of the process and the children it waited for (e.g. the
    # report's kernel): less sensitive than wall time to other jobs on a shared machine
    cpu_s: float = 0.0


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> Run:
    """Run ``cmd`` to completion; its stdout/stderr are captured."""
    full_env = {**os.environ, **(env or {})}
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env, cwd=cwd, text=True
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        proc = psutil.Process(p.pid)
        while not stop.is_set():
            peak = max(peak, _tree_rss(proc))
            stop.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out: list[str] = []
    err: list[str] = []
    readers = [
        threading.Thread(target=lambda: out.append(p.stdout.read()), daemon=True),
        threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True),
    ]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t0
    stop.set()
    th.join()
    for r in readers:
        r.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        seconds,
        max(peak, usage.ru_maxrss * 1024) / 2**20,
        usage.ru_maxrss / 1024,
        p.returncode,
        "".join(out),
        "".join(err),
        usage.ru_utime + usage.ru_stime,
    )


def load_average() -> float:
    """1-minute load average (the machine is shared: a busy machine slows every figure)."""
    return os.getloadavg()[0]
