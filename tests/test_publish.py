"""Publishing without loss: a report month, its index and the Data Docs folder replace only what
cs-metrics wrote and nobody changed since (docs/reliability.md §2, §4). Fast: the folders are
built by hand, no notebook runs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import make_dataset_dir, sub

from cs_metrics.cli.main import main
from cs_metrics.errors import OutputError
from cs_metrics.fsutil import OWNER, atomic_write_bytes, make_owned_temp, replace_dir
from cs_metrics.periods import Month
from cs_metrics.reporting import publish as pub
from cs_metrics.reporting import run as report_run

MONTH = Month.parse("2025-06")
DEAD_PID = "999999999"


def _render(out: Path, kind: str = "monthly", pdf: bool = False, tag: str = "1") -> Path:
    """What a render of ``kind`` publishes (the files only), through the real publish step."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = make_owned_temp(out, f".{MONTH}-{kind}-")
    for name in pub.expected_files(kind, pdf):
        (tmp / name).write_text(f"{name} of run {tag}", "utf-8")
    if (tmp / report_run.json_name(kind)).exists():
        (tmp / report_run.json_name(kind)).write_text(json.dumps({"mrr_end": 1, "run": tag}))
    try:
        pub.publish_month(tmp, out / str(MONTH), kind)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # as render_report does
    return out / str(MONTH)


def _tree(folder: Path) -> dict[str, bytes | str]:
    found = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        found[rel] = (
            f"-> {os.readlink(p)}" if p.is_symlink() else (p.read_bytes() if p.is_file() else "dir")
        )
    return found


def test_a_rerender_replaces_only_its_own_unchanged_files(tmp_path):
    month = _render(tmp_path / "r", pdf=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "big.bin").write_bytes(b"x" * 10)
    mine = {
        "monthly.pptx": b"deck",  # named after the report
        "monthly.orig.html": b"an old copy I keep",
        ".git": None,  # a hidden folder of mine
        "notes": None,
    }
    (month / "monthly.pptx").write_bytes(b"deck")
    (month / "monthly.orig.html").write_bytes(b"an old copy I keep")
    (month / ".git").mkdir()
    (month / ".git" / "HEAD").write_text("ref", "utf-8")
    (month / "notes").symlink_to(elsewhere)  # a link to a folder: carried as a link, not copied
    (month / "monthly.pdf").write_bytes(b"annotated in Acrobat")  # own file, changed since
    fifo = month / "pipe"
    os.mkfifo(fifo)  # never read (a copy would block)
    _render(tmp_path / "r", pdf=False, tag="2")
    assert (month / "monthly.html").read_text("utf-8") == "monthly.html of run 2"
    for name in mine:
        assert os.path.lexists(month / name), name
    assert (month / "notes").is_symlink() and os.readlink(month / "notes") == str(elsewhere)
    assert (month / ".git" / "HEAD").read_text("utf-8") == "ref"
    assert (month / "monthly.pdf").read_bytes() == b"annotated in Acrobat"  # kept, not removed
    assert (month / "pipe").exists() and not (month / "pipe").is_file()
    assert (elsewhere / "big.bin").read_bytes() == b"x" * 10
    recorded = pub.read_manifest(month)["monthly"]
    assert "monthly.pdf" not in recorded and "monthly.pptx" not in recorded
    assert not [p for p in (tmp_path / "r").iterdir() if p.name.startswith(".")]


def test_an_unchanged_own_file_the_rerender_does_not_write_again_goes(tmp_path):
    month = _render(tmp_path / "r", pdf=True)
    _render(tmp_path / "r", pdf=False, tag="2")
    assert not (month / "monthly.pdf").exists()


