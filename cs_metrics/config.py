"""One TOML configuration with documented defaults shipped in the package (SPEC §7).

``load_config(path)`` merges a user's TOML over ``default_config.toml``. Every key the user gives
must exist in the defaults (except inside the *open tables* listed in ``OPEN_TABLES``, whose keys
are the user's own, e.g. reason categories) and must have the default's type; otherwise
``ConfigError`` names the key.

The result is a :class:`Config`: a read-only mapping (nested tables read-only too, lists as
tuples), so nothing downstream can change a setting behind another function's back. A changed
setting is a new configuration: ``cfg.updated({"general": {"lang": "en"}})`` (validated again).
Defaults live only in ``default_config.toml``; modules read ``ds.config`` and never restate one.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cs_metrics.errors import ConfigError
from cs_metrics.messages import Text

__all__ = ["Config", "ConfigError", "default_config", "load_config", "thaw"]

# Tables whose keys are user-defined: any key is accepted, values are checked by VALIDATORS.
OPEN_TABLES: set[str] = {"reasons.categories", "slack.members", "health.measures"}
# Open tables whose entries are merged key by key with the default entry of the same name.
MERGED_OPEN_TABLES: set[str] = {"health.measures"}

# Extra checks per dotted key: a function returning the problem (a catalogue :class:`Text`,
# rendered in the reader's language as the detail of ``config_invalid``) or None.
VALIDATORS: dict[str, Callable[[Any], Text | None]] = {}


def _freeze(v: Any) -> Any:
    if isinstance(v, Mapping):
        return MappingProxyType({k: _freeze(x) for k, x in v.items()})
    if isinstance(v, list | tuple):
        return tuple(_freeze(x) for x in v)
    return v


def thaw(v: Any) -> Any:
    """A plain, JSON-serialisable copy (dicts and lists) of a configuration or part of one."""
    if isinstance(v, Mapping):
        return {k: thaw(x) for k, x in v.items()}
    if isinstance(v, tuple | list):
        return [thaw(x) for x in v]
    return v


class Config(Mapping[str, Any]):
    """A validated, read-only configuration (returned by :func:`load_config`)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = _freeze(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Config({thaw(self._data)!r})"

    def to_dict(self) -> dict[str, Any]:
        """A plain nested dict (for JSON, e.g. ``metrics.json``)."""
        return thaw(self._data)

    def updated(self, changes: Mapping[str, Any]) -> Config:
        """A new configuration with ``changes`` merged over this one, validated again."""
        return _resolve(self.to_dict(), changes, Text("cfg_source_given"))


def _default_text() -> str:
    return resources.files("cs_metrics").joinpath("default_config.toml").read_text("utf-8")


def default_config() -> dict[str, Any]:
    """The shipped defaults as a nested dict."""
    return tomllib.loads(_default_text())


_TYPE_NAMES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "list",
    dict: "table",
}


def _type_name(v: Any) -> Text:
    """The kind of ``v`` in words (``整数`` / ``integer``)."""
    return Text(f"cfg_type_{_TYPE_NAMES.get(type(v), 'other')}")


def _typed(v: Any) -> Text:
    return Text("cfg_typed_value", kind=_type_name(v), value=repr(v))


class _Problem(Exception):
    """A problem found while merging or checking, before the source is known."""

    def __init__(self, code: str, key: str, **params: Any) -> None:
        super().__init__(code)
        self.code, self.key, self.params = code, key, params


def _merge(base: dict, user: Mapping, prefix: str) -> None:
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if prefix.rstrip(".") in OPEN_TABLES:
            base[key] = value
            continue
        if key not in base:
            known = ", ".join(sorted(base)) or Text("cfg_none")
            raise _Problem("config_unknown_key", dotted, known=known)
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, Mapping):
                raise _Problem("config_type", dotted, expected=_type_name({}), value=_typed(value))
            if dotted in MERGED_OPEN_TABLES:
                merged = {k: dict(v) for k, v in default.items()}
                for name, entry in value.items():
                    if not isinstance(entry, Mapping):
                        expected = _type_name({})
                        raise _Problem(
                            "config_type",
                            f"{dotted}.{name}",
                            expected=expected,
                            value=_typed(entry),
                        )
                    merged.setdefault(name, {}).update(entry)
                base[key] = merged
            elif dotted in OPEN_TABLES:
                base[key] = dict(value)
            else:
                _merge(default, value, dotted + ".")
            continue
        ok = type(value) is type(default) or (isinstance(default, float) and type(value) is int)
        if not ok:
            raise _Problem("config_type", dotted, expected=_type_name(default), value=_typed(value))
        base[key] = float(value) if isinstance(default, float) else value


