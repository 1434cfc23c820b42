"""The validation gate: every bad-input fixture exits 2 naming its file, column and rows."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from cs_metrics.cli.main import main
from cs_metrics.data.gx import EXPECTATIONS_DIR, build_suite_dict, suite_json
from cs_metrics.data.schema import TABLES
from cs_metrics.data.validate import validate_dataset
from cs_metrics.messages import MESSAGES, VALIDATION_RULES

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "tiny"
BAD = FIXTURES / "bad"

# case -> (file, column or None, rule, row numbers as in the file, words the message must contain)
BAD_CASES: dict[str, tuple[str, str | None, str, list[int], list[str]]] = {
    "missing_column": (
        "subscriptions.csv",
        "mrr",
        "missing_column",
        [],
        ["月額", "subscription_id, account_id", '"月額" = "mrr"', "docs/mapping.md"],
    ),
    "unparseable_date": ("subscriptions.csv", "start_date", "unparseable", [3], ["2024/13/01"]),
    "negative_mrr": ("subscriptions.csv", "mrr", "negative_value", [4], ["-80000"]),
    "non_numeric_mrr": ("subscriptions.csv", "mrr", "unparseable", [3], ["三万円", "金額"]),
    "end_before_start": (
        "subscriptions.csv",
        "start_date, end_date",
        "end_before_start",
        [4],
        ["2023-01-31"],
    ),
    "duplicate_subscription_id": (
        "subscriptions.csv",
        "subscription_id",
        "duplicate_key",
        [4, 5],
        ["S003"],
    ),
    "duplicate_response_id": (
        "nps_responses.csv",
        "response_id",
        "duplicate_key",
        [3, 4],
        ["R002"],
    ),
    "unknown_account": ("usage_weekly.csv", "account_id", "unknown_account", [6], ["A999"]),
    "nps_score_out_of_range": ("nps_responses.csv", "score", "out_of_range", [3], ["0..10"]),
    "empty_file": ("touchpoints.csv", None, "empty_file", [], []),
    "header_only": ("nps_responses.csv", None, "no_rows", [], []),
    "undecodable_bytes": ("subscriptions.csv", "product", "undecodable", [3], ["CP932"]),
    "csv_and_parquet": ("accounts.csv", None, "duplicate_table", [], ["accounts.parquet"]),
    "missing_accounts_file": ("accounts.csv", None, "file_missing", [], ["accounts.parquet"]),
    "empty_required_value": ("touchpoints.csv", "kind", "required_value", [3], []),
    "duplicate_usage_week": (
        "usage_weekly.csv",
        "account_id, week_start",
        "duplicate_key",
        [3, 6],
        ["2024-06-10"],
    ),
    "session_out_of_range": (
        "onboarding_sessions.csv",
        "session_no",
        "out_of_range",
        [5],
        ["1..12"],
    ),
    "onboarding_status_unknown": (
        "onboarding_sessions.csv",
        "status",
        "not_in_set",
        [4],
        ["pending", "done"],
    ),
    "outcome_rate_out_of_range": (
        "usage_weekly.csv",
        "outcome_rate",
        "out_of_range",
        [3],
        ["0..1"],
    ),
    "malformed_csv": ("cs_costs.csv", None, "malformed_csv", [4], []),
}


def run_cli(capsys, *args: str) -> tuple[int, str]:
    rc = main(["validate", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_every_bad_fixture_has_a_case():
    folders = {p.name for p in BAD.iterdir() if p.is_dir()}
    assert folders == set(BAD_CASES)


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_fixture_exits_2_naming_file_column_rows(case, capsys):
    file, column, rule, rows, words = BAD_CASES[case]
    rc, out = run_cli(capsys, BAD / case)
    assert rc == 2, out
    assert "Traceback" not in out
    assert file in out
    if column:
        assert f"列: {column}" in out, out
    assert f"ルール: {rule}" in out
    for r in rows:
        assert f" {r}: " in out, (r, out)
    for w in words:
        assert w in out, (w, out)


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_fixture_json_report(case, capsys):
    file, column, rule, rows, _ = BAD_CASES[case]
    rc, out = run_cli(capsys, BAD / case, "--format", "json", "--lang", "en")
    assert rc == 2
    report = json.loads(out)
    assert report["ok"] is False and report["n_errors"] == len(report["errors"]) >= 1
    mine = [e for e in report["errors"] if e["rule"] == rule]
    assert len(mine) == 1, report["errors"]
    err = mine[0]
    assert file in err["file"]
    assert err["column"] == column
    assert [x["row"] for x in err["examples"]] == rows
    if rows:
        assert err["n_rows"] == len(rows)
    # only the one defect of the case is an error
    assert len(report["errors"]) == 1, report["errors"]


def test_missing_folder_exits_2(capsys, tmp_path):
    rc, out = run_cli(capsys, tmp_path / "no_such_folder")
    assert rc == 2
    assert "no_such_folder" in out and "見つかりません" in out and "Traceback" not in out
    rc, out = run_cli(capsys, tmp_path / "no_such_folder", "--lang", "en")
    assert "data folder not found" in out


def test_clean_tiny_dataset_exits_0(capsys):
    rc, out = run_cli(capsys, TINY)
    assert rc == 0, out
    assert "問題はありません" in out
    assert "accounts.csv" in out and "utf-8" in out  # the files read, with their encodings


def test_lang_en_switches_labels_and_messages(capsys):
    rc, out = run_cli(capsys, BAD / "negative_mrr", "--lang", "en")
    assert rc == 2
    assert "Errors: 1" in out and "column: mrr" in out and "rule: negative_value" in out
    assert "negative value" in out and "負の値" not in out
    rc, out = run_cli(capsys, BAD / "negative_mrr")
    assert "エラー: 1 件" in out and "負の値" in out


def test_json_structure_is_stable(capsys):
    rc, out = run_cli(capsys, BAD / "negative_mrr", "--format", "json")
    report = json.loads(out)
    assert list(report) == [
        "schema_version",
        "path",
        "ok",
        "lang",
        "n_errors",
        "n_warnings",
        "errors",
        "warnings",
        "sources",
        "encodings",
    ]
    assert report["schema_version"] == 1 and report["lang"] == "ja"
    err = report["errors"][0]
    assert list(err) == [
        "table",
        "file",
        "column",
        "rule",
        "severity",
        "message",
        "n_rows",
        "examples",
    ]
    assert err["examples"] == [{"row": 4, "value": "-80000"}]
    src = {s["table"]: s for s in report["sources"]}
    assert src["subscriptions"]["rows"] == 4 and src["subscriptions"]["encoding"] == "utf-8"
    assert set(src["accounts"]) == {
        "table",
        "file",
        "format",
        "encoding",
        "rows",
        "renamed",
        "sha256",
    }


def test_file_level_json_has_no_sources(capsys):
    rc, out = run_cli(capsys, BAD / "empty_file", "--format", "json")
    report = json.loads(out)
    assert rc == 2 and report["sources"] == [] and report["errors"][0]["rule"] == "empty_file"


def test_warnings_exit_0(capsys, tmp_path):
    folder = tmp_path / "warn"
    shutil.copytree(TINY, folder)
    subs = folder / "subscriptions.csv"
    subs.write_text(
        subs.read_text("utf-8").replace(
            "S004,A003,core,2024-03-01,,50000,pro,JPY", "S004,A003,core,2024-03-01,,50000,pro,円"
        ),
        "utf-8",
    )
    costs = folder / "cs_costs.csv"
    costs.write_text("month,amount\n2024-05-15,1000000\n2024-06-01,1000000\n", "utf-8")
    acc = folder / "accounts.csv"
    acc.write_text(
        acc.read_text("utf-8").replace(
            "account_id,account_name,industry", "account_id,account_name,industy"
        ),
        "utf-8",
    )
    rc, out = run_cli(capsys, folder)
    assert rc == 0, out
    assert "警告: 2 件" in out  # 円 is the configured JPY written another way
    assert "month_not_first_day" in out and " 2: 2024-05-15" in out
    assert "column_ignored" in out and "industy" in out


def test_multiple_problems_reported_together(capsys, tmp_path):
    folder = tmp_path / "many"
    shutil.copytree(TINY, folder)
    (folder / "touchpoints.csv").write_bytes(b"")
    (folder / "cs_costs.csv").write_text("month\n2024-05-01\n", "utf-8")
    rc, out = run_cli(capsys, folder, "--format", "json")
    rules = sorted(e["rule"] for e in json.loads(out)["errors"])
    assert rc == 2 and rules == ["empty_file", "missing_column"]


def test_mrr_parse_accepts_japanese_amounts_and_rejects_nan(capsys, tmp_path):
    folder = tmp_path / "amounts"
    shutil.copytree(TINY, folder)
    (folder / "subscriptions.csv").write_text(
        "subscription_id,account_id,product,start_date,end_date,mrr\n"
        'S001,A001,core,2024/1/1,,"¥1,200,000"\n'
        'S002,A001,core,2024/1/1,,"１，０００円"\n'
        "S003,A002,core,2024/1/1,,nan\n",
        "utf-8",
    )
    rc, out = run_cli(capsys, folder, "--format", "json", "--lang", "en")
    errs = json.loads(out)["errors"]
    assert rc == 2 and [(e["rule"], e["examples"]) for e in errs] == [
        ("unparseable", [{"row": 4, "value": "nan"}])
    ]


def test_unparseable_value_reported_once_not_also_as_empty(tmp_path):
    folder = tmp_path / "once"
    shutil.copytree(BAD / "unparseable_date", folder)
    report = validate_dataset(folder)
    assert [(i.rule, i.column) for i in report.errors] == [("unparseable", "start_date")]


def test_session_range_follows_config(capsys, tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[onboarding]\nsessions = 2\n", "utf-8")
    rc, out = run_cli(capsys, TINY, "--config", cfg, "--lang", "en")
    assert rc == 2 and "outside 1..2" in out and " 4: 3" in out


@pytest.mark.parametrize(
    "engine, module, name",
    [
        ("polars", "cs_metrics.data.gate", "evaluate_gate"),
        ("gx", "cs_metrics.data.validate", "cross_table_issues"),
    ],
)
def test_unexpected_failure_is_internal_error_exit_1_with_a_log(
    capsys, monkeypatch, tmp_path, engine, module, name
):
    import importlib

    def boom(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(importlib.import_module(module), name, boom)
    monkeypatch.delenv("CS_METRICS_DEBUG", raising=False)
    monkeypatch.setenv("CS_METRICS_LOG_DIR", str(tmp_path / "logs"))
    rc, out = run_cli(capsys, TINY, "--engine", engine)
    assert rc == 1 and "内部エラー" in out and "Traceback" not in out
    (log,) = (tmp_path / "logs").iterdir()
    assert str(log) in out and "RuntimeError: boom" in log.read_text("utf-8")


def test_subprocess_exit_codes():
    exe = ROOT / ".venv" / "bin" / "cs-metrics"
    if not exe.exists():
        exe = Path(sys.executable).with_name("cs-metrics")
    bad = subprocess.run(
        [str(exe), "validate", str(BAD / "duplicate_subscription_id")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2, bad.stderr
    assert "subscriptions.csv" in bad.stdout and "subscription_id" in bad.stdout
    assert "Traceback" not in bad.stdout + bad.stderr
    # GX's progress bars and warnings stay quiet
    assert bad.stderr.strip() == ""


# ---- the GX suites ----------------------------------------------------------------------


def test_expectation_suites_are_in_sync_with_the_schema():
    for name in TABLES:
        path = EXPECTATIONS_DIR / f"{name}.json"
        assert path.is_file(), f"missing {path}: run scripts/make_expectations.py"
        assert path.read_text("utf-8") == suite_json(name), (
            f"{path} is out of date: run .venv/bin/python scripts/make_expectations.py"
        )


def test_suites_are_valid_gx_suites():
    from cs_metrics.data.gx import gx_state

    gx = gx_state()["gx"]
    for name in TABLES:
        suite = gx.ExpectationSuite(**build_suite_dict(name))
        assert len(suite.expectations) == len(build_suite_dict(name)["expectations"])


def test_suite_rules_have_messages():
    for name in TABLES:
        for e in build_suite_dict(name)["expectations"]:
            rule = e["meta"]["rule"]
            assert set(MESSAGES[rule]) == {"ja", "en"}


def test_gx_runs_on_a_parquet_dataset(tmp_path):
    folder = tmp_path / "pq"
    shutil.copytree(TINY, folder)
    df = pl.read_csv(folder / "nps_responses.csv", infer_schema=False).with_columns(
        pl.col("score").cast(pl.Int64).replace(4, 12)
    )
    (folder / "nps_responses.csv").unlink()
    df.write_parquet(folder / "nps_responses.parquet")
    report = validate_dataset(folder)
    [err] = report.errors
    # Parquet has no header row: its first row is row 1
    assert (err.file, err.rule, err.examples) == (
        "nps_responses.parquet",
        "out_of_range",
        [(2, "12")],
    )


def test_sample_data_validates_if_present(capsys):
    sample = ROOT / "data" / "sample"
    if not (sample / "accounts.csv").exists() and not (sample / "accounts.parquet").exists():
        pytest.skip("data/sample not generated yet")
    rc, out = run_cli(capsys, sample)
    assert rc == 0, out


def test_every_rule_is_documented():
    doc = (ROOT / "docs" / "mapping.md").read_text("utf-8")
    for rule in [*VALIDATION_RULES, "check_failed"]:
        assert f"| `{rule}` |" in doc, f"rule {rule} is missing from docs/mapping.md"


def test_gx_failures_come_in_suite_order(tmp_path):
    folder = tmp_path / "order"
    shutil.copytree(TINY, folder)
    (folder / "subscriptions.csv").write_text(
        "subscription_id,account_id,product,start_date,end_date,mrr\n"
        "S001,A001,core,2024-01-01,,-1\n"
        "S001,A001,,2024-01-01,,5\n",
        "utf-8",
    )
    rules = [(i.rule, i.column) for i in validate_dataset(folder).errors]
    assert rules == [
        ("required_value", "product"),
        ("duplicate_key", "subscription_id"),
        ("negative_value", "mrr"),
    ]


def test_custom_suite_with_warning_severity(tmp_path):
    suites = tmp_path / "suites"
    suites.mkdir()
    for name in TABLES:
        (suites / f"{name}.json").write_text(suite_json(name), "utf-8")
    d = build_suite_dict("accounts")
    d["expectations"].append(
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "industry", "value_set": ["金融", "医療"]},
            "meta": {"rule": "not_in_set"},
            "severity": "warning",
        }
    )
    (suites / "accounts.json").write_text(json.dumps(d, ensure_ascii=False), "utf-8")
    report = validate_dataset(TINY, expectations=suites)
    assert report.ok
    [w] = report.warnings
    assert (w.rule, w.column, w.examples) == ("not_in_set", "industry", [(4, "小売")])


@pytest.mark.parametrize("engine", ["polars", "gx"])
def test_dot_grouped_amounts_are_refused_ordinary_decimals_kept(tmp_path, engine):
    from health_fixtures import write_cli_dataset

    d = write_cli_dataset(tmp_path / "d")
    path = d / "subscriptions.csv"
    lines = path.read_text("utf-8").splitlines()
    values = ["80.000", "¥1.234.567", "80000.5", "0.500"]
    for k, v in enumerate(values, 1):
        head, _, _ = lines[k].rpartition(",")
        lines[k] = f'{head},"{v}"'
    path.write_text("\n".join(lines) + "\n", "utf-8")
    report = validate_dataset(d, engine=engine, cache=False)
    found = [i for i in report.errors if i.rule == "ambiguous_amount"]
    assert len(found) == 1 and found[0].file == "subscriptions.csv", report.format("en")
    assert found[0].column == "mrr" and found[0].n_rows == 2
    assert [v for _, v in found[0].examples] == ["80.000", "¥1.234.567"]
    assert not [i for i in report.errors if i.rule == "unparseable"]


@pytest.mark.parametrize("engine", ["polars", "gx"])
def test_a_line_in_another_currency_is_refused(tmp_path, capsys, engine):
    folder = tmp_path / "usd"
    shutil.copytree(TINY, folder)
    subs = folder / "subscriptions.csv"
    text = subs.read_text("utf-8")
    subs.write_text(text.replace(",pro,JPY", ",pro,usd", 1).replace(",JPY", ",￥", 1), "utf-8")
    report = validate_dataset(folder, engine=engine, cache=False)
    found = [i for i in report.errors if i.rule == "currency_mismatch"]
    assert len(found) == 1 and found[0].n_rows == 1, report.format("en")
    assert found[0].file == "subscriptions.csv" and found[0].examples[0][1] == "usd"
    assert not report.ok


@pytest.mark.parametrize("engine", ["polars", "gx"])
def test_rows_appended_twice_are_flagged_in_every_table(tmp_path, engine):
    from health_fixtures import write_cli_dataset

    d = write_cli_dataset(tmp_path / "d")
    for table in ("cancellations", "nps_responses", "accounts"):
        path = d / f"{table}.csv"
        text = path.read_text("utf-8")
        path.write_text(text + text.split("\n", 1)[1], "utf-8")  # every row twice
    report = validate_dataset(d, engine=engine, cache=False)
    dup = {i.file: i for i in report.warnings if i.rule == "duplicate_rows"}
    assert set(dup) == {"cancellations.csv", "nps_responses.csv", "accounts.csv"}
    assert dup["cancellations.csv"].n_rows == 1 and dup["accounts.csv"].n_rows == 4
    assert [r for r, _ in dup["cancellations.csv"].examples] == [3]  # the later copy
    assert dup["cancellations.csv"].examples[0][1].startswith("A2, 2025-06-10, 施策終了")


@pytest.mark.parametrize("engine", ["polars", "gx"])
def test_a_block_pasted_twice_is_flagged_equal_rows_by_chance_are_not(tmp_path, engine):
    from health_fixtures import write_cli_dataset

    d = write_cli_dataset(tmp_path / "d")
    rows = [f"A{1 + k % 3},2025-0{1 + k % 6}-1{k % 9},email" for k in range(12)]
    chance = ["A1,2025-06-02,support", "A1,2025-06-02,support"]  # two contacts on one day
    block = rows[4:8]  # four rows of an export pasted again at the end
    text = "account_id,occurred_on,kind\n" + "\n".join(rows + chance + block) + "\n"
    (d / "touchpoints.csv").write_text(text, "utf-8")
    report = validate_dataset(d, engine=engine, cache=False)
    dup = [i for i in report.warnings if i.rule == "duplicate_rows"]
    assert len(dup) == 1 and dup[0].file == "touchpoints.csv", report.format("en")
    assert [r for r, _ in dup[0].examples] == [16, 17, 18, 19]  # the copies, as in the file
