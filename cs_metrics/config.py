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

__all__ = ["Config", "ConfigError", "default_config", "load_config", "thaw"]

# Tables whose keys are user-defined: any key is accepted, values are checked by VALIDATORS.
OPEN_TABLES: set[str] = {"reasons.categories", "slack.members", "health.measures"}
# Open tables whose entries are merged key by key with the default entry of the same name.
MERGED_OPEN_TABLES: set[str] = {"health.measures"}

# Extra checks per dotted key: a function returning an error message or None.
VALIDATORS: dict[str, Callable[[Any], str | None]] = {}


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
        return _resolve(self.to_dict(), changes, "configuration")


def _default_text() -> str:
    return resources.files("cs_metrics").joinpath("default_config.toml").read_text("utf-8")


def default_config() -> dict[str, Any]:
    """The shipped defaults as a nested dict."""
    return tomllib.loads(_default_text())


def _type_name(v: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "table",
    }.get(type(v), type(v).__name__)


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
            known = ", ".join(sorted(base)) or "(none)"
            raise _Problem("config_unknown_key", dotted, known=known)
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, Mapping):
                raise _Problem("config_type", dotted, expected="table", value=_type_name(value))
            if dotted in MERGED_OPEN_TABLES:
                merged = {k: dict(v) for k, v in default.items()}
                for name, entry in value.items():
                    if not isinstance(entry, Mapping):
                        raise _Problem(
                            "config_type", f"{dotted}.{name}", expected="table", value=repr(entry)
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
            raise _Problem(
                "config_type",
                dotted,
                expected=_type_name(default),
                value=f"{_type_name(value)} {value!r}",
            )
        base[key] = float(value) if isinstance(default, float) else value


# Every period setting has a ceiling (a century): larger values are typos that would otherwise
# overflow date arithmetic (``risk.usage_baseline_weeks = 1e6``) instead of being refused here.
SPAN_LIMITS = {"_months": 1200, "_weeks": 5200, "_days": 36500}


def _finite_problem(value: Any) -> str | None:
    """TOML allows ``inf`` and ``nan``: no setting may be either (nor hold one in a list)."""
    import math

    values = value if isinstance(value, list | tuple) else [value]
    for v in values:
        if isinstance(v, float) and not math.isfinite(v):
            return f"must be a finite number, got {v}"
    return None


def _span_problem(dotted: str, value: Any) -> str | None:
    for suffix, limit in SPAN_LIMITS.items():
        if not dotted.endswith(suffix):
            continue
        values = value.values() if isinstance(value, dict) else [value]
        for v in values:
            if isinstance(v, int | float) and not isinstance(v, bool) and v > limit:
                return f"must be at most {limit}, got {v}"
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


def _fraction(v: Any) -> str | None:
    return None if 0 <= v <= 1 else f"must be between 0 and 1, got {v}"


def _positive(v: Any) -> str | None:
    return None if v > 0 else f"must be > 0, got {v}"


VALIDATORS.update(
    {
        "general.lang": lambda v: None if v in ("ja", "en") else f"must be 'ja' or 'en', got {v!r}",
        "general.display_unit": lambda v: (
            None
            if v in ("円", "千円", "万円", "億円")
            else f"must be one of 円, 千円, 万円, 億円; got {v!r}"
        ),
        "general.fiscal_year_start_month": lambda v: (
            None if 1 <= v <= 12 else f"must be a month 1..12, got {v}"
        ),
        "targets.churn_within_horizon_max": _fraction,
        "targets.nrr_trailing_12m_min": _positive,
        "revenue.churn_horizon_months": _positive,
        "engine.spark_master": lambda v: (
            None
            if v.strip() and not v.strip().startswith("-")
            else f"must be a Spark master URL such as 'local[*]' or 'spark://host:7077', got {v!r}"
        ),
        "revenue.reason_match_window_days": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "reasons.categories": lambda v: next(
            (
                f"category {k!r} must be a list of strings"
                for k, pats in v.items()
                if not isinstance(pats, list) or not all(isinstance(p, str) for p in pats)
            ),
            None,
        ),
        "ltv.gross_margin": _fraction,
        "ltv.annual_discount_rate": lambda v: (
            None if 0.01 <= v < 10 else f"must be >= 0.01 and < 10 (a fraction: 0.1 = 10%), got {v}"
        ),
        "ltv.simple_ltv_window_months": _positive,
        "ltv.period": lambda v: (
            None
            if v in ("auto", "month", "year")
            else f"must be 'auto', 'month' or 'year', got {v!r}"
        ),
        "ltv.interval_samples": lambda v: (
            None if 100 <= v <= 100_000 else f"must be between 100 and 100000, got {v}"
        ),
        "ltv.interval_seed": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "scenario.min_group_accounts": lambda v: (
            None if v >= 1 else f"must be a whole number of accounts >= 1, got {v}"
        ),
        "scenario.bootstrap_samples": lambda v: (
            None if 100 <= v <= 100_000 else f"must be between 100 and 100000, got {v}"
        ),
        "scenario.default_reason": lambda v: None if v.strip() else "must not be empty",
        "scenario.bootstrap_seed": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "onboarding.sessions": lambda v: None if 1 <= v <= 100 else f"must be 1..100, got {v}",
        "onboarding.stalled_weeks": _positive,
        "onboarding.stalled_lookback_months": _positive,
        "nps.window_months": lambda v: None if 1 <= v <= 1200 else f"must be 1..1200, got {v}",
        "validation.max_examples": _positive,
        "validation.min_year": lambda v: None if 1 <= v <= 9999 else f"must be a year, got {v}",
        "validation.max_year": lambda v: None if 1 <= v <= 9999 else f"must be a year, got {v}",
        "validation.max_mrr": _positive,
        "validation.max_amount": _positive,
        "validation.max_measure": _positive,
    }
)


_MEASURE_KEYS = {"source", "weight", "direction", "rule", "thresholds", "missing", "aggregate"}
_MEASURE_OPTIONAL = {"thresholds", "aggregate"}


def _measures(v: Any) -> str | None:
    if not v:
        return "at least one measure is needed"
    for name, m in v.items():
        where = f"measure {name!r}"
        unknown = set(m) - _MEASURE_KEYS
        if unknown:
            return f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_MEASURE_KEYS))}"
        missing = _MEASURE_KEYS - set(m) - _MEASURE_OPTIONAL
        if missing:
            return f"{where}: missing key(s) {', '.join(sorted(missing))}"
        src = m["source"]
        if not isinstance(src, str) or not (
            src == "touchpoints" or src.startswith("usage_weekly.")
        ):
            return f"{where}: source must be 'touchpoints' or 'usage_weekly.<column>', got {src!r}"
        if not isinstance(m["weight"], int | float) or not 0 <= m["weight"] <= 1e6:
            return (
                f"{where}: weight must be a number 0..1e6 (0 switches it off), got {m['weight']!r}"
            )
        if m["direction"] not in ("higher", "lower"):
            return f"{where}: direction must be 'higher' or 'lower', got {m['direction']!r}"
        if m["rule"] not in ("thresholds", "percentile"):
            return f"{where}: rule must be 'thresholds' or 'percentile', got {m['rule']!r}"
        th = m.get("thresholds", [])
        if not isinstance(th, list) or not all(isinstance(x, int | float) for x in th):
            return f"{where}: thresholds must be a list of numbers"
        if _finite_problem(th):
            return f"{where}: thresholds must be finite numbers, got {th}"
        if m["rule"] == "thresholds" and (not th or th != sorted(th) or len(set(th)) != len(th)):
            return f"{where}: thresholds must be a non-empty, strictly increasing list, got {th}"
        if m["missing"] not in ("reweight", "zero"):
            return f"{where}: missing must be 'reweight' or 'zero', got {m['missing']!r}"
        if m.get("aggregate", "mean") not in ("mean", "sum_per_week"):
            return f"{where}: aggregate must be 'mean' or 'sum_per_week', got {m['aggregate']!r}"
    if not any(m["weight"] > 0 for m in v.values()):
        return "at least one measure needs a weight > 0"
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


