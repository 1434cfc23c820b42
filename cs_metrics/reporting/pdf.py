"""Print a report to an A4 PDF with headless Chromium through the DevTools protocol, offline.

``chromium --print-to-pdf`` prints the browser's own header and footer (a US date, the file's
temporary path) on US Letter, and CSS ``@page`` margin boxes (running headers, page counters) are
not supported by Chromium. ``Page.printToPDF`` is: A4 paper, no browser header/footer, and the
report's own header (title and month) and footer (page n / N) as templates. Chromium runs in its
own process group and is killed on any failure, so no orphan keeps writing.

The DevTools connection is a local WebSocket (``--remote-debugging-port=0``: a free port on the
loopback interface, announced in the profile's ``DevToolsActivePort``); the client is tornado's,
which JupyterLab already installs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from cs_metrics.errors import ReportError

__all__ = ["A4_INCHES", "print_pdf", "print_options"]

A4_INCHES = (8.27, 11.69)  # 210 x 297 mm
_FONT = "'Noto Sans CJK JP','Hiragino Sans','Yu Gothic',Meiryo,sans-serif"


def _esc(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def print_options(title: str, month_label: str) -> dict[str, Any]:
    """``Page.printToPDF`` parameters: A4, margins for the running header and footer, the
    report's title and month at the top, "n / N" at the bottom, backgrounds printed."""
    style = f"font-family:{_FONT};font-size:8px;color:#607d8b;width:100%;margin:0 10mm;"
    header = (
        f'<div style="{style}display:flex;justify-content:space-between">'
        f"<span>{_esc(title)}</span><span>{_esc(month_label)}</span></div>"
    )
    footer = (
        f'<div style="{style}text-align:center">'
        '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
    )
    return {
        "paperWidth": A4_INCHES[0],
        "paperHeight": A4_INCHES[1],
        "marginTop": 0.6,
        "marginBottom": 0.55,
        "marginLeft": 0.4,
        "marginRight": 0.4,
        "printBackground": True,
        "displayHeaderFooter": True,
        "headerTemplate": header,
        "footerTemplate": footer,
        "preferCSSPageSize": False,
    }


async def _devtools_print(ws_url: str, page_url: str, options: dict[str, Any]) -> bytes:
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(ws_url, max_message_size=1 << 30)
    events: list[dict[str, Any]] = []
    counter = iter(range(1, 1_000_000))

    async def call(method: str, **params: Any) -> dict[str, Any]:
        my = next(counter)
        await conn.write_message(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            raw = await conn.read_message()
            if raw is None:
                raise ReportError("pdf_failed", detail="the browser closed the connection")
            msg = json.loads(raw)
            if msg.get("id") == my:
                if "error" in msg:
                    raise ReportError("pdf_failed", detail=str(msg["error"])[:200])
                return msg.get("result", {})
            events.append(msg)

    try:
        await call("Page.enable")
        await call("Page.navigate", url=page_url)
        while not any(e.get("method") == "Page.loadEventFired" for e in events):
            raw = await conn.read_message()
            if raw is None:
                raise ReportError("pdf_failed", detail="the browser closed the connection")
            events.append(json.loads(raw))
        result = await call("Page.printToPDF", **options)
        return base64.b64decode(result["data"])
    finally:
        conn.close()


def _page_socket(profile: Path, proc: subprocess.Popen, deadline: float) -> str:
    """The DevTools WebSocket URL of the browser's first page."""
    port_file = profile / "DevToolsActivePort"
    while not port_file.is_file() or not port_file.read_text().strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise ReportError("pdf_failed", detail="the browser did not start")
        time.sleep(0.05)
    port = port_file.read_text().split()[0]
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ReportError("pdf_failed", detail="no page to print")
        time.sleep(0.05)


def print_pdf(
    html_path: Path,
    pdf_path: Path,
    title: str,
    month_label: str,
    executable: str,
    flags: tuple[str, ...],
    timeout: float = 120.0,
) -> Path:
    """Print ``html_path`` to ``pdf_path`` (A4, the report's header and page numbers).

    Raises
    ------
    ReportError
        ``pdf_failed`` when the browser does not start, answers with an error or times out.
    """
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory() as prof:
        cmd = [
            executable,
            *flags,
            f"--user-data-dir={prof}",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            "about:blank",
        ]
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        try:
            ws = _page_socket(Path(prof), proc, deadline)
            options = print_options(title, month_label)
            coro = _devtools_print(ws, Path(html_path).resolve().as_uri(), options)
            data = asyncio.run(asyncio.wait_for(coro, max(1.0, deadline - time.monotonic())))
        except TimeoutError:
            raise ReportError("pdf_failed", detail="timed out") from None
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    pdf_path.write_bytes(data)
    return pdf_path