def test_an_edited_report_file_is_refused_or_kept_as_orig_with_force(tmp_path):
    out = tmp_path / "r"
    month = _render(out)
    (month / "risk_list.csv").write_text("edited in Excel", "utf-8")
    before = _tree(out)
    with pytest.raises(OutputError) as e:
        report_run.check_out_dir(out, MONTH, "monthly")
    assert e.value.code == "report_file_changed" and "risk_list.csv" in str(e.value)
    with pytest.raises(OutputError):  # at publish time too (edited while the notebook ran)
        _render(out, tag="2")
    assert _tree(out) == before  # nothing published, no temporary folder left
    report_run.check_out_dir(out, MONTH, "monthly", force=True)
    tmp = make_owned_temp(out, f".{MONTH}-monthly-")
    for name in pub.expected_files("monthly"):
        (tmp / name).write_text(f"{name} of run 3", "utf-8")
    pub.publish_month(tmp, month, "monthly", force=True)
    assert (month / "risk_list.orig.csv").read_text("utf-8") == "edited in Excel"
    assert (month / "risk_list.csv").read_text("utf-8") == "risk_list.csv of run 3"
    _render(out, tag="4")  # the .orig file is yours: kept, no longer in the way
    assert (month / "risk_list.orig.csv").read_text("utf-8") == "edited in Excel"


def test_other_reports_of_the_month_keep_their_files_and_records(tmp_path):
    out = tmp_path / "r"
    month = _render(out, "review")
    _render(out, "monthly")
    _render(out, "monthly", tag="2")
    assert (month / "review.html").read_text("utf-8") == "review.html of run 1"
    manifest = pub.read_manifest(month)
    assert set(manifest) == {"monthly", "review"} and "review.json" in manifest["review"]
    assert pub.recorded_kinds(month) == ["monthly", "review"]


def test_a_folder_from_before_manifests_is_not_assumed_to_be_ours(tmp_path):
    out = tmp_path / "r"
    month = out / str(MONTH)
    month.mkdir(parents=True)
    (month / "metrics.json").write_text('{"reports": ["monthly"]}', "utf-8")
    (month / "monthly.html").write_text("made by hand? by an old version?", "utf-8")
    with pytest.raises(OutputError) as e:
        report_run.check_out_dir(out, MONTH, "monthly")
    assert e.value.code == "report_file_changed"
    report_run.check_out_dir(out, MONTH, "review")  # review writes none of those names


@pytest.mark.parametrize("what", ["file", "link_to_folder", "dangling_link"])
def test_a_month_that_is_not_a_real_folder_is_refused_and_untouched(tmp_path, what):
    out = tmp_path / "r"
    out.mkdir()
    target = out / str(MONTH)
    real = tmp_path / "real"
    real.mkdir()
    (real / "keep.txt").write_text("mine", "utf-8")
    if what == "file":
        target.write_text("mine", "utf-8")
    elif what == "link_to_folder":
        target.symlink_to(real)
    else:
        target.symlink_to(tmp_path / "gone")
    tmp = make_owned_temp(out, f".{MONTH}-monthly-")
    (tmp / "monthly.html").write_text("new", "utf-8")
    before = _tree(tmp_path)
    with pytest.raises(OutputError) as e:
        report_run.check_out_dir(out, MONTH, "monthly", force=True)
    assert e.value.code == "report_target_not_folder"
    with pytest.raises(OutputError):
        pub.publish_month(tmp, target, "monthly", force=True)
    assert _tree(tmp_path) == before


def test_out_and_index_that_are_not_ours_are_refused(tmp_path):
    a_file = tmp_path / "reports"
    a_file.write_text("mine", "utf-8")
    with pytest.raises(OutputError) as e:
        report_run.check_out_dir(a_file, MONTH, "monthly")
    assert e.value.code == "output_unwritable"
    for make in (lambda p: p.mkdir(), lambda p: p.symlink_to(tmp_path / "reports")):
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        out.mkdir()
        make(out / "index.html")
        with pytest.raises(OutputError) as e:
            report_run.check_out_dir(out, MONTH, "monthly")
        assert e.value.code == "report_index_foreign"