# Every period setting has a ceiling (a century): larger values are typos that would otherwise
# overflow date arithmetic (``risk.usage_baseline_weeks = 1e6``) instead of being refused here.
SPAN_LIMITS = {"_months": 1200, "_weeks": 5200, "_days": 36500}


def _finite_problem(value: Any) -> Text | None:
    """TOML allows ``inf`` and ``nan``: no setting may be either (nor hold one in a list)."""
    import math

    values = value if isinstance(value, list | tuple) else [value]
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            return Text("cfg_finite", value=v)
    return None


def _span_problem(dotted: str, value: Any) -> Text | None:
    for suffix, limit in SPAN_LIMITS.items():
        if not dotted.endswith(suffix):
            continue
        values = value.values() if isinstance(value, dict) else [value]
        for v in values:
            if isinstance(v, int | float) and not isinstance(v, bool) and v > limit:
                return Text("cfg_at_most", hi=limit, value=v)
    return None


def _check(cfg: dict, prefix: str = "") -> None:
    for key, value in cfg.items():
        dotted = f"{prefix}{key}"
        check = VALIDATORS.get(dotted)
        problem = (
            _finite_problem(value)
            or (check(value) if check is not None else None)
            or _span_problem(dotted, value)
        )
        if problem:
            raise _Problem("config_invalid", dotted, detail=problem)
        if isinstance(value, dict) and dotted not in OPEN_TABLES:
            _check(value, dotted + ".")


def _range(lo: Any, hi: Any) -> Callable[[Any], Text | None]:
    """``lo <= v <= hi``."""
    return lambda v: None if lo <= v <= hi else Text("cfg_range", lo=lo, hi=hi, value=v)


def _at_least(lo: Any) -> Callable[[Any], Text | None]:
    """``v >= lo``."""
    return lambda v: None if v >= lo else Text("cfg_at_least", lo=lo, value=v)


def _one_of(*allowed: str) -> Callable[[Any], Text | None]:
    """``v`` is one of ``allowed``."""
    names = ", ".join(allowed)
    return lambda v: None if v in allowed else Text("cfg_one_of", allowed=names, value=repr(v))


_fraction = _range(0, 1)
_non_negative = _at_least(0)


def _positive(v: Any) -> Text | None:
    return None if v > 0 else Text("cfg_above", lo=0, value=v)


def _spark_master(v: Any) -> Text | None:
    ok = v.strip() and not v.strip().startswith("-")
    return None if ok else Text("cfg_spark_master", value=repr(v))


def _categories(v: Any) -> Text | None:
    for k, pats in v.items():
        if not isinstance(pats, list) or not all(isinstance(p, str) for p in pats):
            return Text("cfg_category_list", name=repr(k))
    return None


VALIDATORS.update(
    {
        "general.lang": _one_of("ja", "en"),
        "general.display_unit": _one_of("円", "千円", "万円", "億円"),
        "general.fiscal_year_start_month": _range(1, 12),
        "targets.churn_within_horizon_max": _fraction,
        "targets.nrr_trailing_12m_min": _positive,
        "revenue.churn_horizon_months": _positive,
        "engine.spark_master": _spark_master,
        "revenue.reason_match_window_days": _non_negative,
        "reasons.categories": _categories,
        "ltv.gross_margin": _fraction,
        "ltv.annual_discount_rate": lambda v: (
            None if 0.01 <= v < 10 else Text("cfg_discount_rate", value=v)
        ),
        "ltv.simple_ltv_window_months": _positive,
        "ltv.period": _one_of("auto", "month", "year"),
        "ltv.interval_samples": _range(100, 100_000),
        "ltv.interval_seed": _non_negative,
        "scenario.min_group_accounts": _at_least(1),
        "scenario.bootstrap_samples": _range(100, 100_000),
        "scenario.default_reason": lambda v: None if v.strip() else Text("cfg_not_empty"),
        "scenario.bootstrap_seed": _non_negative,
        "onboarding.sessions": _range(1, 100),
        "onboarding.stalled_weeks": _positive,
        "onboarding.stalled_lookback_months": _positive,
        "nps.window_months": _range(1, 1200),
        "validation.max_examples": _positive,
        "validation.min_year": _range(1, 9999),
        "validation.max_year": _range(1, 9999),
        "validation.max_mrr": _positive,
        "validation.max_amount": _positive,
        "validation.max_measure": _positive,
    }
)


