"""The polars gate agrees with Great Expectations, expectation by expectation and issue by issue.

The GX suites in ``expectations/`` are the declared contract; ``cs_metrics.data.gate`` interprets
them in polars. Every dataset folder under ``tests/fixtures`` (and ``tests/adversarial`` when it
exists) is validated by both engines: every expectation's success, unexpected count and example
rows must be equal, and so must the whole report (file, column, rule, rows, examples, message).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from cs_metrics.data.dataset import Dataset
from cs_metrics.data.gate import expectation_mask, polars_suite_results
from cs_metrics.data.gx import build_suite_dict, gx_suite_results, suite_json
from cs_metrics.data.load import load_dataset
from cs_metrics.data.schema import TABLES
from cs_metrics.data.validate import validate_dataset
from cs_metrics.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
CORPORA = [ROOT / "tests" / "fixtures", ROOT / "tests" / "adversarial"]


def _folders() -> list[Path]:
    """Every folder that holds a dataset (a CSV or Parquet file) under the corpora."""
    out = set()
    for corpus in CORPORA:
        if corpus.is_dir():
            for f in corpus.rglob("*"):
                if f.is_file() and f.suffix.lower() in (".csv", ".parquet"):
                    out.add(f.parent)
    return sorted(out)


FOLDERS = _folders()


def _mapping(folder: Path) -> Path | None:
    m = folder / "mapping.toml"
    return m if m.is_file() else None


def _loaded(folder: Path):
    try:
        ds = load_dataset(folder, mapping=_mapping(folder))
    except DataError:
        return None  # a file-level problem: no suite runs (the loader's report is shared)
    names = list(ds.frames)
    frames = pl.collect_all([*ds.frames.values(), *(ds.raw[n] for n in names)])
    return Dataset(
        ds.path,
        {n: f.lazy() for n, f in zip(names, frames[: len(names)], strict=True)},
        ds.sources,
        {n: f.lazy() for n, f in zip(names, frames[len(names) :], strict=True)},
        ds.config,
        ds.warnings,
    )


def _key(r) -> tuple:
    return (r.table, r.position, r.success, r.unexpected_count, r.rows, r.exception is None)


def test_the_corpus_is_found():
    names = {f.name for f in FOLDERS}
    assert {"tiny", "negative_mrr", "duplicate_usage_week", "salesforce_export"} <= names


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT / "tests")))
def test_every_expectation_agrees_with_gx(folder):
    ds = _loaded(folder)
    if ds is None:
        pytest.skip("file-level problem: the suites do not run")
    ours = polars_suite_results(ds)
    theirs = gx_suite_results(ds)
    assert [_key(r) for r in ours] == [_key(r) for r in theirs]
    expected = sum(len(build_suite_dict(t)["expectations"]) for t in ds.frames)
    assert len(ours) == expected


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT / "tests")))
def test_the_report_is_the_same_with_both_engines(folder):
    a = validate_dataset(folder, mapping=_mapping(folder), engine="polars").to_dict()
    b = validate_dataset(folder, mapping=_mapping(folder), engine="gx").to_dict()
    assert a == b


# ---- hand-made cases beyond the fixtures ---------------------------------------------------


def _suites_dir(tmp_path: Path, extra: dict[str, list[dict]]) -> Path:
    suites = tmp_path / "suites"
    suites.mkdir()
    for name in TABLES:
        d = json.loads(suite_json(name))
        d["expectations"] += extra.get(name, [])
        (suites / f"{name}.json").write_text(json.dumps(d, ensure_ascii=False), "utf-8")
    return suites


EXTRA = {
    "accounts": [
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "industry", "value_set": ["金融", "医療"]},
            "meta": {"rule": "not_in_set"},
            "severity": "warning",
        },
        {
            "type": "expect_column_values_to_not_be_in_set",
            "kwargs": {"column": "industry", "value_set": ["小売"]},
            "meta": {"rule": "not_in_set"},
            "severity": "warning",
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "acquisition_cost", "min_value": 100000, "max_value": 900000},
            "meta": {"rule": "out_of_range"},
            "severity": "warning",
        },
    ],
    "subscriptions": [
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "mrr", "min_value": 30000, "strict_min": True, "mostly": 0.5},
            "meta": {"rule": "out_of_range"},
            "severity": "warning",
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "mrr", "max_value": 50000, "strict_max": True},
            "meta": {"rule": "out_of_range"},
            "severity": "info",
        },
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "end_date", "mostly": 0.9},
            "meta": {"rule": "end_date_missing"},
            "severity": "warning",
        },
        {
            "type": "expect_column_values_to_be_unique",
            "kwargs": {"column": "account_id"},
            "meta": {"rule": "duplicate_key"},
            "severity": "warning",
        },
    ],
    "nps_responses": [
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "score", "value_set": [0, 5, 10]},
            "meta": {"rule": "not_in_set"},
            "severity": "warning",
        },
    ],
}


def test_custom_expectations_agree_with_gx(tmp_path):
    suites = _suites_dir(tmp_path, EXTRA)
    folder = ROOT / "tests" / "fixtures" / "tiny"
    ds = _loaded(folder)
    ours = polars_suite_results(ds, suites)
    theirs = gx_suite_results(ds, suites)
    assert [_key(r) for r in ours] == [_key(r) for r in theirs]
    assert any(not r.success for r in ours)  # the extra expectations do find something
    a = validate_dataset(folder, expectations=suites, engine="polars").to_dict()
    b = validate_dataset(folder, expectations=suites, engine="gx").to_dict()
    assert a == b and a["n_warnings"] >= 3


def test_a_missing_column_is_check_failed_with_both_engines(tmp_path):
    extra = {
        "accounts": [
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "no_such_column"},
                "meta": {"rule": "required_value"},
                "severity": "critical",
            }
        ]
    }
    suites = _suites_dir(tmp_path, extra)
    folder = ROOT / "tests" / "fixtures" / "tiny"
    ours = validate_dataset(folder, expectations=suites, engine="polars")
    theirs = validate_dataset(folder, expectations=suites, engine="gx")
    assert [(i.rule, i.column) for i in ours.errors] == [("check_failed", "no_such_column")]
    assert [(i.rule, i.column) for i in theirs.errors] == [("check_failed", "no_such_column")]
    assert ours.to_dict() == theirs.to_dict()


def test_an_expectation_not_interpreted_runs_in_gx(tmp_path):
    extra = {
        "accounts": [
            {
                "type": "expect_column_value_lengths_to_be_between",
                "kwargs": {"column": "account_id", "min_value": 5},
                "meta": {"rule": "id_too_short"},
                "severity": "warning",
            }
        ]
    }
    suites = _suites_dir(tmp_path, extra)
    folder = tmp_path / "data"
    shutil.copytree(ROOT / "tests" / "fixtures" / "tiny", folder)
    a = validate_dataset(folder, expectations=suites, engine="polars").to_dict()
    b = validate_dataset(folder, expectations=suites, engine="gx").to_dict()
    assert a == b
    assert [w["rule"] for w in a["warnings"]] == ["id_too_short"]


def test_expectation_masks_known_values():
    df = pl.DataFrame({"x": [1.0, None, 5.0, 5.0, 11.0], "s": ["a", "b", None, "z", "a"]})
    cases = [
        ("expect_column_values_to_be_between", {"column": "x", "min_value": 0, "max_value": 10}),
        ("expect_column_values_to_be_unique", {"column": "x"}),
        ("expect_column_values_to_not_be_null", {"column": "s"}),
        ("expect_column_values_to_be_in_set", {"column": "s", "value_set": ["a", "b"]}),
        ("expect_column_values_to_not_be_in_set", {"column": "s", "value_set": ["a"]}),
    ]
    want = [
        [False, False, False, False, True],
        [False, False, True, True, False],
        [False, False, True, False, False],
        [False, False, False, True, False],
        [True, False, False, False, True],
    ]
    for (type_, kwargs), expected in zip(cases, want, strict=True):
        mask, _ = expectation_mask({"type": type_, "kwargs": kwargs}, df.schema)
        assert df.select(mask.fill_null(False)).to_series().to_list() == expected, type_


def test_data_docs_on_demand(tmp_path, capsys):
    from cs_metrics.cli.main import main

    rc = main(
        [
            "validate",
            str(ROOT / "tests" / "fixtures" / "bad" / "negative_mrr"),
            "--data-docs",
            str(tmp_path / "docs"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "Data Docs:" in err
    assert (tmp_path / "docs" / "index.html").is_file()
    pages = [p.name for p in (tmp_path / "docs" / "validations").rglob("*.html")]
    assert len(pages) == 8  # one validation page per table


def test_data_docs_show_only_this_run(tmp_path, capsys):
    """The GX context lives as long as the process: a second build lists only its own results."""
    from cs_metrics.cli.main import main

    bad = str(ROOT / "tests" / "fixtures" / "bad" / "negative_mrr")
    for name in ("one", "two"):
        assert main(["validate", bad, "--data-docs", str(tmp_path / name)]) == 2
        pages = list((tmp_path / name / "validations").rglob("*.html"))
        assert len(pages) == 8, name
    capsys.readouterr()