def test_hidden_and_lookalike_folders_are_never_removed_nor_listed(tmp_path):
    out = tmp_path / "r"
    month = _render(out)
    mine = [out / ".2025-06.old", out / ".2025-06-board-deck-v2", out / ".2025-06-monthly-x"]
    for folder in mine:
        folder.mkdir()
        (folder / "keep.txt").write_text("mine", "utf-8")
    (out / ".2025-06-monthly-y").mkdir()
    (out / ".2025-06-monthly-y" / OWNER).symlink_to(out / "index.html")  # not a marker
    dead = make_owned_temp(out, f".{MONTH}-monthly-")
    (dead / OWNER).write_text(DEAD_PID, "utf-8")
    alive = make_owned_temp(out, f".{MONTH}-review-")  # this process: a run in progress
    assert report_run.remove_stale_temp(out) == [dead]
    _render(out, tag="2")
    assert all((f / "keep.txt").is_file() for f in mine) and alive.is_dir()
    # lookalikes: a copy of a month, a link to one, a month number that is not a month
    (out / "2025-06-backup").mkdir()
    (out / "2025-06-backup" / "metrics.json").write_text('{"mrr_end": 5}', "utf-8")
    (out / "2025-05").symlink_to(month)
    (out / "2025-13").mkdir()
    (out / "2025-13" / "metrics.json").write_text("[]", "utf-8")
    (month / "board.html").write_text("<p>mine</p>", "utf-8")
    index = report_run.write_index(out).read_text("utf-8")
    assert [f.name for f, _, _ in report_run.published_months(out)] == ["2025-06"]
    for word in ("2025-06-backup", "2025-05", "2025-13", ".2025", "board.html"):
        assert word not in index, word
    assert "2025-06/monthly.html" in index


def test_a_swap_killed_between_its_renames_is_repaired_and_nothing_else_moves(
    tmp_path, monkeypatch
):
    from cs_metrics import fsutil

    target = tmp_path / "site"
    target.mkdir()
    (target / "a.txt").write_text("old", "utf-8")
    (tmp_path / ".site.old").mkdir()  # the user's own backup: never touched
    (tmp_path / ".site.old" / "keep.txt").write_text("mine", "utf-8")
    # a run killed after moving the old folder into its holder
    holder = make_owned_temp(tmp_path, ".site-cs-metrics-old-")
    (holder / OWNER).write_text(DEAD_PID, "utf-8")
    os.replace(target, holder / "old")
    monkeypatch.setattr(fsutil, "_exchange", lambda a, b: False)  # no renameat2 here
    new = tmp_path / ".new"
    new.mkdir()
    (new / "a.txt").write_text("new", "utf-8")
    replace_dir(new, target)
    assert (target / "a.txt").read_text("utf-8") == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.old", "site"]
    assert (tmp_path / ".site.old" / "keep.txt").read_text("utf-8") == "mine"


def test_atomic_writes_and_temp_folders_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = tmp_path / "index.html"
        atomic_write_bytes(path, b"x")
        assert path.stat().st_mode & 0o777 == 0o644
        path.chmod(0o640)
        atomic_write_bytes(path, b"y")  # a file keeps the mode you gave it
        assert path.stat().st_mode & 0o777 == 0o640
        assert make_owned_temp(tmp_path, ".t-").stat().st_mode & 0o777 == 0o755
    finally:
        os.umask(old)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_month_folder_is_exit_2_and_untouched(tmp_path):
    out = tmp_path / "r"
    month = _render(out)
    before = _tree(out)
    out.chmod(0o555)
    try:
        tmp = tmp_path / "built"
        tmp.mkdir()
        (tmp / "monthly.html").write_text("new", "utf-8")
        with pytest.raises(OSError):
            pub.publish_month(tmp, month, "monthly")
    finally:
        out.chmod(0o755)
    assert _tree(out) == before


# ---- the command line ----------------------------------------------------------------------


def _dataset(tmp_path: Path) -> Path:
    return make_dataset_dir(
        tmp_path / "d", subscriptions=[sub("s1", "A", "core", "2024-01-01", "", "1000")]
    )


