"""Customer LTV with upsell and cross-sell (SPEC §5).

- :func:`revenue_by_source`: each active account-month's MRR split into base / upsell /
  cross-sell against the account's first active month (they sum to MRR exactly).
- :func:`simple_ltv`: ARPA x gross margin / pooled monthly logo churn (null when churn is 0).
- :func:`cohort_ltv`: the team's 累積利益額 per acquired account by months since start.
- :func:`predictive_ltv`: the sBG model (Fader & Hardie) with observed expansion and a 95%
  interval from the fit's uncertainty.
- :func:`ltv_cac`: LTV:CAC and CAC payback months.

Nothing here returns NaN or infinity: a value that cannot be computed is ``None`` with a
``*_reason`` (text) and ``*_reason_code`` beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from cs_metrics.data.dataset import Dataset, memoised
from cs_metrics.errors import ModelError, UsageError
from cs_metrics.messages import lang_of, message, reason_fields
from cs_metrics.metrics.churn import account_lifetimes
from cs_metrics.metrics.revenue import (
    ACCOUNT,
    By,
    active_accounts,
    by_keys,
    mrr_bridge,
    product_segments,
    with_by,
)
from cs_metrics.models.sbg import SBGFit, discounted_sums, fit_sbg_counts
from cs_metrics.periods import (
    Month,
    MonthLike,
    index_to_month_expr,
    month_index_expr,
    month_label_expr,
    quarter_label_expr,
)

__all__ = [
    "SOURCES",
    "check_ltv_by",
    "cohort_ltv",
    "cost_to_serve",
    "expansion_by_tenure",
    "ltv_by_choices",
    "ltv_cac",
    "ltv_summary",
    "monthly_discount",
    "predictive_ltv",
    "revenue_by_source",
    "simple_ltv",
    "survival_counts",
]

SOURCES = ("base", "upsell", "cross_sell")


def monthly_discount(cfg: dict[str, Any]) -> float:
    """Monthly discount rate from the configured annual rate: (1 + annual)^(1/12) - 1."""
    return (1.0 + float(cfg["ltv"]["annual_discount_rate"])) ** (1 / 12) - 1


@memoised  # several LTV figures and report sections read it: computed once per month
def revenue_by_source(ds: Dataset, as_of: MonthLike, by: By = None) -> pl.DataFrame:
    """Every active account-month's MRR split by source against its first active month s.

    Definition (SPEC §5): per product it had in s, ``base`` = min(product MRR now, product MRR
    in s) and ``upsell`` = the excess over its MRR in s; ``cross_sell`` = MRR of products it did
    not have in s. ``base + upsell + cross_sell = MRR`` exactly.

    Returns
    -------
    DataFrame
        ``[by,] account_id, first_month_idx, month_idx, month, age, mrr, base, upsell,
        cross_sell``.
    """
    # Per product segment (a constant MRR over [idx, next_idx)) the split is constant too, so it is
    # computed on segments, then spread over their months and summed per account-month. Accounts
    # are numbered in sorted order (integer keys group and sort much faster than the IDs).
    seg = product_segments(ds, as_of).filter(pl.col("mrr") > 0)
    codes = seg.select(ACCOUNT).unique().sort(ACCOUNT).with_row_index("_k").collect()
    s = seg.join(codes.lazy(), on=ACCOUNT).select("_k", "product", "idx", "next_idx", "mrr")
    s = s.join(s.group_by("_k").agg(pl.col("idx").min().alias("first_month_idx")), on="_k")
    at_s = s.filter(
        (pl.col("idx") <= pl.col("first_month_idx"))
        & (pl.col("next_idx") > pl.col("first_month_idx"))
    ).select("_k", "product", pl.col("mrr").alias("mrr_s"))
    had = pl.col("mrr_s").is_not_null()
    split = (
        s.join(at_s, on=["_k", "product"], how="left")
        .select(
            "_k",
            "first_month_idx",
            pl.int_ranges("idx", "next_idx", dtype=pl.Int32).alias("month_idx"),
            "mrr",
            pl.when(had).then(pl.min_horizontal("mrr", "mrr_s")).otherwise(0.0).alias("base"),
            pl.when(had)
            .then((pl.col("mrr") - pl.col("mrr_s")).clip(lower_bound=0))
            .otherwise(0.0)
            .alias("upsell"),
            pl.when(had).then(0.0).otherwise(pl.col("mrr")).alias("cross_sell"),
        )
        .explode("month_idx")
        .group_by("_k", "first_month_idx", "month_idx")
        .agg(pl.col("mrr", *SOURCES).sum())
        .sort("_k", "month_idx")
        .collect()
    )
    rows = split.lazy().with_columns(
        codes[ACCOUNT].gather(split["_k"]).alias(ACCOUNT),
        index_to_month_expr(pl.col("month_idx")).alias("month"),
        (pl.col("month_idx") - pl.col("first_month_idx")).alias("age"),
    )
    rows = with_by(rows, ds, as_of, by)
    keys = by_keys(by)
    out = rows.select(
        *keys, ACCOUNT, "first_month_idx", "month_idx", "month", "age", "mrr", *SOURCES
    )
    # without ``by`` the rows are already in (account_id, month_idx) order
    return (out.sort(*keys, ACCOUNT, "month_idx") if keys else out).collect()


def simple_ltv(
    ds: Dataset, as_of: MonthLike, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Simple LTV = ARPA x gross margin / c (SPEC §5).

    ARPA = MRR(as_of) / active accounts(as_of); c = pooled monthly logo churn over the window
    (config ``ltv.simple_ltv_window_months``, default 12) ending at as_of: sum of churned / sum
    of accounts active at the start of each month; fewer months where history is shorter
    (``months_used``). ``ltv`` is ``null`` with ``ltv_reason`` when c = 0 or nothing is active —
    never infinity.
    """
    cfg = config or ds.config
    a = Month.parse(as_of).index
    window = int(cfg["ltv"]["simple_ltv_window_months"])
    gm = float(cfg["ltv"]["gross_margin"])
    bridge = mrr_bridge(ds, as_of)  # one bridge for both the churn window and ARPA
    rates = bridge.filter(
        (pl.col("month_idx") > a - window)
        & (pl.col("month_idx") <= a)
        & (pl.col("accounts_start") > 0)
    )
    churned = int(rates["accounts_churned"].sum()) if rates.height else 0
    at_start = int(rates["accounts_start"].sum()) if rates.height else 0
    now = bridge.filter(pl.col("month_idx") == a)
    mrr = float(now["mrr_end"][0]) if now.height else 0.0
    active = int(now["accounts_end"][0]) if now.height else 0
    out: dict[str, Any] = {
        "arpa": mrr / active if active else None,
        "gross_margin": gm,
        "monthly_churn": churned / at_start if at_start else None,
        "churned": churned,
        "accounts_at_start_summed": at_start,
        "months_used": rates.height,
        "ltv": None,
    }
    lang = lang_of(cfg)
    if not active:
        out.update(reason_fields("ltv", "no_active_accounts_as_of", lang))
    elif not churned:
        out.update(reason_fields("ltv", "no_churn_in_window", lang, months=rates.height))
    else:
        out["ltv"] = out["arpa"] * gm / out["monthly_churn"]
    if rates.height < window:
        months = rates.height
        out["window_note"] = message("ltv_window_short", lang, months=months, window=window)
        out["window_note_code"] = "ltv_window_short"
    return out