_MEASURE_KEYS = {"source", "weight", "direction", "rule", "thresholds", "missing", "aggregate"}
_MEASURE_OPTIONAL = {"thresholds", "aggregate"}


def _measure_problem(name: str, m: Mapping[str, Any]) -> Text | None:
    """The first problem of one ``[health.measures.<name>]`` entry, or None."""
    where = repr(name)
    unknown = set(m) - _MEASURE_KEYS
    if unknown:
        keys, known = ", ".join(sorted(unknown)), ", ".join(sorted(_MEASURE_KEYS))
        return Text("cfg_measure_unknown_keys", name=where, keys=keys, known=known)
    missing = _MEASURE_KEYS - set(m) - _MEASURE_OPTIONAL
    if missing:
        return Text("cfg_measure_missing_keys", name=where, keys=", ".join(sorted(missing)))
    src = m["source"]
    if not isinstance(src, str) or not (src == "touchpoints" or src.startswith("usage_weekly.")):
        return Text("cfg_measure_source", name=where, value=repr(src))
    if not isinstance(m["weight"], int | float) or not 0 <= m["weight"] <= 1e6:
        return Text("cfg_measure_weight", name=where, value=repr(m["weight"]))
    for field, allowed in _MEASURE_CHOICES.items():
        value = m.get(field, allowed[0])
        if value not in allowed:
            names = " / ".join(allowed)
            return Text(
                "cfg_measure_one_of", name=where, field=field, allowed=names, value=repr(value)
            )
    th = m.get("thresholds", [])
    if not isinstance(th, list) or not all(isinstance(x, int | float) for x in th):
        return Text("cfg_measure_thresholds_type", name=where)
    if _finite_problem(th):
        return Text("cfg_measure_thresholds_finite", name=where, value=th)
    if m["rule"] == "thresholds" and (not th or th != sorted(th) or len(set(th)) != len(th)):
        return Text("cfg_measure_thresholds_order", name=where, value=th)
    return None


# Settings of a measure that take one of a few words (the first is the default, if optional).
_MEASURE_CHOICES = {
    "direction": ("higher", "lower"),
    "rule": ("thresholds", "percentile"),
    "missing": ("reweight", "zero"),
    "aggregate": ("mean", "sum_per_week"),
}


def _measures(v: Any) -> Text | None:
    if not v:
        return Text("cfg_measures_empty")
    for name, m in v.items():
        problem = _measure_problem(name, m)
        if problem:
            return problem
    if not any(m["weight"] > 0 for m in v.values()):
        return Text("cfg_measures_no_weight")
    return None


_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,}")
RISK_RULE_NAMES = (
    "no_login",
    "cancellation_notice",
    "renewal_unconfirmed",
    "renewal_due",
    "usage_drop",
    "nps_detractor",
    "health_red",
    "onboarding_stalled",
    "no_touchpoint",
    "expansion_candidate",
)


def _str_list(v: Any) -> Text | None:
    ok = all(isinstance(x, str) for x in v)
    return None if ok else Text("cfg_str_list", value=repr(v))


def _short_texts(v: Any) -> Text | None:
    long = [k for k, x in v.items() if len(x) > 200]
    return Text("cfg_too_long", name=long[0], limit=200) if long else None


def _known_rules(v: Any) -> Text | None:
    bad = [x for x in v if x not in RISK_RULE_NAMES]
    known = ", ".join(RISK_RULE_NAMES)
    return Text("cfg_unknown_rules", bad=", ".join(map(str, bad)), known=known) if bad else None


def _segment_row(v: Any) -> Text | None:
    if set(v) != {"green", "yellow", "red"}:
        return Text("cfg_segment_bands", got=", ".join(sorted(v)))
    bad = [x for x in v.values() if x not in ("S", "A", "B", "C")]
    return Text("cfg_segment_letters", bad=", ".join(map(repr, bad))) if bad else None


def _each_days(v: Any) -> Text | None:
    bad = [(k, d) for k, d in v.items() if d <= 0]
    return Text("cfg_entry_days", name=bad[0][0], value=repr(bad[0][1])) if bad else None


def _each_fraction(v: Any) -> Text | None:
    bad = [(k, x) for k, x in v.items() if not 0 <= x <= 1]
    return Text("cfg_entry_range", name=bad[0][0], lo=0, hi=1, value=bad[0][1]) if bad else None


def _slack_members(v: Any) -> Text | None:
    for k, i in v.items():
        if not isinstance(i, str) or not _SLACK_ID.fullmatch(i):
            return Text("cfg_slack_member", name=repr(k), value=repr(i))
    return None


