"""Customer LTV with upsell and cross-sell (SPEC §5).

- :func:`revenue_by_source`: each active account-month's MRR split into base / upsell /
  cross-sell against the account's first active month (they sum to MRR exactly).
- :func:`simple_ltv`: ARPA x gross margin / pooled monthly logo churn (null when churn is 0).
- :func:`cohort_ltv`: the team's 累積利益額 per acquired account by months since start.
- :func:`predictive_ltv`: the sBG model (Fader & Hardie) with observed expansion.
- :func:`ltv_cac`: LTV:CAC and CAC payback months.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from cs_metrics.data.dataset import Dataset, memoised
from cs_metrics.metrics.churn import account_lifetimes
from cs_metrics.metrics.revenue import (
    ACCOUNT,
    By,
    _with_by,
    active_accounts,
    as_of_index,
    by_keys,
    mrr_bridge,
    product_segments,
)
from cs_metrics.models.sbg import fit_sbg_cohorts, sbg_del, sbg_derl, sbg_survival
from cs_metrics.periods import (
    index_to_month_expr,
    month_label_expr,
    parse_month,
    quarter_label_expr,
)

SOURCES = ("base", "upsell", "cross_sell")


def monthly_discount(cfg: dict[str, Any]) -> float:
    """Monthly discount rate from the configured annual rate: (1 + annual)^(1/12) - 1."""
    return (1.0 + float(cfg["ltv"]["annual_discount_rate"])) ** (1 / 12) - 1


@memoised  # several LTV figures and report sections read it: computed once per month
def revenue_by_source(ds: Dataset, as_of: dt.date | str, by: By = None) -> pl.DataFrame:
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
    rows = _with_by(rows, ds, as_of, by)
    keys = by_keys(by)
    out = rows.select(
        *keys, ACCOUNT, "first_month_idx", "month_idx", "month", "age", "mrr", *SOURCES
    )
    # without ``by`` the rows are already in (account_id, month_idx) order
    return (out.sort(*keys, ACCOUNT, "month_idx") if keys else out).collect()


def simple_ltv(
    ds: Dataset, as_of: dt.date | str, config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Simple LTV = ARPA x gross margin / c (SPEC §5).

    ARPA = MRR(as_of) / active accounts(as_of); c = pooled monthly logo churn over the window
    (config ``ltv.simple_ltv_window_months``, default 12) ending at as_of: sum of churned / sum
    of accounts active at the start of each month; fewer months where history is shorter
    (``months_used``). ``ltv`` is ``null`` with ``ltv_reason`` when c = 0 or nothing is active —
    never infinity.
    """
    cfg = config or ds.config
    a = as_of_index(as_of)
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
    if not active:
        out["ltv_reason"] = "no active accounts at as_of"
    elif not churned:
        out["ltv_reason"] = (
            f"no churn in the last {rates.height} months: LTV is undefined (not infinite)"
        )
    else:
        out["ltv"] = out["arpa"] * gm / out["monthly_churn"]
    if rates.height < window:
        out["window_note"] = f"only {rates.height} of {window} months of history"
    return out


