"""Every configuration error in the reader's language, naming the key (config.VALIDATORS and
the type and key checks): the detail comes from the catalogue, never a fixed English text."""

from __future__ import annotations

import re

import pytest

from cs_metrics.config import RISK_RULE_NAMES, VALIDATORS, default_config, load_config
from cs_metrics.errors import ConfigError
from cs_metrics.labels import purity_problems

# Config vocabulary a message may quote as it is (what the user writes in the TOML file).
LITERALS = {"green", "yellow", "red", "higher", "lower", "thresholds", "percentile", "reweight"}
LITERALS |= {"zero", "mean", "sum_per_week", "touchpoints", "usage_weekly", "local", "spark"}
LITERALS |= {"host", "Slack", "U0123ABCD", "auto", "month", "year", "ja", "en", "weight", "e6"}
LITERALS |= {"source", "direction", "rule", "missing", "aggregate", "true", "false"}
LITERALS |= set(RISK_RULE_NAMES) | {"円", "千円", "万円", "億円"}


def _nested(dotted: str, value) -> dict:
    out: dict = {}
    cur = out
    parts = dotted.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return out


def _default(dotted: str):
    cur = default_config()
    for p in dotted.split("."):
        cur = cur[p]
    return cur


SPECIAL = {
    "general.lang": "fr",
    "general.display_unit": "兆円",
    "engine.spark_master": "--x",
    "reasons.categories": {"予算": "not a list"},
    "ltv.period": "week",
    "scenario.default_reason": " ",
    "health.measures": {"logins": {"direction": "up"}},
    "segments.high": {"green": "Z", "yellow": "A", "red": "B"},
    "attributes.mrr_band_edges": [300000, 100000],
    "attributes.high_effort_industries": ["ok", 3],
    "risk.no_touchpoint_days": {"S": 0},
    "risk.disabled_rules": ["nope"],
    "risk.severity": {"no_login": 2.0},
    "risk.next_action.ja": {"no_login": "あ" * 201},
    "risk.next_action.en": {"no_login": "a" * 201},
    "slack.members": {"鈴木": "not-an-id"},
}


def _bad_values(key: str) -> list:
    if key in SPECIAL:
        return [SPECIAL[key]]
    default = _default(key)
    if isinstance(default, float):
        return [-1e9, 1e9, 0.0]
    return [-(10**9), 10**9, 0]


DOTTED = re.compile(r"'?[a-z0-9_]+(?:\.[a-z0-9_]+)+'?")


def _words(value) -> set[str]:
    return set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", repr(value)))


@pytest.mark.parametrize("key", sorted(VALIDATORS))
def test_every_validator_speaks_both_languages_and_names_the_key(key):
    errors = []
    for value in _bad_values(key):
        try:
            load_config(_nested(key, value))
        except ConfigError as e:
            errors.append((value, e))
    assert errors, f"{key}: no bad value refused"
    for value, e in errors:
        ja, en = e.message("ja"), e.message("en")
        assert key in ja and key in en, (ja, en)
        allowed = _words(value) | LITERALS
        for text, lang in ((ja, "ja"), (en, "en")):
            text = DOTTED.sub(" ", text)  # setting keys are names
            problems = [w for w in purity_problems(text, lang) if w not in allowed]
            assert [w for w in problems if w not in repr(value)] == [], text


@pytest.mark.parametrize(
    "user",
    [
        {"ltv": {"gross_margin": "x"}},  # wrong type
        {"ltv": "x"},  # a table expected
        {"health": {"measures": {"logins": 3}}},  # a table expected inside an open table
        {"general": {"nope": 1}},  # unknown key
        {"health": {"band_yellow": 90, "band_green": 80}},  # a pair
    ],
)
def test_type_and_key_errors_speak_japanese(user):
    with pytest.raises(ConfigError) as e:
        load_config(user)
    ja = e.value.message("ja")
    assert ja.startswith("指定の設定: "), ja  # the source in words, not "configuration"
    known = {"nope", "x", "logins", "ltv"} | _words(default_config()["general"])
    problems = [w for w in purity_problems(DOTTED.sub(" ", ja), "ja") if w not in known]
    assert problems == [], ja


def test_toml_syntax_error_names_the_line_in_japanese(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[ltv]\ngross_margin = \n", "utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    ja = e.value.message("ja").replace(str(p), "")
    assert "2 行目" in ja and purity_problems(ja, "ja", allowed=["TOML"]) == [], ja
