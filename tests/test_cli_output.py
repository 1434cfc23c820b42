"""What the command line shows people: help for every option, and tables in one language.

The language check (:func:`cs_metrics.labels.purity_problems`) fails on identifiers such as
``no_login`` and on words of the other language; values from the data and the configuration
(names, products, reasons, plans) are the user's words and are allowed.
"""

from __future__ import annotations

import argparse

import pytest
from conftest import SAMPLE, data_words

from cs_metrics.cli.main import build_parser, main
from cs_metrics.labels import purity_problems


def _parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    root = build_parser()
    out = [("cs-metrics", root)]
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            out += [(f"cs-metrics {n}", p) for n, p in action.choices.items()]
    return out


def test_help_prints_no_python_objects_and_every_option_has_help():
    parsers = _parsers()
    assert len(parsers) >= 10
    for name, parser in parsers:
        text = parser.format_help()
        assert "{'option_strings'" not in text and "%(" not in text, name
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            assert action.help and action.help != argparse.SUPPRESS, (
                f"{name}: {action.option_strings or action.dest} has no help text"
            )


def test_top_level_help_lists_every_command_readably(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "95% adjusted-Wald" in out and "dest" not in out


COMMANDS = [
    ["kpis"],
    ["health"],
    ["risk"],
    ["nps"],
    ["onboarding"],
    ["ltv"],
    ["notify", "--dry-run"],
    ["scenario", "--save-reason-pct", "0.3"],
]


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: c[0])
def test_cli_tables_speak_one_language(cmd, lang, capsys):
    assert main([*cmd, "--data", str(SAMPLE), "--as-of", "2026-09", "--lang", lang]) == 0
    out = capsys.readouterr().out
    problems = purity_problems(out, lang, allowed=data_words(SAMPLE))
    assert not problems, f"{cmd[0]} --lang {lang}: {problems[:20]}"


def test_checker_catches_identifiers_and_the_other_language():
    assert purity_problems("シグナル: no_login, 良好", "ja") == ["no_login"]
    assert purity_problems("ヘルス green、churn 3件 / MRR 20万円", "ja") == ["green", "churn"]
    assert purity_problems("Health 良好 (score 70)", "en") == ["良好"]
    assert purity_problems("株式会社みらい: no login", "en", allowed=["株式会社みらい"]) == []


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_backtest_table_speaks_one_language(lang, capsys):
    argv = ["backtest", "--data", str(SAMPLE), "--from", "2025-10", "--to", "2026-06"]
    assert main([*argv, "--suggest-weights", "--lang", lang]) == 0
    out = capsys.readouterr().out
    problems = purity_problems(out, lang, allowed=data_words(SAMPLE))
    assert not problems, f"backtest --lang {lang}: {problems[:20]}"
