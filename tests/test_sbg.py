"""sBG model against Fader & Hardie (2007) and brute-force DEL/DERL sums."""

from __future__ import annotations

import numpy as np
import pytest

from cs_metrics.models.sbg import (
    fit_sbg,
    fit_sbg_cohorts,
    sbg_del,
    sbg_derl,
    sbg_retention,
    sbg_survival,
)

HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]


def test_fader_hardie_2007_high_end():
    f = fit_sbg(HIGH_END)
    assert f.alpha == pytest.approx(0.668, abs=1e-3)
    assert f.beta == pytest.approx(3.806, abs=1e-3)
    assert f.log_likelihood == pytest.approx(-1611.16, abs=1e-2)
    # projected survival for years 8-12: 46.0%, 43.6%, 41.4%, 39.5%, 37.8%
    s = f.survival(np.arange(8, 13))
    assert s == pytest.approx([0.460, 0.436, 0.414, 0.395, 0.378], abs=1e-3)
    assert f.se_alpha and f.se_beta and f.converged


def test_fader_hardie_2007_regular():
    f = fit_sbg(REGULAR)
    assert f.alpha == pytest.approx(0.704, abs=1e-3)
    assert f.beta == pytest.approx(1.182, abs=1e-3)
    assert f.log_likelihood == pytest.approx(-1680.27, abs=1e-2)


def test_multi_cohort_fit_equals_sum_of_likelihoods():
    # two cohorts of different ages drawn from the High End segment
    f = fit_sbg_cohorts([HIGH_END, HIGH_END[:4]])
    assert 0.3 < f.alpha < 1.5 and 2 < f.beta < 8
    assert f.n_periods == 7 and f.n_customers == 2000


def test_awkward_data_does_not_fail():
    f = fit_sbg([100, 100, 100, 100])  # nobody churned
    assert f.notes and np.isfinite(f.log_likelihood)
    g = fit_sbg([100, 0])  # everybody churned at once
    assert np.isfinite(g.alpha) and np.isfinite(g.beta)
    with pytest.raises(ValueError):
        fit_sbg([10, 12])


def test_retention_is_ratio_of_survivals():
    a, b = 0.668, 3.806
    t = np.arange(1, 10)
    assert sbg_retention(a, b, t) == pytest.approx(
        sbg_survival(a, b, t) / sbg_survival(a, b, t - 1)
    )


def _brute_del(a, b, d, horizon=20000):
    t = np.arange(0, horizon)
    return float(np.sum(sbg_survival(a, b, t) * np.exp(-t * np.log1p(d))))


def _brute_derl(a, b, d, renewals, horizon=20000):
    n = renewals + 1
    t = np.arange(n, n + horizon)
    return float(
        np.sum(sbg_survival(a, b, t) / sbg_survival(a, b, n - 1) * np.exp(-(t - n) * np.log1p(d)))
    )


@pytest.mark.parametrize("a,b", [(0.668, 3.806), (0.704, 1.182), (2.0, 5.0), (0.3, 0.8)])
@pytest.mark.parametrize("d", [0.1, 0.01, 0.0080])
def test_del_and_derl_closed_forms_equal_brute_force(a, b, d):
    assert sbg_del(a, b, d) == pytest.approx(_brute_del(a, b, d), rel=1e-6)
    for renewals in (0, 1, 4, 12):
        assert sbg_derl(a, b, d, renewals) == pytest.approx(
            _brute_derl(a, b, d, renewals), rel=1e-6
        )


def test_derl_of_a_new_customer_and_known_relation():
    a, b, d = 0.668, 3.806, 0.1
    # a new customer (0 renewals): DERL = S(1) * sum over the following periods = DEL - 1 (undiscounted first)
    assert sbg_derl(a, b, d, 0) == pytest.approx((sbg_del(a, b, d) - 1) * (1 + d), rel=1e-9)
