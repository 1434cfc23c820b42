"""Every command, both languages, table and JSON, on the sample and on a dataset with only the
required tables (accounts + subscriptions): what a person reads is in the language asked for
(:func:`cs_metrics.labels.purity_problems`), never ``None``/``nan``/``inf``, and every
``*_reason`` in JSON has its ``*_reason_code`` from the catalogue.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import SAMPLE, data_words

from cs_metrics.cli.main import main
from cs_metrics.labels import purity_problems
from cs_metrics.messages import MESSAGES

COMMANDS = {
    "kpis": [],
    "ltv": [],
    "scenario": ["--save-reason-pct", "0.3", "--graduation-target", "0.8"],
    "health": [],
    "risk": [],
    "nps": [],
    "onboarding": [],
    "backtest": [],
    "notify": ["--dry-run"],
}
# JSON keys whose string values are text for people (the rest are codes and identifiers)
TEXT_KEYS = ("reason", "note", "notes", "evidence", "message", "label", "next_action", "summary")
BAD_VALUES = re.compile(r"(?<![\w.])(None|null|nan|NaN|-?inf|-?Infinity)(?![\w.])")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Path]:
    req = tmp_path_factory.mktemp("sweep") / "required"
    req.mkdir()
    for table in ("accounts", "subscriptions"):
        shutil.copy(SAMPLE / f"{table}.csv", req / f"{table}.csv")
    from health_fixtures import write_cli_dataset

    # 4 accounts over 6 months, no acquisition cost: most long-horizon figures are null
    small = write_cli_dataset(tmp_path_factory.mktemp("sweep") / "small")
    return {"sample": SAMPLE, "required": req, "small": small}


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _json_problems(obj, lang: str, words: set[str]) -> list[str]:
    found: list[str] = []

    def text(key: str, value) -> None:
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, str):
                found.extend(f"{key}: {w}" for w in purity_problems(v, lang, words))
                found.extend(f"{key}: {m}" for m in BAD_VALUES.findall(v))

    def walk(o) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                if (k == "reason" or k.endswith("_reason")) and v is not None:
                    code = o.get(f"{k}_code")
                    if code not in MESSAGES:
                        found.append(f"{k}: no catalogue {k}_code ({code!r})")
                if k.endswith(TEXT_KEYS):
                    text(k, v)
                walk(v)
        elif isinstance(o, list):
            for x in o:
                walk(x)

    walk(obj)
    return found


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("data", ["sample", "required", "small"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_speaks_one_language(command, data, lang, datasets, capsys):
    folder = datasets[data]
    words = data_words(folder)
    if command == "notify":  # names as the Slack message quotes them (escaped)
        from cs_metrics.notify import slack_escape

        words |= {slack_escape(w) for w in words}
    base = [command, "--data", str(folder), *COMMANDS[command], "--lang", lang]
    problems: list[str] = []
    rc, out, err = _run(base, capsys)
    assert rc == 0, err
    for where, text in (("table", out), ("stderr", err)):
        problems += [f"{where}: {w}" for w in purity_problems(text, lang, words)]
        problems += [f"{where}: {m}" for m in BAD_VALUES.findall(text)]
    rc, out, err = _run([*base, "--format", "json"], capsys)
    assert rc == 0, err

    def no_nan(token: str):
        raise AssertionError(f"{token} in JSON output")

    problems += [
        f"json: {p}" for p in _json_problems(json.loads(out, parse_constant=no_nan), lang, words)
    ]
    problems += [f"json stderr: {w}" for w in purity_problems(err, lang, words)]
    assert not problems, f"{command} {data} --lang {lang}: {sorted(set(problems))[:30]}"
