"""Small HTML building blocks for reports. Every value from data goes through ``esc``."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

__all__ = ["CSS", "esc", "figure", "notice", "table", "tiles"]


def esc(v: Any) -> str:
    """HTML-escape any value (``<b>Acme & Co</b>`` shows as text)."""
    return html.escape("" if v is None else str(v), quote=True)


def table(
    df: pl.DataFrame,
    columns: Sequence[tuple[str, str, Callable[[Any], str] | None]],
    caption: str | None = None,
    max_rows: int = 200,
    nowrap: Sequence[str] = (),
) -> str:
    """An escaped HTML table: ``columns`` = (column, header, formatter or None). Numbers are
    right-aligned and never wrap; the ``nowrap`` columns (names) do not wrap either."""
    head = "".join(f"<th>{esc(h)}</th>" for _, h, _ in columns)
    rows = []
    for r in df.head(max_rows).iter_rows(named=True):
        cells = []
        for col, _, fmt in columns:
            v = r.get(col)
            text = fmt(v) if fmt else ("—" if v is None else v)
            num = isinstance(v, int | float) and not isinstance(v, bool)
            cls = "num" if num else "name" if col in nowrap else ""
            cells.append(f'<td class="{cls}">{esc(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f"<p class='note'>… (+{df.height - max_rows})</p>" if df.height > max_rows else ""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table class="cs-table">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>{more}'


def tiles(items: Sequence[dict[str, Any]]) -> str:
    """Headline tiles: each item has label, value and optional sub lines, a status
    (``good``/``bad``/``neutral``) and a sparkline (``spark``: an SVG from
    :func:`cs_metrics.charts.to_svg`, not from data)."""
    out = []
    for it in items:
        subs = "".join(f'<div class="sub">{esc(s)}</div>' for s in it.get("sub", []) if s)
        status = esc(it.get("status", "neutral"))
        spark = f'<div class="spark">{it["spark"]}</div>' if it.get("spark") else ""
        out.append(
            f'<div class="tile {status}"><div class="label">{esc(it["label"])}</div>'
            f'<div class="value">{esc(it["value"])}</div>{subs}{spark}</div>'
        )
    return f'<div class="tiles">{"".join(out)}</div>'


def notice(text: str) -> str:
    """A visible explanation in place of a section that cannot be shown."""
    return f'<div class="notice">{esc(text)}</div>'


def figure(svg: str, caption: str | None = None) -> str:
    """An inline SVG chart (the SVG comes from vl-convert, not from data)."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure class="chart">{svg}{cap}</figure>'


CSS = """
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0 16px}
.tile{border:1px solid #cfd8dc;border-radius:8px;padding:10px 14px;min-width:150px;background:#fafafa}
.tile .label{font-size:12px;color:#546e7a}.tile .value{font-size:22px;font-weight:700;margin:2px 0}
.tile .sub{font-size:11px;color:#455a64}.tile.good{border-left:5px solid #2e7d32}
.tile.bad{border-left:5px solid #c62828}.tile.neutral{border-left:5px solid #90a4ae}
.cs-table{border-collapse:collapse;font-size:12px;margin:6px 0 14px}
.cs-table th,.cs-table td{border:1px solid #cfd8dc;padding:3px 8px}
.cs-table th{background:#eceff1}.cs-table td{text-align:left}
.cs-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.cs-table caption{text-align:left;font-weight:600;padding:4px 0}
.notice{background:#fff8e1;border:1px solid #ffe082;padding:8px 12px;border-radius:6px;margin:6px 0}
.note{color:#607d8b;font-size:11px}figure.chart{margin:6px 0 16px}
figcaption{font-size:11px;color:#607d8b}
.tile .spark{margin-top:4px}.tile .spark svg{display:block}
ul.summary{margin:4px 0 16px;padding-left:1.4em;line-height:1.7}
.jp-RenderedHTMLCommon table.cs-table td,.jp-RenderedHTMLCommon table.cs-table th{text-align:left;
vertical-align:top}
.jp-RenderedHTMLCommon table.cs-table td.num,.jp-RenderedHTMLCommon table.cs-table th.num{
text-align:right}
.cs-table td{overflow-wrap:break-word}
.cs-table th,.cs-table td.num,.cs-table td.name{white-space:nowrap}
@media print{
h1,h2,h3{break-after:avoid;page-break-after:avoid}
.tile,figure.chart,tr{break-inside:avoid;page-break-inside:avoid}
.cs-table,.jp-RenderedHTMLCommon table.cs-table{font-size:8.5px;width:100%;break-inside:auto}
.cs-table th,.cs-table td,.jp-RenderedHTMLCommon table.cs-table th,
.jp-RenderedHTMLCommon table.cs-table td{padding:2px 4px}
.cs-table thead{display:table-header-group}
.cs-table th{white-space:normal}
figure.chart svg{max-width:100%;height:auto}
}
"""
