"""Configuration that validation accepts must compute (issue 13: `annual_discount_rate = 0` was
accepted and crashed). Every numeric setting is tried at absurd values: each is either refused
with a ConfigError naming the key, or the metrics compute without an unexpected exception."""

from __future__ import annotations

import json

import pytest
from health_fixtures import write_cli_dataset

from cs_metrics.config import ConfigError, default_config, load_config
from cs_metrics.errors import CsMetricsError

OPEN = ("health.measures", "reasons.categories", "slack.members")


def numeric_keys(d: dict, prefix: str = ""):
    for k, v in d.items():
        key = prefix + k
        if isinstance(v, dict):
            if key not in OPEN:
                yield from numeric_keys(v, key + ".")
        elif isinstance(v, int | float) and not isinstance(v, bool):
            yield key, v


def nested(key: str, value):
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


KEYS = sorted(numeric_keys(default_config()))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from cs_metrics.data.load import load_dataset

    return load_dataset(write_cli_dataset(tmp_path_factory.mktemp("cfg") / "ds")).collected()


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -1e300])
def test_non_finite_or_absurd_settings_are_refused_naming_the_key(value):
    for key, default in KEYS:
        v = value if isinstance(default, float) else -(10**15)
        try:
            load_config(nested(key, v))
        except ConfigError as e:
            assert key in str(e) or key.rsplit(".", 1)[0] in str(e)


def test_every_accepted_extreme_setting_computes(dataset):
    from cs_metrics.metrics.health import health_with_change
    from cs_metrics.metrics.kpis import kpis
    from cs_metrics.metrics.nps import nps
    from cs_metrics.metrics.onboarding import onboarding_summary
    from cs_metrics.metrics.risk import risk_list

    failures = []
    for key, default in KEYS:
        for value in [10**12, 0] if isinstance(default, int) else [1e300, 0.0]:
            try:
                cfg = load_config(nested(key, value))
            except ConfigError:
                continue
            ds = dataset.with_config(cfg)
            for name, fn in (
                ("kpis", lambda ds=ds: kpis(ds, "2025-06", ds.config)),
                ("health", lambda ds=ds: health_with_change(ds, "2025-06")),
                ("risk", lambda ds=ds: risk_list(ds, "2025-06")),
                ("nps", lambda ds=ds: nps(ds, "2025-06")),
                ("onboarding", lambda ds=ds: onboarding_summary(ds, "2025-06")),
            ):
                try:
                    out = fn()
                    if isinstance(out, dict | list):
                        json.dumps(out, allow_nan=False, default=str)
                except CsMetricsError:
                    pass
                except Exception as e:  # noqa: BLE001 - collected and reported below
                    failures.append(f"{key}={value} {name}: {type(e).__name__}: {e}"[:200])
    assert not failures, "\n".join(failures)


def test_period_settings_have_a_ceiling():
    with pytest.raises(ConfigError, match="risk.usage_baseline_weeks"):
        load_config({"risk": {"usage_baseline_weeks": 10**6}})
    with pytest.raises(ConfigError, match="onboarding.stalled_lookback_months"):
        load_config({"onboarding": {"stalled_lookback_months": 10**6}})
    with pytest.raises(ConfigError, match="health.measures"):
        load_config({"health": {"measures": {"logins": {"weight": 1e308}}}})


MODEL_AREAS = ("ltv.", "scenario.", "backtest.", "revenue.churn_horizon_months")
EDGE_FLOATS = [0.0, 1e-9, 0.0099, 0.01, 1.0 - 1e-9, 1.0, 9.999999, 1e300]
EDGE_INTS = [0, 1, 100, 10**5, 10**5 + 1, 10**12]


def test_settings_of_the_model_area_compute_at_their_limits_or_are_refused(dataset):
    """Every numeric key of LTV / scenario / backtest (and the churn horizon), at values near
    the limits of what validation accepts: refused naming the key, or every figure computes
    with no internal error and no NaN/inf (issue 14: 1e-9 as the discount rate)."""
    from cs_metrics.metrics.backtest import backtest
    from cs_metrics.metrics.ltv import ltv_summary
    from cs_metrics.metrics.scenarios import what_if

    failures = []
    for key, default in [(k, d) for k, d in KEYS if k.startswith(MODEL_AREAS)]:
        for value in EDGE_INTS if isinstance(default, int) else EDGE_FLOATS:
            try:
                cfg = load_config(nested(key, value))
            except ConfigError as e:
                assert key in str(e), (key, value, str(e))
                continue
            ds = dataset.with_config(cfg)
            figures = {
                "ltv.": lambda ds=ds: ltv_summary(ds, "2025-06", ds.config),
                "scenario.": lambda ds=ds: what_if(ds, "2025-06", 0.3, None, 0.9),
                "backtest.": lambda ds=ds: backtest(ds).summary,
            }
            for name, fn in figures.items():
                if not key.startswith((name, "revenue.")):
                    continue
                try:
                    json.dumps(fn(), allow_nan=False, default=str)
                except CsMetricsError:
                    pass
                except Exception as e:  # noqa: BLE001 - collected and reported below
                    failures.append(f"{key}={value} {name}: {type(e).__name__}: {e}"[:200])
    assert not failures, "\n".join(failures)


def test_a_discount_rate_below_the_floor_is_refused_naming_the_key():
    for rate in (1e-9, 1e-6, 0.001, 0.0):
        with pytest.raises(ConfigError, match="ltv.annual_discount_rate"):
            load_config({"ltv": {"annual_discount_rate": rate}})
    assert load_config({"ltv": {"annual_discount_rate": 0.01}})["ltv"]["annual_discount_rate"]
