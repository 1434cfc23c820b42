"""The shifted-beta-geometric (sBG) retention model (Fader & Hardie 2007, 2010).

Each customer churns at the end of any period with probability θ (constant for that customer);
θ varies across customers as Beta(α, β). Then, for t = 1, 2, ...:

- ``P(T = t) = B(α + 1, β + t - 1) / B(α, β)`` (churn in period t),
- ``S(t) = B(α, β + t) / B(α, β)`` (alive after t periods), ``S(0) = 1``,
- ``r(t) = (β + t - 1) / (α + β + t - 1)`` (retention rate from t-1 to t).

Values (Fader & Hardie 2010, "Customer-Base Valuation in a Contractual Setting: The Perils of
Ignoring Heterogeneity", Marketing Science 29(1)), per unit of payment made at the start of each
period, with discount rate d per period:

- ``DEL(d) = Σ_{t≥0} S(t) / (1+d)^t = 2F1(1, β; α+β; 1/(1+d))`` (a new customer);
- ``DERL(d | n-1 renewals) = Σ_{t≥n} S(t)/S(n-1) / (1+d)^{t-n}
  = (β+n-1)/(α+β+n-1) · 2F1(1, β+n; α+β+n; 1/(1+d))`` — the expected discounted residual
  lifetime value of a customer who has made ``renewals = n - 1`` renewals (a new one has 0),
  valued just before its next renewal.

Both closed forms are checked against long brute-force sums in ``tests/test_sbg.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special


@dataclass
class SBGFit:
    """A maximum-likelihood sBG fit."""

    alpha: float
    beta: float
    log_likelihood: float
    se_alpha: float | None
    se_beta: float | None
    n_customers: int
    n_periods: int
    converged: bool
    notes: list[str] = field(default_factory=list)

    def survival(self, t: int | Sequence[int] | np.ndarray) -> np.ndarray:
        return sbg_survival(self.alpha, self.beta, t)

    def retention(self, t: int | Sequence[int] | np.ndarray) -> np.ndarray:
        return sbg_retention(self.alpha, self.beta, t)

    def to_dict(self) -> dict:
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "log_likelihood": self.log_likelihood,
            "se_alpha": self.se_alpha,
            "se_beta": self.se_beta,
            "n_customers": self.n_customers,
            "n_periods": self.n_periods,
            "converged": self.converged,
            "notes": list(self.notes),
        }


def sbg_survival(alpha: float, beta: float, t: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """S(t) = B(α, β+t) / B(α, β) (t = 0 gives 1)."""
    t = np.asarray(t, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.exp(special.betaln(alpha, beta + t) - special.betaln(alpha, beta))
    return np.clip(np.nan_to_num(s, nan=0.0), 0.0, 1.0)


def sbg_retention(alpha: float, beta: float, t: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """r(t) = (β + t - 1) / (α + β + t - 1) for t >= 1."""
    t = np.asarray(t, dtype=float)
    return (beta + t - 1) / (alpha + beta + t - 1)


def _cohort_ll(alpha: float, beta: float, alive: np.ndarray) -> float:
    n = len(alive) - 1
    if n < 1:
        return 0.0
    t = np.arange(1, n + 1)
    lost = alive[:-1] - alive[1:]
    log_p = special.betaln(alpha + 1, beta + t - 1) - special.betaln(alpha, beta)
    log_s = special.betaln(alpha, beta + n) - special.betaln(alpha, beta)
    return float(np.sum(lost * log_p) + alive[-1] * log_s)


def sbg_log_likelihood(alpha: float, beta: float, cohorts: Sequence[Sequence[float]]) -> float:
    """Log-likelihood of several cohorts' counts alive at t = 0, 1, ..., n (n may differ)."""
    return sum(_cohort_ll(alpha, beta, np.asarray(c, dtype=float)) for c in cohorts)


def _check(alive: Sequence[float]) -> np.ndarray:
    a = np.asarray(alive, dtype=float)
    if a.ndim != 1 or len(a) < 1 or np.any(a < 0) or np.any(np.diff(a) > 0):
        raise ValueError("alive counts must be a non-increasing sequence of non-negative numbers")
    return a


