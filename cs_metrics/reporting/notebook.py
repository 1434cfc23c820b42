"""What a report notebook needs besides the sections: show HTML, headings, the report's CSS.

Notebooks stay thin: a parameters cell, ``r = prepare(...)``, then one ``show(...)`` per section.
"""

from __future__ import annotations

from IPython.display import HTML, display

from cs_metrics.reporting.context import Report
from cs_metrics.reporting.html import CSS, esc

__all__ = ["h2", "show", "start"]


def show(html: str) -> None:
    """Display an HTML fragment (a section's output) in the notebook."""
    display(HTML(html))


def h2(r: Report, ja: str, en: str) -> None:
    """A section heading in the report's language."""
    show(f"<h2>{esc(r.t(ja, en))}</h2>")


def start(r: Report) -> None:
    """The report's stylesheet, once at the top of the notebook."""
    show(f"<style>{CSS}</style>")
