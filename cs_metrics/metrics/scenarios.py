"""What-if projections for the churn-target review (SPEC §4 definitions, documented levers)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.metrics.churn import account_lifetimes, churn_events, churn_within
from cs_metrics.metrics.retention import trailing_retention
from cs_metrics.metrics.revenue import ACCOUNT, as_of_index
from cs_metrics.periods import parse_month


def what_if(
    ds: Dataset,
    as_of: dt.date | str,
    save_reason_pct: float = 0.0,
    reason: str = "施策終了・中止",
    graduation_target: float | None = None,
    horizon: int | None = None,
) -> dict[str, Any]:
    """Projected churn within H and trailing-12-month NRR under two levers.

    - **Save X% of one reason's churn** (default 施策終了・中止): the observed rate is scaled by
      ``1 - x * share`` where ``share`` = the reason's share of the eligible accounts' churn
      within H (so without the other lever it equals ``(churned - x * churned_with_reason) /
      eligible``); the Kaplan-Meier rate by ``1 - x * share_all`` (share among first-spell churn
      within H of all accounts); NRR adds back ``x`` of the MRR lost by the cohort's churn events
      with that reason in the trailing 12 months.
    - **Lift onboarding graduation to Y**: accounts split into graduated / not (from
      ``onboarding_sessions``); the projected observed rate is ``Y * rate_graduated + (1 - Y) *
      rate_not_graduated`` (observed rates of eligible accounts of each group; the KM rate is
      scaled by the same factor), then the reason lever is applied on top. Unavailable (stated) without onboarding data or an empty group.

    Returns
    -------
    dict
        ``baseline`` and ``projected`` (``rate, km_rate, nrr_trailing_12m``), ``levers`` and
        ``notes``.
    """
    m = parse_month(as_of)
    a = as_of_index(m)
    h = int(horizon or ds.config["revenue"]["churn_horizon_months"])
    x = max(0.0, min(1.0, float(save_reason_pct)))
    notes: list[str] = []
    base = churn_within(ds, m, h)[0]
    lt = account_lifetimes(ds, m).collect()
    ev = churn_events(ds, m).select(ACCOUNT, "churn_month_idx", "reason_category", "lost_mrr")
    first = lt.filter(pl.col("event") & (pl.col("T") <= h)).join(
        ev, left_on=[ACCOUNT, "churn_month_idx"], right_on=[ACCOUNT, "churn_month_idx"], how="left"
    )
    eligible_first = first.filter(pl.col("first_month_idx") <= a - h)
    n_reason_obs = eligible_first.filter(pl.col("reason_category") == reason).height
    share_all = (
        first.filter(pl.col("reason_category") == reason).height / first.height
        if first.height
        else 0.0
    )

    rate = base["rate"]
    if graduation_target is not None:
        from cs_metrics.metrics.onboarding import onboarding_accounts

        acc = onboarding_accounts(ds, m)
        if acc is None:
            notes.append("onboarding lever unavailable: no onboarding_sessions table")
        else:
            grp = (
                lt.filter(pl.col("first_month_idx") <= a - h)
                .join(acc.select(ACCOUNT, "graduated"), on=ACCOUNT, how="inner")
                .with_columns((pl.col("event") & (pl.col("T") <= h)).alias("churned"))
            )
            g = grp.group_by("graduated").agg(
                pl.col("churned").mean().alias("r"), pl.len().alias("n")
            )
            rates = dict(zip(g["graduated"].to_list(), g["r"].to_list(), strict=True))
            if True in rates and False in rates:
                y = max(0.0, min(1.0, float(graduation_target)))
                rate = y * rates[True] + (1 - y) * rates[False]
                notes.append(
                    f"observed churn within {h}m: graduated {rates[True]:.1%}, not graduated "
                    f"{rates[False]:.1%} (eligible accounts with onboarding records)"
                )
            else:
                notes.append("onboarding lever unavailable: no eligible accounts in one group")
    share_obs = n_reason_obs / base["churned"] if base["churned"] else 0.0
    grad_factor = (rate / base["rate"]) if (rate is not None and base["rate"]) else 1.0
    if rate is not None:
        rate = rate * (1 - x * share_obs)
    km = base["km_rate"]
    km_proj = None if km is None else km * grad_factor * (1 - x * share_all)

    tr = trailing_retention(ds, m, 12).filter(pl.col("month_idx") == a)
    nrr = tr["nrr_trailing_12m"][0] if tr.height else None
    nrr_proj = nrr
    if tr.height and nrr is not None:
        cohort_start = tr["cohort_mrr_start"][0]
        lost = ev.filter(
            (pl.col("churn_month_idx") > a - 12) & (pl.col("reason_category") == reason)
        )
        # only churn of accounts that were in the cohort (active in m-12) and are inactive now
        lt_c = lt.filter(pl.col("first_month_idx") <= a - 12).select(ACCOUNT)
        lost_mrr = float(lost.join(lt_c, on=ACCOUNT, how="semi")["lost_mrr"].sum())
        nrr_proj = (tr["cohort_mrr_end"][0] + x * lost_mrr) / cohort_start
    return {
        "horizon": h,
        "levers": {"save_reason_pct": x, "reason": reason, "graduation_target": graduation_target},
        "baseline": {"rate": base["rate"], "km_rate": km, "nrr_trailing_12m": nrr},
        "projected": {"rate": rate, "km_rate": km_proj, "nrr_trailing_12m": nrr_proj},
        "notes": notes,
    }