def cohort_ltv(
    ds: Dataset, as_of: dt.date | str, config: dict[str, Any] | None = None, cohort: str = "month"
) -> pl.DataFrame:
    """Cohort net LTV (累積利益額) per acquired account by months since start (SPEC §5).

    Per cohort (first active month, or its quarter), with the cohort size fixed as denominator,
    at each age k: cumulative gross profit (MRR x gross margin) split into base / upsell /
    cross-sell, minus acquisition cost (cohort mean of ``accounts.acquisition_cost`` over the
    accounts that have one; ``cac_missing`` counts the others), minus cost to serve (each month's
    ``cs_costs`` divided equally over that month's active accounts, summed over the cohort's
    accounts; 0 without the table). ``net = gp_base + gp_upsell + gp_cross_sell - cac -
    cost_to_serve`` (cumulative). Ages are shown while every account of the cohort has been
    observed. ``payback_age`` = first age with net >= 0 (null if not yet).

    Returns
    -------
    DataFrame
        ``cohort, age, cohort_accounts, gp_base, gp_upsell, gp_cross_sell, gross_profit, cac,
        cac_missing, cost_to_serve, net, payback_age``.
    """
    cfg = config or ds.config
    gm = float(cfg["ltv"]["gross_margin"])
    a = as_of_index(as_of)
    rbs = revenue_by_source(ds, as_of).lazy()
    label = (
        month_label_expr(pl.col("first_month_idx"))
        if cohort == "month"
        else quarter_label_expr(pl.col("first_month_idx"))
    )
    if cohort not in ("month", "quarter"):
        raise ValueError("cohort must be 'month' or 'quarter'")
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
    if ds.has("cs_costs"):
        active_n = rbs.group_by("month_idx").agg(pl.len().alias("n_active"))
        costs = (
            ds["cs_costs"]
            .select(
                (
                    pl.col("month").dt.year().cast(pl.Int32) * 12
                    + pl.col("month").dt.month().cast(pl.Int32)
                    - 1
                ).alias("month_idx"),
                "amount",
            )
            .group_by("month_idx")
            .agg(pl.col("amount").sum())
            .join(active_n, on="month_idx")
            .select("month_idx", (pl.col("amount") / pl.col("n_active")).alias("cts"))
        )
        rbs = rbs.join(costs, on="month_idx", how="left").with_columns(pl.col("cts").fill_null(0.0))
    else:
        rbs = rbs.with_columns(pl.lit(0.0).alias("cts"))
    per_age = (
        rbs.join(accts.select(ACCOUNT, "cohort"), on=ACCOUNT)
        .group_by("cohort", "age")
        .agg(*[(pl.col(s).sum() * gm).alias(f"gp_{s}") for s in SOURCES], pl.col("cts").sum())
    )
    ages = sizes.with_columns(
        pl.int_ranges(0, a - pl.col("last_s") + 1, dtype=pl.Int32).alias("age")
    ).explode("age")
    g = (
        ages.join(per_age, on=["cohort", "age"], how="left")
        .with_columns(pl.col("gp_base", "gp_upsell", "gp_cross_sell", "cts").fill_null(0.0))
        .sort("cohort", "age")
        .with_columns(
            *[
                (pl.col(f"gp_{s}").cum_sum().over("cohort") / pl.col("cohort_accounts")).alias(
                    f"gp_{s}"
                )
                for s in SOURCES
            ],
            (pl.col("cts").cum_sum().over("cohort") / pl.col("cohort_accounts")).alias(
                "cost_to_serve"
            ),
        )
        .with_columns(
            (pl.col("gp_base") + pl.col("gp_upsell") + pl.col("gp_cross_sell")).alias(
                "gross_profit"
            ),
        )
        .with_columns(
            (pl.col("gross_profit") - pl.col("cac").fill_null(0.0) - pl.col("cost_to_serve")).alias(
                "net"
            )
        )
    )
    payback = (
        g.filter(pl.col("net") >= 0)
        .group_by("cohort")
        .agg(pl.col("age").min().alias("payback_age"))
    )
    return (
        g.join(payback, on="cohort", how="left")
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
        )
        .sort("cohort", "age")
        .collect()
    )


def _alive_counts(lt: pl.DataFrame, a: int, period: int = 1) -> list[list[float]]:
    """Per monthly acquisition cohort: accounts alive after k periods (k x ``period`` months),
    k = 0..floor((as_of - s) / period), first spell only (T in months from account_lifetimes)."""
    out = []
    for s, grp in lt.group_by("first_month_idx"):
        n = (a - int(s[0])) // period
        T = grp["T"].to_numpy()
        out.append([float((T > period * k).sum()) for k in range(n + 1)])
    return sorted(out, key=len)


def _period_months(ds: Dataset, accounts: pl.DataFrame, setting: str) -> int:
    """12 when annual contracts dominate the group's paid lines (``ltv.period = "auto"``)."""
    if setting == "month":
        return 1
    if setting == "year":
        return 12
    subs = ds.subscriptions.filter(pl.col("mrr") > 0).join(
        accounts.lazy().select(ACCOUNT), on=ACCOUNT, how="semi"
    )
    share = subs.select((pl.col("billing_interval_months") == 12).mean()).collect().item()
    return 12 if share is not None and share > 0.5 else 1


def expansion_by_tenure(ds: Dataset, as_of: dt.date | str, max_age: int = 36) -> pl.DataFrame:
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


