"""Held-out variants of the issue-13/14 attack kinds that still fail on main (an attack by a
helper, not the original 110 cases). Each test is the smallest input that shows one failure and
is marked ``xfail(strict=True)`` until the mechanism behind it is fixed: a fix turns it into an
XPASS, which fails the run, so the mark must then be removed.

Kinds (docs/reliability.md): data loss, secret leaks, tracebacks for bad input, silent wrong
numbers, misleading messages; issue 14: awkward cohorts, honest intervals; point in time;
one language per output.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import data_words
from corpus import SECRET, WEBHOOK, base

from cs_metrics.cli.main import main
from cs_metrics.labels import purity_problems

D = dt.date
DATA_END = D(2025, 6, 30)  # the last day the test datasets cover


def cli(argv: list, capsys) -> tuple[int, str, str]:
    """``main(argv)`` in-process; argparse's own exit (usage errors) gives its status too."""
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # argparse: usage errors and --help
        rc = e.code if isinstance(e.code, int) else 2
    out = capsys.readouterr()
    return rc, out.out, out.err


def json_strict(text: str):
    def no_nan(token: str):
        raise AssertionError(f"{token} in JSON output")

    return json.loads(text, parse_constant=no_nan)


def append(folder: Path, table: str, text: str) -> None:
    with (folder / f"{table}.csv").open("a", encoding="utf-8") as f:
        f.write(text)


def replace(folder: Path, table: str, old: str, new: str) -> None:
    path = folder / f"{table}.csv"
    text = path.read_text("utf-8")
    assert old in text, (table, old)
    path.write_text(text.replace(old, new, 1), "utf-8")


def only_required(tmp: Path, name: str = "data") -> Path:
    """The base dataset with only accounts.csv, subscriptions.csv and cancellations.csv."""
    d = base(tmp, name, drop=("usage_weekly", "touchpoints", "nps_responses"))
    (d / "onboarding_sessions.csv").unlink()
    return d