def cost_to_serve(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """Cost to serve per active account by month (SPEC §5), up to ``as_of``.

    A ``cs_costs`` row counts in the month of its ``month`` date (a mid-month date counts in its
    month, in cohort LTV and in LTV:CAC alike); rows of a month are summed; the amount is divided
    equally over that month's active accounts. Empty without the table.

    Returns
    -------
    DataFrame
        ``month_idx, amount, active_accounts, cost_per_account``.
    """
    schema = {
        "month_idx": pl.Int32,
        "amount": pl.Float64,
        "active_accounts": pl.UInt32,
        "cost_per_account": pl.Float64,
    }
    if not ds.has("cs_costs"):
        return pl.DataFrame(schema=schema)
    a = Month.parse(as_of).index
    active = (
        revenue_by_source(ds, as_of)
        .group_by("month_idx")
        .agg(pl.len().cast(pl.UInt32).alias("active_accounts"))
    )
    costs = (
        ds["cs_costs"]
        .filter(pl.col("month").is_not_null())
        .select(month_index_expr(pl.col("month")).cast(pl.Int32).alias("month_idx"), "amount")
        .filter(pl.col("month_idx") <= a)
        .group_by("month_idx")
        .agg(pl.col("amount").sum().cast(pl.Float64))
        .collect()
    )
    return (
        costs.join(active.with_columns(pl.col("month_idx").cast(pl.Int32)), on="month_idx")
        .with_columns((pl.col("amount") / pl.col("active_accounts")).alias("cost_per_account"))
        .select(list(schema))
        .sort("month_idx")
    )


def cohort_ltv(
    ds: Dataset, as_of: MonthLike, config: dict[str, Any] | None = None, cohort: str = "month"
) -> pl.DataFrame:
    """Cohort net LTV (累積利益額) per acquired account by months since start (SPEC §5).

    Per cohort (first active month, or its quarter), with the cohort size fixed as denominator,
    at each age k: cumulative gross profit (MRR x gross margin) split into base / upsell /
    cross-sell, minus acquisition cost (cohort mean of ``accounts.acquisition_cost`` over the
    accounts that have one; ``cac_missing`` counts the others), minus cost to serve
    (:func:`cost_to_serve`, summed over the cohort's accounts; 0 without the table).
    ``net = gp_base + gp_upsell + gp_cross_sell - cac - cost_to_serve`` (cumulative). Ages are
    shown while every account of the cohort has been observed. ``payback_age`` = first age with
    net >= 0. A cohort with no known acquisition cost has an unknown ``cac``: its ``net`` and
    ``payback_age`` are null and ``payback_reason`` says why (never a cost of 0); a cohort not
    yet paid back has ``payback_reason`` too.

    Returns
    -------
    DataFrame
        ``cohort, age, cohort_accounts, gp_base, gp_upsell, gp_cross_sell, gross_profit, cac,
        cac_missing, cost_to_serve, net, payback_age, payback_reason, payback_reason_code``.
    """
    cfg = config or ds.config
    lang = lang_of(cfg)
    gm = float(cfg["ltv"]["gross_margin"])
    a = Month.parse(as_of).index
    if cohort not in ("month", "quarter"):
        raise ValueError("cohort must be 'month' or 'quarter'")
    rbs = revenue_by_source(ds, as_of).lazy()
    label = (
        month_label_expr(pl.col("first_month_idx"))
        if cohort == "month"
        else quarter_label_expr(pl.col("first_month_idx"))
    )
    accts = (
        rbs.select(ACCOUNT, "first_month_idx")
        .unique()
        .with_columns(label.alias("cohort"))
        .join(ds.accounts.select(ACCOUNT, "acquisition_cost"), on=ACCOUNT, how="left")
    )
    sizes = accts.group_by("cohort").agg(
        pl.len().alias("cohort_accounts"),
        pl.col("first_month_idx").max().alias("last_s"),
        pl.col("acquisition_cost").mean().alias("cac"),
        pl.col("acquisition_cost").is_null().sum().alias("cac_missing"),
    )
    costs = cost_to_serve(ds, as_of).select("month_idx", pl.col("cost_per_account").alias("cts"))
    rbs = rbs.join(costs.lazy(), on="month_idx", how="left").with_columns(
        pl.col("cts").fill_null(0.0)
    )
    per_age = (
        rbs.join(accts.select(ACCOUNT, "cohort"), on=ACCOUNT)
        .group_by("cohort", "age")
        .agg(*[(pl.col(s).sum() * gm).alias(f"gp_{s}") for s in SOURCES], pl.col("cts").sum())
    )
    ages = sizes.with_columns(
        pl.int_ranges(0, a - pl.col("last_s") + 1, dtype=pl.Int32).alias("age")
    ).explode("age")
    return _with_payback(_cumulative(ages, per_age), lang).collect()


def _cumulative(ages: pl.LazyFrame, per_age: pl.LazyFrame) -> pl.LazyFrame:
    """Cumulative gross profit by source and cost to serve per acquired account, and the net
    (null when the cohort's acquisition cost is unknown: never "cost 0")."""
    per_account = [
        (pl.col(f"gp_{s}").cum_sum().over("cohort") / pl.col("cohort_accounts")).alias(f"gp_{s}")
        for s in SOURCES
    ]
    cts = (pl.col("cts").cum_sum().over("cohort") / pl.col("cohort_accounts")).alias(
        "cost_to_serve"
    )
    gp = (pl.col("gp_base") + pl.col("gp_upsell") + pl.col("gp_cross_sell")).alias("gross_profit")
    return (
        ages.join(per_age, on=["cohort", "age"], how="left")
        .with_columns(pl.col("gp_base", "gp_upsell", "gp_cross_sell", "cts").fill_null(0.0))
        .sort("cohort", "age")
        .with_columns(*per_account, cts)
        .with_columns(gp)
        .with_columns(
            (pl.col("gross_profit") - pl.col("cac") - pl.col("cost_to_serve")).alias("net")
        )
    )


def _with_payback(g: pl.LazyFrame, lang: str) -> pl.LazyFrame:
    """``payback_age`` per cohort and, where it is null, ``payback_reason`` and its code."""
    payback = (
        g.filter(pl.col("net") >= 0)
        .group_by("cohort")
        .agg(pl.col("age").min().alias("payback_age"))
    )
    code = (
        pl.when(pl.col("cac").is_null())
        .then(pl.lit("ltv_cohort_cac_unknown"))
        .when(pl.col("payback_age").is_null())
        .then(pl.lit("ltv_cohort_not_paid_back"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    texts = {c: message(c, lang) for c in ("ltv_cohort_cac_unknown", "ltv_cohort_not_paid_back")}
    return (
        g.join(payback, on="cohort", how="left")
        .with_columns(code.alias("payback_reason_code"))
        .with_columns(
            pl.col("payback_reason_code")
            .replace_strict(texts, default=None, return_dtype=pl.String)
            .alias("payback_reason")
        )
        .select(
            "cohort",
            "age",
            "cohort_accounts",
            "gp_base",
            "gp_upsell",
            "gp_cross_sell",
            "gross_profit",
            "cac",
            "cac_missing",
            "cost_to_serve",
            "net",
            "payback_age",
            "payback_reason",
            "payback_reason_code",
        )
        .sort("cohort", "age")
    )


# ---- predictive LTV -----------------------------------------------------------------------------


def survival_counts(lt: pl.DataFrame, as_of_idx: int, period: int) -> tuple[np.ndarray, np.ndarray]:
    """sBG input from first-spell lifetimes (:func:`account_lifetimes`), ``period`` months each.

    An account acquired in month s has ``n = (as_of - s) // period`` whole periods observed. It
    churned in period ``t = ceil(T / period)`` when that is ``<= n``; otherwise it is alive after
    its n periods (censored accounts have survived T = as_of - s months, SPEC §4).

    Returns
    -------
    (lost, alive)
        ``lost[n, t]`` accounts observed for n periods that churned in period t; ``alive[n]``.
    """
    x = lt.select(
        ((as_of_idx - pl.col("first_month_idx")) // period).alias("n"),
        pl.when(pl.col("event"))
        .then((pl.col("T") + period - 1) // period)
        .otherwise(None)
        .alias("t"),
    ).with_columns((pl.col("t").is_not_null() & (pl.col("t") <= pl.col("n"))).alias("lost"))
    k = int(x["n"].max() or 0) if x.height else 0
    lost = np.zeros((k + 1, k + 1))
    alive = np.zeros(k + 1)
    gl = x.filter("lost").group_by("n", "t").len()
    ga = x.filter(~pl.col("lost")).group_by("n").len()
    lost[gl["n"].to_numpy(), gl["t"].to_numpy()] = gl["len"].to_numpy()
    alive[ga["n"].to_numpy()] = ga["len"].to_numpy()
    return lost, alive


def _period_months(ds: Dataset, accounts: pl.DataFrame, setting: str, as_of: Month) -> int:
    """12 when annual contracts are most of the group's paid lines known at ``as_of``
    (``ltv.period = "auto"``; lines starting later are not known yet), else 1."""
    if setting == "month":
        return 1
    if setting == "year":
        return 12
    if "billing_interval_months" not in ds.subscriptions.collect_schema().names():
        return 1
    subs = ds.subscriptions.filter(
        (pl.col("mrr") > 0) & (pl.col("start_date") <= Month.parse(as_of).last_day)
    ).join(accounts.lazy().select(ACCOUNT), on=ACCOUNT, how="semi")
    share = subs.select((pl.col("billing_interval_months") == 12).mean()).collect().item()
    return 12 if share is not None and share > 0.5 else 1


@memoised
def expansion_by_tenure(ds: Dataset, as_of: MonthLike, max_age: int = 36) -> pl.DataFrame:
    """Observed expansion of surviving accounts: mean MRR of the accounts active at age k over
    their own MRR at age 0 (``growth`` by tenure; upsell and cross-sell included, contraction too).

    Returns
    -------
    DataFrame
        ``age, accounts, growth`` for ages 0..max_age with at least 5 accounts.
    """
    rbs = revenue_by_source(ds, as_of)
    m0 = rbs.filter(pl.col("age") == 0).select(ACCOUNT, pl.col("mrr").alias("mrr0"))
    return (
        rbs.filter(pl.col("age") <= max_age)
        .join(m0, on=ACCOUNT)
        .group_by("age")
        .agg(
            pl.len().alias("accounts"), (pl.col("mrr").sum() / pl.col("mrr0").sum()).alias("growth")
        )
        .filter(pl.col("accounts") >= 5)
        .sort("age")
    )


def _growth_curve(growth: pl.DataFrame) -> np.ndarray:
    """g(m) for tenure m = 0..last observed age (gaps and the start filled with the nearest
    earlier value, 1 before any); held at the last value beyond (by the callers)."""
    if growth.height == 0:
        return np.ones(1)
    ages = growth["age"].to_numpy()
    g = np.full(int(ages.max()) + 1, np.nan)
    g[ages] = np.clip(growth["growth"].to_numpy(), 1e-9, None)
    g[0] = g[0] if np.isfinite(g[0]) else 1.0
    idx = np.where(np.isfinite(g), np.arange(len(g)), 0)
    return g[np.maximum.accumulate(idx)]


def _g_at(g: np.ndarray, months: np.ndarray) -> np.ndarray:
    return g[np.minimum(np.asarray(months, dtype=int), len(g) - 1)]


@dataclass(frozen=True)
class _GroupFit:
    """A group's retention fit (None with a reason code when it cannot be fitted)."""

    fit: SBGFit | None
    period: int
    source: str  # "segment" (own fit) or "pooled"
    reason_code: str | None = None
    seed: int = 0


def _fit_group(lt: pl.DataFrame, a: int, period: int, seed: int) -> _GroupFit:
    try:
        fit = fit_sbg_counts(*survival_counts(lt, a, period))
    except ModelError as e:
        return _GroupFit(None, period, "segment", e.code, seed)
    return _GroupFit(fit, period, "segment", None, seed)


def _new_value(
    gf: _GroupFit, arpa: float, gm: float, d: float, g: np.ndarray, samples: int
) -> dict[str, Any]:
    """Expected discounted gross profit of a new account, with and without expansion, and the
    95% percentile intervals of a seeded parametric bootstrap of the fit."""
    p = gf.period
    d_p = (1 + d) ** p - 1
    w = _g_at(g, p * np.arange(len(g) // p + 2))  # w[t] = g(P t), held beyond
    fit = gf.fit.for_valuation()
    pay = gm * arpa * p
    life = fit.expected_lifetime(d_p)
    out: dict[str, Any] = {
        "ltv_new": pay * fit.expected_lifetime(d_p, w),
        "ltv_new_no_expansion": pay * life,
        "ltv_new_is_lower_bound": gf.fit.no_churn,
        "expected_lifetime_months": p * life,
    }
    if gf.fit.no_churn:
        return out
    low = gf.fit.theta_lower_all_churned
    if low is not None:  # θ̂ = 1: the exact one-sided bound instead of a degenerate bootstrap
        bound = replace(fit, theta=low, phi=0.0)
        out["ltv_new_ci"] = [out["ltv_new"], pay * bound.expected_lifetime(d_p, w)]
        out["ltv_new_no_expansion_ci"] = [
            out["ltv_new_no_expansion"],
            pay * bound.expected_lifetime(d_p),
        ]
        return out
    th, ph = gf.fit.bootstrap(samples, gf.seed)
    life_w = w[0] + discounted_sums(th, ph, d_p, np.array([1]), w)[:, 0] / (1 + d_p)
    life_0 = 1 + discounted_sums(th, ph, d_p, np.array([1]))[:, 0] / (1 + d_p)
    out["ltv_new_ci"] = _ci(pay * life_w, out["ltv_new"])
    out["ltv_new_no_expansion_ci"] = _ci(pay * life_0, out["ltv_new_no_expansion"])
    out["_draws"] = (th, ph)
    return out


def _ci(draws: np.ndarray, value: float) -> list[float]:
    """95% percentile interval of bootstrap draws, widened to contain the estimate."""
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return [float(min(lo, value)), float(max(hi, value))]


def _group_names(lt: pl.DataFrame, keys: list[str]) -> list[Any]:
    return [None] if not keys else sorted(lt[keys[0]].unique().to_list(), key=str)


def _arpa_new(rbs: pl.DataFrame, a: int, members: pl.DataFrame | None) -> float | None:
    """Mean first-month MRR of the accounts acquired in the 12 months to as_of (all acquired
    accounts when there were none)."""
    rows = rbs.filter(pl.col("age") == 0)
    if members is not None:
        rows = rows.join(members.select(ACCOUNT), on=ACCOUNT, how="semi")
    recent = rows.filter(pl.col("month_idx") > a - 12)
    rows = recent if recent.height else rows
    return float(rows["mrr"].mean()) if rows.height else None


def _group_fits(
    ds: Dataset, lt: pl.DataFrame, keys: list[str], a: int, m: Month, cfg: dict[str, Any]
) -> tuple[_GroupFit, dict[Any, _GroupFit], dict[Any, str | None]]:
    """The pooled fit and each group's fit: its own when it has enough accounts and periods,
    else the pooled one (the reason code says which threshold was short)."""
    setting = str(cfg["ltv"]["period"])
    seed = int(cfg["ltv"]["interval_seed"])
    pooled = replace(_fit_group(lt, a, _period_months(ds, lt, setting, m), seed), source="pooled")
    min_acc = int(cfg["ltv"]["min_accounts_per_segment"])
    min_per = int(cfg["ltv"]["min_periods_per_segment"])
    fits: dict[Any, _GroupFit] = {}
    short: dict[Any, str | None] = {}
    for i, name in enumerate(_group_names(lt, keys)):  # a handful of groups, not accounts
        if name is None:
            fits[name], short[name] = pooled, None
            continue
        sub = lt.filter(pl.col(keys[0]) == name)
        period = _period_months(ds, sub, setting, m)
        n_periods = (a - int(sub["first_month_idx"].min())) // period if sub.height else 0
        own = _fit_group(sub, a, period, seed + i + 1)
        if sub.height >= min_acc and n_periods >= min_per and own.fit is not None:
            fits[name], short[name] = own, None
        else:
            fits[name] = replace(pooled, source="pooled")
            short[name] = "ltv_pooled_thin_group"
    return pooled, fits, short


def predictive_ltv(
    ds: Dataset, as_of: MonthLike, config: dict[str, Any] | None = None, by: By = None
) -> dict[str, Any]:
    """Predictive LTV with the sBG model (SPEC §5), per group where the data allows.

    One period = one month, or one year where annual contracts are most of a group's paid
    lines known at as_of (``ltv.period = "auto"``; ``period_months``); each account's first
    spell. Counts alive by acquisition month (:func:`survival_counts`) are fitted jointly by
    bounded maximum likelihood; sBG or its geometric limit by a likelihood-ratio test
    (:mod:`cs_metrics.models.sbg`). A group (``by``) gets its own fit with at least
    ``ltv.min_accounts_per_segment`` accounts and ``ltv.min_periods_per_segment`` periods, else
    the pooled fit (``fit_source = "pooled"`` with ``fit_source_reason``).

    - New account: ``margin x ARPA_new x P x Σ_t S(t) g(P t) / (1+d_P)^t`` (P = months per
      period, d_P = (1 + d)^P - 1, ``g(m)`` = observed expansion at tenure m months,
      :func:`expansion_by_tenure`, held at its last value beyond); ``ltv_new_no_expansion``
      with g = 1. With no churn observed both are lower bounds (``ltv_new_is_lower_bound``).
      ``*_ci``: 95% interval from a seeded parametric bootstrap of the fit
      (``ltv.interval_samples`` draws, ``ltv.interval_seed``).
    - Current account with tenure k months (``renewals = k // P``): ``margin x MRR x P x
      DERL(d_P | renewals) x g(k+P)/g(k)``.

    Values that cannot be computed are ``null`` with ``*_reason`` and ``*_reason_code``.

    Returns
    -------
    dict
        ``discount_monthly, gross_margin, pooled (fit dict or null), pooled_reason, groups (per
        group: fit, fit_source, period_months, accounts, arpa_new, ltv_new, ltv_new_ci,
        ltv_new_no_expansion, ltv_new_no_expansion_ci, ltv_new_is_lower_bound, notes),
        expansion, accounts (DataFrame), residual_value_total, residual_value_total_ci,
        residual_value_total_is_lower_bound`` (some current accounts are valued with a fit that
        saw no churn: the total is a lower bound, ``residual_value_total_bound_reason`` and
        ``_reason_code`` say so, and no interval is given).
    """
    cfg = config or ds.config
    lang = lang_of(cfg)
    gm = float(cfg["ltv"]["gross_margin"])
    d = monthly_discount(cfg)
    m = Month.parse(as_of)
    a = m.index
    check_ltv_by(ds, by)
    lt = with_by(account_lifetimes(ds, m), ds, m, by).collect()
    keys = by_keys(by)
    growth = expansion_by_tenure(ds, m, max_age=60)
    g = _growth_curve(growth)
    rbs = revenue_by_source(ds, m)
    pooled, fits, short = _group_fits(ds, lt, keys, a, m, cfg)
    samples = int(cfg["ltv"]["interval_samples"])
    min_acc = int(cfg["ltv"]["min_accounts_per_segment"])
    min_per = int(cfg["ltv"]["min_periods_per_segment"])
    groups: dict[str, Any] = {}
    draws: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
    for name, gf in fits.items():
        sub = lt if name is None else lt.filter(pl.col(keys[0]) == name)
        rec = _group_record(gf, sub, rbs, a, gm, d, g, samples, lang, name is None)
        if short[name]:
            _reason(rec, "fit_source", short[name], lang, min_acc=min_acc, min_per=min_per)
        if "_draws" in rec:
            draws[name] = rec.pop("_draws")
        groups["all" if name is None else str(name)] = rec
    accounts, total, total_ci = _residual_values(ds, m, lt, keys, fits, draws, gm, d, g, lang)
    lower = total is not None and bool(accounts["residual_is_lower_bound"].any())
    out: dict[str, Any] = {
        "discount_monthly": d,
        "gross_margin": gm,
        "pooled": None if pooled.fit is None else pooled.fit.to_dict(lang, pooled.period),
        "groups": groups,
        "expansion": growth,
        "accounts": accounts,
        "residual_value_total": total,
        "residual_value_total_ci": total_ci,
        "residual_value_total_is_lower_bound": lower,
    }
    _total_reasons(out, pooled.reason_code, lang)
    return out


def _total_reasons(out: dict[str, Any], pooled_code: str | None, lang: str) -> None:
    """Why the pooled fit, the residual total or its interval is missing, and whether the total
    is a lower bound (valued at the 95% upper bound of churn: the point and interval say so)."""
    total, lower = out["residual_value_total"], out["residual_value_total_is_lower_bound"]
    if lower:
        _reason(out, "residual_value_total_bound", "ltv_residual_lower_bound", lang)
    if out["pooled"] is None:
        _reason(out, "pooled", pooled_code, lang)
    if total is None:
        _reason(out, "residual_value_total", pooled_code or "no_active_accounts_as_of", lang)
    elif out["residual_value_total_ci"] is None:
        code = "ltv_lower_bound_no_interval" if lower else "ltv_interval_at_bound"
        _reason(out, "residual_value_total_ci", code, lang)


def _group_record(
    gf: _GroupFit,
    sub: pl.DataFrame,
    rbs: pl.DataFrame,
    a: int,
    gm: float,
    d: float,
    g: np.ndarray,
    samples: int,
    lang: str,
    is_all: bool,
) -> dict[str, Any]:
    """One group's JSON: fit, source, period, ARPA of new accounts and the new-account values."""
    rec: dict[str, Any] = {
        "fit": None if gf.fit is None else gf.fit.to_dict(lang, gf.period),
        "fit_source": gf.source,
        "period_months": gf.period,
        "period_note": message(f"ltv_period_{gf.period}", lang),
        "accounts": sub.height,
        "arpa_new": _arpa_new(rbs, a, None if is_all else sub),
        "ltv_new": None,
        "ltv_new_ci": None,
        "ltv_new_no_expansion": None,
        "ltv_new_no_expansion_ci": None,
        "ltv_new_is_lower_bound": False,
        "expected_lifetime_months": None,
        "notes": [] if gf.fit is None else gf.fit.note_texts(lang, gf.period),
    }
    if gf.fit is None:
        for key in ("ltv_new", "ltv_new_no_expansion"):
            _reason(rec, key, gf.reason_code, lang)
        return rec
    if rec["arpa_new"] is None:
        for key in ("ltv_new", "ltv_new_no_expansion"):
            _reason(rec, key, "ltv_no_new_accounts", lang)
        return rec
    rec.update(_new_value(gf, rec["arpa_new"], gm, d, g, samples))
    if rec["ltv_new_is_lower_bound"]:
        for key in ("ltv_new_ci", "ltv_new_no_expansion_ci"):
            _reason(rec, key, "ltv_lower_bound_no_interval", lang)
    return rec


def _residual_values(
    ds: Dataset,
    m: Month,
    lt: pl.DataFrame,
    keys: list[str],
    fits: dict[Any, _GroupFit],
    draws: dict[Any, tuple[np.ndarray, np.ndarray]],
    gm: float,
    d: float,
    g: np.ndarray,
    lang: str,
) -> tuple[pl.DataFrame, float | None, list[float] | None]:
    """Per current account its discounted expected residual gross profit; the total and its
    bootstrap interval (the groups' draws summed). Vectorised per group over distinct renewals."""
    a = m.index
    act = active_accounts(ds, m).collect()
    act = act.with_columns((pl.lit(a) - pl.col("first_month_idx")).alias("tenure"))
    if keys:
        act = act.join(lt.select(ACCOUNT, keys[0]), on=ACCOUNT, how="left")
    parts, total_draws, total = [], None, 0.0
    for name, gf in fits.items():  # per group (a handful), each vectorised over its accounts
        sub = act if name is None else act.filter(pl.col(keys[0]) == name)
        if sub.height == 0:
            continue
        label = "all" if name is None else str(name)
        tenure = sub["tenure"].to_numpy()
        mrr = sub["mrr"].to_numpy()
        if gf.fit is None:
            value = np.full(sub.height, np.nan)
            bound, code = False, gf.reason_code
        else:
            p = gf.period
            d_p = (1 + d) ** p - 1
            renewals = tenure // p
            ratio = _g_at(g, tenure + p) / _g_at(g, tenure)
            weight = gm * mrr * p * ratio
            fit = gf.fit.for_valuation()
            value = weight * np.asarray(fit.residual_lifetime(d_p, renewals))
            bound, code = gf.fit.no_churn, ("ltv_lower_bound" if gf.fit.no_churn else None)
            total += float(value.sum())
            if name in draws:
                th, ph = draws[name]
                uniq, inv = np.unique(renewals, return_inverse=True)
                per = discounted_sums(th, ph, d_p, uniq + 1)  # (draws, distinct renewals)
                tot = per @ np.bincount(inv, weights=weight, minlength=uniq.size)
                total_draws = tot if total_draws is None else total_draws + tot
        parts.append(
            pl.DataFrame(
                {
                    ACCOUNT: sub[ACCOUNT],
                    "group": [label] * sub.height,
                    "tenure": tenure.astype(np.int64),
                    "mrr": mrr.astype(float),
                    "residual_value": value,
                    "residual_is_lower_bound": [bound] * sub.height,
                    "residual_reason": [None if code is None else message(code, lang)] * sub.height,
                    "residual_reason_code": [code] * sub.height,
                },
                schema=_ACCOUNT_SCHEMA,
            ).with_columns(pl.col("residual_value").fill_nan(None))
        )
    accounts = pl.concat(parts) if parts else pl.DataFrame(schema=_ACCOUNT_SCHEMA)
    if accounts.height == 0 or accounts["residual_value"].null_count() == accounts.height:
        return accounts.sort(ACCOUNT), None, None
    ci = None
    if total_draws is not None and len(draws) == len({k for k, v in fits.items() if v.fit}):
        ci = _ci(total_draws, total)
    return accounts.sort(ACCOUNT), total, ci


_ACCOUNT_SCHEMA = {
    ACCOUNT: pl.String,
    "group": pl.String,
    "tenure": pl.Int64,
    "mrr": pl.Float64,
    "residual_value": pl.Float64,
    "residual_is_lower_bound": pl.Boolean,
    "residual_reason": pl.String,
    "residual_reason_code": pl.String,
}


def ltv_cac(
    ds: Dataset,
    as_of: MonthLike,
    config: dict[str, Any] | None = None,
    by: By = None,
    pred: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """LTV:CAC and CAC payback months, overall and per group (SPEC §5).

    LTV:CAC = predictive LTV of a new account / mean CAC (mean ``acquisition_cost`` of the
    accounts acquired by as_of - active in some month up to as_of, point in time - that have
    one; ``cac_missing`` counts those acquired without one). CAC payback months = mean CAC / (ARPA of new accounts x gross
    margin - cost to serve per account), cost to serve = as_of's ``cs_costs`` / active accounts
    (:func:`cost_to_serve`, so a mid-month row counts as in cohort LTV). ``null`` with
    ``*_reason`` when CAC is unknown (never taken as 0), when the monthly contribution is <= 0,
    or when the payback takes longer than a new account is expected to stay (its discounted
    expected lifetime in months, P x DEL).
    """
    cfg = config or ds.config
    lang = lang_of(cfg)
    gm = float(cfg["ltv"]["gross_margin"])
    m = Month.parse(as_of)
    pred = pred or predictive_ltv(ds, m, cfg, by=by)
    cts_rows = cost_to_serve(ds, m).filter(pl.col("month_idx") == m.index)
    cts = float(cts_rows["cost_per_account"][0]) if cts_rows.height else 0.0
    acquired = account_lifetimes(ds, m).select(ACCOUNT)
    acc = ds.accounts.select(ACCOUNT, "acquisition_cost").join(acquired, on=ACCOUNT, how="semi")
    acc = acc.collect()
    keys = by_keys(by)
    if keys:
        acc = with_by(acc.lazy(), ds, m, by).collect()
    return [
        _cac_record(
            name, grp, acc if not keys else acc.filter(pl.col(keys[0]) == name), gm, cts, lang
        )
        for name, grp in pred["groups"].items()
    ]


def _cac_record(
    name: str, grp: dict[str, Any], sub: pl.DataFrame, gm: float, cts: float, lang: str
) -> dict[str, Any]:
    cac = sub["acquisition_cost"].drop_nulls()
    mean_cac = float(cac.mean()) if cac.len() else None
    rec: dict[str, Any] = {
        "group": name,
        "ltv_new": grp["ltv_new"],
        "ltv_new_ci": grp.get("ltv_new_ci"),
        "ltv_new_is_lower_bound": grp.get("ltv_new_is_lower_bound", False),
        "mean_cac": mean_cac,
        "cac_known": int(cac.len()),
        "cac_missing": int(sub.height - cac.len()),
        "cost_to_serve_per_account": cts,
        "ltv_cac": None,
        "cac_payback_months": None,
    }
    if mean_cac is None:
        _reason(rec, "ltv_cac", "no_acquisition_cost", lang)
        _reason(rec, "cac_payback_months", "no_acquisition_cost", lang)
        return rec
    if grp["ltv_new"] is None:
        rec["ltv_cac_reason"] = grp.get("ltv_new_reason")
        rec["ltv_cac_reason_code"] = grp.get("ltv_new_reason_code")
    elif mean_cac > 0:
        rec["ltv_cac"] = grp["ltv_new"] / mean_cac
    else:
        _reason(rec, "ltv_cac", "ltv_cac_zero", lang)
    contrib = (grp["arpa_new"] or 0.0) * gm - cts
    if contrib <= 0:
        _reason(rec, "cac_payback_months", "payback_not_covered", lang)
        return rec
    months = mean_cac / contrib
    life = grp.get("expected_lifetime_months")
    if life is not None and months > life:
        _reason(
            rec,
            "cac_payback_months",
            "ltv_payback_beyond_lifetime",
            lang,
            months=f"{months:.1f}",
            life=f"{life:.1f}",
        )
        return rec
    rec["cac_payback_months"] = months
    return rec


def ltv_summary(
    ds: Dataset,
    as_of: MonthLike,
    config: dict[str, Any] | None = None,
    by: By = None,
    pred: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON of ``cs-metrics ltv`` (the predictive fit computed once; pass ``pred`` to reuse
    one already computed)."""
    cfg = config or ds.config
    m = Month.parse(as_of)
    rbs = revenue_by_source(ds, m)
    now = rbs.filter(pl.col("month_idx") == m.index)
    pred = pred or predictive_ltv(ds, m, cfg, by=by)
    predictive = {
        "discount_monthly": pred["discount_monthly"],
        "pooled_fit": pred["pooled"],
        "groups": pred["groups"],
        "residual_value_total": pred["residual_value_total"],
        "residual_value_total_ci": pred["residual_value_total_ci"],
        "residual_value_total_is_lower_bound": pred["residual_value_total_is_lower_bound"],
    }
    for key in ("pooled_reason", "pooled_reason_code"):
        if key in pred:
            predictive[key.replace("pooled", "pooled_fit")] = pred[key]
    for key in pred:
        if key.startswith("residual_value_total_") and key.endswith(("_reason", "_reason_code")):
            predictive[key] = pred[key]
    return {
        "as_of": str(m),
        "simple_ltv": simple_ltv(ds, m, cfg),
        "revenue_by_source": {s: float(now[s].sum()) for s in ("mrr", *SOURCES)},
        "predictive": predictive,
        "ltv_cac": ltv_cac(ds, m, cfg, by=by, pred=pred),
    }


# ---- grouping and reasons -----------------------------------------------------------------------

_BY_ATTRIBUTES = ("industry", "csm", "primary_product")
_BY_NOT_ACCOUNT_COLUMNS = {ACCOUNT, "account_name", "acquisition_cost"}


def ltv_by_choices(ds: Dataset) -> list[str]:
    """Account attributes predictive LTV can be grouped by (``by``)."""
    names = ds.accounts.collect_schema().names()
    cols = {c for c in names if not c.startswith("_")} - _BY_NOT_ACCOUNT_COLUMNS
    return sorted(cols | set(_BY_ATTRIBUTES))


def check_ltv_by(ds: Dataset, by: By) -> None:
    """Raise :class:`~cs_metrics.errors.UsageError` when ``by`` (a name) is not an account
    attribute.

    ``product`` is refused (an account holds several product lines; ``primary_product`` is the
    account attribute), and so is ``segment`` (S/A/B/C is measured at as_of, and churned
    accounts have none: a retention fit by segment would see only survivors).
    """
    if by is None or not isinstance(by, str):
        return
    choices = ltv_by_choices(ds)
    if by in choices:
        return
    code = {"product": "ltv_by_product", "segment": "ltv_by_segment"}.get(by, "by_unknown")
    raise UsageError(code, by=by, known=", ".join(choices))


def _reason(out: dict[str, Any], key: str, code: str | None, lang: str, **params: Any) -> None:
    """``out[key_reason]`` (text) and ``out[key_reason_code]`` (code)."""
    if code is None:
        return
    out.update(reason_fields(key, code, lang, **params))
