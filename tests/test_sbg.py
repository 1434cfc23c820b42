"""sBG model: Fader & Hardie (2007) numbers, the bounded (theta, phi) fit that cannot break,
the LR test against the geometric model, lifetimes against independent brute-force sums."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cs_metrics.errors import ModelError
from cs_metrics.models.sbg import (
    alpha_beta,
    discounted_sums,
    fit_sbg,
    fit_sbg_cohorts,
    sbg_del,
    sbg_derl,
    sbg_log_likelihood,
    sbg_retention,
    sbg_survival,
    theta_phi,
)

HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
D10 = 1.1 ** (1 / 12) - 1  # the monthly rate of a 10% annual discount (the default config)


def test_fader_hardie_2007_high_end():
    f = fit_sbg(HIGH_END)
    assert f.model == "sbg" and f.lr_p_value < 0.05
    assert f.alpha == pytest.approx(0.668, abs=1e-3)
    assert f.beta == pytest.approx(3.806, abs=1e-3)
    assert f.log_likelihood == pytest.approx(-1611.16, abs=1e-2)
    # projected survival for years 8-12: 46.0%, 43.6%, 41.4%, 39.5%, 37.8%
    s = f.survival(np.arange(8, 13))
    assert s == pytest.approx([0.460, 0.436, 0.414, 0.395, 0.378], abs=1e-3)
    assert f.se_alpha and f.se_beta and f.converged
    assert (f.theta, f.phi) == pytest.approx(theta_phi(f.alpha, f.beta))
    # docs/metrics.md §6a: theta, phi, the geometric alternative and the LR statistic
    assert (f.theta, f.phi) == pytest.approx((0.149, 0.183), abs=1e-3)
    assert f.ll_geometric == pytest.approx(-1637.09, abs=1e-2)
    assert f.lr_statistic == pytest.approx(51.87, abs=1e-2)
    assert f.expected_lifetime(0.1) == pytest.approx(5.92, abs=1e-2)


def test_fader_hardie_2007_regular():
    f = fit_sbg(REGULAR)
    assert f.alpha == pytest.approx(0.704, abs=1e-3)
    assert f.beta == pytest.approx(1.182, abs=1e-3)
    assert f.log_likelihood == pytest.approx(-1680.27, abs=1e-2)
    assert sbg_log_likelihood(f.alpha, f.beta, [REGULAR]) == pytest.approx(f.log_likelihood)


def test_parameterisation_round_trip_and_geometric_limit():
    t, p = theta_phi(0.668, 3.806)
    assert alpha_beta(t, p) == pytest.approx((0.668, 3.806))
    assert alpha_beta(0.05, 0.0) is None
    # huge alpha, beta (the old fit's runaway values) are a plain geometric model
    t, p = theta_phi(1e16, 3e17)
    assert p < 1e-17 and t == pytest.approx(1 / 31)
    assert sbg_del(1e16, 3e17, D10) == pytest.approx((1 + D10) / (D10 + 1 / 31), rel=1e-9)


def test_multi_cohort_fit_equals_sum_of_likelihoods():
    # two cohorts of different ages drawn from the High End segment
    f = fit_sbg_cohorts([HIGH_END, HIGH_END[:4]])
    assert 0.3 < f.alpha < 1.5 and 2 < f.beta < 8
    assert f.n_periods == 7 and f.n_customers == 2000
    ll = sbg_log_likelihood(f.alpha, f.beta, [HIGH_END]) + sbg_log_likelihood(
        f.alpha, f.beta, [HIGH_END[:4]]
    )
    assert f.log_likelihood == pytest.approx(ll, rel=1e-12)


def _finite_positive(x) -> bool:
    return x is not None and math.isfinite(x) and x > 0


@pytest.mark.parametrize(
    "cohorts,codes",
    [
        ([[100, 100, 100, 100]], {"sbg_no_churn"}),  # nobody churned
        ([[100, 0]], {"sbg_all_churned_first", "sbg_one_period"}),  # everyone churned at once
        ([[50, 0, 0, 0], [30, 0]], {"sbg_all_churned_first"}),
        ([[1, 1]], {"sbg_no_churn", "sbg_one_period"}),  # one customer
        ([[1, 0]], {"sbg_all_churned_first"}),
        ([[40, 31]], {"sbg_one_period", "sbg_geometric"}),  # one period
        ([[5, 5, 5, 4]], {"sbg_geometric"}),
    ],
)
def test_awkward_cohorts_give_a_finite_fit_and_lifetime(cohorts, codes):
    f = fit_sbg_cohorts(cohorts)
    assert codes <= {c for c, _ in f.notes}
    assert math.isfinite(f.log_likelihood) and f.log_likelihood <= 0
    assert 0 < f.theta < 1 and 0 <= f.phi < 1
    v = f.for_valuation()
    assert _finite_positive(v.expected_lifetime(D10))
    assert _finite_positive(v.residual_lifetime(D10, 3))
    json.dumps(f.to_dict("ja"), allow_nan=False)
    json.dumps(f.to_dict("en"), allow_nan=False)


def test_no_churn_values_are_a_lower_bound_at_the_upper_churn_bound():
    f = fit_sbg([100, 100, 100])  # 200 periods at risk, no churn
    up = 1 - 0.05 ** (1 / 200)
    assert f.theta_upper_no_churn == pytest.approx(up)
    v = f.for_valuation()
    assert v.theta == pytest.approx(up) and v.model == "geometric"
    assert v.expected_lifetime(D10) == pytest.approx((1 + D10) / (D10 + up))
    assert "下限" in f.note_texts("ja")[0] and "lower bound" in f.note_texts("en")[0]


def test_everyone_churning_in_period_one_is_one_payment():
    f = fit_sbg([30, 0])
    assert f.log_likelihood == 0.0 and f.model == "geometric"
    assert f.expected_lifetime(D10) == pytest.approx(1.0, abs=1e-9)


def test_invalid_counts_are_refused():
    with pytest.raises(ValueError):
        fit_sbg([10, 12])
    with pytest.raises(ModelError) as e:
        fit_sbg([0, 0])
    assert e.value.code == "sbg_no_customers"
    with pytest.raises(ModelError) as e:
        fit_sbg([10])
    assert e.value.code == "sbg_no_period"


def test_constant_churn_selects_geometric_with_its_closed_form():
    rng = np.random.default_rng(7)
    cohorts = []
    for n in range(3, 30):  # 27 cohorts of 60 accounts, each losing 4% a month
        t = rng.geometric(0.04, size=60)
        cohorts.append([int((t > k).sum()) for k in range(n + 1)])
    f = fit_sbg_cohorts(cohorts)
    assert f.model == "geometric" and f.phi == 0 and f.alpha is None
    assert f.theta == pytest.approx(0.04, rel=0.15)
    assert f.expected_lifetime(D10) == pytest.approx((1 + D10) / (D10 + f.theta), rel=1e-12)
    assert f.residual_lifetime(D10, 5) == pytest.approx(
        (1 - f.theta) * (1 + D10) / (D10 + f.theta), rel=1e-12
    )
    text = f.note_texts("ja")[0]
    assert "顧客間のばらつきは検出されず、一定の月次解約率" in text and f"{f.theta:.2%}" in text
    assert "yearly" in f.note_texts("en", period_months=12)[0]
    # the lifetime of the truth (4% a month) is within a few percent
    assert f.expected_lifetime(D10) == pytest.approx((1 + D10) / (D10 + 0.04), rel=0.1)


def test_near_constant_churn_lifetime_is_close_to_geometric():
    # the pattern that broke the old fit: every cohort loses about the same share (4-6%) each
    # month; the lifetime is within a few percent of the geometric value at 5%
    for seed in range(4):
        rng = np.random.default_rng(seed)
        cohorts = []
        for n in range(3, 37):
            c = [200]
            for _ in range(n):
                c.append(c[-1] - round(c[-1] * rng.uniform(0.04, 0.06)))
            cohorts.append(c)
        f = fit_sbg_cohorts(cohorts)
        assert math.isfinite(f.log_likelihood) and f.log_likelihood <= 0
        assert f.expected_lifetime(D10) == pytest.approx((1 + D10) / (D10 + 0.05), rel=0.03)


def test_heterogeneous_cohorts_select_sbg():
    # half the customers churn 30% a month, half 1%: clearly not one constant rate
    rng = np.random.default_rng(11)
    th = np.where(rng.random(3000) < 0.5, 0.3, 0.01)
    t = rng.geometric(th)
    f = fit_sbg([int((t > k).sum()) for k in range(13)])
    assert f.model == "sbg" and f.lr_p_value < 1e-6 and f.phi > 0.05
    assert "sBG" in f.note_texts("en")[0]


# ---- lifetimes against independent sums ------------------------------------------------------


def _brute(a, b, d, n, horizon=30000):
    """Σ_{t≥n} S(t)/S(n-1) / (1+d)^(t-n) by the plain ratio recursion in α, β (math.fsum)."""
    s, terms = 1.0, []  # s = S(t)/S(n-1)
    for t in range(n, n + horizon):
        s *= (b + t - 1) / (a + b + t - 1)
        terms.append(s / (1 + d) ** (t - n))
        if s / (1 + d) ** (t - n) < 1e-18:
            break
    return math.fsum(terms)


@pytest.mark.parametrize(
    "a,b",
    [(0.668, 3.806), (0.704, 1.182), (2.0, 5.0), (0.3, 0.8), (10.0, 320.0), (20.0, 600.0)],
)
@pytest.mark.parametrize("d", [0.1, 0.01, 0.0080, D10])
def test_del_and_derl_equal_brute_force(a, b, d):
    assert sbg_del(a, b, d) == pytest.approx(1 + _brute(a, b, d, 1) / (1 + d), rel=1e-8)
    for renewals in (0, 1, 4, 11, 12, 40):
        assert sbg_derl(a, b, d, renewals) == pytest.approx(_brute(a, b, d, renewals + 1), rel=1e-8)


def test_whole_number_parameters_are_finite_cross_check_values():
    # scipy's hyp2f1 returned NaN here; the independent cross-check found 27.978 and 25.408
    assert sbg_del(10, 320, D10) == pytest.approx(27.978, abs=1e-3)
    assert sbg_derl(20, 600, D10, 11) == pytest.approx(25.408, abs=1e-3)


def test_derl_of_a_new_customer_and_known_relation():
    a, b, d = 0.668, 3.806, 0.1
    # a new customer (0 renewals): DERL = S(1) * sum over the following periods = DEL - 1 (undiscounted first)
    assert sbg_derl(a, b, d, 0) == pytest.approx((sbg_del(a, b, d) - 1) * (1 + d), rel=1e-9)


def test_summation_path_matches_the_geometric_closed_form():
    # weights of 1 force the term-by-term sum; it must agree with (1-θ)(1+d)/(d+θ)
    for theta, d in ((0.05, D10), (0.001, 0.001), (0.9, 0.5)):
        got = discounted_sums(np.array([theta]), np.array([0.0]), d, np.array([1, 7]), np.ones(1))
        assert got == pytest.approx((1 - theta) * (1 + d) / (d + theta), rel=1e-9)


def test_discount_must_be_positive():
    with pytest.raises(ValueError):
        sbg_del(1, 2, 0.0)
    with pytest.raises(ValueError):
        sbg_derl(1, 2, 0.1, -1)


def test_retention_is_ratio_of_survivals():
    a, b = 0.668, 3.806
    t = np.arange(1, 10)
    assert sbg_retention(a, b, t) == pytest.approx(
        sbg_survival(a, b, t) / sbg_survival(a, b, t - 1)
    )
    f = fit_sbg(HIGH_END)
    assert f.retention(t) == pytest.approx(f.survival(t) / f.survival(t - 1))


def test_bootstrap_is_seeded_and_centred():
    f = fit_sbg_cohorts([HIGH_END, HIGH_END[:4]])
    t1, p1 = f.bootstrap(200, seed=5)
    t2, p2 = f.bootstrap(200, seed=5)
    assert np.array_equal(t1, t2) and np.array_equal(p1, p2)
    assert np.percentile(t1, 2.5) < f.theta < np.percentile(t1, 97.5)
    assert np.std(t1) == pytest.approx(f.se_theta, rel=0.3)
    g = fit_sbg([500, 475, 451, 428])
    tg, pg = g.bootstrap(100, seed=1)
    assert g.model == "geometric" and np.all(pg == 0) and np.all((tg > 0) & (tg < 1))


# ---- properties over random cohorts ---------------------------------------------------------


@st.composite
def cohorts(draw):
    out = []
    for _ in range(draw(st.integers(1, 6))):
        n0 = draw(st.integers(1, 400))
        counts = [n0]
        for _ in range(draw(st.integers(1, 15))):
            counts.append(draw(st.integers(0, counts[-1])))
        out.append(counts)
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cs=cohorts())
def test_any_cohorts_fit_finite_with_log_likelihood_at_most_zero(cs):
    f = fit_sbg_cohorts(cs)
    assert math.isfinite(f.log_likelihood) and f.log_likelihood <= 0
    assert f.ll_sbg >= f.ll_geometric - 1e-9  # the geometric model is nested in sBG
    assert 0 < f.theta < 1 and 0 <= f.phi < 1
    assert 0 <= f.lr_p_value <= 1
    v = f.for_valuation()
    for d in (D10, 0.1):
        life = v.expected_lifetime(d)
        assert _finite_positive(life) and life <= (1 + d) / d + 1e-6
        res = v.residual_lifetime(d, [0, 3, 20])
        assert np.all(np.isfinite(res)) and np.all(res >= 0)
    json.dumps(f.to_dict(), allow_nan=False)
