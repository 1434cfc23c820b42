"""Reports end to end: offline HTML, escaping, metrics.json = kpis, reproducible, atomic, edge
months, missing optional tables, unknown parameters, CSV injection, and a headless browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import polars as pl
import pytest
from conftest import SAMPLE, make_dataset_dir, sub

from cs_metrics.cli.main import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session", autouse=True)
def _jupyter_dirs(tmp_path_factory):
    """Jupyter and IPython write under $HOME: keep them in a temporary folder."""
    base = tmp_path_factory.mktemp("jupyter")
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        os.environ.setdefault(var, str(base / var.lower()))


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    assert (
        main(["report", "monthly", "--data", str(SAMPLE), "--as-of", "2026-09", "--out", str(out)])
        == 0
    )
    return out


def _external_resources(html: str) -> list[str]:
    bad = re.findall(r'(?:src|href)\s*=\s*["\'](?:https?:)?//[^"\']+', html, flags=re.I)
    bad += re.findall(r"<script[^>]+src=", html, flags=re.I)
    bad += re.findall(r"@import\s+url\(['\"]?https?:", html, flags=re.I)
    return bad


def test_monthly_report_is_offline_and_complete(sample_report):
    folder = sample_report / "2026-09"
    html = (folder / "monthly.html").read_text("utf-8")
    assert not _external_resources(html)
    assert "<svg" in html and "月次KPIレポート" in html and "ヘッドライン" in html
    assert "S.prepare" not in html and "from cs_metrics" not in html  # no code cells
    for f in (
        "monthly.ipynb",
        "metrics.json",
        "kpi_summary.csv",
        "mrr_bridge.csv",
        "churned_accounts.csv",
        "risk_list.csv",
    ):
        assert (folder / f).exists(), f
    assert (sample_report / "index.html").exists()
    assert "2026-09" in (sample_report / "index.html").read_text("utf-8")
    assert (folder / "mrr_bridge.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_metrics_json_matches_kpis_and_is_reproducible(sample_report, capsys, tmp_path):
    folder = sample_report / "2026-09"
    first = (folder / "metrics.json").read_bytes()
    assert main(["kpis", "--data", str(SAMPLE), "--as-of", "2026-09", "--format", "json"]) == 0
    k = json.loads(capsys.readouterr().out)
    m = json.loads(first)
    for key, value in k.items():
        assert m[key] == value, key
    assert "inputs" in m and "package_version" in m and "config" in m
    # a rerun into the same folder gives byte-identical metrics.json
    assert (
        main(
            [
                "report",
                "monthly",
                "--data",
                str(SAMPLE),
                "--as-of",
                "2026-09",
                "--out",
                str(sample_report),
            ]
        )
        == 0
    )
    assert (folder / "metrics.json").read_bytes() == first


def test_invalid_data_leaves_reports_untouched(sample_report, tmp_path, capsys):
    before = {p: p.read_bytes() for p in sample_report.rglob("*") if p.is_file()}
    bad = make_dataset_dir(
        tmp_path / "bad", subscriptions=[sub("s1", "A", "core", "2024-13-01", "", "100")]
    )
    assert main(["report", "monthly", "--data", str(bad), "--out", str(sample_report)]) == 2
    err = capsys.readouterr().err
    assert "start_date" in err and "Traceback" not in err
    after = {p: p.read_bytes() for p in sample_report.rglob("*") if p.is_file()}
    assert before == after


def test_unknown_parameter_is_rejected_with_the_known_list(tmp_path, capsys):
    assert (
        main(
            ["report", "monthly", "--data", str(SAMPLE), "--out", str(tmp_path), "-p", "nope", "1"]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "args, code",
    [
        (["-p", "as_of", "2024-01"], "--as-of"),  # set by the command: refused
        (["-p", "data_dir", "/tmp"], "--data"),
        (["-p", "lang", "en"], "--lang"),
        (["--as-of", "2030-01"], "2026-09"),  # outside the data: the range is named
        (["--as-of", "2019-01"], "2026-09"),
        (["--as-of", "0000-01"], "YYYY-MM"),
    ],
)
def test_report_refuses_overrides_and_months_outside_the_data(tmp_path, capsys, args, code):
    argv = ["report", "monthly", "--data", str(SAMPLE), "--out", str(tmp_path), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert code in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize(
    "name, value", [("save_campaign_end_pct", "3"), ("save_campaign_end_pct", '"x"')]
)
def test_review_parameters_are_typed_and_ranged_before_running(tmp_path, capsys, name, value):
    argv = ["report", "review", "--data", str(SAMPLE), "--out", str(tmp_path), "-p", name, value]
    assert main(argv) == 2
    assert name in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_failing_section_fails_the_render_and_publishes_nothing(
    sample_report, tmp_path, monkeypatch, capsys
):
    from cs_metrics.reporting import run

    nb = json.loads(run.notebook_path("monthly").read_text("utf-8"))
    nb["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "boom",
            "metadata": {},
            "outputs": [],
            "source": ["show(S.no_such_section(r))"],
        }
    )
    broken = tmp_path / "monthly_kpi.ipynb"
    broken.write_text(json.dumps(nb), "utf-8")
    monkeypatch.setattr(run, "notebook_path", lambda kind: broken)
    before = {p: p.read_bytes() for p in sample_report.rglob("*") if p.is_file()}
    argv = ["report", "monthly", "--data", str(SAMPLE), "--out", str(sample_report)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    logs = list((sample_report / "logs").glob("2026-09-monthly-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    assert "no_such_section" in logs[0].read_text("utf-8")
    after = {p: p.read_bytes() for p in sample_report.rglob("*") if p.is_file()}
    assert {p: b for p, b in after.items() if "logs" not in p.parts} == before
    shutil.rmtree(sample_report / "logs")


def test_temp_folders_of_a_killed_run_are_removed_and_never_listed(sample_report):
    from cs_metrics.reporting.run import remove_stale_temp, write_index

    dead = sample_report / ".2026-09-monthly-abc123"
    dead.mkdir()
    (dead / ".owner-pid").write_text("999999999")
    (dead / "metrics.json").write_text('{"mrr_end": 1}')
    write_index(sample_report)
    assert ".2026-09" not in (sample_report / "index.html").read_text("utf-8")
    assert remove_stale_temp(sample_report) == [dead] and not dead.exists()


def test_report_renders_an_export_that_needs_a_mapping(tmp_path, capsys):
    subs = pl.read_csv(SAMPLE / "subscriptions.csv", infer_schema=False)
    data = tmp_path / "export"
    shutil.copytree(SAMPLE, data)
    subs.rename({"account_id": "取引先ID", "mrr": "月額"}).write_csv(data / "subscriptions.csv")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[subscriptions.columns]\n"取引先ID" = "account_id"\n"月額" = "mrr"\n')
    out = tmp_path / "out"
    base = ["report", "monthly", "--data", str(data), "--out", str(out), "--as-of", "2026-09"]
    assert main(base) == 2  # without the mapping: the missing columns are named
    assert "取引先ID" in capsys.readouterr().err
    assert main([*base, "--mapping", str(mapping)]) == 0
    assert (out / "2026-09" / "monthly.html").exists()


def test_markup_escaped_no_churn_month_and_missing_optional_tables(tmp_path):
    accounts = [
        {
            "account_id": "A",
            "account_name": "<b>Acme & Co</b>",
            "industry": "IT",
            "csm": "=cmd|' /C calc'!A0",
        },
        {"account_id": "B", "account_name": "普通の会社", "industry": "金融", "csm": "鈴木"},
    ]
    subs = [
        sub("s1", "A", "core", "2024-01-01", "", "100000"),
        sub("s2", "B", "core", "2024-01-01", "2024-06-30", "50000"),
    ]
    # one touchpoint (health 33.33: red), so the names reach the risk list; without
    # any health data no account would be listed (missing data is not bad health, issue 13)
    tps = [{"account_id": "A", "occurred_on": "2025-03-28", "kind": "qbr"}]
    data = make_dataset_dir(tmp_path / "d", accounts=accounts, subscriptions=subs, touchpoints=tps)
    out = tmp_path / "out"
    # 2025-03: no churn and no new accounts; no other optional table
    assert (
        main(["report", "monthly", "--data", str(data), "--as-of", "2025-03", "--out", str(out)])
        == 0
    )
    html = (out / "2025-03" / "monthly.html").read_text("utf-8")
    assert "<b>Acme" not in html and "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in html
    assert "今月は解約がありませんでした" in html and "今月は新規獲得がありませんでした" in html
    assert "cancellations のデータがない" in html  # optional table missing: explained
    csv = (
        (out / "2025-03" / "risk_list.csv").read_bytes()[3:].decode()
        if (out / "2025-03" / "risk_list.csv").exists()
        else ""
    )
    assert "\n=cmd" not in csv and ",=cmd" not in csv
    assert (
        main(["report", "review", "--data", str(data), "--as-of", "2025-03", "--out", str(out)])
        == 0
    )
    assert (
        main(
            [
                "report",
                "explore",
                "--data",
                str(data),
                "--as-of",
                "2025-03",
                "--out",
                str(out),
                "--lang",
                "en",
            ]
        )
        == 0
    )
    assert (out / "2025-03" / "monthly.html").exists()  # the other report is kept
    # each report writes its own JSON: metrics.json stays the monthly report's contract
    for name, kind in (("metrics", "monthly"), ("review", "review"), ("explore", "explore")):
        assert json.loads((out / "2025-03" / f"{name}.json").read_text())["reports"] == [kind]


def test_a_failed_run_keeps_the_previous_report(sample_report, monkeypatch):
    from cs_metrics.reporting import run

    before = (sample_report / "2026-09" / "monthly.html").read_bytes()

    def boom(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(run, "export_html", boom)
    with pytest.raises(RuntimeError):
        run.render_report("monthly", SAMPLE, "2026-09", out_dir=sample_report)
    assert (sample_report / "2026-09" / "monthly.html").read_bytes() == before
    assert not [p for p in sample_report.iterdir() if p.name.startswith(".")]


def _chromium() -> str | None:
    from cs_metrics.reporting.run import chromium_executable

    return chromium_executable()


def test_browser_renders_tiles_and_charts(sample_report):
    exe = _chromium()
    if not exe:
        pytest.skip("chromium is not installed (sudo bash scripts/install-system-deps.sh)")
    html = (sample_report / "2026-09" / "monthly.html").resolve()
    artifacts = Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    shot = artifacts / "monthly_report.png"
    from cs_metrics.reporting.run import CHROMIUM_FLAGS

    flags = list(CHROMIUM_FLAGS)
    with tempfile.TemporaryDirectory() as prof:
        dom = subprocess.run(
            [exe, *flags, f"--user-data-dir={prof}", "--dump-dom", html.as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    assert 'class="tile' in dom and "<svg" in dom and "期末MRR" in dom
    with tempfile.TemporaryDirectory() as prof:
        subprocess.run(
            [
                exe,
                *flags,
                f"--user-data-dir={prof}",
                "--window-size=1280,2400",
                "--hide-scrollbars",
                f"--screenshot={shot}",
                html.as_uri(),
            ],
            capture_output=True,
            timeout=120,
        )
    assert shot.exists() and shot.stat().st_size > 20_000


def test_scenarios_are_tested_in_the_library():
    from cs_metrics.data.load import load_dataset
    from cs_metrics.metrics.scenarios import what_if

    ds = load_dataset(SAMPLE)
    base = what_if(ds, "2026-09", 0.0)
    assert base["projected"]["rate"] == pytest.approx(base["baseline"]["rate"])
    full = what_if(ds, "2026-09", 1.0)
    assert full["projected"]["rate"] < base["baseline"]["rate"]
    assert full["projected"]["nrr_trailing_12m"] >= base["baseline"]["nrr_trailing_12m"]
    assert pl.Series([full["projected"]["km_rate"]]).is_between(0, 1).all()


def test_backfill_renders_a_range_with_progress(tmp_path, capsys):
    data = make_dataset_dir(
        tmp_path / "d", subscriptions=[sub("s1", "A", "core", "2024-01-01", "", "1000")]
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "report",
                "backfill",
                "--data",
                str(data),
                "--from",
                "2024-11",
                "--to",
                "2024-12",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    cap = capsys.readouterr()
    # the progress bar, in the report's language (ja by default)
    assert "2024-11" in cap.out and "2024-12" in cap.out and "月次KPIレポート" in cap.err
    assert "2/2" in cap.err and "か月" in cap.err
    index = (out / "index.html").read_text("utf-8")
    assert "2024-11" in index and "2024-12" in index


def test_japanese_font_is_installed_for_reports():
    """Japanese labels render as glyphs only with a CJK font (CI installs fonts-noto-cjk)."""
    fc = shutil.which("fc-list")
    if not fc:
        pytest.skip("fontconfig is not installed (sudo bash scripts/install-system-deps.sh)")
    fonts = subprocess.run([fc, ":lang=ja"], capture_output=True, text=True).stdout
    if "Noto Sans CJK" not in fonts and "Noto Serif CJK" not in fonts:
        pytest.skip(
            "fonts-noto-cjk is not installed: Japanese would render as boxes "
            "(sudo bash scripts/install-system-deps.sh)"
        )
    assert "CJK" in fonts


def test_report_never_overwrites_what_it_did_not_write(tmp_path, capsys):
    """A user's own index.html, or a YYYY-MM folder that is not a cs-metrics report, is refused;
    a re-render keeps the user's other files (hidden ones too) in a report folder."""
    from cs_metrics.errors import OutputError
    from cs_metrics.periods import Month
    from cs_metrics.reporting.run import check_out_dir

    out = tmp_path / "mine"
    out.mkdir()
    (out / "index.html").write_text("<html>my own page</html>")
    argv = ["report", "monthly", "--data", str(SAMPLE), "--out", str(out), "--as-of", "2026-09"]
    assert main(argv) == 2
    assert "index.html" in capsys.readouterr().err
    assert (out / "index.html").read_text() == "<html>my own page</html>"
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    other = tmp_path / "other"
    (other / "2026-09").mkdir(parents=True)
    (other / "2026-09" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError) as e:
        check_out_dir(other, Month.parse("2026-09"))
    assert e.value.code == "report_folder_foreign"