def _str_list(v: Any) -> str | None:
    return None if all(isinstance(x, str) for x in v) else f"must be a list of strings, got {v!r}"


def _short_texts(v: Any) -> str | None:
    long = [k for k, x in v.items() if len(x) > 200]
    return f"{long[0]} must be at most 200 characters" if long else None


def _known_rules(v: Any) -> str | None:
    bad = [x for x in v if x not in RISK_RULE_NAMES]
    return f"unknown rule(s) {bad}; known: {', '.join(RISK_RULE_NAMES)}" if bad else None


def _segment_row(v: Any) -> str | None:
    if set(v) != {"green", "yellow", "red"}:
        return f"needs exactly the bands green, yellow, red; got {', '.join(sorted(v))}"
    bad = [x for x in v.values() if x not in ("S", "A", "B", "C")]
    return f"segments must be S, A, B or C; got {bad}" if bad else None


VALIDATORS.update(
    {
        "health.measures": _measures,
        "health.usage_window_weeks": _positive,
        "health.touchpoint_window_days": _positive,
        "health.band_green": lambda v: None if 0 <= v <= 100 else f"must be within 0..100, got {v}",
        "health.band_yellow": lambda v: (
            None if 0 <= v <= 100 else f"must be within 0..100, got {v}"
        ),
        "segments.high": _segment_row,
        "segments.mid": _segment_row,
        "segments.low": _segment_row,
        "attributes.mrr_band_edges": lambda v: (
            None if v == sorted(v) and len(v) == 2 else f"must be two increasing MRR edges, got {v}"
        ),
        "risk.no_login_days": _positive,
        "risk.usage_drop": _fraction,
        "slack.max_retries": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "slack.timeout_seconds": _positive,
        # issue 6: attribute score, risk rules, Slack member map
        "attributes.high_effort_industries": lambda v: _str_list(v),
        "attributes.onboarding_months": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "attributes.adoption_months": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "attributes.renewal_due_months": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "risk.renewal_due_months": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "risk.usage_recent_weeks": _positive,
        "risk.usage_baseline_weeks": _positive,
        "risk.nps_recent_days": _positive,
        "risk.usage_rise": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "risk.no_touchpoint_days": lambda v: next(
            (f"{k} must be a whole number of days > 0, got {d!r}" for k, d in v.items() if d <= 0),
            None,
        ),
        "risk.disabled_rules": lambda v: _known_rules(v),
        "risk.report_top_accounts": _positive,
        "risk.recency_weight": lambda v: None if v >= 1 else f"must be >= 1 (1 = off), got {v}",
        "risk.severity": lambda v: next(
            (f"{k} must be between 0 and 1, got {x}" for k, x in v.items() if not 0 <= x <= 1),
            None,
        ),
        "risk.next_action.ja": lambda v: _short_texts(v),
        "risk.next_action.en": lambda v: _short_texts(v),
        "slack.max_accounts_per_message": _positive,
        "backtest.horizon_months": _positive,
        "backtest.lookback_months": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "backtest.min_flagged": _positive,
        "backtest.weights_l2": lambda v: None if v >= 0 else f"must be >= 0, got {v}",
        "backtest.weights_folds": lambda v: None if v >= 2 else f"must be >= 2, got {v}",
        "slack.members": lambda v: next(
            (
                f'{k!r} must map to a Slack member ID such as "U0123ABCD", got {i!r}'
                for k, i in v.items()
                if not isinstance(i, str) or not _SLACK_ID.fullmatch(i)
            ),
            None,
        ),
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
            raise _Problem("config_invalid", low, detail=f"must not exceed '{high}'")


def _resolve(base: dict[str, Any], user: Mapping[str, Any], source: str) -> Config:
    try:
        _merge(base, copy.deepcopy(dict(user)), "")
        _check(base)
        _check_pairs(base)
    except _Problem as p:
        raise ConfigError(p.code, source=source, key=p.key, **p.params) from None
    return Config(base)


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
        return _resolve(default_config(), {}, "defaults")
    if isinstance(path, Mapping):
        return _resolve(default_config(), path, "configuration")
    p = Path(path)
    if not p.is_file():
        raise ConfigError("config_not_found", path=str(p))
    try:
        user = tomllib.loads(p.read_text("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError("config_not_toml", path=str(p), detail=str(e)) from None
    except OSError as e:  # unreadable (permissions): a message, never "cannot write"
        raise ConfigError("config_not_toml", path=str(p), detail=e.strerror or str(e)) from None
    return _resolve(default_config(), user, str(p))