@pytest.mark.parametrize(
    "argv, option",
    [
        (["monthly", "--report", "review"], "--report"),
        (["explore", "--to", "2024-12"], "--to"),
        (["backfill", "--from", "2024-11", "--to", "2024-12", "--as-of", "2024-12"], "--as-of"),
    ],
)
def test_report_options_of_another_kind_name_the_option(argv, option, tmp_path, capsys):
    rc = main(["report", *argv, "--data", str(_dataset(tmp_path)), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and option in err and not (tmp_path / "o").exists()


def test_backfill_checks_every_month_before_rendering_any(tmp_path, capsys, monkeypatch):
    rendered = []

    def fake_render(*a, **k):
        rendered.append(a)
        return tmp_path / "x.html"

    monkeypatch.setattr(report_run, "render_report", fake_render)
    out = tmp_path / "o"
    later = out / "2024-12"
    later.mkdir(parents=True)
    (later / "kpi_summary.csv").write_text("mine", "utf-8")  # not a cs-metrics report
    argv = ["report", "backfill", "--data", str(_dataset(tmp_path)), "--out", str(out)]
    rc = main([*argv, "--from", "2024-11", "--to", "2024-12"])
    assert rc == 2 and not rendered and "2024-12" in capsys.readouterr().err
    assert main([*argv, "--from", "2024-11", "--to", "2024-11"]) == 0
    assert rendered and rendered[0][0] == "monthly"  # --report defaults to monthly


def test_data_docs_folder_with_anything_not_ours_is_refused(tmp_path, capsys):
    from cs_metrics import datadocs

    site = tmp_path / "site"
    site.mkdir()
    (site / "static").mkdir()
    assert datadocs.foreign_entries(site) == ["static"]
    recorded = {"index.html": "0" * 64}
    (site / datadocs.MANIFEST).write_text(
        json.dumps({"generator": "cs-metrics data-docs", "files": recorded}), "utf-8"
    )
    (site / "index.html").write_text("edited", "utf-8")
    (site / "static" / "link").symlink_to("/etc")
    assert datadocs.foreign_entries(site) == ["index.html", "static/link"]
    a_file = tmp_path / "docs.html"
    a_file.write_text("mine", "utf-8")
    data = _dataset(tmp_path)
    for target in (site, a_file):
        before = _tree(tmp_path)
        rc = main(["validate", str(data), "--data-docs", str(target)])
        assert rc == 2 and _tree(tmp_path) == before


@pytest.mark.slow
def test_data_docs_rerun_replaces_its_own_site_only(tmp_path, capsys):
    data = _dataset(tmp_path)
    site = tmp_path / "site"
    link = tmp_path / "docs"
    link.symlink_to(site)  # a link to the folder: the folder is published, the link stays
    site.mkdir()
    for _ in range(2):
        assert main(["validate", str(data), "--data-docs", str(link)]) == 0
    assert link.is_symlink() and (site / "index.html").is_file()
    (site / "notes.txt").write_text("mine", "utf-8")
    assert main(["validate", str(data), "--data-docs", str(link)]) == 2
    assert (site / "notes.txt").read_text("utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "docs", "site"]


def test_a_month_whose_swap_was_killed_keeps_your_files_on_the_next_render(tmp_path):
    out = tmp_path / "r"
    month = _render(out)
    (month / "notes.txt").write_text("mine", "utf-8")
    holder = make_owned_temp(out, f".{MONTH}-cs-metrics-old-")
    (holder / OWNER).write_text(DEAD_PID, "utf-8")
    os.replace(month, holder / "old")  # killed between the two renames: no 2025-06 at all
    assert report_run.remove_stale_temp(out) == []  # the holder is not a render's temp folder
    _render(out, tag="2")
    assert (month / "notes.txt").read_text("utf-8") == "mine"
    assert (month / "monthly.html").read_text("utf-8") == "monthly.html of run 2"
    assert not holder.exists()