def _edges(v: Any) -> Text | None:
    ok = list(v) == sorted(v) and len(v) == 2
    return None if ok else Text("cfg_edges", value=list(v))


VALIDATORS.update(
    {
        "health.measures": _measures,
        "health.usage_window_weeks": _positive,
        "health.touchpoint_window_days": _positive,
        "health.band_green": _range(0, 100),
        "health.band_yellow": _range(0, 100),
        "segments.high": _segment_row,
        "segments.mid": _segment_row,
        "segments.low": _segment_row,
        "attributes.mrr_band_edges": _edges,
        "risk.no_login_days": _positive,
        "risk.usage_drop": _fraction,
        "slack.max_retries": _non_negative,
        "slack.timeout_seconds": _positive,
        # issue 6: attribute score, risk rules, Slack member map
        "attributes.high_effort_industries": _str_list,
        "attributes.onboarding_months": _non_negative,
        "attributes.adoption_months": _non_negative,
        "attributes.renewal_due_months": _non_negative,
        "risk.renewal_due_months": _non_negative,
        "risk.usage_recent_weeks": _positive,
        "risk.usage_baseline_weeks": _positive,
        "risk.nps_recent_days": _positive,
        "risk.usage_rise": _non_negative,
        "risk.no_touchpoint_days": _each_days,
        "risk.disabled_rules": _known_rules,
        "risk.report_top_accounts": _positive,
        "risk.recency_weight": lambda v: None if v >= 1 else Text("cfg_recency", value=v),
        "risk.severity": _each_fraction,
        "risk.next_action.ja": _short_texts,
        "risk.next_action.en": _short_texts,
        "slack.max_accounts_per_message": _positive,
        "backtest.horizon_months": _positive,
        "backtest.lookback_months": _non_negative,
        "backtest.min_flagged": _positive,
        "backtest.weights_l2": _non_negative,
        "backtest.weights_folds": _at_least(2),
        "slack.members": _slack_members,
    }
)


def _check_pairs(cfg: dict[str, Any]) -> None:
    """Cross-key checks (each names both keys)."""
    pairs = [
        ("attributes.onboarding_months", "attributes.adoption_months"),
        ("attributes.tier_mid", "attributes.tier_high"),
        ("health.band_yellow", "health.band_green"),
        ("validation.min_year", "validation.max_year"),
    ]
    for low, high in pairs:
        (s1, k1), (s2, k2) = low.split("."), high.split(".")
        if cfg[s1][k1] > cfg[s2][k2]:
            raise _Problem("config_invalid", low, detail=Text("cfg_not_exceed", other=high))


def _resolve(base: dict[str, Any], user: Mapping[str, Any], source: str | Text) -> Config:
    try:
        _merge(base, copy.deepcopy(dict(user)), "")
        _check(base)
        _check_pairs(base)
    except _Problem as p:
        raise ConfigError(p.code, source=source, key=p.key, **p.params) from None
    return Config(base)


def _toml_detail(e: Exception) -> Text:
    """Where a TOML file cannot be read, in the reader's language (the parser's own text is
    English): ``line 3, column 7``, or not UTF-8."""
    if isinstance(e, UnicodeDecodeError):
        return Text("cfg_toml_encoding")
    m = re.search(r"line (\d+), column (\d+)", str(e))
    if m:
        return Text("cfg_toml_at", line=int(m.group(1)), column=int(m.group(2)))
    return Text("cfg_toml_syntax")


def load_config(path: str | Path | Mapping | None = None) -> Config:
    """The configuration: the shipped defaults with ``path`` merged over, validated.

    Parameters
    ----------
    path
        A TOML file (UTF-8, a byte-order mark is accepted), a mapping of the same shape (only the
        keys to change), an already resolved :class:`Config` (returned as is), or None (the
        defaults).

    Raises
    ------
    ConfigError
        The file cannot be read or parsed, or a key is unknown, of the wrong type or out of
        range; the message names the key.
    """
    if isinstance(path, Config):
        return path
    if path is None:
        return _resolve(default_config(), {}, Text("cfg_source_defaults"))
    if isinstance(path, Mapping):
        return _resolve(default_config(), path, Text("cfg_source_given"))
    p = Path(path)
    if not p.is_file():
        raise ConfigError("config_not_found", path=str(p))
    try:
        user = tomllib.loads(p.read_text("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError("config_not_toml", path=str(p), detail=_toml_detail(e)) from None
    except OSError:  # unreadable (permissions): a message, never "cannot write"
        raise ConfigError("config_not_toml", path=str(p), detail=Text("cfg_unreadable")) from None
    return _resolve(default_config(), user, str(p))
