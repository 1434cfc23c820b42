"""The shifted-beta-geometric (sBG) retention model (Fader & Hardie 2007, 2010), fitted so that it
cannot break.

Each customer churns at the end of any period with probability θ_i (constant for that customer);
θ_i varies across customers as Beta(α, β). We work in the bounded parameters

- ``theta = α / (α + β)`` in (0, 1): the mean churn rate per period;
- ``phi = 1 / (α + β + 1)`` in [0, 1): the polarisation (how much customers differ).

``phi = 0`` is the homogeneous limit: every customer churns with the same rate θ (the geometric
model). The hazard of period u (churn in u given alive after u - 1) is

    h(u) = α / (α + β + u - 1) = θ (1 - φ) / (1 + (u - 2) φ),   h(1) = θ,

and everything is built from it in log space (no difference of ``betaln`` at huge arguments):

- ``log S(t) = Σ_{u ≤ t} log1p(-h(u))`` (alive after t periods, S(0) = 1), i.e. the recursion
  S(t) = S(t-1) (β + t - 1) / (α + β + t - 1);
- ``log P(T = t) = log S(t - 1) + log h(t)``, i.e. P(T = 1) = α/(α+β) and
  P(T = t) = P(T = t-1) (β + t - 2) / (α + β + t - 1).

Every term is the log of a number in (0, 1], so the log-likelihood is always <= 0.

The model is chosen by a likelihood-ratio test of φ = 0 (geometric) against φ > 0 (sBG). φ = 0
lies on the boundary, so the statistic's null distribution is ½χ²₀ + ½χ²₁ (Self & Liang 1987):
``p = ½ P(χ²₁ > 2 (LL_sBG - LL_geo))``. sBG is used when p < ``LR_TEST_LEVEL``; otherwise the
geometric fit (stated in the fit's notes).

Values, per unit of payment made at the start of each period, discount d per period (Fader &
Hardie 2010, "Customer-Base Valuation in a Contractual Setting"):

- ``DEL(d) = Σ_{t ≥ 0} S(t) / (1+d)^t`` (a new customer; = 2F1(1, β; α+β; 1/(1+d)));
- ``DERL(d | n-1 renewals) = Σ_{t ≥ n} S(t)/S(n-1) / (1+d)^{t-n}`` (a customer who has made
  ``renewals = n - 1`` renewals, valued just before the next one).

Geometric case: DEL = (1+d)/(d+θ), DERL = (1-θ)(1+d)/(d+θ). Otherwise the sums are evaluated
term by term in log space until the remaining tail is below ``SUM_RTOL`` of the value; the tail
after T terms is bounded by ``w_max S(T)/S(n-1) (1+d)^{-(T-n)} (1+d)/d`` because S is
non-increasing, so the stated truncation error is a bound, not an estimate. No hypergeometric
function is evaluated, so whole-number parameters (α = 10, β = 320) are as good as any.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from cs_metrics.errors import ModelError
from cs_metrics.messages import message, reason_fields

__all__ = [
    "LR_TEST_LEVEL",
    "SUM_RTOL",
    "SBGFit",
    "alpha_beta",
    "discounted_sums",
    "fit_sbg",
    "fit_sbg_cohorts",
    "fit_sbg_counts",
    "sbg_del",
    "sbg_derl",
    "sbg_log_likelihood",
    "sbg_retention",
    "sbg_survival",
    "theta_phi",
]

LR_TEST_LEVEL = 0.05  # sBG is used over the geometric model when the LR test's p < this
SUM_RTOL = 1e-10  # lifetime sums stop when the bounded remaining tail is below this share
THETA_MIN = 1e-12  # theta bounds: (0, 1) open, kept away from the ends by this margin
PHI_MAX = 1.0 - 1e-9
_MAX_TERMS = 50_000_000  # a sum needing more terms than this is refused (d absurdly small)
_CELLS = 4_000_000  # parameter draws x terms evaluated per batch

# Note codes and their texts ({x}: a percentage; {p}: a p-value; {e}: periods at risk).


_UNITS = {
    (1, "ja"): "月次",
    (12, "ja"): "年次",
    (0, "ja"): "期間あたりの",
    (1, "en"): "monthly",
    (12, "en"): "yearly",
    (0, "en"): "per-period",
}


# ---- parameterisation ---------------------------------------------------------------------------


def theta_phi(alpha: float, beta: float) -> tuple[float, float]:
    """(θ, φ) = (α/(α+β), 1/(α+β+1)) of positive α, β."""
    if not (alpha > 0 and beta > 0 and math.isfinite(alpha) and math.isfinite(beta)):
        raise ValueError("alpha and beta must be finite and > 0")
    return alpha / (alpha + beta), 1.0 / (alpha + beta + 1.0)


def alpha_beta(theta: float, phi: float) -> tuple[float, float] | None:
    """(α, β) of (θ, φ); None in the geometric limit φ = 0 (α and β are unbounded there)."""
    if phi <= 0:
        return None
    k = (1.0 - phi) / phi  # α + β
    return theta * k, (1.0 - theta) * k


def _hazard(theta: np.ndarray, phi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """h(u) = θ(1-φ)/(1+(u-2)φ), h(1) = θ; broadcasts (draws, 1) against (1, terms)."""
    h = theta * (1.0 - phi) / (1.0 + (u - 2.0) * phi)
    return np.where(u == 1, theta, h)


def _log_survival(theta: float, phi: float, tmax: int) -> np.ndarray:
    """log S(t) for t = 0..tmax."""
    u = np.arange(1, tmax + 1, dtype=float)
    out = np.zeros(tmax + 1)
    out[1:] = np.cumsum(np.log1p(-_hazard(np.float64(theta), np.float64(phi), u)))
    return out


# ---- likelihood ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Counts:
    """Sufficient statistics: ``lost[n, t]`` customers of cohorts observed for n periods who
    churned in period t (1 <= t <= n) and ``alive[n]`` still alive after their n periods."""

    lost: np.ndarray
    alive: np.ndarray

    @property
    def n_max(self) -> int:
        return len(self.alive) - 1

    @property
    def lost_t(self) -> np.ndarray:  # churned in period t, t = 1..n_max
        return self.lost.sum(axis=0)[1:]

    @property
    def risk(self) -> np.ndarray:  # R_u, u = 1..n_max
        return _at_risk(self.lost_t, self.alive)

    @property
    def sizes(self) -> np.ndarray:  # customers per cohort length n
        return self.lost.sum(axis=1) + self.alive

    @property
    def churned(self) -> float:
        return float(self.lost.sum())

    @property
    def exposure(self) -> float:
        """Periods at risk: a churner in t contributes t, a survivor after n periods n."""
        t = np.arange(self.n_max + 1)
        return float(self.lost.sum(axis=0) @ t + self.alive @ t)


def _at_risk(lost_t: np.ndarray, alive: np.ndarray) -> np.ndarray:
    """R_u = customers who survived period u (churned later, or alive after n >= u periods);
    works on (..., n) arrays. The log-likelihood is Σ_u R_u log(1 - h(u)) + lost_u log h(u)."""
    later = np.cumsum(lost_t[..., ::-1], axis=-1)[..., ::-1]
    later = np.concatenate([later[..., 1:], np.zeros_like(later[..., :1])], axis=-1)
    alive_from = np.cumsum(alive[..., ::-1], axis=-1)[..., ::-1][..., 1:]
    return later + alive_from


def _ll_grad_hess(
    x: np.ndarray, risk: np.ndarray, lost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-likelihood, gradient and Hessian in (θ, φ) for B data sets at once.

    ``x`` (B, 2); ``risk``, ``lost`` (B, n) with R_u and churned in u. With L = log h:
    ∂L/∂θ = 1/θ, ∂L/∂φ = -1/(1-φ) - (u-2)/D, ∂²L/∂θ² = -1/θ², ∂²L/∂φ² = -1/(1-φ)² + (u-2)²/D²
    (D = 1 + (u-2)φ), and d log(1-h) = -h/(1-h) dL.
    """
    theta, phi = x[:, :1], x[:, 1:]
    u = np.arange(1, risk.shape[1] + 1, dtype=float)[None, :]
    den = 1.0 + (u - 2.0) * phi
    h = _hazard(theta, phi, u)
    lt, lp = 1.0 / theta, -1.0 / (1.0 - phi) - (u - 2.0) / den
    ltt, lpp = -1.0 / theta**2, -1.0 / (1.0 - phi) ** 2 + ((u - 2.0) / den) ** 2
    q = h / (1.0 - h)
    log_h = np.log(h)
    ll = np.sum(np.where(risk > 0, risk * np.log1p(-h), 0.0), axis=1)
    ll += np.sum(np.where(lost > 0, lost * log_h, 0.0), axis=1)
    w1 = lost - risk * q  # weight of dL in the gradient
    w2 = -risk * q / (1.0 - h)  # weight of dL dL' in the Hessian
    grad = np.stack([np.sum(w1 * lt, axis=1), np.sum(w1 * lp, axis=1)], axis=1)
    hess = np.empty((x.shape[0], 2, 2))
    hess[:, 0, 0] = np.sum(w2 * lt * lt + w1 * ltt, axis=1)
    hess[:, 1, 1] = np.sum(w2 * lp * lp + w1 * lpp, axis=1)
    hess[:, 0, 1] = hess[:, 1, 0] = np.sum(w2 * lt * lp, axis=1)
    return np.minimum(ll, 0.0), grad, hess


