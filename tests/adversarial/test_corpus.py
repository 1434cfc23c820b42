"""Runs the adversarial corpus (corpus.py) through the CLI in-process: exit status, message
code, no traceback, no internal error, no secret, and nothing written on exit 2."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from corpus import CASES, SECRET, Case

from cs_metrics.errors import CsMetricsError, DataError


def snapshot(root: Path) -> dict[str, str | None]:
    """Every path under ``root`` (hidden ones too) with the sha256 of files."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else None
        for p in sorted(root.rglob("*"))
    }


def run_cli(argv: list[str], capsys, monkeypatch) -> tuple[int, str, str, list[str]]:
    """``main(argv)`` in-process; also the codes of the expected errors it raised."""
    from cs_metrics.cli import common
    from cs_metrics.cli.main import main

    seen: list[str] = []
    guarded = common.run_guarded

    def spy(func, args):
        def wrapped(a):
            try:
                return func(a)
            except DataError as e:
                seen.extend(i.rule for i in e.issues)
                raise
            except CsMetricsError as e:
                seen.append(e.code)
                raise

        return guarded(wrapped, args)

    monkeypatch.setattr(common, "run_guarded", spy)
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err, seen


def codes_in(stdout: str, raised: list[str]) -> set[str]:
    """Codes raised, plus the rules of a ``validate`` report (JSON, or its table)."""
    import re

    found = set(raised) | set(re.findall(r"(?:ルール|rule): (\w+)", stdout))
    try:
        report = json.loads(stdout)
    except ValueError:
        return found
    if isinstance(report, dict) and "errors" in report:
        found |= {i["rule"] for i in report["errors"] + report["warnings"]}
    return found


def _param(case: Case):
    marks = [pytest.mark.xfail(strict=False, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_hostile_input(case: Case, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    logs = tmp_path / "logs"
    monkeypatch.setenv("CS_METRICS_LOG_DIR", str(logs))
    monkeypatch.delenv("CS_METRICS_SLACK_WEBHOOK_URL", raising=False)
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    argv = case.build(work)
    before = snapshot(work)
    rc, out, err, raised = run_cli(argv, capsys, monkeypatch)
    shown = out + err
    expected = case.rc if isinstance(case.rc, tuple) else (case.rc,)
    assert rc in expected, f"exit {rc}, expected {case.rc}\n{err[-2000:]}"
    assert "Traceback" not in shown and "internal error" not in shown and "内部エラー" not in shown
    assert not logs.exists(), "an internal-error log was written"
    assert SECRET not in shown
    if case.code:
        assert case.code in codes_in(out, raised), (case.code, raised, err[-1000:])
    if "/etc/passwd" in " ".join(argv):
        assert "root:" not in shown  # never read, never echoed
    if rc == 2:
        assert snapshot(work) == before, "something was written or changed on exit 2"
    elif case.check:
        case.check(out, err, work)


def test_every_kind_of_the_issue_has_cases():
    kinds = {c.kind for c in CASES}
    assert kinds == {"data_loss", "secret", "traceback", "silent_wrong", "misleading"}
    assert len({c.name for c in CASES}) == len(CASES)