def predictive_ltv(
    ds: Dataset, as_of: dt.date | str, config: dict[str, Any] | None = None, by: By = None
) -> dict[str, Any]:
    """Predictive LTV with the sBG model (SPEC §5), per group where the data allows.

    One period = one month, or one year where annual contracts are most of a group's paid
    lines (``ltv.period = "auto"``; stated as ``period_months``); each account's first spell
    (until its first churn). Counts alive by monthly acquisition cohort, at whole periods, are
    fitted jointly (multi-cohort MLE). A group (``by``) gets its
    own fit when it has at least ``ltv.min_accounts_per_segment`` accounts and
    ``ltv.min_periods_per_segment`` observed months; otherwise the pooled fit is used (stated in
    ``fit_source``).

    - New account: ``margin x ARPA_new x P x Σ_t S(t) g(P t) / (1+d_P)^t`` (P = months per
      period, d_P = (1 + d)^P - 1) where ``g(m)`` is the observed expansion of surviving accounts
      at tenure m months (:func:`expansion_by_tenure`, held at its last observed value beyond);
      without expansion this is ``margin x ARPA_new x P x DEL(d_P)``.
    - Current account with tenure k months (``renewals = k // P``): ``margin x MRR x P x
      DERL(d_P | renewals) x g(k+P)/g(k)`` (the expansion ratio over the next period).

    Returns
    -------
    dict
        ``discount_monthly, pooled (fit), groups (per group: fit, fit_source, ltv_new,
        ltv_new_no_expansion, arpa_new), accounts (DataFrame: account_id, group, tenure, mrr,
        residual_value)``.
    """
    cfg = config or ds.config
    gm = float(cfg["ltv"]["gross_margin"])
    d = monthly_discount(cfg)
    a = as_of_index(as_of)
    lt = _with_by(account_lifetimes(ds, as_of), ds, as_of, by).collect()
    keys = by_keys(by)
    growth = expansion_by_tenure(ds, as_of, max_age=60)
    g_ages = dict(zip(growth["age"].to_list(), growth["growth"].to_list(), strict=True))
    last = max(g_ages) if g_ages else 0

    def g_at(month: int) -> float:
        return g_ages.get(int(min(month, last)), 1.0) if g_ages else 1.0

    rbs = revenue_by_source(ds, as_of)
    new_arpa_all = rbs.filter((pl.col("age") == 0) & (pl.col("month_idx") > a - 12))
    setting = str(cfg["ltv"].get("period", "auto"))
    pooled_period = _period_months(ds, lt, setting)
    pooled = fit_sbg_cohorts(_alive_counts(lt, a, pooled_period))

    def value_new(fit, arpa: float, period: int) -> tuple[float, float]:
        horizon = 1200 // period
        t = np.arange(horizon)
        d_p = (1 + d) ** period - 1
        disc = np.exp(-t * np.log1p(d_p))
        g = np.array([g_at(period * x) for x in t])
        s_t = sbg_survival(fit.alpha, fit.beta, t)
        pay = arpa * period  # MRR x months per period
        return gm * pay * float(np.sum(s_t * g * disc)), gm * pay * sbg_del(
            fit.alpha, fit.beta, d_p
        )

    groups: dict[str, Any] = {}
    min_acc = int(cfg["ltv"]["min_accounts_per_segment"])
    min_per = int(cfg["ltv"]["min_periods_per_segment"])
    names = [None] if not keys else sorted(lt[keys[0]].unique().to_list(), key=str)
    fits: dict[Any, tuple[Any, int]] = {}
    for name in names:
        sub = lt if name is None else lt.filter(pl.col(keys[0]) == name)
        period = pooled_period if name is None else _period_months(ds, sub, setting)
        n_periods = (a - int(sub["first_month_idx"].min())) // period if sub.height else 0
        if name is None:
            fit, source = pooled, "pooled"
        elif sub.height >= min_acc and n_periods >= min_per:
            fit, source = fit_sbg_cohorts(_alive_counts(sub, a, period)), "segment"
        else:
            fit, source, period = (
                pooled,
                f"pooled (fewer than {min_acc} accounts or {min_per} periods)",
                pooled_period,
            )
        fits[name] = (fit, period)
        arpa_rows = (
            new_arpa_all
            if name is None
            else new_arpa_all.join(sub.select(ACCOUNT), on=ACCOUNT, how="semi")
        )
        if arpa_rows.height == 0:
            arpa_rows = (
                rbs.filter(pl.col("age") == 0)
                if name is None
                else rbs.filter(pl.col("age") == 0).join(
                    sub.select(ACCOUNT), on=ACCOUNT, how="semi"
                )
            )
        arpa = float(arpa_rows["mrr"].mean()) if arpa_rows.height else 0.0
        v, v0 = value_new(fit, arpa, period)
        groups["all" if name is None else str(name)] = {
            "fit": fit.to_dict(),
            "fit_source": source,
            "period_months": period,
            "period_note": "annual contracts dominate: one period = one year"
            if period == 12
            else "one period = one month",
            "accounts": sub.height,
            "arpa_new": arpa,
            "ltv_new": v,
            "ltv_new_no_expansion": v0,
        }
    act = active_accounts(ds, as_of).collect()
    act = act.with_columns((pl.lit(a) - pl.col("first_month_idx")).alias("tenure"))
    if keys:
        act = act.join(lt.select(ACCOUNT, keys[0]), on=ACCOUNT, how="left")
    rows = []
    for r in act.iter_rows(named=True):
        name = r.get(keys[0]) if keys else None
        fit, period = fits.get(name, (pooled, pooled_period))
        k = int(r["tenure"])
        renewals = k // period
        d_p = (1 + d) ** period - 1
        ratio = g_at(k + period) / g_at(k)
        rows.append(
            {
                ACCOUNT: r[ACCOUNT],
                "group": "all" if name is None else str(name),
                "tenure": k,
                "mrr": r["mrr"],
                "residual_value": gm
                * r["mrr"]
                * period
                * sbg_derl(fit.alpha, fit.beta, d_p, renewals)
                * ratio,
            }
        )
    accounts = pl.DataFrame(
        rows,
        schema={
            ACCOUNT: pl.String,
            "group": pl.String,
            "tenure": pl.Int64,
            "mrr": pl.Float64,
            "residual_value": pl.Float64,
        },
    )
    return {
        "discount_monthly": d,
        "gross_margin": gm,
        "pooled": pooled.to_dict(),
        "groups": groups,
        "expansion": growth,
        "accounts": accounts.sort(ACCOUNT),
    }