_LO = np.array([THETA_MIN, 0.0])
_HI = np.array([1.0 - THETA_MIN, PHI_MAX])


def _ml_fit(
    risk: np.ndarray, lost: np.ndarray, x0: np.ndarray, max_iter: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bounded maximum likelihood for B data sets at once: damped Newton (Levenberg-Marquardt)
    steps projected on the box θ in [ε, 1-ε], φ in [0, 1-ε]; a variable on a bound whose
    gradient points outward is held there. Returns (x, ll, converged), one row per data set."""
    x = np.clip(np.asarray(x0, dtype=float), _LO, _HI)
    ll, g, hh = _ll_grad_hess(x, risk, lost)
    lam = np.full(len(x), 1e-4)
    done = np.zeros(len(x), dtype=bool)
    for _ in range(max_iter):
        i = np.flatnonzero(~done)
        if i.size == 0:
            break
        held = ((x[i] <= _LO) & (g[i] < 0)) | ((x[i] >= _HI) & (g[i] > 0))
        a = -hh[i]
        tr = np.abs(a[:, 0, 0]) + np.abs(a[:, 1, 1]) + 1e-300
        disc = np.sqrt((a[:, 0, 0] - a[:, 1, 1]) ** 2 + 4 * a[:, 0, 1] ** 2)
        shift = np.maximum(0.0, -(a[:, 0, 0] + a[:, 1, 1] - disc) / 2) + lam[i] * tr
        a = a + shift[:, None, None] * np.eye(2)[None]
        a[:, 0, 1] = np.where(held.any(axis=1), 0.0, a[:, 0, 1])
        a[:, 1, 0] = a[:, 0, 1]
        gi = np.where(held, 0.0, g[i])
        step = np.linalg.solve(a, gi[:, :, None])[:, :, 0]
        xn = np.clip(x[i] + step, _LO, _HI)
        lln, gn, hn = _ll_grad_hess(xn, risk[i], lost[i])
        better = lln >= ll[i]
        moved = np.max(np.abs(xn - x[i]), axis=1)
        gain = lln - ll[i]
        j = i[better]
        x[j], ll[j], g[j], hh[j] = xn[better], lln[better], gn[better], hn[better]
        lam[j] = np.maximum(lam[j] / 10, 1e-12)
        lam[i[~better]] *= 10
        small = (moved < 1e-12) | (
            better & (gain <= 1e-14 * (1.0 + np.abs(ll[i]))) & (moved < 1e-8)
        )
        done[i[small | (lam[i] > 1e12)]] = True
    return x, ll, done


def _geometric_ll(churned: float, exposure: float) -> tuple[float, float]:
    """(θ̂, LL) of the geometric model: θ̂ = churned / periods at risk (LL <= 0)."""
    theta = churned / exposure if exposure else 0.0
    ll = 0.0
    if churned:
        ll += churned * math.log(theta)
    if exposure - churned and theta < 1:
        ll += (exposure - churned) * math.log1p(-theta)
    return theta, min(ll, 0.0)


def sbg_log_likelihood(alpha: float, beta: float, cohorts: Sequence[Sequence[float]]) -> float:
    """Log-likelihood (always <= 0) of several cohorts' counts alive at t = 0, 1, ..., n."""
    c = _counts_from_cohorts(cohorts)
    x = np.array([theta_phi(alpha, beta)])
    return float(_ll_grad_hess(x, c.risk[None], c.lost_t[None])[0][0])


# ---- the fit ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SBGFit:
    """A fitted retention model: sBG, or its geometric limit (``phi = 0``) when the
    likelihood-ratio test does not prefer sBG.

    ``theta`` is the mean churn per period, ``phi`` the polarisation; ``alpha``/``beta`` are
    ``None`` in the geometric case. ``notes`` are message codes (:mod:`cs_metrics.messages`) with their parameters.
    ``no_churn``: nothing churned, so any value is a lower bound (see :meth:`for_valuation`).
    """

    theta: float
    phi: float
    log_likelihood: float
    model: str
    ll_sbg: float
    ll_geometric: float
    lr_statistic: float
    lr_p_value: float
    n_customers: int
    n_periods: int
    churned: int
    exposure: float
    converged: bool
    cov: tuple[tuple[float, float], tuple[float, float]] | None
    counts: _Counts = field(repr=False, compare=False)
    notes: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()

    # -- parameters
    @property
    def alpha(self) -> float | None:
        ab = alpha_beta(self.theta, self.phi)
        return None if ab is None else ab[0]

    @property
    def beta(self) -> float | None:
        ab = alpha_beta(self.theta, self.phi)
        return None if ab is None else ab[1]

    @property
    def se_theta(self) -> float | None:
        return None if self.cov is None else math.sqrt(self.cov[0][0])

    @property
    def se_phi(self) -> float | None:
        return None if self.cov is None or self.phi <= 0 else math.sqrt(self.cov[1][1])

    def _se_ab(self) -> tuple[float, float] | None:
        if self.cov is None or self.phi <= 0:
            return None
        t, p = self.theta, self.phi
        jac = np.array([[(1 - p) / p, -t / p**2], [-(1 - p) / p, -(1 - t) / p**2]])
        v = jac @ np.array(self.cov) @ jac.T
        return (math.sqrt(v[0, 0]), math.sqrt(v[1, 1])) if v[0, 0] > 0 and v[1, 1] > 0 else None

    @property
    def se_alpha(self) -> float | None:
        se = self._se_ab()
        return None if se is None else se[0]

    @property
    def se_beta(self) -> float | None:
        se = self._se_ab()
        return None if se is None else se[1]

    @property
    def no_churn(self) -> bool:
        return self.churned == 0

    @property
    def theta_upper_no_churn(self) -> float | None:
        """With no churn in E periods at risk: the one-sided 95% upper bound 1 - 0.05^(1/E)."""
        if not self.no_churn or self.exposure <= 0:
            return None
        return -math.expm1(math.log(0.05) / self.exposure)

    @property
    def theta_lower_all_churned(self) -> float | None:
        """When every customer churned at its first chance (θ̂ = 1, a bootstrap cannot vary):
        the one-sided 95% lower bound 0.05^(1/E) of the churn rate."""
        if self.churned == 0 or self.churned < self.exposure:
            return None
        return math.exp(math.log(0.05) / self.exposure)

    # -- curves
    def survival(self, t: int | Sequence[int] | np.ndarray) -> np.ndarray:
        """S(t), alive after t periods (S(0) = 1)."""
        t = np.asarray(t, dtype=int)
        tmax = int(t.max()) if t.size else 0
        return np.exp(_log_survival(self.theta, self.phi, max(tmax, 0)))[np.clip(t, 0, None)]

    def retention(self, t: int | Sequence[int] | np.ndarray) -> np.ndarray:
        """r(t) = S(t)/S(t-1) = 1 - h(t) for t >= 1."""
        u = np.asarray(t, dtype=float)
        return 1.0 - _hazard(np.float64(self.theta), np.float64(self.phi), u)

    # -- values
    def for_valuation(self) -> SBGFit:
        """The fit used to value customers: itself, or when nothing churned the geometric fit at
        the 95% upper bound of churn (its values are lower bounds)."""
        upper = self.theta_upper_no_churn
        if upper is None:
            return self
        return replace(self, theta=max(upper, THETA_MIN), phi=0.0, model="geometric", cov=None)

    def expected_lifetime(self, discount: float, weights: np.ndarray | None = None) -> float:
        """DEL(d) = Σ_{t≥0} S(t) w(t) / (1+d)^t, in payments (w = 1: Fader & Hardie's DEL).

        Finite and positive for d > 0. Geometric without weights: (1+d)/(d+θ).
        ``weights[t]`` (e.g. observed expansion at tenure t; the last value is held beyond).
        """
        v = discounted_sums(
            np.array([self.theta]), np.array([self.phi]), discount, np.array([1]), weights
        )[0, 0]
        w0 = 1.0 if weights is None or len(weights) == 0 else float(weights[0])
        return float(w0 + v / (1.0 + discount))

    def residual_lifetime(self, discount: float, renewals: int | Sequence[int]) -> Any:
        """DERL(d | renewals) = Σ_{t≥n} S(t)/S(n-1) / (1+d)^{t-n}, n = renewals + 1 (payments).

        Geometric: (1-θ)(1+d)/(d+θ). ``renewals`` may be an array (one value per entry).
        """
        r = np.asarray(renewals, dtype=int)
        if np.any(r < 0):
            raise ValueError("renewals must be >= 0")
        uniq, inv = np.unique(r.ravel(), return_inverse=True)
        out = discounted_sums(np.array([self.theta]), np.array([self.phi]), discount, uniq + 1)
        res = out[0, inv].reshape(r.shape)
        return float(res) if res.ndim == 0 else res

    # -- uncertainty
    def bootstrap(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """A seeded parametric bootstrap of (θ, φ): ``n`` data sets simulated from this fit with
        the same cohort sizes and lengths (multinomial counts per cohort length), each refitted
        with the same model (geometric in closed form, sBG by bounded ML). Returns (θ*, φ*)."""
        rng = np.random.default_rng(seed)
        c = self.counts
        k = c.n_max
        lengths = np.arange(k + 1)
        log_s = _log_survival(self.theta, self.phi, k)
        p = np.exp(log_s[:-1]) * _hazard(
            np.float64(self.theta), np.float64(self.phi), np.arange(1, k + 1, dtype=float)
        )
        pvals = np.zeros((k + 1, k + 1))  # row n: churn in t = 1..n, then alive in the last
        mask = np.arange(1, k + 1)[None, :] <= lengths[:, None]
        pvals[:, :k] = np.where(mask, p[None, :], 0.0)
        pvals[:, :k] = np.minimum(pvals[:, :k], 1.0)
        pvals[:, k] = np.clip(1.0 - pvals[:, :k].sum(axis=1), 0.0, 1.0)
        sizes = np.rint(c.sizes).astype(np.int64)
        draws = rng.multinomial(sizes, pvals, size=(n, k + 1))  # (n, lengths, k + 1)
        lost_t = draws[:, :, :k].sum(axis=1)  # (n, k): churned in t = 1..k
        alive = draws[:, :, k]  # (n, lengths)
        t = np.arange(1, k + 1)
        churned = lost_t.sum(axis=1).astype(float)
        exposure = lost_t @ t + alive @ lengths
        if self.phi <= 0:
            th = np.divide(churned, exposure, out=np.zeros(n), where=exposure > 0)
            return np.clip(th, THETA_MIN, 1.0 - THETA_MIN), np.zeros(n)
        x0 = np.tile([self.theta, self.phi], (n, 1))
        x, _, _ = _ml_fit(_at_risk(lost_t, alive).astype(float), lost_t.astype(float), x0)
        return x[:, 0], x[:, 1]

    # -- output
    def note_texts(self, lang: str = "ja", period_months: int = 1) -> list[str]:
        """The notes as text; ``period_months`` names the period (月次 / 年次)."""
        unit = _UNITS.get((period_months, lang)) or _UNITS[(0, lang if lang == "ja" else "en")]
        return [message(code, lang, unit=unit, **dict(params)) for code, params in self.notes]

    def to_dict(self, lang: str = "ja", period_months: int = 1) -> dict[str, Any]:
        """JSON-safe: every number finite or ``null`` with a reason."""
        out: dict[str, Any] = {
            "model": self.model,
            "theta": self.theta,
            "phi": self.phi,
            "alpha": self.alpha,
            "beta": self.beta,
            "log_likelihood": self.log_likelihood,
            "log_likelihood_sbg": self.ll_sbg,
            "log_likelihood_geometric": self.ll_geometric,
            "lr_statistic": self.lr_statistic,
            "lr_p_value": self.lr_p_value,
            "se_theta": self.se_theta,
            "se_phi": self.se_phi,
            "se_alpha": self.se_alpha,
            "se_beta": self.se_beta,
            "n_customers": self.n_customers,
            "n_periods": self.n_periods,
            "churned": self.churned,
            "converged": self.converged,
            "notes": self.note_texts(lang, period_months),
            "note_codes": [code for code, _ in self.notes],
        }
        if self.alpha is None:
            for key in ("alpha", "beta"):
                out.update(reason_fields(key, "sbg_alpha_beta_unbounded", lang))
        return out


def _counts_from_cohorts(cohorts: Sequence[Sequence[float]]) -> _Counts:
    cs = []
    for alive in cohorts:
        a = np.asarray(alive, dtype=float)
        if a.ndim != 1 or len(a) < 1 or np.any(a < 0) or np.any(np.diff(a) > 0):
            raise ValueError(
                "alive counts must be a non-increasing sequence of non-negative numbers"
            )
        if a[0] > 0:
            cs.append(a)
    if not cs:
        raise ModelError("sbg_no_customers")
    k = max(len(a) - 1 for a in cs)
    lost = np.zeros((k + 1, k + 1))
    alive_end = np.zeros(k + 1)
    for a in cs:  # one row per cohort given (a short list), not per customer
        n = len(a) - 1
        lost[n, 1 : n + 1] += a[:-1] - a[1:]
        alive_end[n] += a[-1]
    return _Counts(lost, alive_end)


def fit_sbg_counts(lost: np.ndarray, alive: np.ndarray) -> SBGFit:
    """Fit from cohort counts by length: ``lost[n, t]`` churned in period t among customers
    observed for n periods (t = 1..n), ``alive[n]`` alive after their n periods.

    Raises :class:`~cs_metrics.errors.ModelError` when there is no customer or no observed period.
    """
    c = _Counts(np.asarray(lost, dtype=float), np.asarray(alive, dtype=float))
    if c.sizes.sum() <= 0:
        raise ModelError("sbg_no_customers")
    if c.exposure <= 0:
        raise ModelError("sbg_no_period")
    return _fit(c)


def fit_sbg_cohorts(cohorts: Sequence[Sequence[float]]) -> SBGFit:
    """Fit several cohorts' counts alive at t = 0, 1, ..., n (n may differ per cohort)."""
    c = _counts_from_cohorts(cohorts)
    if c.exposure <= 0:
        raise ModelError("sbg_no_period")
    return _fit(c)


def fit_sbg(alive: Sequence[float]) -> SBGFit:
    """Fit one cohort's counts alive at t = 0, 1, ..., n (e.g. 1000, 869, 743, ...)."""
    return fit_sbg_cohorts([alive])


def _fit(c: _Counts) -> SBGFit:
    """ML fits of sBG and geometric, the LR test, the chosen model with its covariance."""
    churned, exposure = c.churned, c.exposure
    theta_g, ll_g = _geometric_ll(churned, exposure)
    observed = np.flatnonzero(c.sizes)
    n_periods = int(observed.max()) if observed.size else 0
    notes: list[tuple[str, tuple[tuple[str, Any], ...]]] = []
    if churned == 0 or n_periods <= 1 or churned == exposure:
        # no variation can be told apart: the sBG likelihood cannot beat the geometric one
        x, ll_s, ok = np.array([theta_g, 0.0]), ll_g, True
    else:
        t0 = min(max(theta_g, 1e-6), 1 - 1e-6)
        starts = np.array([[t0, 0.0], [t0, 0.05], [t0, 0.3], [t0, 0.7]])
        k = len(starts)
        xs, lls, oks = _ml_fit(np.tile(c.risk, (k, 1)), np.tile(c.lost_t, (k, 1)), starts)
        best = int(np.argmax(lls))
        x, ll_s, ok = xs[best], float(lls[best]), bool(oks[best])
        if ll_s < ll_g:  # the geometric fit is inside the sBG family: never worse
            x, ll_s = np.array([theta_g, 0.0]), ll_g
    ll_s = min(ll_s, 0.0)
    stat = max(0.0, 2.0 * (ll_s - ll_g))
    # chdtrc is what scipy.stats.chi2.sf calls; scipy.stats itself takes a second to import
    from scipy.special import chdtrc

    p = 0.5 * float(chdtrc(1, stat)) if stat > 0 else 1.0
    use_sbg = p < LR_TEST_LEVEL and x[1] > 0
    theta = float(x[0]) if use_sbg else theta_g
    phi = float(x[1]) if use_sbg else 0.0
    theta = min(max(theta, THETA_MIN), 1.0 - THETA_MIN)
    cov = _covariance(c, theta, phi) if use_sbg else _geometric_cov(c, theta)
    fmt_p = f"= {p:.3f}" if p >= 0.001 else "< 0.001"  # "p = 0.012", "p < 0.001"
    if churned == 0:
        up = -math.expm1(math.log(0.05) / exposure)
        notes.append(("sbg_no_churn", (("e", f"{exposure:,.0f}"), ("x", f"{up:.2%}"))))
    elif use_sbg:
        notes.append(("sbg_heterogeneous", (("p", fmt_p),)))
    else:
        notes.append(("sbg_geometric", (("x", f"{theta:.2%}"), ("p", fmt_p))))
    if churned and churned == exposure:
        notes.append(("sbg_all_churned_first", ()))
    if n_periods == 1:
        notes.append(("sbg_one_period", ()))
    if not ok:
        notes.append(("sbg_not_converged", ()))
    return SBGFit(
        theta=theta,
        phi=phi,
        log_likelihood=ll_s if use_sbg else ll_g,
        model="sbg" if use_sbg else "geometric",
        ll_sbg=ll_s,
        ll_geometric=ll_g,
        lr_statistic=stat,
        lr_p_value=p,
        n_customers=int(round(c.sizes.sum())),
        n_periods=n_periods,
        churned=int(round(churned)),
        exposure=exposure,
        converged=ok,
        cov=cov,
        counts=c,
        notes=tuple(notes),
    )


def _geometric_cov(c: _Counts, theta: float) -> tuple[tuple[float, float], ...] | None:
    """Var θ̂ = θ(1-θ)/E; none when θ̂ is on its bound (no churn, or all churned at once)."""
    if c.churned == 0 or c.churned == c.exposure:
        return None
    return ((theta * (1 - theta) / c.exposure, 0.0), (0.0, 0.0))


def _covariance(c: _Counts, theta: float, phi: float) -> tuple[tuple[float, float], ...] | None:
    """Inverse of the observed information (the analytic Hessian) at the estimate."""
    _, _, hess = _ll_grad_hess(np.array([[theta, phi]]), c.risk[None], c.lost_t[None])
    info = -hess[0]
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return None
    if not (np.all(np.isfinite(cov)) and cov[0, 0] > 0 and cov[1, 1] > 0):
        return None
    return ((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1])))


