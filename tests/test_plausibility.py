"""The gate's plausibility rules (issue 13): values that parse but cannot be true are errors
against configurable bounds; overlapping same-product lines and invisible characters are
warnings naming their rows."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cs_metrics.cli.main import main
from cs_metrics.data.plausibility import overlapping_lines
from cs_metrics.data.validate import validate_dataset

ACCOUNTS = "account_id,account_name\nA1,あ社\nA2,い社\n"
HEAD = "subscription_id,account_id,product,start_date,end_date,mrr\n"
SUBS = HEAD + "S1,A1,core,2025-01-01,,100000\nS2,A2,core,2025-01-01,,50000\n"


def folder(tmp_path: Path, name: str = "d", **files: str) -> Path:
    f = tmp_path / name
    f.mkdir()
    files = {"accounts": ACCOUNTS, "subscriptions": SUBS, **files}
    for table, text in files.items():
        (f / f"{table}.csv").write_text(text, "utf-8")
    return f


def rules(report) -> list[tuple[str, str, str | None, list[int]]]:
    return [(i.rule, i.severity, i.column, [r for r, _ in i.examples]) for i in report.issues]


@pytest.mark.parametrize("mrr", ["1e40", "1000000001", "¥2,000,000,000"])
def test_mrr_above_the_ceiling_is_an_error_not_a_crash_later(tmp_path, mrr, capsys):
    d = folder(tmp_path, subscriptions=SUBS.replace(",100000", f',"{mrr}"'))
    assert rules(validate_dataset(d)) == [("amount_implausible", "error", "mrr", [2])]
    assert main(["kpis", "--data", str(d), "--format", "json"]) == 2
    err = capsys.readouterr().err
    assert "amount_implausible" in err and "validation.max_mrr" in err


def test_the_mrr_ceiling_is_configurable(tmp_path):
    d = folder(tmp_path, subscriptions=SUBS.replace(",100000", ",2000000000"))
    assert validate_dataset(d, config={"validation": {"max_mrr": 5e9}}).ok
    assert not validate_dataset(d, config={"validation": {"max_mrr": 1e5}}).ok


def test_other_amounts_have_their_own_ceiling(tmp_path):
    d = folder(
        tmp_path,
        accounts="account_id,account_name,acquisition_cost\nA1,あ社,1e15\nA2,い社,100\n",
        cs_costs="month,amount\n2025-01-01,1e13\n",
    )
    got = {(i.table, i.rule, i.column) for i in validate_dataset(d).errors}
    assert got == {
        ("accounts", "amount_implausible", "acquisition_cost"),
        ("cs_costs", "amount_implausible", "amount"),
    }


@pytest.mark.parametrize("date", ["0024-09-05", "1899-12-31", "2204-04-01"])
def test_dates_outside_the_year_window_are_errors(tmp_path, date):
    d = folder(tmp_path, subscriptions=SUBS.replace("S1,A1,core,2025-01-01", f"S1,A1,core,{date}"))
    assert rules(validate_dataset(d)) == [("date_implausible", "error", "start_date", [2])]


def test_the_year_window_is_configurable_and_checked(tmp_path):
    from cs_metrics.config import load_config
    from cs_metrics.errors import ConfigError

    d = folder(
        tmp_path, subscriptions=SUBS.replace("S1,A1,core,2025-01-01", "S1,A1,core,1985-01-01")
    )
    assert validate_dataset(d, config={"validation": {"min_year": 1980}}).ok
    with pytest.raises(ConfigError, match="validation.min_year"):
        load_config({"validation": {"min_year": 2100, "max_year": 2000}})


def test_usage_values_above_the_ceiling_are_errors(tmp_path):
    usage = "account_id,week_start,logins,deliveries,videos\nA1,2025-01-06,1e300,1,1e12\n"
    d = folder(tmp_path, usage_weekly=usage)
    got = [(i.rule, i.column) for i in validate_dataset(d).errors]
    assert got == [("value_implausible", "logins"), ("value_implausible", "videos")]


def test_a_renewal_overlapping_the_previous_term_is_a_warning_naming_both_rows(tmp_path):
    subs = HEAD + (
        "S1,A1,core,2024-01-01,2024-12-31,100000\n"
        "S2,A1,core,2024-12-01,2025-11-30,100000\n"  # starts before S1 ends: Dec doubled
        "S3,A2,core,2024-01-01,2024-12-31,50000\n"
        "S4,A2,core,2025-01-01,,50000\n"  # a clean renewal
        "S5,A2,addon,2024-06-01,,1000\n"  # another product: not an overlap
    )
    report = validate_dataset(folder(tmp_path, subscriptions=subs))
    assert report.ok
    assert rules(report) == [("overlapping_lines", "warning", "account_id, product", [2, 3])]


def test_a_line_ending_mid_month_does_not_overlap_the_next_starting_that_month():
    subs = pl.LazyFrame(
        {
            "_row": [2, 3, 4, 5],
            "account_id": ["A", "A", "B", "B"],
            "product": ["p", "p", "p", "p"],
            "start_date": pl.Series(
                ["2024-01-01", "2024-06-15", "2024-01-01", "2024-03-01"]
            ).str.to_date(),
            "end_date": pl.Series(["2024-06-14", None, None, "2024-03-31"]).str.to_date(),
            "mrr": [1.0, 1.0, 1.0, 0.0],  # B's second line is free: no doubling
        }
    )
    assert overlapping_lines(subs).collect()["_row"].to_list() == []
    doubled = subs.with_columns(pl.Series("mrr", [1.0, 1.0, 1.0, 5.0]))
    assert sorted(overlapping_lines(doubled).collect()["_row"].to_list()) == [4, 5]


def test_usage_export_ending_early_is_a_warning_naming_its_last_week(tmp_path):
    import datetime as dt

    from conftest import line, make_dataset_dir

    def week(acc, day):
        return {
            "account_id": acc,
            "week_start": dt.date.fromisoformat(day),
            "logins": 3.0,
            "deliveries": 1.0,
            "outcome_rate": 0.5,
        }

    usage = [week(a, d) for a in "AB" for d in ("2025-01-06", "2025-02-03", "2025-03-03")]
    subs = [line(a, "core", "2025-01-01", None, 100_000.0) for a in "AB"]
    days = [dt.date(2025, m, d) for m in (3, 4, 5, 6) for d in (1, 15)]  # touchpoints go on
    tps = [{"account_id": "A", "occurred_on": day, "kind": "qbr"} for day in days]
    d = make_dataset_dir(tmp_path / "a", subscriptions=subs, usage_weekly=usage, touchpoints=tps)
    found = [i for i in validate_dataset(d).issues if i.rule == "usage_ended_early"]
    assert len(found) == 1 and found[0].severity == "warning" and found[0].n_rows == 2
    # the export reaching the other activity: nothing said
    d = make_dataset_dir(
        tmp_path / "b", subscriptions=subs, usage_weekly=usage, touchpoints=tps[:1]
    )
    assert not [i for i in validate_dataset(d).issues if i.rule == "usage_ended_early"]
