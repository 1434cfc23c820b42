"""Health weights fitted on history: a *suggestion* beside the configured weights, never applied.

From a backtest (:func:`cs_metrics.metrics.backtest.backtest`): for every scored
account-month, the points (0..1) of each measure and whether the account churned within H.
An L2-regularised logistic regression of churn on the points gives coefficients; a measure whose
points lower the churn odds gets the weight ``-coefficient`` (others 0), normalised to sum 1.
Its cross-validated AUC (folds by account, so no account is in both the fitted and the judged
part) stands beside the AUC of the configured score on the same account-months. Only numpy and
scipy: the fit is a few measures by a smooth convex loss (L-BFGS).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from cs_metrics.messages import lang_of, reason_fields
from cs_metrics.metrics.backtest import BacktestResult, roc_auc
from cs_metrics.metrics.revenue import ACCOUNT

__all__ = ["fit_logistic_l2", "suggest_health_weights"]


def fit_logistic_l2(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[float, np.ndarray]:
    """Intercept and coefficients minimising ``Σ log(1 + exp(-s·(b0 + x·b))) + l2/2·|b|²``
    (s = ±1 for y = 1/0; the intercept is not penalised), by L-BFGS with the exact gradient."""
    from scipy.optimize import minimize
    from scipy.special import expit

    s = np.where(y, 1.0, -1.0)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = s * (theta[0] + x @ theta[1:])
        value = float(np.logaddexp(0.0, -z).sum()) + 0.5 * l2 * float(theta[1:] @ theta[1:])
        g = -s * expit(-z)
        grad = np.concatenate([[g.sum()], x.T @ g + l2 * theta[1:]])
        return value, grad

    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
    return float(res.x[0]), res.x[1:]


def _design(res: BacktestResult, measures: list[str]) -> tuple[pl.DataFrame, list[str]]:
    """One row per scored account-month: account, churned, and per measure its points (a
    measure that does not count there takes the mean of the rows where it counts)."""
    scored = res.health.filter(~pl.col("no_data")).select(ACCOUNT, "month_idx", "score")
    wide = (
        res.details.filter(pl.col("counted"))
        .with_columns(pl.col("points").fill_null(0.0))
        .pivot(on="measure", index=[ACCOUNT, "month_idx"], values="points")
    )
    used = [m for m in measures if m in wide.columns]
    d = (
        scored.join(res.units, on=[ACCOUNT, "month_idx"], how="inner")
        .join(wide, on=[ACCOUNT, "month_idx"], how="left")
        .with_columns([pl.col(m).fill_null(pl.col(m).mean()).fill_null(0.0) for m in used])
        .sort(ACCOUNT, "month_idx")
    )
    return d, used


def _weights(coef: np.ndarray) -> np.ndarray:
    w = np.clip(-coef, 0.0, None)
    return w / w.sum() if w.sum() > 0 else w


def suggest_health_weights(
    res: BacktestResult, config: dict[str, Any], folds: int | None = None, seed: int = 0
) -> dict[str, Any]:
    """Suggested health weights from a backtest, with cross-validated AUC (never applied).

    Parameters
    ----------
    folds : int, optional
        Cross-validation folds by account (default ``backtest.weights_folds``); the penalty is
        ``backtest.weights_l2``. Folds are a seeded random split of the accounts.

    Returns
    -------
    dict
        ``measures, configured_weights, suggested_weights (fit on all account-months),
        coefficients, cv_auc (the suggested weights' score, fitted without the judged accounts),
        configured_auc (the configured score on the same account-months), folds, l2,
        account_months``; ``cv_auc`` null with ``cv_auc_reason`` when it cannot be formed.
    """
    cfg = config["backtest"]
    k, l2 = int(folds or cfg["weights_folds"]), float(cfg["weights_l2"])
    measures = list(config["health"]["measures"])
    d, used = _design(res, measures)
    weights = {m: float(config["health"]["measures"][m]["weight"]) for m in measures}
    total = sum(weights[m] for m in used) or 1.0
    out: dict[str, Any] = {
        "measures": used,
        "configured_weights": {m: weights[m] / total for m in used},
        "folds": k,
        "l2": l2,
        "account_months": d.height,
    }
    y = d["churned"].to_numpy()
    if not used or y.sum() == 0 or y.sum() == len(y):
        out |= {"suggested_weights": None, "coefficients": None, "cv_auc": None}
        out.update(reason_fields("cv_auc", "backtest_weights_undefined", lang_of(config)))
        out["configured_auc"] = roc_auc(d["score"].to_numpy(), y) if d.height else None
        return out
    x = d.select(used).to_numpy().astype(np.float64)
    accounts = d[ACCOUNT].unique().sort()
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(accounts, rng.permutation(len(accounts)) % k, strict=True))
    fold = d[ACCOUNT].replace_strict(fold_of, return_dtype=pl.Int64).to_numpy()
    oof = np.full(len(y), np.nan)
    for f in range(k):  # k model fits, not a loop over accounts
        train = fold != f
        _, coef = fit_logistic_l2(x[train], y[train], l2)
        oof[~train] = x[~train] @ _weights(coef)
    _, coef = fit_logistic_l2(x, y, l2)
    out["suggested_weights"] = dict(zip(used, _weights(coef).round(4).tolist(), strict=True))
    out["coefficients"] = dict(zip(used, coef.round(4).tolist(), strict=True))
    out["cv_auc"] = roc_auc(oof, y)
    out["configured_auc"] = roc_auc(d["score"].to_numpy(), y)
    return out
