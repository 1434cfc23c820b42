"""What an executive and a CSM read: the summary first, one language throughout, every CSM in the
risk section, text cells left-aligned in a real browser, an A4 PDF, and reports that do not
overwrite each other's files."""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import polars as pl
import pytest
from conftest import SAMPLE, data_words

from cs_metrics.cli.main import main
from cs_metrics.labels import purity_problems

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session", autouse=True)
def _jupyter_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("jupyter")
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        os.environ.setdefault(var, str(base / var.lower()))


def _render(out: Path, kind: str, lang: str, *extra: str) -> Path:
    args = ["report", kind, "--data", str(SAMPLE), "--as-of", "2026-09", "--out", str(out)]
    assert main([*args, "--lang", lang, *extra]) == 0
    return out / "2026-09"


@pytest.fixture(scope="module")
def ja(tmp_path_factory):
    out = tmp_path_factory.mktemp("ja")
    folder = _render(out, "monthly", "ja", "--pdf")
    return folder


@pytest.fixture(scope="module")
def en(tmp_path_factory):
    out = tmp_path_factory.mktemp("en")
    folder = _render(out, "monthly", "en")
    _render(out, "review", "en")
    return folder


def _visible(page: str) -> str:
    """The text a reader sees: no head, styles or scripts; SVG <text> kept (chart words)."""
    body = page.split("<body", 1)[1].split(">", 1)[1]
    body = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", body, flags=re.S)
    body = re.sub(r"<[^>]+>", " ", body)
    title = re.search(r"<title>(.*?)</title>", page, flags=re.S)
    return html_lib.unescape((title.group(1) if title else "") + " " + body)


def _data_words() -> set[str]:
    words = data_words(SAMPLE)
    for f in SAMPLE.glob("*.csv"):  # file names listed in the data-quality section
        words.add(f.name)
    words |= {"utf-8", "UTF-8", "csv", "sample", "cs-metrics", "risk_list.csv"}
    return words


def test_the_monthly_report_opens_with_this_months_summary(ja):
    page = (ja / "monthly.html").read_text("utf-8")
    text = _visible(page)
    assert text.index("今月のサマリー") < text.index("ヘッドライン") < text.index("MRR ブリッジ")
    k = json.loads((ja / "metrics.json").read_text("utf-8"))
    km = k["churn_within_24m"]["km_rate"]
    gap = (km - 0.10) * 100
    assert f"{km * 100:.1f}%" in text and f"目標10%まで あと{gap:.1f}pt" in text
    assert f"{k['nrr_trailing_12m'] * 100:.1f}%" in text and "目標110%まで" in text
    assert "先月からの変化" in text and "主な要因" in text and "リスク顧客" in text
    assert (
        "前年同月比" in text and "<svg" in page.split("今月のサマリー")[1].split("ヘッドライン")[0]
    )
    # input files are in the data-quality section, not on the first screen
    assert text.index("subscriptions.csv") > text.index("データ品質")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_reports_speak_one_language(ja, en, lang):
    folder = ja if lang == "ja" else en
    pages = [folder / "monthly.html"] + ([folder / "review.html"] if lang == "en" else [])
    for page in pages:
        problems = purity_problems(_visible(page.read_text("utf-8")), lang, _data_words())
        assert not problems, f"{page.name} ({lang}): {problems[:30]}"
    index = (folder.parent / "index.html").read_text("utf-8")
    assert not purity_problems(_visible(index), lang, _data_words())


def test_every_csm_is_in_the_risk_section_with_an_anchor(ja):
    page = (ja / "monthly.html").read_text("utf-8")
    csms = set(pl.read_csv(SAMPLE / "accounts.csv")["csm"].drop_nulls())
    heads = re.findall(r'<h3 id="(risk-csm-\d+)">([^<]+)</h3>', page)
    named = {html_lib.unescape(t).split(" — ")[0] for _, t in heads}
    assert csms <= named, csms - named
    for anchor, _ in heads:
        assert f'href="#{anchor}"' in page  # linked from the CSM x signal table
    assert "risk_list.csv" in page and "推奨アクション" in page


def test_csvs_are_for_excel_people(ja):
    kpi = (ja / "kpi_summary.csv").read_bytes()
    assert kpi.startswith(b"\xef\xbb\xbf")
    text = kpi[3:].decode("utf-8")
    assert text.splitlines()[0] == "項目コード,項目,値,単位" and "{" not in text
    bridge = (ja / "mrr_bridge.csv").read_bytes()[3:].decode("utf-8")
    assert "ロゴチャーン率（月次）（%）" in bridge
    assert not re.search(r"\d\.\d{3,}", bridge)  # rounded: no 0.015384615384615385
    risk = (ja / "risk_list.csv").read_bytes()[3:].decode("utf-8")
    assert risk.splitlines()[0].startswith("担当CSM,順位,顧客ID,顧客名") and "no_login" not in risk


def test_text_cells_are_left_aligned_in_a_browser(ja):
    from cs_metrics.reporting.run import CHROMIUM_FLAGS, chromium_executable

    exe = chromium_executable()
    if not exe:
        pytest.skip("chromium is not installed (sudo bash scripts/install-system-deps.sh)")
    probe = (
        "<script>document.addEventListener('DOMContentLoaded',()=>{"
        "const cells=[...document.querySelectorAll('table.cs-table td')];"
        "const out=cells.map(c=>[c.classList.contains('num'),getComputedStyle(c).textAlign]);"
        "document.body.setAttribute('data-align',JSON.stringify(out));});</script>"
    )
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "m.html"
        copy.write_text((ja / "monthly.html").read_text("utf-8") + probe, encoding="utf-8")
        dom = subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/p", "--dump-dom", copy.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    found = re.search(r'data-align="([^"]+)"', dom)
    assert found, "no probe output"
    cells = json.loads(html_lib.unescape(found.group(1)))
    assert len(cells) > 100
    assert {a for num, a in cells if not num} == {"left"}
    assert {a for num, a in cells if num} == {"right"}


def test_pdf_is_a4_and_stale_outputs_go_when_a_month_is_re_rendered(ja, tmp_path):
    pdf = (ja / "monthly.pdf").read_bytes()
    boxes = set(re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf))
    assert boxes and all(
        abs(float(w) - 595.92) < 1 and abs(float(h) - 841.92) < 1 for w, h in boxes
    )
    import shutil

    if shutil.which("pdftotext"):  # what is printed on the pages: no browser footer, no path
        text = subprocess.run(
            ["pdftotext", str(ja / "monthly.pdf"), "-"], capture_output=True, text=True
        ).stdout
        assert "file://" not in text and "/tmp/" not in text and "月次KPIレポート" in text
        assert re.search(r"\b1 / \d+\b", text)  # the report's own page numbers
    out = tmp_path / "r"
    _render(out, "monthly", "ja", "--pdf")
    assert (out / "2026-09" / "monthly.pdf").exists()
    _render(out, "monthly", "ja")
    assert not (out / "2026-09" / "monthly.pdf").exists()  # the old PDF does not stay


def test_review_writes_its_own_json(en):
    monthly = json.loads((en / "metrics.json").read_text("utf-8"))
    review = json.loads((en / "review.json").read_text("utf-8"))
    assert monthly["reports"] == ["monthly"] and review["reports"] == ["review"]
    page = (en / "review.html").read_text("utf-8")
    assert "Path to the target" in page and "21%" not in _visible(page).split("Path")[0]
