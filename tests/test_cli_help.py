"""Every command's help renders (issue 13: a '%' in one help text made `cs-metrics --help` itself
a traceback), and a bug while parsing is an internal error, never a raw traceback."""

from __future__ import annotations

import pytest

from cs_metrics.cli.main import build_parser, main


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return sorted(sub.choices)


@pytest.mark.parametrize("argv", [["--help"], *[[c, "--help"] for c in _commands()]])
def test_every_help_renders(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    assert "usage: cs-metrics" in capsys.readouterr().out


def test_no_command_prints_the_help_and_exits_0(capsys):
    assert main([]) == 0
    assert "usage: cs-metrics" in capsys.readouterr().out


def test_a_bug_while_parsing_is_an_internal_error_not_a_traceback(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("CS_METRICS_LOG_DIR", str(tmp_path))

    def broken():
        raise TypeError("%i format: a real number is required")

    monkeypatch.setattr("cs_metrics.cli.main.build_parser", broken)
    assert main(["--help"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(list(tmp_path.iterdir())) == 1
