"""Signal backtest: how well each risk rule and the health score predicted churn (SPEC §10).

Unit: an (account, month m) for every month m of a range and every account active at m's end.
Every signal and score at m is computed as of m (only rows dated on or before m's last day,
SPEC §3), exactly as the monthly report would have shown it then; the outcome is what happened
in the ``H`` months after: *churn* (the account's MRR falls to 0 in m+1..m+H, SPEC §4) for
risk rules and the health score, *expansion* (an upsell or cross-sell movement in m+1..m+H) for
opportunity rules.

Per rule: flagged account-months, hits (flagged and the outcome happened), precision =
hits / flagged with a 95% Wilson interval, recall = hits / account-months with the outcome,
base rate = account-months with the outcome / all account-months, lift = precision / base
rate with a 95% MOVER interval from Wilson intervals whose sample sizes are discounted for
clustering by account (the months of one account are not independent; see
:func:`lift_interval`). Health: ROC AUC of the score for
churn (lower score = riskier) with a clustered DeLong interval (Obuchowski 1997, see
:func:`auc_interval`), churn by band with Wilson intervals, and the AUC of each measure alone.

Everything runs over the whole range at once (``risk_flags``, ``health_history``): never one
run per month.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.errors import PeriodError
from cs_metrics.messages import lang_of, reason_fields
from cs_metrics.metrics.health import BANDS, health_history
from cs_metrics.metrics.revenue import ACCOUNT, account_segments, mrr_movements
from cs_metrics.metrics.risk import OPPORTUNITY_RULES, RULES, risk_flags
from cs_metrics.metrics.segments import account_month_grid
from cs_metrics.metrics.windows import latest_by_account
from cs_metrics.periods import Month, MonthLike

__all__ = [
    "Z95",
    "BacktestRangeError",
    "BacktestResult",
    "auc_interval",
    "backtest",
    "data_months",
    "default_range",
    "design_effect",
    "lift_interval",
    "outcomes",
    "resolve_range",
    "roc_auc",
    "wilson_interval",
]

Z95 = 1.959964
NO_SCORE = "no_score"


class BacktestRangeError(PeriodError):
    """A backtest range the data cannot support (the message gives the data's range); the
    command line shows it and exits with status 2."""


# ---- reasons (codes and texts in cs_metrics.messages: backtest_*) ---------------------------

_TARGET_WORDS = {"churn": ("解約", "churn"), "expansion": ("拡大", "expansion")}


def _null(obj: dict[str, Any], key: str, code: str, lang: str, **params: Any) -> None:
    """Set ``obj[key] = None`` with ``key_reason`` and ``key_reason_code`` beside it."""
    obj[key] = None
    obj.update(reason_fields(key, f"backtest_{code}", lang, **params))


# ---- range ------------------------------------------------------------------------------------


def data_months(ds: Dataset) -> tuple[int, int]:
    """(first month with an active account, the data's default month) as month indexes
    (SPEC §3; a dataset without an active month is refused by :meth:`Dataset.default_as_of`)."""
    last = ds.default_as_of()
    first = ds.first_active_month()
    assert first is not None  # default_as_of raised otherwise
    return first.index, last.index


def resolve_range(
    ds: Dataset,
    start: MonthLike | None = None,
    stop: MonthLike | None = None,
    horizon: int | None = None,
) -> tuple[int, int, int]:
    """The backtest's months (first, last as month indexes) and horizon H.

    Defaults: H = ``backtest.horizon_months``; ``stop`` = the last month with H complete months
    after it (the data's default month - H); ``start`` = ``backtest.lookback_months`` before
    ``stop``, clamped to the first month with an active account.

    Raises
    ------
    BacktestRangeError
        H <= 0, ``start`` after ``stop``, ``start`` before the data, or ``stop`` without H months
        of data after it; the message states the data's range.
    """
    cfg = ds.config["backtest"]
    h = int(cfg["horizon_months"] if horizon is None else horizon)
    if h <= 0:
        raise BacktestRangeError("backtest_horizon", h=h)
    first_data, last_data = data_months(ds)
    rng = {"first": str(Month(first_data)), "last": str(Month(last_data)), "h": h}
    latest = last_data - h
    if latest < first_data:
        raise BacktestRangeError("backtest_too_short", **rng)
    last = latest if stop is None else Month.parse(stop).index
    if last > latest or last < first_data:
        raise BacktestRangeError(
            "backtest_to_out_of_range", to=str(Month(last)), latest=str(Month(latest)), **rng
        )
    if start is None:
        return max(last - int(cfg["lookback_months"]), first_data), last, h
    first = Month.parse(start).index
    if first < first_data or first > last:
        raise BacktestRangeError(
            "backtest_from_out_of_range",
            start=str(Month(first)),
            to=str(Month(last)),
            first=rng["first"],
            last=rng["last"],
        )
    return first, last, h


def default_range(ds: Dataset, horizon: int | None = None) -> tuple[str, str, int]:
    """Default ``("YYYY-MM" from, "YYYY-MM" to, H)`` (see :func:`resolve_range`)."""
    first, last, h = resolve_range(ds, None, None, horizon)
    return str(Month(first)), str(Month(last)), h


# ---- outcomes ---------------------------------------------------------------------------------


def outcomes(ds: Dataset, first: int, last: int, horizon: int) -> pl.DataFrame:
    """One row per account active at the end of each month m in ``first..last`` (indexes).

    ``churned``: the account's MRR is 0 in some month of m+1..m+H (its first inactive month
    after m is at most m+H: a logo churn, SPEC §4); ``expanded``: an ``upsell`` or
    ``cross_sell`` movement (SPEC §4) in m+1..m+H. Needs data up to month ``last + horizon``.

    Returns
    -------
    DataFrame
        ``account_id, month_idx (Int32), churned, expanded``.
    """
    end = Month(last + horizon)
    units = (
        account_month_grid(ds, Month(last), last - first + 1)
        .filter(pl.col("month_idx") >= first)
        .select(ACCOUNT, "month_idx", (pl.col("month_idx") + 1).cast(pl.Int32).alias("_next"))
    )
    churns = (
        account_segments(ds, end)
        .filter((pl.col("prev_mrr") > 0) & (pl.col("mrr") <= 0))
        .select(ACCOUNT, pl.col("idx").cast(pl.Int32).alias("churn_idx"))
    )
    grows = (
        mrr_movements(ds, end)
        .filter(pl.col("movement").is_in(["upsell", "cross_sell"]))
        .select(ACCOUNT, pl.col("month_idx").cast(pl.Int32).alias("grow_idx"))
        .unique()
    )
    within = pl.col("month_idx") + horizon
    j = latest_by_account(units, churns, "_next", "churn_idx", "forward")
    j = latest_by_account(j, grows, "_next", "grow_idx", "forward")
    return (
        j.select(
            ACCOUNT,
            "month_idx",
            (pl.col("churn_idx") <= within).fill_null(False).alias("churned"),
            (pl.col("grow_idx") <= within).fill_null(False).alias("expanded"),
        )
        .sort(ACCOUNT, "month_idx")
        .collect()
    )


# ---- statistics -------------------------------------------------------------------------------


def wilson_interval(k: float, n: float, z: float = Z95) -> tuple[float, float] | None:
    """95% Wilson score interval of a proportion k/n (None when n = 0).

    ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``; e.g. 0/10 -> (0, 0.2775),
    5/10 -> (0.2366, 0.7634). ``k`` and ``n`` may be effective (fractional) counts.
    """
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def design_effect(num: pl.Series, den: pl.Series) -> float:
    """Design effect of the ratio p = Σnum / Σden when units come in clusters (one per row):
    the clustered variance ``K/(K-1) · Σ (num_k - p·den_k)² / (Σden)²`` over the binomial
    ``p(1-p)/Σden``, at least 1 (1 when p is 0 or 1, or with fewer than 2 clusters)."""
    k, total = len(num), float(den.sum())
    p = float(num.sum()) / total if total else 0.0
    if k < 2 or p <= 0 or p >= 1:
        return 1.0
    clustered = k / (k - 1) * float(((num - p * den) ** 2).sum()) / total**2
    return max(1.0, clustered / (p * (1 - p) / total))


def lift_interval(
    per_account: pl.DataFrame, z: float = Z95
) -> tuple[float | None, tuple[float, float] | None, str | None]:
    """Lift = (hits / flagged) / (outcomes / units) with a 95% interval.

    Parameters
    ----------
    per_account : DataFrame
        One row per account: ``n`` (its account-months), ``y`` (those with the outcome), ``f``
        (flagged), ``h`` (flagged with the outcome).

    Notes
    -----
    MOVER-R (Donner & Zou 2012, *Stat Methods Med Res* 21:347-359) on the log scale, from a
    Wilson interval (l1, u1) of the precision p1 and one (l0, u0) of the base rate p0:
    ``lo = log(p1/p0) - sqrt(log(p1/l1)² + log(u0/p0)²)``, ``hi = log(p1/p0) + sqrt(log(u1/p1)²
    + log(p0/l0)²)``. Each Wilson interval uses the *effective* sample size n / deff, deff =
    the design effect of clustering by account (:func:`design_effect`): the months of one
    account are not independent draws. The precision and base rate are treated as independent
    (the flagged months are part of all months, which makes their errors positively correlated:
    the interval is conservative). Unlike a delta-method interval it stays honest at precision
    1 (one flag, one hit gives a wide interval, not a point). With no hits the lift is 0 and
    only an upper bound is given: ``[0, u1 / p0]``.

    Returns
    -------
    (lift, interval, reason code): lift None when nothing was flagged or nobody had the
    outcome; a reason code also when the interval is only a bound (no hits).
    """
    t = per_account.select(pl.col("n", "y", "f", "h").sum()).row(0, named=True)
    n, y, f, h = (int(t[k] or 0) for k in ("n", "y", "f", "h"))
    if n == 0:
        return None, None, "no_units"
    if f == 0:
        return None, None, "nothing_flagged"
    if y == 0:
        return None, None, "no_outcome"
    p1, p0 = h / f, y / n
    flagged = per_account.filter(pl.col("f") > 0)
    e1 = f / design_effect(flagged["h"], flagged["f"])
    e0 = n / design_effect(per_account["y"], per_account["n"])
    w1, w0 = wilson_interval(p1 * e1, e1, z), wilson_interval(p0 * e0, e0, z)
    assert w1 is not None and w0 is not None
    (l1, u1), (l0, u0) = w1, w0
    if h == 0:
        return 0.0, (0.0, u1 / p0), "no_hits"
    log_lift = math.log(p1 / p0)
    lo = log_lift - math.sqrt(math.log(p1 / l1) ** 2 + math.log(u0 / p0) ** 2)
    hi = log_lift + math.sqrt(math.log(u1 / p1) ** 2 + math.log(p0 / l0) ** 2)
    return p1 / p0, (math.exp(lo), math.exp(hi)), None


def roc_auc(score: np.ndarray, event: np.ndarray) -> float | None:
    """ROC AUC of a score where a *lower* score means riskier: the probability that an account
    without the event scores higher than one with it (ties count one half). None when either
    group is empty. A perfectly separating score gives 1.0, the reverse 0.0."""
    return auc_interval(score, event, np.arange(len(score)))["auc"]


def _rankdata(a: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank, NaN anywhere giving all NaN: the default of
    ``scipy.stats.rankdata`` (same arithmetic) without importing scipy.stats (a second)."""
    a = np.asarray(a, dtype=np.float64)
    if np.isnan(a).any():
        return np.full(a.shape, np.nan)
    order = np.argsort(a, kind="mergesort")
    s = a[order]
    first = np.r_[True, s[1:] != s[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], s.size]
    ranks = np.empty(a.size)
    ranks[order] = (0.5 * (ends + starts + 1))[np.cumsum(first) - 1]
    return ranks


def _placements(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong placement values of events (V10) and non-events (V01), risk x higher = riskier."""
    r_all = _rankdata(x)
    r_pos, r_neg = _rankdata(x[y]), _rankdata(x[~y])
    n1, n0 = int(y.sum()), int((~y).sum())
    v10 = (r_all[y] - r_pos) / n0  # share of non-events ranked below (ties 1/2)
    v01 = (n1 - (r_all[~y] - r_neg)) / n1  # share of events ranked above (ties 1/2)
    return v10, v01


def auc_interval(
    score: np.ndarray, event: np.ndarray, cluster: np.ndarray, z: float = Z95
) -> dict[str, Any]:
    """ROC AUC (lower score = riskier) with a 95% interval clustered by ``cluster``.

    DeLong's placement values summed per cluster (Obuchowski 1997, *Biometrics* 53:567-578):
    with m_k events and n_k non-events in cluster k, V10_k / V01_k the sums of their
    placements, ``S10 = I10/((I10-1)·N1) Σ (V10_k - m_k·A)²``, ``S01`` likewise over
    non-events, ``S11 = I/(I-1) Σ (V10_k - m_k·A)(V01_k - n_k·A)``, ``Var(A) = S10/N1 + S01/N0
    + 2·S11/(N1·N0)`` (one unit per cluster gives DeLong's variance). The interval is formed on
    the logit scale (it stays inside 0..1).

    Returns
    -------
    dict
        ``auc, ci, n_events, n_other, reason_code`` (reason when auc or ci is None).
    """
    y = np.asarray(event, dtype=bool)
    x = -np.asarray(score, dtype=np.float64)
    n1, n0 = int(y.sum()), int((~y).sum())
    out: dict[str, Any] = {"auc": None, "ci": None, "n_events": n1, "n_other": n0}
    if n1 == 0 or n0 == 0:
        out["reason_code"] = "no_units" if n1 + n0 == 0 else "everyone"
        return out
    v10, v01 = _placements(x, y)
    a = float(v10.mean())
    out["auc"] = a
    if a <= 0 or a >= 1:
        out["reason_code"] = "perfect"
        return out
    _, cl = np.unique(np.asarray(cluster), return_inverse=True)
    cl = cl.ravel()
    k = int(cl.max()) + 1
    d10 = np.bincount(cl[y], v10, k) - np.bincount(cl[y], minlength=k) * a
    d01 = np.bincount(cl[~y], v01, k) - np.bincount(cl[~y], minlength=k) * a
    i10, i01 = len(np.unique(cl[y])), len(np.unique(cl[~y]))
    if i10 < 2 or i01 < 2:
        out["reason_code"] = "one_account"
        return out
    s10 = i10 / ((i10 - 1) * n1) * float((d10**2).sum())
    s01 = i01 / ((i01 - 1) * n0) * float((d01**2).sum())
    s11 = k / (k - 1) * float((d10 * d01).sum())
    var = s10 / n1 + s01 / n0 + 2 * s11 / (n1 * n0)
    if var <= 0:
        out["reason_code"] = "no_variance"
        return out
    logit, se = math.log(a / (1 - a)), math.sqrt(var) / (a * (1 - a))
    out["ci"] = tuple(1 / (1 + math.exp(-(logit + s * z * se))) for s in (-1, 1))
    return out


# ---- the backtest -----------------------------------------------------------------------------


@dataclass
class BacktestResult:
    """``summary``: the JSON of ``cs-metrics backtest`` (see :func:`backtest`); ``units``:
    ``account_id, month_idx, churned, expanded``; ``flags``: ``account_id, month_idx, rule,
    kind``; ``health``: ``account_id, month_idx, score, band, no_data``; ``details``: per
    measure ``account_id, month_idx, measure, points, counted``."""

    summary: dict[str, Any]
    units: pl.DataFrame
    flags: pl.DataFrame
    health: pl.DataFrame
    details: pl.DataFrame
    first: int
    last: int
    horizon: int


def backtest(
    ds: Dataset,
    start: MonthLike | None = None,
    stop: MonthLike | None = None,
    horizon: int | None = None,
) -> BacktestResult:
    """Backtest every risk rule, the opportunity rule and the health score (SPEC §10).

    Parameters
    ----------
    start, stop : "YYYY-MM", optional
        The months of the signals (defaults and refusals: :func:`resolve_range`).
    horizon : int, optional
        H: outcomes are read in months m+1..m+H (default ``backtest.horizon_months``).

    Returns
    -------
    BacktestResult
        ``summary`` = ``{from, to, horizon_months, account_months, churned, base_rate,
        signals: [{signal, target, flagged, hits, precision, precision_ci, recall, base_rate,
        lift, lift_ci}], health: {auc, auc_ci, bands: [{band, n, churned, rate, rate_ci}],
        measures: [{measure, auc}]}}``; an undefined value is null with ``<key>_reason`` and
        ``<key>_reason_code`` beside it. ``bands`` ends with ``no_score``: the account-months
        without a score (no available measure), left out of the AUC.
    """
    first, last, h = resolve_range(ds, start, stop, horizon)
    ds = ds.collected()  # every table parsed once: the rules and measures read them many times
    lang = lang_of(ds.config)
    months = last - first + 1
    hist = health_history(ds, Month(last), months)
    flags = risk_flags(ds, Month(last), months, hist)
    units = outcomes(ds, first, last, h)
    health = hist.scores.select(ACCOUNT, "month_idx", "score", "band", "no_data")
    details = hist.details.select(ACCOUNT, "month_idx", "measure", "points", "counted")
    n, churned = units.height, int(units["churned"].sum())
    summary: dict[str, Any] = {
        "from": str(Month(first)),
        "to": str(Month(last)),
        "horizon_months": h,
        "account_months": n,
        "churned": churned,
        "base_rate": churned / n if n else None,
    }
    if not n:
        _null(summary, "base_rate", "no_units", lang)
    summary["signals"] = signal_stats(units, flags.flags, flags.status, lang)
    summary["health"] = health_stats(units, health, details, ds.config, lang)
    return BacktestResult(summary, units, flags.flags, health, details, first, last, h)


def _target_counts(units: pl.DataFrame) -> pl.DataFrame:
    """Per account: n, and y per target (churn, expansion)."""
    return (
        units.group_by(ACCOUNT)
        .agg(
            pl.len().alias("n"),
            pl.col("churned").sum().alias("y_churn"),
            pl.col("expanded").sum().alias("y_expansion"),
        )
        .sort(ACCOUNT)  # a fixed order: float sums give the same digits on every run
    )


def signal_stats(
    units: pl.DataFrame,
    flags: pl.DataFrame,
    status: dict[str, tuple[str, str | None]],
    lang: str,
) -> list[dict[str, Any]]:
    """One object per rule (in :data:`cs_metrics.metrics.risk.RULES` order): ``signal,
    target, flagged, hits, precision, precision_ci, recall, base_rate, lift, lift_ci``.

    Rules that are unavailable (table missing) or disabled have every count null with the
    reason, never 0.
    """
    per_acc = _target_counts(units)
    hits = (
        flags.join(units, on=[ACCOUNT, "month_idx"], how="inner")
        .group_by("rule", ACCOUNT)
        .agg(
            pl.len().alias("f"),
            pl.col("churned").sum().alias("h_churn"),
            pl.col("expanded").sum().alias("h_expansion"),
        )
    )
    out = []
    for rule in RULES:  # the configured rules (a handful), not accounts
        target = "expansion" if rule in OPPORTUNITY_RULES else "churn"
        state, why = status.get(rule, ("ok", None))
        if state != "ok":
            out.append(_unavailable_signal(rule, target, state, why, lang))
            continue
        rows = hits.filter(pl.col("rule") == rule)
        acc = per_acc.join(rows, on=ACCOUNT, how="left", maintain_order="left").select(
            "n",
            pl.col(f"y_{target}").alias("y"),
            pl.col("f").fill_null(0),
            pl.col(f"h_{target}").fill_null(0).alias("h"),
        )
        out.append(_signal(rule, target, acc, lang))
    return out


_SIGNAL_KEYS = ("flagged", "hits", "precision", "precision_ci", "recall", "base_rate", "lift")


def _unavailable_signal(
    rule: str, target: str, state: str, why: str | None, lang: str
) -> dict[str, Any]:
    obj: dict[str, Any] = {"signal": rule, "target": target}
    for key in (*_SIGNAL_KEYS, "lift_ci"):
        if state == "disabled":
            _null(obj, key, "disabled", lang)
        else:
            _null(obj, key, "unavailable", lang, why=why or "")
    return obj


def _signal(rule: str, target: str, acc: pl.DataFrame, lang: str) -> dict[str, Any]:
    t = acc.select(pl.col("n", "y", "f", "h").sum()).row(0, named=True)
    n, y, f, h = (int(t[k] or 0) for k in ("n", "y", "f", "h"))
    word = _TARGET_WORDS[target][0 if lang == "ja" else 1]
    obj: dict[str, Any] = {"signal": rule, "target": target, "flagged": f, "hits": h}
    w = wilson_interval(h, f)
    obj["precision"] = h / f if f else None
    obj["precision_ci"] = list(w) if w else None
    for key in ("precision", "precision_ci"):
        if obj[key] is None:
            _null(obj, key, "nothing_flagged", lang)
    obj["recall"] = h / y if y else None
    if not y:
        _null(obj, "recall", "no_outcome" if n else "no_units", lang, target=word)
    obj["base_rate"] = y / n if n else None
    if not n:
        _null(obj, "base_rate", "no_units", lang)
    lift, ci, code = lift_interval(acc)
    obj["lift"], obj["lift_ci"] = lift, list(ci) if ci else None
    if lift is None:
        _null(obj, "lift", code or "no_units", lang, target=word)
    if ci is None:
        _null(obj, "lift_ci", code or "no_units", lang, target=word)
    elif code:  # an interval with a caveat (no hits: upper bound only)
        obj.update(reason_fields("lift_ci", f"backtest_{code}", lang))
    return obj


def _codes(ids: pl.Series) -> np.ndarray:
    """Account IDs as integers in the IDs' sorted order (the clusters :func:`auc_interval` would
    find from the strings, without sorting millions of Python strings)."""
    return ids.rank("dense").to_numpy()


def health_stats(
    units: pl.DataFrame,
    health: pl.DataFrame,
    details: pl.DataFrame,
    config: dict[str, Any],
    lang: str,
) -> dict[str, Any]:
    """``{auc, auc_ci, bands, measures}`` of the health score for churn (see
    :func:`backtest`). Account-months without a score are left out of every AUC and shown as
    the band ``no_score``."""
    j = units.join(health, on=[ACCOUNT, "month_idx"], how="inner").sort(ACCOUNT, "month_idx")
    scored = j.filter(~pl.col("no_data"))
    res = auc_interval(
        scored["score"].to_numpy(), scored["churned"].to_numpy(), _codes(scored[ACCOUNT])
    )
    out: dict[str, Any] = {"auc": res["auc"], "auc_ci": list(res["ci"]) if res["ci"] else None}
    for key in ("auc", "auc_ci"):
        if out[key] is None:
            _null(out, key, res["reason_code"], lang)
    out["bands"] = _bands(j, lang)
    out["measures"] = _measure_aucs(units, health, details, config, lang)
    return out


def _bands(j: pl.DataFrame, lang: str) -> list[dict[str, Any]]:
    band = pl.when(pl.col("no_data")).then(pl.lit(NO_SCORE)).otherwise(pl.col("band"))
    counts = {
        r["b"]: r
        for r in j.group_by(band.alias("b"))
        .agg(pl.len().alias("n"), pl.col("churned").sum().alias("churned"))
        .iter_rows(named=True)
    }
    out = []
    for b in (*BANDS, NO_SCORE):
        r = counts.get(b, {"n": 0, "churned": 0})
        n, c = int(r["n"]), int(r["churned"])
        w = wilson_interval(c, n)
        obj: dict[str, Any] = {
            "band": b,
            "n": n,
            "churned": c,
            "rate": c / n if n else None,
            "rate_ci": list(w) if w else None,
        }
        for key in ("rate", "rate_ci"):
            if obj[key] is None:
                _null(obj, key, "no_units", lang)
        out.append(obj)
    return out


def _measure_aucs(
    units: pl.DataFrame,
    health: pl.DataFrame,
    details: pl.DataFrame,
    config: dict[str, Any],
    lang: str,
) -> list[dict[str, Any]]:
    """Per configured measure: the AUC of its points alone (as they enter the score: a
    missing value under the ``zero`` policy is 0 points), over the scored account-months
    where the measure counts."""
    scored = health.filter(~pl.col("no_data")).select(ACCOUNT, "month_idx")
    d = (
        details.filter(pl.col("counted"))
        .join(scored, on=[ACCOUNT, "month_idx"], how="semi")
        .join(units, on=[ACCOUNT, "month_idx"], how="inner")
        .with_columns(pl.col("points").fill_null(0.0))
        .sort(ACCOUNT, "month_idx", "measure")
    )
    out = []
    for name in config["health"]["measures"]:  # configured measures (a handful)
        m = d.filter(pl.col("measure") == name)
        obj: dict[str, Any] = {"measure": name}
        if m.height == 0:
            _null(obj, "auc", "measure_unavailable", lang)
        else:
            res = auc_interval(m["points"].to_numpy(), m["churned"].to_numpy(), _codes(m[ACCOUNT]))
            obj["auc"] = res["auc"]
            if res["auc"] is None:
                _null(obj, "auc", res["reason_code"], lang)
        out.append(obj)
    return out
