"""The bundled sample: byte-for-byte reproducible, valid, and shaped like the team."""

from __future__ import annotations

import hashlib
import json

import polars as pl
import pytest
from conftest import SAMPLE

from cs_metrics.data.load import load_dataset
from cs_metrics.data.sample import MANIFEST, generate_sample
from cs_metrics.errors import OutputError
from cs_metrics.metrics import churn, retention


def test_regeneration_reproduces_the_committed_sample_byte_for_byte(tmp_path):
    written = generate_sample(tmp_path / "s")
    assert written, "nothing written"
    for path in written.values():
        committed = SAMPLE / path.name
        assert committed.read_bytes() == path.read_bytes(), f"{path.name} differs from data/sample"


def test_other_seeds_differ(tmp_path):
    a = generate_sample(tmp_path / "a", seed=1)
    b = generate_sample(tmp_path / "b", seed=2)
    assert a["subscriptions"].read_bytes() != b["subscriptions"].read_bytes()


def _tree(folder):
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def test_refuses_a_folder_with_files_it_did_not_write_and_touches_nothing(tmp_path, capsys):
    from cs_metrics.cli.main import main

    export = tmp_path / "export"  # a real export: the sample's table names and other files
    export.mkdir()
    (export / "accounts.csv").write_text("account_id,account_name\nREAL,本物\n", "utf-8")
    (export / "subscriptions.csv").write_text("real data\n", "utf-8")
    (export / "notes.txt").write_text("mine", "utf-8")
    (export / "archive").mkdir()
    (export / "archive" / "2025.csv").write_text("old", "utf-8")
    before = _tree(export)
    with pytest.raises(OutputError) as e:
        generate_sample(export)
    assert e.value.code == "output_not_empty"
    assert main(["sample", "--out", str(export)]) == 2
    assert "output_not_empty" not in capsys.readouterr().err  # a message, not a code
    assert _tree(export) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no temp folder left


def test_force_writes_beside_other_files_and_keeps_same_named_ones_as_orig(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "accounts.csv").write_text("account_id,account_name\nREAL,本物\n", "utf-8")
    (export / "notes.txt").write_text("mine", "utf-8")
    (export / "archive").mkdir()
    written = generate_sample(export, accounts=5, months=6, force=True)
    assert (export / "notes.txt").read_text("utf-8") == "mine"
    assert (export / "archive").is_dir()
    assert (
        (export / "accounts.csv.orig")
        .read_text("utf-8")
        .startswith("account_id,account_name\nREAL")
    )
    assert written["accounts"].read_text("utf-8") != (export / "accounts.csv.orig").read_text(
        "utf-8"
    )
    # a second forced run replaces only its own files: no second backup, the user's files stay
    generate_sample(export, accounts=7, months=6, force=True)
    names = sorted(p.name for p in export.iterdir())
    assert "accounts.csv.orig2" not in names and {"notes.txt", "archive"} <= set(names)


def test_rerun_on_its_own_unchanged_output_needs_no_force_and_is_byte_identical(tmp_path):
    out = tmp_path / "s"
    first = {k: p.read_bytes() for k, p in generate_sample(out, accounts=5, months=6).items()}
    again = {k: p.read_bytes() for k, p in generate_sample(out, accounts=5, months=6).items()}
    assert first == again


def test_a_changed_own_file_is_no_longer_its_own(tmp_path):
    out = tmp_path / "s"
    generate_sample(out, accounts=5, months=6)
    (out / "accounts.csv").write_text("edited by hand\n", "utf-8")
    with pytest.raises(OutputError):
        generate_sample(out, accounts=5, months=6)
    assert (out / "accounts.csv").read_text("utf-8") == "edited by hand\n"


