"""Validation results are cached across processes by the inputs' checksums, never hiding errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cs_metrics.data.gate as gate
from cs_metrics.config import load_config
from cs_metrics.data import cache
from cs_metrics.data.validate import validate_dataset

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "tiny"
BAD = ROOT / "tests" / "fixtures" / "bad"


@pytest.fixture
def calls(monkeypatch):
    """Counts the runs of the polars gate."""
    seen = []
    real = gate.evaluate_gate

    def counting(*a, **k):
        seen.append(1)
        return real(*a, **k)

    monkeypatch.setattr(gate, "evaluate_gate", counting)
    return seen


def config(section: str, key: str, value):
    return load_config({section: {key: value}})


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(TINY, folder)
    return folder


def test_a_clean_dataset_is_validated_once(data, calls):
    first = validate_dataset(data)
    second = validate_dataset(data)
    assert first.ok and second.ok and len(calls) == 1
    assert first.to_dict() == second.to_dict()
    # the replayed report still carries a dataset the metrics can use
    assert second.dataset is not None and second.dataset["subscriptions"].collect().height > 0


def test_warnings_are_replayed_exactly(data, calls):
    (data / "cs_costs.csv").write_text("month,amount\n2024-05-15,1000000\n", "utf-8")
    first = validate_dataset(data, config=config("general", "lang", "en"))
    second = validate_dataset(data, config=config("general", "lang", "en"))
    assert len(calls) == 1 and first.warnings and first.to_dict() == second.to_dict()


@pytest.mark.parametrize(
    "change",
    ["file", "config", "mapping", "suite", "engine"],
)
def test_any_change_is_validated_again(data, calls, tmp_path, change):
    validate_dataset(data)
    kwargs = {}
    if change == "file":
        subs = data / "subscriptions.csv"
        subs.write_text(subs.read_text("utf-8").replace("50000", "50001"), "utf-8")
    elif change == "config":
        kwargs["config"] = config("onboarding", "sessions", 13)
    elif change == "mapping":
        kwargs["mapping"] = {"accounts": {"columns": {"industry": "industry"}}}
    elif change == "suite":
        suites = tmp_path / "suites"
        shutil.copytree(ROOT / "expectations", suites)
        d = json.loads((suites / "accounts.json").read_text("utf-8"))
        d["expectations"] = d["expectations"][:-1]
        (suites / "accounts.json").write_text(json.dumps(d), "utf-8")
        kwargs["expectations"] = suites
    elif change == "engine":
        kwargs["engine"] = "gx"
    validate_dataset(data, **kwargs)
    assert len(calls) == (1 if change == "engine" else 2)  # gx: another engine, no reuse
    assert len(list(cache.cache_dir().glob("*.json"))) == 2


def test_errors_are_never_cached(calls):
    for _ in range(2):
        assert not validate_dataset(BAD / "negative_mrr").ok
    assert len(calls) == 2
    assert list(cache.cache_dir().glob("*.json")) == []


def test_an_entry_claiming_an_error_is_ignored(data, calls):
    validate_dataset(data)
    [entry] = cache.cache_dir().glob("*.json")
    d = json.loads(entry.read_text("utf-8"))
    d["issues"].append(
        {
            "table": "accounts",
            "file": "accounts.csv",
            "rule": "x",
            "message": "m",
            "severity": "error",
            "n_rows": 1,
            "examples": [],
        }
    )
    entry.write_text(json.dumps(d), "utf-8")
    assert validate_dataset(data).ok and len(calls) == 2


def test_no_cache_validates_again(data, calls):
    validate_dataset(data)
    validate_dataset(data, cache=False)
    assert len(calls) == 2


def test_an_unwritable_cache_is_not_used(data, calls, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CS_METRICS_CACHE_DIR", str(blocker / "cache"))
    assert validate_dataset(data).ok and validate_dataset(data).ok
    assert len(calls) == 2


def test_writes_are_atomic_and_pruned(data, monkeypatch):
    monkeypatch.setattr(cache, "MAX_ENTRIES", 2)
    for n in (11, 12, 13):
        validate_dataset(data, config=config("onboarding", "sessions", n))
    names = sorted(p.name for p in cache.cache_dir().iterdir())
    assert len(names) == 2 and not any(n.startswith(".tmp-") for n in names)


def test_default_folder_is_the_user_cache_not_the_data(monkeypatch, tmp_path):
    monkeypatch.delenv("CS_METRICS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "cs-metrics"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == Path.home() / ".cache" / "cs-metrics"


def test_a_second_process_reuses_the_result(data):
    exe = Path(sys.executable).with_name("cs-metrics")
    runs = [
        subprocess.run(
            [str(exe), "validate", str(data), "--format", "json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0]
    assert json.loads(runs[0].stdout) == json.loads(runs[1].stdout)
    assert len(list(cache.cache_dir().glob("*.json"))) == 1
