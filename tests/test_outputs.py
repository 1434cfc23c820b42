"""Files a user names for output (issue 13): written as what their name says, never over a file
the program did not write (without --force), atomically; ranges that are reversed are refused."""

from __future__ import annotations

import polars as pl
import pytest
from health_fixtures import write_cli_dataset

from cs_metrics.cli.common import check_output_path, write_output_frame
from cs_metrics.cli.main import main
from cs_metrics.errors import OutputError


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_cli_dataset(tmp_path_factory.mktemp("outputs") / "ds")


@pytest.mark.parametrize("name", ["x.xlsx", "x.json", "x", "x.csv.txt", "x.parquet"])
def test_salesforce_out_that_is_not_csv_is_refused_before_computing(data, tmp_path, capsys, name):
    target = tmp_path / name
    assert main(["health", "--data", str(data), "--salesforce-out", str(target)]) == 2
    assert not target.exists() and list(tmp_path.iterdir()) == []
    assert ".csv" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["x.xlsx", "x.xls", "x.tsv", "out"])
def test_accounts_out_with_a_suffix_other_than_csv_or_parquet_is_refused(data, tmp_path, name):
    target = tmp_path / name
    assert main(["ltv", "--data", str(data), "--accounts-out", str(target)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_accounts_out_is_written_as_what_its_name_says(data, tmp_path):
    csv, parquet = tmp_path / "a.CSV", tmp_path / "a.parquet"
    assert main(["ltv", "--data", str(data), "--accounts-out", str(csv)]) == 0
    assert main(["ltv", "--data", str(data), "--accounts-out", str(parquet)]) == 0
    assert csv.read_bytes().startswith(b"\xef\xbb\xbf")
    assert pl.read_parquet(parquet).height == pl.read_csv(csv).height


def test_an_existing_file_the_program_did_not_write_is_not_overwritten(data, tmp_path, capsys):
    mine = tmp_path / "accounts.csv"
    mine.write_text("account_id,account_name\nA,my own file\n", "utf-8")
    args = ["health", "--data", str(data), "--salesforce-out", str(mine)]
    assert main(args) == 2
    assert mine.read_text("utf-8") == "account_id,account_name\nA,my own file\n"
    assert "--force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    assert mine.read_bytes().startswith(b"\xef\xbb\xbfId,Health_Score__c")


def test_an_earlier_export_of_the_same_kind_is_replaced_without_force(data, tmp_path):
    out = tmp_path / "sf.csv"
    args = ["health", "--data", str(data), "--salesforce-out", str(out)]
    assert main(args) == 0
    first = out.read_bytes()
    assert main([*args, "--as-of", "2025-05"]) == 0  # the monthly rerun into the same file
    assert out.read_bytes() != first and out.read_bytes().startswith(b"\xef\xbb\xbfId,")
    # a different export is not "the same kind": refused
    assert main(["ltv", "--data", str(data), "--accounts-out", str(out)]) == 2


def test_output_is_written_atomically_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    frame = pl.DataFrame({"a": [1, 2]})
    target = tmp_path / "t.csv"
    target.write_bytes(b"\xef\xbb\xbfa\n9\n")  # an earlier export of the same kind

    def fail(self, *a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", lambda *a: fail(None))
    with pytest.raises(OSError):
        write_output_frame(frame, target, "--x", (".csv",))
    assert target.read_bytes() == b"\xef\xbb\xbfa\n9\n"  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no stray temporary file


def test_check_output_path_refuses_a_folder(tmp_path):
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(OutputError):
        check_output_path(tmp_path / "d.csv", "--x", (".csv",))


def test_backfill_with_a_reversed_range_is_refused_and_publishes_nothing(data, tmp_path, capsys):
    out = tmp_path / "reports"
    base = ["report", "backfill", "--data", str(data), "--out", str(out), "--lang", "en"]
    assert main([*base, "--from", "2025-06", "--to", "2025-01"]) == 2
    assert "reversed" in capsys.readouterr().err and not out.exists()
    assert main([*base, "--from", "2025-06"]) == 2
    assert "--to" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("name", ["touchpoints.csv", "Cs_Costs.csv"])
def test_an_output_that_would_become_a_table_of_the_data_is_refused(tmp_path, name):
    data = write_cli_dataset(tmp_path / "d")
    (data / "touchpoints.csv").unlink(missing_ok=True)
    before = sorted(p.name for p in data.iterdir())
    assert main(["health", "--data", str(data), "--salesforce-out", str(data / name)]) == 2
    assert sorted(p.name for p in data.iterdir()) == before
    with pytest.raises(OutputError) as e:
        check_output_path(data / name, "--x", (".csv",), data)
    assert e.value.code == "output_in_data"
    check_output_path(data / "health_export.csv", "--x", (".csv",), data)  # any other name: fine


def test_a_file_that_cannot_be_read_or_written_is_not_called_unwritable(tmp_path, capsys):
    from cs_metrics.cli.common import run_guarded

    def fails(args):
        raise PermissionError(13, "Permission denied", "/some/input.csv")

    import argparse

    assert run_guarded(fails, argparse.Namespace(lang="en")) == 2
    err = capsys.readouterr().err
    assert "cannot read or write /some/input.csv: Permission denied" in err