# ---- lifetimes ----------------------------------------------------------------------------------


def discounted_sums(
    theta: np.ndarray,
    phi: np.ndarray,
    discount: float,
    starts: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """``R[b, j] = Σ_{t ≥ n_j} S(t)/S(n_j - 1) w(t) / (1+d)^{t - n_j}`` for parameter draws b
    and starts ``n_j >= 1`` (``DERL`` with w = 1 and n = renewals + 1).

    With ``x_t = log S(t) - t log(1+d)`` (strictly decreasing), ``R = (1+d) Σ_{t≥n} w(t)
    exp(x_t - x_{n-1})``, evaluated by a reverse log-sum-exp. Summed to T terms, where T grows
    until the bound on the tail, ``w_max (1+d) exp(x_T - x_{n-1}) / d``, is below ``SUM_RTOL``
    of every value. Geometric draws without weights use the closed form (1-θ)(1+d)/(d+θ).

    Returns
    -------
    ndarray
        Shape (draws, starts); finite and positive for d > 0 and θ in (0, 1).
    """
    if not discount > 0:
        raise ValueError("discount must be > 0 (an undiscounted lifetime can be infinite)")
    theta = np.clip(np.asarray(theta, dtype=float).ravel(), THETA_MIN, 1.0 - THETA_MIN)
    phi = np.clip(np.asarray(phi, dtype=float).ravel(), 0.0, PHI_MAX)
    starts = np.asarray(starts, dtype=int).ravel()
    if starts.size == 0:
        return np.zeros((theta.size, 0))
    if np.any(starts < 1):
        raise ValueError("starts must be >= 1")
    w = None if weights is None or len(weights) == 0 else np.asarray(weights, dtype=float)
    out = np.empty((theta.size, starts.size))
    geo = phi <= 0
    if w is None and geo.any():
        t = theta[geo][:, None]
        out[geo] = np.broadcast_to(
            (1 - t) * (1 + discount) / (discount + t), (t.shape[0], starts.size)
        )
    rest = np.flatnonzero(~geo) if w is None else np.arange(theta.size)
    if rest.size:
        lv = math.log1p(discount)
        span = int(math.ceil(math.log(1.0 / (SUM_RTOL * discount / (1 + discount))) / lv)) + 2
        terms = int(starts.max()) + span
        batch = max(1, _CELLS // max(terms, 1))
        for i in range(0, rest.size, batch):
            idx = rest[i : i + batch]
            out[idx] = _sums_batch(theta[idx], phi[idx], lv, starts, w, terms)
    return out


def _sums_batch(
    theta: np.ndarray,
    phi: np.ndarray,
    lv: float,
    starts: np.ndarray,
    w: np.ndarray | None,
    terms: int,
) -> np.ndarray:
    """Reverse log-sum-exp of the terms; doubles the length until the tail bound holds."""
    d = math.expm1(lv)
    while True:
        if terms > _MAX_TERMS:
            raise ValueError("the lifetime sum needs too many terms (discount rate too small)")
        u = np.arange(1, terms + 1, dtype=float)
        log_s = np.zeros((theta.size, terms + 1))
        log_s[:, 1:] = np.cumsum(
            np.log1p(-_hazard(theta[:, None], phi[:, None], u[None, :])), axis=1
        )
        x = log_s - lv * np.arange(terms + 1)[None, :]
        if w is None:
            logw = np.zeros(terms + 1)
            w_max = 1.0
        else:
            ww = np.concatenate([w, np.full(max(0, terms + 1 - len(w)), w[-1])])[: terms + 1]
            if np.any(ww <= 0):
                raise ValueError("weights must be > 0")
            logw, w_max = np.log(ww), float(ww.max())
        lse = np.logaddexp.accumulate((x + logw[None, :])[:, ::-1], axis=1)[:, ::-1]
        prev = x[:, starts - 1]
        r = np.exp(lv + lse[:, starts] - prev)
        bound = w_max * (1 + d) * np.exp(x[:, -1:] - prev) / d
        if np.all(bound <= SUM_RTOL * r):
            return r
        terms *= 2


def sbg_survival(alpha: float, beta: float, t: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """S(t) = B(α, β+t) / B(α, β) (t = 0 gives 1), by the stable recursion."""
    theta, phi = theta_phi(alpha, beta)
    t = np.asarray(t, dtype=int)
    tmax = int(t.max()) if t.size else 0
    return np.exp(_log_survival(theta, phi, max(tmax, 0)))[np.clip(t, 0, None)]


def sbg_retention(alpha: float, beta: float, t: int | Sequence[int] | np.ndarray) -> np.ndarray:
    """r(t) = (β + t - 1) / (α + β + t - 1) for t >= 1."""
    t = np.asarray(t, dtype=float)
    return (beta + t - 1) / (alpha + beta + t - 1)


def sbg_del(alpha: float, beta: float, discount: float) -> float:
    """Discounted expected lifetime (in payments) of a new customer, DEL(d) =
    Σ_{t≥0} S(t)/(1+d)^t (= 2F1(1, β; α+β; 1/(1+d))); finite for every α, β > 0 and d > 0."""
    theta, phi = theta_phi(alpha, beta)
    r = discounted_sums(np.array([theta]), np.array([phi]), discount, np.array([1]))[0, 0]
    return float(1.0 + r / (1.0 + discount))


def sbg_derl(alpha: float, beta: float, discount: float, renewals: int) -> float:
    """Discounted expected residual lifetime (in payments) after ``renewals`` renewals:
    Σ_{t≥n} S(t)/S(n-1)/(1+d)^{t-n}, n = renewals + 1 (= (β+n-1)/(α+β+n-1) · 2F1(1, β+n;
    α+β+n; 1/(1+d))); finite for every α, β > 0 and d > 0."""
    if renewals < 0:
        raise ValueError("renewals must be >= 0")
    theta, phi = theta_phi(alpha, beta)
    return float(
        discounted_sums(np.array([theta]), np.array([phi]), discount, np.array([renewals + 1]))[
            0, 0
        ]
    )