def test_force_deletes_only_files_of_its_own_earlier_run(tmp_path):
    out = tmp_path / "s"
    generate_sample(out, accounts=5, months=6)
    (out / "mine.txt").write_text("x", "utf-8")
    manifest = json.loads((out / MANIFEST).read_text("utf-8"))
    (out / "old_table.csv").write_text("from an earlier version", "utf-8")
    manifest["files"]["old_table.csv"] = hashlib.sha256(b"from an earlier version").hexdigest()
    (out / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    generate_sample(out, accounts=5, months=6, force=True)
    assert not (out / "old_table.csv").exists()  # its own, not written again: removed
    assert (out / "mine.txt").exists()


def test_stale_temp_folders_of_a_killed_run_are_removed(tmp_path):
    import subprocess
    import sys

    from cs_metrics.fsutil import OWNER, make_owned_temp

    stale = make_owned_temp(tmp_path, ".s.cs-metrics-sample-tmp-")
    (stale / "accounts.csv").write_text("half", "utf-8")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (stale / OWNER).write_text(f"{dead.pid}\n", "utf-8")  # its run was killed
    generate_sample(tmp_path / "s", accounts=5, months=6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


def test_folders_named_like_its_temp_or_backup_folders_are_never_removed(tmp_path):
    """Only folders the program made (owner mark of a dead run) are removed as stale."""
    mine = [tmp_path / ".s.cs-metrics-sample-tmp-abc123", tmp_path / ".s.old"]
    mine += [tmp_path / ".s.x.cs-metrics-tmp", tmp_path / ".s.x.cs-metrics-old"]
    for folder in mine:
        folder.mkdir()
        (folder / "keep.txt").write_text("mine", "utf-8")
    generate_sample(tmp_path / "s", accounts=5, months=6)
    generate_sample(tmp_path / "s", accounts=5, months=6)  # replaces its own earlier sample
    assert all((f / "keep.txt").is_file() for f in mine)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["s", *(f.name for f in mine)])
    assert (tmp_path / "s" / "accounts.csv").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["--accounts", "0"],
        ["--months", "2"],
        ["--seed", "-1"],
        ["--end", "26-09"],
        ["--accounts", "10000000000"],
    ],
)
def test_sample_arguments_out_of_range_are_refused_before_writing(tmp_path, capsys, args):
    from cs_metrics.cli.main import main

    assert main(["sample", "--out", str(tmp_path / "s"), *args]) == 2
    assert not (tmp_path / "s").exists()
    assert "Traceback" not in capsys.readouterr().err


def test_out_naming_a_file_is_refused(tmp_path):
    f = tmp_path / "file.csv"
    f.write_text("x", "utf-8")
    with pytest.raises(OutputError):
        generate_sample(f)
    assert f.read_text("utf-8") == "x"


def test_sample_shape_matches_the_team():
    ds = load_dataset(SAMPLE)
    acc = ds.accounts.collect()
    assert 140 <= acc.height <= 160
    assert acc["csm"].n_unique() == 5
    assert {"金融", "医療"} <= set(acc["industry"].to_list())
    for t in (
        "cancellations",
        "usage_weekly",
        "touchpoints",
        "nps_responses",
        "onboarding_sessions",
        "cs_costs",
    ):
        assert ds.has(t), t
    cw = churn.churn_within(ds, "2026-09", 24)[0]
    assert 0.17 <= cw["rate"] <= 0.25, cw  # ~21%
    reasons = churn.churn_reasons(ds, "2026-09", start="2023-01")
    share = reasons.filter(pl.col("reason_category") == "施策終了・中止")["share_events"][0]
    assert 0.6 <= share <= 0.85, share  # ~74%
    b = retention.monthly_rates(ds, "2026-09")
    assert b.height >= 36
    for m in ("new", "reactivation", "upsell", "cross_sell", "contraction", "churn"):
        assert (b[m] > 0).sum() > 0, m
    subs = ds.subscriptions.collect()
    assert set(subs["billing_interval_months"].unique().to_list()) == {1, 12}
    assert subs["product"].n_unique() >= 4
    known = set(acc["account_id"])
    for t in ("subscriptions", "cancellations", "usage_weekly", "nps_responses"):
        assert set(ds[t].collect()["account_id"]) <= known


def test_the_latest_month_shows_every_movement_with_reasons_for_churn():
    ds = load_dataset(SAMPLE)
    last = retention.monthly_rates(ds, "2026-09").tail(1).row(0, named=True)
    assert str(last["month"])[:7] == "2026-09"
    for m in ("new", "reactivation", "upsell", "cross_sell", "contraction", "churn"):
        assert last[m] > 0, m
    ev = churn.churn_events(ds, "2026-09").filter(pl.col("churn_month") == pl.date(2026, 9, 1))
    assert ev.height >= 1 and ev["reason_category"].is_not_null().all()
    assert "unknown" not in ev["reason_category"].to_list()


@pytest.mark.parametrize("args", [["--end", "1900-06"], ["--end", "1990-06", "--months", "40"]])
def test_a_sample_that_would_not_pass_the_gate_is_refused(tmp_path, args):
    from cs_metrics.cli.main import main

    assert main(["sample", "--out", str(tmp_path / "s"), *args]) == 2
    assert not (tmp_path / "s").exists()
