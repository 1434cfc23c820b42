"""Screenshots of the current reports for docs/img/ and the README (run after changing a report).

    .venv/bin/python scripts/screenshots.py            # renders the sample, writes docs/img/*.png

Renders the monthly report (ja with --pdf, en) and the churn-target review (ja, en) for the
sample's latest month into a temporary folder, then takes headless-Chromium screenshots of the
first screen of each and PNGs of two PDF pages (the first, and the first page of the risk
section) with pdftoppm (poppler-utils, installed by scripts/install-system-deps.sh).
docs/img/monthly_report.png, the README's picture, is the Japanese monthly report.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
SAMPLE = ROOT / "data" / "sample"
AS_OF = "2026-09"


def render(out: Path, kind: str, lang: str, pdf: bool = False) -> Path:
    from cs_metrics.cli.main import main

    args = ["report", kind, "--data", str(SAMPLE), "--as-of", AS_OF, "--out", str(out)]
    args += ["--lang", lang] + (["--pdf"] if pdf else [])
    if main(args) != 0:
        sys.exit(f"rendering {kind} ({lang}) failed")
    return out / AS_OF / f"{kind}.html"


def screenshot(html: Path, png: Path, height: int = 1800) -> None:
    from cs_metrics.reporting.run import CHROMIUM_FLAGS, chromium_executable

    exe = chromium_executable()
    if not exe:
        sys.exit("chromium is not installed (sudo bash scripts/install-system-deps.sh)")
    with tempfile.TemporaryDirectory() as prof:
        subprocess.run(
            [
                exe,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={prof}",
                f"--window-size=1200,{height}",
                "--hide-scrollbars",
                f"--screenshot={png}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )


def pdf_pages(pdf: Path, pages: dict[int, Path]) -> None:
    tool = shutil.which("pdftoppm")
    if not tool:
        sys.exit("pdftoppm is not installed (apt-get install poppler-utils)")
    for page, png in pages.items():
        stem = png.with_suffix("")
        subprocess.run(
            [tool, "-r", "70", "-f", str(page), "-l", str(page), "-png", "-singlefile", str(pdf)]
            + [str(stem)],
            check=True,
        )


def risk_page(pdf: Path) -> int:
    """The page on which the risk section starts (its heading's text, via pdftotext)."""
    tool = shutil.which("pdftotext")
    if not tool:
        return 2
    text = subprocess.run([tool, str(pdf), "-"], capture_output=True, text=True).stdout
    for n, page in enumerate(text.split("\f"), start=1):
        if re.search(r"解約リスク", page):
            return n
    return 2


def main() -> int:
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        os.environ.setdefault(var, tempfile.mkdtemp(prefix="cs-shot-"))
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        ja, en = Path(tmp) / "ja", Path(tmp) / "en"
        shots = {
            "monthly_ja.png": render(ja, "monthly", "ja", pdf=True),
            "monthly_en.png": render(en, "monthly", "en"),
            "review_ja.png": render(ja, "review", "ja"),
            "review_en.png": render(en, "review", "en"),
        }
        for name, html in shots.items():
            screenshot(html, IMG / name)
            print(IMG / name)
        pdf = ja / AS_OF / "monthly.pdf"
        pdf_pages(pdf, {1: IMG / "pdf_page1.png", risk_page(pdf): IMG / "pdf_page_risk.png"})
        shutil.copyfile(IMG / "monthly_ja.png", IMG / "monthly_report.png")
    for name in ("pdf_page1.png", "pdf_page_risk.png", "monthly_report.png"):
        print(IMG / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