def ltv_cac(
    ds: Dataset, as_of: dt.date | str, config: dict[str, Any] | None = None, by: By = None
) -> list[dict[str, Any]]:
    """LTV:CAC and CAC payback months, overall and per group (SPEC §5).

    LTV:CAC = predictive LTV of a new account / mean CAC (mean ``acquisition_cost`` of the
    accounts that have one). CAC payback months = mean CAC / (ARPA of new accounts x gross margin
    - cost to serve per account), cost to serve = as_of's ``cs_costs`` / active accounts; null
    with a reason when the monthly contribution is <= 0 or CAC is unknown.
    """
    cfg = config or ds.config
    gm = float(cfg["ltv"]["gross_margin"])
    pred = predictive_ltv(ds, as_of, cfg, by=by)
    m = parse_month(as_of)
    act = active_accounts(ds, m).collect()
    cts = 0.0
    if ds.has("cs_costs") and act.height:
        c = (
            ds["cs_costs"]
            .filter(pl.col("month") == m)
            .select(pl.col("amount").sum())
            .collect()
            .item()
        )
        cts = float(c or 0.0) / act.height
    acc = ds.accounts.select(ACCOUNT, "acquisition_cost").collect()
    keys = by_keys(by)
    if keys:
        acc = _with_by(acc.lazy(), ds, as_of, by).collect()
    out = []
    for name, grp in pred["groups"].items():
        sub = acc if not keys else acc.filter(pl.col(keys[0]) == name)
        cac = sub["acquisition_cost"].drop_nulls()
        mean_cac = float(cac.mean()) if cac.len() else None
        contrib = grp["arpa_new"] * gm - cts
        rec: dict[str, Any] = {
            "group": name,
            "ltv_new": grp["ltv_new"],
            "mean_cac": mean_cac,
            "cac_known": int(cac.len()),
            "cac_missing": int(sub.height - cac.len()),
            "cost_to_serve_per_account": cts,
            "ltv_cac": None,
            "cac_payback_months": None,
        }
        if mean_cac:
            rec["ltv_cac"] = grp["ltv_new"] / mean_cac
            if contrib > 0:
                rec["cac_payback_months"] = mean_cac / contrib
            else:
                rec["cac_payback_reason"] = "ARPA x margin does not cover the cost to serve"
        else:
            rec["ltv_cac_reason"] = "no acquisition_cost in accounts"
        out.append(rec)
    return out


def ltv_summary(
    ds: Dataset, as_of: dt.date | str, config: dict[str, Any] | None = None, by: By = None
) -> dict[str, Any]:
    """The JSON of ``cs-metrics ltv``."""
    cfg = config or ds.config
    m = parse_month(as_of)
    rbs = revenue_by_source(ds, m)
    now = rbs.filter(pl.col("month_idx") == as_of_index(m))
    pred = predictive_ltv(ds, m, cfg, by=by)
    return {
        "as_of": m.strftime("%Y-%m"),
        "simple_ltv": simple_ltv(ds, m, cfg),
        "revenue_by_source": {s: float(now[s].sum()) for s in ("mrr", *SOURCES)},
        "predictive": {
            "discount_monthly": pred["discount_monthly"],
            "pooled_fit": pred["pooled"],
            "groups": pred["groups"],
            "residual_value_total": float(pred["accounts"]["residual_value"].sum()),
        },
        "ltv_cac": ltv_cac(ds, m, cfg, by=by),
    }
