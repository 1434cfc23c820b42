"""Usage errors (argparse) in the language asked for, with a catalogue code, never a secret."""

from __future__ import annotations

import re

import pytest
from conftest import SAMPLE

from cs_metrics.cli.main import main
from cs_metrics.cli.usage import lang_from_argv, shown_value
from cs_metrics.labels import purity_problems

TOKEN = "xoxb-1234567890-abcdefghijKLMNOP"
HOOK = "https://hooks.slack.com/services/T0AAA/B0BBB/zQ7otherSecretToken9"
OTHER_URL = "https://example.com/hook?token=s3cretValue42"

CHOICES = ["table", "json", "polars", "spark", "ja", "en", "validate", "sample", "kpis", "load"]
CHOICES += ["ltv", "scenario", "health", "risk", "nps", "onboarding", "backtest", "notify"]
CHOICES += ["report"]

CASES = [
    ["kpis", "--data", str(SAMPLE), "--formt", "json"],  # unknown option
    ["kpis", "--data", str(SAMPLE), "--format", "xml"],  # invalid choice
    ["kpis", "--data", str(SAMPLE), "--engine", OTHER_URL],  # invalid choice, a URL
    ["kpis", "--data", str(SAMPLE), TOKEN],  # extra argument: a token
    ["kpis", "--data", str(SAMPLE), "--lang", "fr"],  # invalid choice of --lang itself
    ["kpis"],  # required option missing
    ["kpis", "--data"],  # option without its value
    ["nps", "--data", str(SAMPLE), "--window-months", "twelve"],  # int type
    ["backtest", "--data", str(SAMPLE), "--horizon", HOOK],  # int type, a webhook
    ["scenario", "--data", str(SAMPLE), "--graduation-target", "abc"],  # own type
    ["scenario", "--data", str(SAMPLE), "--save-reason-pct", "-1"],
    ["notify", "--d", str(SAMPLE)],  # ambiguous: --data / --dry-run
    ["kpi", "--data", str(SAMPLE)],  # unknown command
    ["notify", "--data", str(SAMPLE), "--dry-run=yes"],  # a flag given a value
]


def _run(argv, capsys):
    capsys.readouterr()
    try:
        rc = main(argv)
    except SystemExit as e:  # noqa: PT017 - the CLI must not exit through argparse
        raise AssertionError(f"argparse exited ({e.code}) instead of a usage error") from None
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("argv", CASES, ids=lambda a: " ".join(a[:1] + a[-2:])[-40:])
def test_usage_errors_speak_the_language_and_keep_secrets(argv, lang, capsys, monkeypatch):
    monkeypatch.setenv("CS_METRICS_SLACK_WEBHOOK_URL", HOOK)
    # --lang last on the line, after the bad option (for the --lang fr case: first)
    full = ["--lang", lang, *argv] if argv[0] == "kpi" else [*argv, "--lang", lang]
    if "fr" in argv:
        full = argv
    rc, out, err = _run(full, capsys)
    assert rc == 2
    for secret in ("zQ7otherSecretToken9", "s3cretValue42", "abcdefghijKLMNOP"):
        assert secret not in out + err
    last = [line for line in err.splitlines() if line.strip()][-1]
    expect = "ja" if "fr" in argv else lang
    assert last.startswith("エラー: " if expect == "ja" else "error: "), err
    assert "Traceback" not in err and "invalid" not in last.lower() or expect == "en"
    # what was typed and the choices offered are names, not words (shown as they are)
    words = set(re.findall(r"\w+", " ".join([*full, "<redacted>", *CHOICES])))
    assert [w for w in purity_problems(last, expect) if w not in words] == [], last


def test_lang_is_found_anywhere_on_the_line(tmp_path):
    assert lang_from_argv(["kpis", "--x", "--lang", "en"]) == "en"
    assert lang_from_argv(["kpis", "--lang=en"]) == "en"
    assert lang_from_argv(["kpis", "--data", "d"]) is None
    cfg = tmp_path / "c.toml"
    cfg.write_text('[general]\nlang = "en"\n', "utf-8")
    assert lang_from_argv(["kpis", "--config", str(cfg)]) == "en"
    assert lang_from_argv(["kpis", "--config", str(cfg), "--lang", "ja"]) == "ja"


def test_config_language_applies_to_usage_errors(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[general]\nlang = "en"\n', "utf-8")
    rc, _, err = _run(["nps", "--config", str(cfg), "--data", str(SAMPLE), "--by", "-"], capsys)
    assert rc == 2 and err.splitlines()[-1].startswith("error: "), err


def test_shown_value_hides_urls_and_tokens():
    assert shown_value(OTHER_URL) == "<redacted>"
    assert shown_value(f"a {TOKEN} b") == "a <redacted> b"
    assert shown_value("--as-of") == "--as-of" and shown_value("2026-09") == "2026-09"
