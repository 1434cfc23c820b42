"""The one ja/en catalogue: every code in both languages with the same fields; errors render."""

from __future__ import annotations

import string

import pytest

from cs_metrics import errors
from cs_metrics.messages import MESSAGES, message, reason_fields


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_has_both_languages_with_the_same_fields(code):
    t = MESSAGES[code]
    assert set(t) == {"ja", "en"}, code
    ja, en = _fields(t["ja"]), _fields(t["en"])
    if code == "unparseable":  # each language names its own description of the kind
        ja, en = ja - {"what_ja"}, en - {"what_en"}
    assert ja == en, f"{code}: ja {sorted(ja)} vs en {sorted(en)}"


def test_reason_fields_give_text_and_code():
    r = reason_fields("nrr", "mrr_prev_month_zero", "ja")
    assert r == {"nrr_reason": "前月のMRRが0です", "nrr_reason_code": "mrr_prev_month_zero"}
    assert reason_fields("", "no_accounts_at_all", "en")["reason"] == message(
        "no_accounts_at_all", "en"
    )


def test_errors_carry_a_code_and_render_in_both_languages():
    e = errors.PeriodError("month_out_of_range", month="2030-01", first="2024-01", last="2026-09")
    assert e.code == "month_out_of_range" and e.exit_code == 2
    assert "2030-01" in e.message("ja") and "outside" in str(e)
    assert errors.ReportFailed("report_failed", section="x", log="y").exit_code == 1
    assert isinstance(errors.DataError([]), errors.CsMetricsError)
    with pytest.raises(KeyError):
        errors.UsageError("no_such_code")


def test_every_error_class_derives_from_the_root():
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type):
            assert issubclass(obj, errors.CsMetricsError), name


def test_redact_removes_the_webhook_url_in_every_form(monkeypatch):
    url = "https://hooks.slack.com/services/T000/B000/XXXXsecret"
    monkeypatch.setenv("CS_METRICS_SLACK_WEBHOOK_URL", url)
    for text in (url, f"'{url}'", "path /services/T000/B000/XXXXsecret failed", url.upper()):
        assert "XXXXsecret".lower() not in errors.redact(text).lower(), text