def fit_sbg_cohorts(cohorts: Sequence[Sequence[float]]) -> SBGFit:
    """Maximum-likelihood α, β from several cohorts (alive counts at t = 0..n each).

    Optimises log α, log β (so both stay positive) from several starting points with
    Nelder-Mead then L-BFGS-B, and keeps the best. Standard errors come from the numerical
    Hessian of the log-likelihood on the log scale (delta method). Awkward data (no churn at
    all, or everyone churned at once) still returns a fit, with a note.
    """
    cs = [_check(c) for c in cohorts if len(c) >= 1]
    cs = [c for c in cs if c[0] > 0]
    notes: list[str] = []
    if not cs:
        raise ValueError("no cohort with customers")
    n_cust = int(sum(c[0] for c in cs))
    n_per = int(max(len(c) - 1 for c in cs))
    lost = sum(float(c[0] - c[-1]) for c in cs)
    if n_per == 0:
        raise ValueError("at least one period of observation is needed")
    if lost == 0:
        notes.append("no churn observed: beta is unbounded; the fit is a lower bound on retention")

    # Sufficient statistics: churned in period t (summed over cohorts) and, per cohort length n,
    # the customers still alive at the end; one evaluation is then O(max n), not O(cohorts x n).
    lost_t = np.zeros(n_per + 1)
    alive_end = np.zeros(n_per + 1)
    for c in cs:
        n = len(c) - 1
        lost_t[1 : n + 1] += c[:-1] - c[1:]
        alive_end[n] += c[-1]
    t_all = np.arange(1, n_per + 1)
    n_all = np.arange(0, n_per + 1)

    def nll(p: np.ndarray) -> float:
        a, b = math.exp(p[0]), math.exp(p[1])
        base = special.betaln(a, b)
        log_p = special.betaln(a + 1, b + t_all - 1) - base
        log_s = special.betaln(a, b + n_all) - base
        v = -(float(np.dot(lost_t[1:], log_p)) + float(np.dot(alive_end, log_s)))
        return v if math.isfinite(v) else 1e300

    best = None
    with np.errstate(all="ignore"):
        for start in ((0.0, 0.0), (-1.0, 1.0), (1.0, 2.0), (-0.5, 3.0), (0.5, -0.5)):
            r1 = optimize.minimize(
                nll,
                np.array(start),
                method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 4000},
            )
            r2 = optimize.minimize(nll, r1.x, method="L-BFGS-B", bounds=[(-12, 12), (-12, 12)])
            r = r2 if r2.fun <= r1.fun else r1
            if best is None or r.fun < best.fun:
                best = r
    assert best is not None
    la, lb = best.x
    alpha, beta = math.exp(la), math.exp(lb)
    eps = 1e-6
    grad = [
        (nll(best.x + np.eye(2)[i] * eps) - nll(best.x - np.eye(2)[i] * eps)) / (2 * eps)
        for i in range(2)
    ]
    converged = bool(max(abs(g) for g in grad) < 1e-2)
    if max(la, lb) > 9:
        notes.append(
            "alpha and beta are very large: no heterogeneity detected, retention is close to "
            "a constant rate (geometric)"
        )
    se_a = se_b = None
    try:
        h = _hessian(nll, best.x)
        cov = np.linalg.inv(h)
        if np.all(np.diag(cov) > 0):
            se_a = float(alpha * math.sqrt(cov[0, 0]))
            se_b = float(beta * math.sqrt(cov[1, 1]))
    except np.linalg.LinAlgError:
        notes.append("standard errors unavailable (singular Hessian)")
    return SBGFit(alpha, beta, -float(best.fun), se_a, se_b, n_cust, n_per, converged, notes)


def fit_sbg(alive: Sequence[float]) -> SBGFit:
    """Fit one cohort's counts alive at t = 0, 1, ..., n (e.g. 1000, 869, 743, ...)."""
    return fit_sbg_cohorts([alive])


def _hessian(f, x: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei, ej = np.eye(n)[i] * eps, np.eye(n)[j] * eps
            h[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * eps * eps
            )
    return h


def sbg_del(alpha: float, beta: float, discount: float) -> float:
    """Discounted expected lifetime (in payments) of a new customer: 2F1(1, β; α+β; 1/(1+d))."""
    if discount <= 0:
        raise ValueError("discount must be > 0 (the sum diverges for d <= 0 when beta >= alpha)")
    return float(special.hyp2f1(1.0, beta, alpha + beta, 1.0 / (1.0 + discount)))


def sbg_derl(alpha: float, beta: float, discount: float, renewals: int) -> float:
    """Discounted expected residual lifetime (in payments) after ``renewals`` renewals.

    ``(β+n-1)/(α+β+n-1) · 2F1(1, β+n; α+β+n; 1/(1+d))`` with ``n = renewals + 1``.
    """
    if discount <= 0:
        raise ValueError("discount must be > 0")
    if renewals < 0:
        raise ValueError("renewals must be >= 0")
    n = renewals + 1
    return float(
        (beta + n - 1)
        / (alpha + beta + n - 1)
        * special.hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + discount))
    )
