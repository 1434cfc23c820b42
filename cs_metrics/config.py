"""One TOML configuration with documented defaults shipped in the package (SPEC §7).

``load_config(path)`` merges a user's TOML over ``default_config.toml``. Every key the user gives
must exist in the defaults (except inside the *open tables* listed in ``OPEN_TABLES``, whose keys
are the user's own, e.g. reason categories) and must have the default's type; otherwise
``ConfigError`` names the key.
"""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

# Tables whose keys are user-defined: any key is accepted, values are checked by VALIDATORS.
OPEN_TABLES: set[str] = {"reasons.categories", "slack.members", "health.measures"}
# Open tables whose entries are merged key by key with the default entry of the same name.
MERGED_OPEN_TABLES: set[str] = {"health.measures"}

# Extra checks per dotted key: a function returning an error message or None.
VALIDATORS: dict[str, Callable[[Any], str | None]] = {}


class ConfigError(ValueError):
    """Invalid configuration; the message names the key."""


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


def _merge(base: dict, user: Mapping, prefix: str) -> None:
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if prefix.rstrip(".") in OPEN_TABLES:
            base[key] = value
            continue
        if key not in base:
            known = ", ".join(sorted(base)) or "(none)"
            raise ConfigError(f"unknown configuration key '{dotted}' (known here: {known})")
        default = base[key]
        if isinstance(default, dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"'{dotted}' must be a table, got {_type_name(value)}")
            if dotted in MERGED_OPEN_TABLES:
                merged = {k: dict(v) for k, v in default.items()}
                for name, entry in value.items():
                    if not isinstance(entry, Mapping):
                        raise ConfigError(f"'{dotted}.{name}' must be a table")
                    merged.setdefault(name, {}).update(entry)
                base[key] = merged
            elif dotted in OPEN_TABLES:
                base[key] = dict(value)
            else:
                _merge(default, value, dotted + ".")
            continue
        ok = type(value) is type(default) or (isinstance(default, float) and type(value) is int)
        if not ok:
            raise ConfigError(
                f"'{dotted}' must be a {_type_name(default)}, got {_type_name(value)} ({value!r})"
            )
        base[key] = float(value) if isinstance(default, float) else value


def _check(cfg: dict, prefix: str = "") -> None:
    for key, value in cfg.items():
        dotted = f"{prefix}{key}"
        check = VALIDATORS.get(dotted)
        if check is not None:
            problem = check(value)
            if problem:
                raise ConfigError(f"'{dotted}': {problem}")
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
            None if v in ("円", "千円", "万円") else f"must be one of 円, 千円, 万円; got {v!r}"
        ),
        "general.fiscal_year_start_month": lambda v: (
            None if 1 <= v <= 12 else f"must be a month 1..12, got {v}"
        ),
        "targets.churn_within_horizon_max": _fraction,
        "targets.nrr_trailing_12m_min": _positive,
        "revenue.churn_horizon_months": _positive,
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
        "ltv.annual_discount_rate": lambda v: None if v > -1 else f"must be > -1, got {v}",
        "ltv.simple_ltv_window_months": _positive,
        "ltv.period": lambda v: (
            None
            if v in ("auto", "month", "year")
            else f"must be 'auto', 'month' or 'year', got {v!r}"
        ),
        "onboarding.sessions": _positive,
        "onboarding.stalled_weeks": _positive,
        "onboarding.stalled_lookback_months": _positive,
        "nps.window_months": _positive,
        "validation.max_examples": _positive,
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
        if not isinstance(m["weight"], int | float) or m["weight"] < 0:
            return f"{where}: weight must be a number >= 0 (0 switches it off), got {m['weight']!r}"
        if m["direction"] not in ("higher", "lower"):
            return f"{where}: direction must be 'higher' or 'lower', got {m['direction']!r}"
        if m["rule"] not in ("thresholds", "percentile"):
            return f"{where}: rule must be 'thresholds' or 'percentile', got {m['rule']!r}"
        th = m.get("thresholds", [])
        if not isinstance(th, list) or not all(isinstance(x, int | float) for x in th):
            return f"{where}: thresholds must be a list of numbers"
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
_RISK_RULES = (
    "no_login",
    "cancellation_notice",
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


def _known_rules(v: Any) -> str | None:
    bad = [x for x in v if x not in _RISK_RULES]
    return f"unknown rule(s) {bad}; known: {', '.join(_RISK_RULES)}" if bad else None


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


def _check_issue6_pairs(cfg: dict[str, Any]) -> None:
    """Cross-key checks of the attribute settings (each names both keys)."""
    a = cfg["attributes"]
    if a["onboarding_months"] > a["adoption_months"]:
        raise ConfigError(
            "'attributes.onboarding_months' must not exceed 'attributes.adoption_months'"
        )
    if a["tier_mid"] > a["tier_high"]:
        raise ConfigError("'attributes.tier_mid' must not exceed 'attributes.tier_high'")


def load_config(path: str | Path | Mapping | None = None) -> dict[str, Any]:
    """Return the configuration: the defaults, with ``path`` (a TOML file or a dict) merged over.

    Raises
    ------
    ConfigError
        The file cannot be read or parsed, or a key is unknown, of the wrong type or out of range.
    """
    cfg = default_config()
    if path is None:
        _check(cfg)
        return cfg
    if isinstance(path, Mapping):
        user = copy.deepcopy(dict(path))
        source = "configuration"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"configuration file not found: {p}")
        try:
            user = tomllib.loads(p.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{p}: not valid TOML: {e}") from None
        source = str(p)
    try:
        _merge(cfg, user, "")
        _check(cfg)
        if cfg["health"]["band_yellow"] > cfg["health"]["band_green"]:
            raise ConfigError("'health.band_yellow' must not exceed 'health.band_green'")
        _check_issue6_pairs(cfg)
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None
    return cfg
