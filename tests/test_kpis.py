"""The headline KPI dict (`cs-metrics kpis`): null rates with reasons, the JSON contract, exit codes."""

from __future__ import annotations

import json

import pytest
from conftest import ds_from_lines, make_dataset_dir, sub
from conftest import line as L

from cs_metrics.config import load_config
from cs_metrics.metrics import kpis

CFG = load_config()


def test_no_active_accounts_at_start_gives_null_rates():
    k = kpis.kpis(ds_from_lines([L("A", "core", "2025-03-01", None, 100)]), "2025-03", CFG)
    assert k["logo_churn_rate"] is None and k["grr"] is None and k["nrr"] is None
    assert k["accounts_new"] == 1 and k["mrr_new"] == 100
    assert "logo_churn_rate_reason" in k
    json.dumps(k, allow_nan=False)


def test_kpis_cli_json_has_contract_keys(tmp_path, capsys):
    from cs_metrics.cli.main import main

    folder = make_dataset_dir(
        tmp_path / "d",
        subscriptions=[
            sub("s1", "A", "core", "2024/1/15", "", "¥1,200"),
            sub("s2", "B", "core", "2024-01-01", "2024-06-30", "800"),
        ],
    )
    assert main(["kpis", "--data", str(folder), "--as-of", "2025-01", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in kpis.KPI_KEYS:
        assert key in out
    assert set(out["churn_within_24m"]) >= {
        "eligible",
        "churned",
        "rate",
        "km_rate",
        "km_ci_low",
        "km_ci_high",
    }
    assert out["mrr_end"] == 1200 and out["nrr_trailing_12m"] == pytest.approx(1200 / 2000)
    assert main(["kpis", "--data", str(folder), "--as-of", "2025-01"]) == 0
    assert "期末MRR" in capsys.readouterr().out


def test_kpis_cli_on_invalid_data_exits_2_without_traceback(tmp_path, capsys):
    from cs_metrics.cli.main import main

    folder = make_dataset_dir(
        tmp_path / "d", subscriptions=[sub("s1", "A", "core", "2024-13-45", "", "100")]
    )
    assert main(["kpis", "--data", str(folder), "--as-of", "2025-01"]) == 2
    err = capsys.readouterr().err
    assert "subscriptions.csv" in err and "start_date" in err and "Traceback" not in err
    assert main(["kpis", "--data", str(tmp_path / "nope"), "--as-of", "2025-01"]) == 2


def test_every_reason_comes_with_its_catalogue_code_in_the_dataset_language():
    from cs_metrics.messages import MESSAGES

    ds = ds_from_lines([L("A", "core", "2025-03-01", None, 100)])
    for lang in ("ja", "en"):
        k = kpis.kpis(ds.with_config({"general": {"lang": lang}}), "2025-03")
        blocks = [k, k["churn_within_24m"]]
        reasons = [(b, key) for b in blocks for key in b if key.endswith("_reason")]
        assert {key for _, key in reasons} >= {"logo_churn_rate_reason", "rate_reason"}
        for b, key in reasons:
            code = b[f"{key}_code"]
            assert b[key] == MESSAGES[code][lang].format(h=24), (key, code)
    assert k["grr_reason"] == "MRR of the previous month is 0"


def test_kpi_table_shows_the_catalogue_text_of_each_reason(capsys):
    from cs_metrics.cli.kpis_cmd import kpi_table

    ds = ds_from_lines([L("A", "core", "2025-03-01", None, 100)])
    text = kpi_table(kpis.kpis(ds, "2025-03"), ds.config)
    assert "前月末に有効な顧客がいません" in text and "24か月以上前に獲得した顧客がいません" in text
    en = ds.with_config({"general": {"lang": "en"}})
    text = kpi_table(kpis.kpis(en, "2025-03"), en.config)
    assert "no account acquired 24+ months before the month reported" in text