def write_csv(folder: Path, table: str, rows: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    (folder / f"{table}.csv").write_text(buf.getvalue(), "utf-8")


def cohort(folder: Path, lines: list[tuple], active_until: D = DATA_END) -> Path:
    """accounts (with an acquisition cost) + subscriptions from ``(account, start, end | None)``
    lines (MRR 100,000, product core) and weekly usage for the accounts still active, up to
    ``active_until`` (so the data covers that month to its end whatever rule picks the default
    month)."""
    accounts = sorted({a for a, _, _ in lines})
    write_csv(
        folder,
        "accounts",
        [{"account_id": a, "account_name": f"社{a}", "acquisition_cost": 300000} for a in accounts],
    )
    write_csv(
        folder,
        "subscriptions",
        [
            {
                "subscription_id": f"S{i}",
                "account_id": a,
                "product": "core",
                "start_date": s,
                "end_date": e or "",
                "mrr": 100000,
            }
            for i, (a, s, e) in enumerate(lines)
        ],
    )
    open_ended = sorted({a for a, _, e in lines if e is None})
    weeks = []
    for a in open_ended:
        day = active_until - dt.timedelta(weeks=30)
        while day <= active_until:
            weeks.append({"account_id": a, "week_start": day, "logins": 5, "deliveries": 1})
            day += dt.timedelta(weeks=1)
    if weeks:
        write_csv(folder, "usage_weekly", weeks)
    return folder


# ============================================================================================
# Data loss: nothing overwritten or deleted that the program did not create
# ============================================================================================


def test_sample_never_deletes_a_folder_named_like_its_backup_beside_out(tmp_path, capsys):
    backup = tmp_path / ".out.old"  # the user's own backup of an earlier "out"
    backup.mkdir()
    (backup / "mine.txt").write_text("precious", "utf-8")
    rc, _, err = cli(["sample", "--out", tmp_path / "out", "--accounts", 3, "--months", 4], capsys)
    assert rc in (0, 2), err
    assert (backup / "mine.txt").read_text("utf-8") == "precious"


def test_sample_into_the_current_folder_is_not_an_internal_error(tmp_path, capsys, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    rc, _, err = cli(["sample", "--out", ".", "--accounts", 3, "--months", 4], capsys)
    assert rc in (0, 2) and "内部エラー" not in err and "internal error" not in err, err
    if rc == 0:
        assert (here / "accounts.csv").is_file()


# ============================================================================================
# Secrets: the webhook URL never appears in any output, whatever the failure path
# ============================================================================================


@pytest.mark.parametrize(
    "argv",
    [
        ["notify", "--data", "{data}", "--webhook-url", WEBHOOK],  # a natural guess of an option
        ["notify", "--data", "{data}", "--format", WEBHOOK],  # invalid choice
        ["notify", "--data", "{data}", WEBHOOK],  # pasted as a positional argument
    ],
    ids=["unknown_option", "invalid_choice", "extra_argument"],
)
def test_a_usage_error_never_prints_the_webhook_url(argv, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CS_METRICS_SLACK_WEBHOOK_URL", WEBHOOK)
    d = base(tmp_path)
    rc, out, err = cli([a.replace("{data}", str(d)) for a in argv], capsys)
    assert rc == 2
    assert SECRET not in out + err


# ============================================================================================
# Silent wrong numbers: months outside the data, stray rows, odd amounts, duplicated rows
# ============================================================================================


def test_one_stray_row_months_later_does_not_move_the_default_month(tmp_path, capsys):
    d = base(tmp_path)  # usage, NPS, touchpoints and onboarding all end in 2025-06
    append(d, "touchpoints", "A1,2025-09-20,email\n")  # a typo'd year-month, or a late import
    rc, out, err = cli(["kpis", "--data", d, "--format", "json"], capsys)
    # 2025-07 and 2025-08 have no data at all: health would collapse, churn would read 0%.
    assert rc == 2 or json_strict(out)["as_of"] == "2025-06", json_strict(out)["as_of"]


@pytest.mark.xfail(
    strict=True,
    reason="with only accounts and subscriptions any month up to today is accepted "
    "(Dataset.export_date is today without activity tables) - as SPEC §3 says ('without any "
    "of those tables it is today'; cancellations and contract dates are not activity): "
    "needs a SPEC decision before a fix (heldout-data)",
)
def test_only_required_tables_a_month_long_after_the_data_is_refused(tmp_path, capsys):
    d = only_required(tmp_path)  # its latest date: 2025-07-31 (a line's end)
    rc, out, err = cli(["kpis", "--data", d, "--as-of", "2025-12"], capsys)
    assert rc == 2 and "2025-12" in err, out  # month_out_of_range, naming the data's range


def test_duplicated_touchpoint_rows_are_flagged_or_change_nothing(tmp_path, capsys):
    d = base(tmp_path)
    append(d, "touchpoints", "A3,2025-05-20,email\n")  # A3 gets a touchpoint to count
    argv = ["health", "--data", d, "--as-of", "2025-06", "--format", "json"]
    rc, before, err = cli(argv, capsys)
    assert rc == 0, err
    body = (d / "touchpoints.csv").read_text("utf-8").split("\n", 1)[1]
    append(d, "touchpoints", body)  # every row twice: an export appended to itself
    rc, after, err = cli(argv, capsys)
    rc_v, report, _ = cli(["validate", d, "--format", "json"], capsys)
    issues = json_strict(report)["errors"] + json_strict(report)["warnings"]
    flagged = any(i["file"] == "touchpoints.csv" for i in issues)
    assert flagged or json_strict(after) == json_strict(before)


def test_an_amount_grouped_with_dots_is_not_read_as_a_decimal(tmp_path, capsys):
    d = base(tmp_path)
    replace(d, "subscriptions", ",300000", ",80.000")  # 80,000 yen as some exports write it
    rc, out, _ = cli(["validate", d, "--format", "json"], capsys)
    report = json_strict(out)
    rows = [i for i in report["errors"] + report["warnings"] if i["file"] == "subscriptions.csv"]
    assert rc == 2 or rows, "80.000 was taken as 80 yen without a word"


# ============================================================================================
# Point in time: adding rows dated after month m never changes a figure of m
# ============================================================================================


def test_risk_of_a_month_does_not_change_when_later_lines_are_added(tmp_path, capsys):
    cut = base(tmp_path, "cut")
    replace(
        cut,
        "subscriptions",
        "SA3,A3,core,2025-01-01,2025-07-31",
        "SA3,A3,core,2025-01-01,2025-05-31",
    )
    full = tmp_path / "full"
    shutil.copytree(cut, full)
    append(full, "subscriptions", "SA3b,A3,core,2025-06-01,,50000\n")  # renewed in the next month
    argv = ["risk", "--as-of", "2025-05", "--format", "json", "--data"]
    rc1, a, e1 = cli([*argv, cut], capsys)
    rc2, b, e2 = cli([*argv, full], capsys)
    assert rc1 == rc2 == 0, e1 + e2
    assert json_strict(a) == json_strict(b)


# ============================================================================================
# One language per output (cs_metrics.labels.purity_problems, as tests/test_cli_output.py)
# ============================================================================================


def test_kpis_json_reasons_have_codes_and_speak_the_language(tmp_path, capsys):
    d = base(tmp_path)  # 6 months of data: the trailing-12m and 24-month figures are null
    rc, out, err = cli(["kpis", "--data", d, "--format", "json", "--lang", "ja"], capsys)
    assert rc == 0, err
    found: list[tuple[str, str]] = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k.endswith("_reason"):
                    if f"{k}_code" not in o:
                        found.append((k, "no code"))
                    found.extend((k, w) for w in purity_problems(str(v), "ja"))
                walk(v)

    walk(json_strict(out))
    assert not found, found


def test_kpis_table_when_everyone_churned_speaks_japanese(tmp_path, capsys):
    lines = [(f"A{i}", "2023-01-01", "2023-06-30") for i in range(5)]
    lines.append(("B1", "2023-01-01", "2024-06-30"))  # the last one at risk leaves too: KM 100%
    lines.append(("C1", "2025-03-01", None))  # a young account keeps the data going
    d = cohort(tmp_path / "d", lines)
    rc, out, err = cli(["kpis", "--data", d, "--as-of", "2025-06", "--lang", "ja"], capsys)
    assert rc == 0, err
    assert purity_problems(out, "ja", data_words(d)) == []


def test_onboarding_without_its_table_speaks_japanese(tmp_path, capsys):
    d = only_required(tmp_path)
    rc, out, err = cli(["onboarding", "--data", d, "--as-of", "2025-06", "--lang", "ja"], capsys)
    assert rc == 0, err
    assert purity_problems(out, "ja") == []
    rc, out, err = cli(
        ["onboarding", "--data", d, "--as-of", "2025-06", "--format", "json"], capsys
    )
    report = json_strict(out)
    assert report["available"] is False and report.get("reason_code"), report


def test_risk_table_with_only_required_tables_has_no_none_and_no_identifiers(tmp_path, capsys):
    d = only_required(tmp_path)
    rc, out, err = cli(["risk", "--data", d, "--as-of", "2025-06", "--lang", "ja"], capsys)
    assert rc == 0, err
    assert "None" not in out
    assert purity_problems(out, "ja", data_words(d)) == []


def test_scenario_table_in_english_has_no_identifiers(tmp_path, capsys):
    d = base(tmp_path)
    argv = [
        "scenario",
        "--data",
        d,
        "--as-of",
        "2025-06",
        "--lang",
        "en",
        "--save-reason-pct",
        "0.3",
    ]
    rc, out, err = cli(argv, capsys)
    assert rc == 0, err
    assert purity_problems(out, "en", data_words(d)) == []


def test_ltv_table_without_acquisition_cost_speaks_japanese(tmp_path, capsys):
    d = base(tmp_path)  # accounts.csv has no acquisition_cost column
    rc, out, err = cli(["ltv", "--data", d, "--as-of", "2025-06", "--lang", "ja"], capsys)
    assert rc == 0, err
    assert purity_problems(out, "ja", data_words(d)) == []


def test_ltv_table_with_the_mixture_model_speaks_japanese(tmp_path, capsys):
    lines = [(f"A{i:02d}", "2024-01-01", "2024-01-31") for i in range(30)]  # all leave at once
    lines += [(f"B{i:02d}", "2024-01-01", None) for i in range(10)]  # the rest never leave
    d = cohort(tmp_path / "d", lines)
    rc, out, err = cli(["ltv", "--data", d, "--as-of", "2025-06", "--lang", "ja"], capsys)
    assert rc == 0, err
    assert "acquisition_cost" not in out  # the cost is known: only the model's words are left
    assert purity_problems(out, "ja", data_words(d)) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["scenario", "--save-reason-pct", "30"],  # 30 meant as 30%: the fraction check
        ["nps", "--window-months", "1.5"],
    ],
    ids=["fraction", "int"],
)
def test_option_errors_speak_the_language_asked_for(argv, tmp_path, capsys):
    d = base(tmp_path)
    rc, out, err = cli([*argv, "--data", d, "--lang", "ja"], capsys)
    assert rc == 2
    last = [line for line in err.splitlines() if line.strip()][-1]
    assert purity_problems(last.replace("cs-metrics", ""), "ja") == [], last


# ============================================================================================
# Issue 14: awkward cohorts and honest intervals
# ============================================================================================


def test_no_churn_residual_value_is_said_to_be_a_lower_bound(tmp_path, capsys):
    d = cohort(tmp_path / "d", [(f"A{i:02d}", "2024-01-01", None) for i in range(40)])
    rc, out, err = cli(["ltv", "--data", d, "--as-of", "2025-06", "--format", "json"], capsys)
    assert rc == 0, err
    pred = json_strict(out)["predictive"]
    assert pred["groups"]["all"]["ltv_new_is_lower_bound"] is True  # the LTV says so
    rc, out, err = cli(["ltv", "--data", d, "--as-of", "2025-06", "--lang", "ja"], capsys)
    line = next(x for x in out.splitlines() if x.startswith("既存顧客の残存価値合計"))
    assert "下限" in line, line


def test_scenario_interval_for_everyone_churned_is_not_a_point(tmp_path, capsys):
    lines = [(f"A{i}", "2023-01-01", "2023-06-30") for i in range(8)]
    lines.append(("B1", "2024-09-01", None))
    d = cohort(tmp_path / "d", lines)
    argv = ["scenario", "--data", d, "--as-of", "2025-06", "--format", "json"]
    rc, out, err = cli(argv, capsys)
    assert rc == 0, err
    b = json_strict(out)["baseline"]
    assert b["rate"] == 1.0
    lo, hi = b["rate_ci"]
    assert lo < 1.0, "8 of 8 churned is not certainty: 95% interval [1.0, 1.0]"


# ============================================================================================
# Reports: the publish step never deletes what the program did not make (renders: slow)
# ============================================================================================


def render(d: Path, out: Path, capsys) -> tuple[int, str, str]:
    return cli(["report", "monthly", "--data", d, "--as-of", "2025-06", "--out", out], capsys)


@pytest.mark.slow
def test_report_rerender_keeps_a_user_file_named_after_the_report(tmp_path, capsys):
    d = base(tmp_path)
    month = tmp_path / "reports" / "2025-06"
    month.mkdir(parents=True)
    (month / "metrics.json").write_text('{"reports": ["monthly"]}\n', "utf-8")  # an earlier run
    (month / "monthly.pptx").write_bytes(b"the board deck made from this month's report")
    rc, _, err = render(d, tmp_path / "reports", capsys)
    assert rc in (0, 2), err
    assert (month / "monthly.pptx").read_bytes() == b"the board deck made from this month's report"


@pytest.mark.slow
def test_report_never_deletes_hidden_folders_it_did_not_make(tmp_path, capsys):
    d = base(tmp_path)
    out = tmp_path / "reports"
    mine = [out / ".2025-06.old", out / ".2025-06-board-deck-v2"]  # the user's own folders
    for folder in mine:
        folder.mkdir(parents=True)
        (folder / "keep.txt").write_text("mine", "utf-8")
    rc, _, err = render(d, out, capsys)
    assert rc in (0, 2), err
    assert [(f / "keep.txt").is_file() for f in mine] == [True, True]


@pytest.mark.slow
def test_report_rerender_keeps_a_csv_the_user_edited(tmp_path, capsys):
    d = base(tmp_path)
    out = tmp_path / "reports"
    rc, _, err = render(d, out, capsys)
    assert rc == 0, err
    csv_path = out / "2025-06" / "risk_list.csv"
    edited = csv_path.read_bytes() + "津田,,,,,,,,,,,,,面談済み（9/3）: 継続の意向あり\n".encode()
    csv_path.write_bytes(edited)  # a CSM annotated the list in Excel and saved it in place
    rc, _, err = render(d, out, capsys)
    kept = [p for p in (out / "2025-06").iterdir() if p.is_file() and p.read_bytes() == edited]
    assert kept, f"the edited risk_list.csv is gone (exit {rc})"


# ============================================================================================
# Flags that do nothing
# ============================================================================================


@pytest.mark.parametrize(
    "argv",
    [
        ["monthly", "--from", "2025-01", "--to", "2025-03"],  # meant: a backfill
        ["review", "--report", "monthly"],
        ["backfill", "--from", "2025-04", "--to", "2025-06", "--as-of", "2025-05"],
    ],
    ids=["monthly_from_to", "review_report", "backfill_as_of"],
)
def test_report_options_of_another_kind_are_refused_not_ignored(
    argv, tmp_path, capsys, monkeypatch
):
    from cs_metrics.reporting import run as report_run

    rendered: list = []

    def fake_render(kind, data_dir, as_of=None, **kw):
        rendered.append((kind, as_of))
        return tmp_path / "reports" / "x" / f"{kind}.html"

    def fake_backfill(kind, data_dir, start, end, **kw):
        rendered.append((kind, start, end))
        return []

    monkeypatch.setattr(report_run, "render_report", fake_render)
    monkeypatch.setattr(report_run, "backfill", fake_backfill)
    d = base(tmp_path)
    rc, _, err = cli(["report", *argv, "--data", d, "--out", tmp_path / "reports"], capsys)
    assert rc == 2 and not rendered, f"exit {rc}, rendered {rendered}"


@pytest.mark.slow
def test_data_docs_never_overwrite_a_users_index_html(tmp_path, capsys):
    d = base(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html>our team wiki</html>", "utf-8")
    rc, _, err = cli(["validate", d, "--data-docs", site], capsys)
    assert rc in (0, 2), err
    assert (site / "index.html").read_text("utf-8") == "<html>our team wiki</html>"


# ============================================================================================
# Configuration: a setting that validation accepts must compute; messages in one language
# ============================================================================================


def test_a_tiny_discount_rate_that_validation_accepts_computes_or_is_refused(tmp_path, capsys):
    d = base(tmp_path)
    cfg = tmp_path / "config.toml"
    cfg.write_text("[ltv]\nannual_discount_rate = 1e-9\n", "utf-8")
    rc, out, err = cli(["ltv", "--data", d, "--as-of", "2025-06", "--config", cfg], capsys)
    assert rc in (0, 2) and "内部エラー" not in err, err


def test_configuration_errors_speak_the_language_asked_for(tmp_path, capsys):
    d = base(tmp_path)
    cfg = tmp_path / "config.toml"
    cfg.write_text("[ltv]\ngross_margin = -0.5\n", "utf-8")
    rc, out, err = cli(["kpis", "--data", d, "--config", cfg, "--lang", "ja"], capsys)
    assert rc == 2
    text = err.replace(str(cfg), "").replace("ltv.gross_margin", "")
    assert purity_problems(text, "ja") == [], err


# ============================================================================================
# Outputs readable by the team (careless defaults)
# ============================================================================================


@pytest.mark.parametrize("command", ["sample", "load"])
def test_published_folders_follow_the_umask(command, tmp_path, capsys):
    import os

    old = os.umask(0o022)
    try:
        out = tmp_path / "out"
        if command == "sample":
            argv = ["sample", "--out", out, "--accounts", 3, "--months", 4]
        else:
            argv = ["load", "--data", base(tmp_path), "--out", out]
        rc, _, err = cli(argv, capsys)
    finally:
        os.umask(old)
    assert rc == 0, err
    assert out.stat().st_mode & 0o777 == 0o755, oct(out.stat().st_mode)  # a shared lake, Spark


# ============================================================================================
# Files and encodings: what is there is read, or the user is told
# ============================================================================================


@pytest.mark.parametrize("name", ["usage_weekly.tsv", "usage_weekly.xlsx", "usage_weekly (1).csv"])
def test_an_optional_table_in_a_file_that_is_not_read_is_reported(name, tmp_path, capsys):
    d = base(tmp_path)
    src = d / "usage_weekly.csv"
    if name.endswith(".xlsx"):
        (d / name).write_bytes(b"PK\x03\x04" + b"\x00" * 64)  # an Excel workbook
        src.unlink()
    else:
        src.rename(d / name)
    rc, out, _ = cli(["validate", d, "--format", "json"], capsys)
    report = json_strict(out)
    said = [
        i
        for i in report["errors"] + report["warnings"]
        if name in json.dumps(i, ensure_ascii=False)
    ]
    assert rc == 2 or said or "usage_weekly" in report["encodings"], report["warnings"]


def test_an_iso_2022_jp_file_is_not_read_as_mojibake(tmp_path, capsys):
    d = base(tmp_path)
    text = (d / "accounts.csv").read_text("utf-8")
    (d / "accounts.csv").write_bytes(text.encode("iso2022_jp"))
    rc, out, _ = cli(["validate", d, "--format", "json"], capsys)
    if rc == 0:
        from cs_metrics.data.load import load_dataset

        names = load_dataset(d).frames["accounts"].collect()["account_name"].to_list()
        assert not any("\x1b" in n for n in names), names


# ============================================================================================
# Missing data is "no data", never the worst score
# ============================================================================================


def test_usage_export_ending_early_is_named(tmp_path, capsys):
    # SPEC §6 counts a missing usage week as no usage: the months after an export that ended
    # early score low on usage by definition, so validation must say so before anyone acts
    d = base(tmp_path)
    path = d / "usage_weekly.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    path.write_text(lines[0] + "".join(x for x in lines[1:] if x.split(",")[1] <= "2025-03-31"))
    rc, out, err = cli(["validate", d, "--lang", "en"], capsys)
    assert rc == 0, err
    assert "weekly usage export ends on" in out + err, out + err


def test_a_line_in_another_currency_is_not_added_to_yen(tmp_path, capsys):
    d = base(tmp_path)
    path = d / "subscriptions.csv"
    lines = path.read_text("utf-8").splitlines()
    out_lines = [lines[0] + ",currency", lines[1] + ",USD"] + [x + ",JPY" for x in lines[2:]]
    path.write_text("\n".join(out_lines) + "\n", "utf-8")
    rc, out, err = cli(["kpis", "--data", d, "--as-of", "2025-06", "--format", "json"], capsys)
    assert rc == 2 or json_strict(out)["mrr_end"] != 470000.0  # 300,000 USD is not ¥300,000
