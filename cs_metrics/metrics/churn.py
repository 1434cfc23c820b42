"""Churn within H months (observed and Kaplan-Meier) and churn reasons (SPEC §4)."""

from __future__ import annotations

import math
from typing import Any

import narwhals as nw
import polars as pl

from cs_metrics.config import Config
from cs_metrics.data.dataset import Dataset
from cs_metrics.engine import core
from cs_metrics.messages import lang_of, reason_fields
from cs_metrics.metrics.revenue import (
    ACCOUNT,
    By,
    account_segments,
    by_keys,
    with_by,
)
from cs_metrics.periods import (
    Month,
    MonthLike,
    fiscal_quarter_label_expr,
    fiscal_year_expr,
    index_to_month_expr,
    month_label_expr,
    quarter_label_expr,
)

__all__ = [
    "Z95",
    "account_lifetimes",
    "churn_events",
    "churn_reasons",
    "churn_within",
    "churn_within_from_counts",
    "km_curve",
    "km_table",
    "km_table_from_counts",
]

Z95 = 1.959964


def account_lifetimes(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
    """First spell of every account that was ever active up to ``as_of``.

    Definition (SPEC §4): ``s`` = first active month; ``c`` = first inactive month after ``s``
    (months up to ``as_of`` only). Lifetime ``T = c - s`` (an *event*); with no such ``c`` the
    account is *censored* at ``T = as_of - s``: it has been seen to survive ``as_of - s`` months
    of risk (month ``as_of + 1`` is not observed yet, so it does not count as survived).

    Returns
    -------
    LazyFrame
        ``account_id, first_month_idx, churn_month_idx (null when censored), T, event``.
    """
    m = Month.parse(as_of)
    return core.lifetimes(nw.from_native(account_segments(ds, m)), m.index).to_native()


def _cohort_expr(kind: str | None, fy_start: int) -> pl.Expr | None:
    s = pl.col("first_month_idx")
    if kind is None:
        return None
    if kind == "month":
        return month_label_expr(s)
    if kind == "quarter":
        return quarter_label_expr(s)
    if kind == "fiscal_quarter":
        return fiscal_quarter_label_expr(s, fy_start)
    if kind == "fiscal_year":
        return fiscal_year_expr(s, fy_start).cast(pl.String)
    raise ValueError(f"unknown cohort kind {kind!r}: month, quarter, fiscal_quarter, fiscal_year")


def km_table(lifetimes: pl.LazyFrame, keys: list[str] | None = None) -> pl.LazyFrame:
    """Kaplan-Meier table per group: at each event time t, n at risk, deaths, S(t), Greenwood sum.

    ``n_t`` = accounts with ``T >= t`` (censored accounts are at risk at their own T);
    ``S(t) = prod_{u <= t} (1 - d_u / n_u)``; ``greenwood = sum_{u <= t} d_u / (n_u (n_u - d_u))``.

    Returns
    -------
    LazyFrame
        ``*keys, t, n_at_risk, events, censored, survival, greenwood``, one row per distinct T.
    """
    keys = keys or []
    counts = lifetimes.group_by(*keys, "T").agg(
        pl.len().alias("n"), pl.col("event").sum().cast(pl.Int64).alias("events")
    )
    return km_table_from_counts(counts, keys)


def km_table_from_counts(counts: pl.LazyFrame, keys: list[str] | None = None) -> pl.LazyFrame:
    """:func:`km_table` from accounts and events per lifetime: ``*keys, T, n, events``.

    The Spark engine collects these counts (one row per group and T) to the driver.
    """
    keys = keys or []
    # Int64: n_at_risk * (n_at_risk - events) overflows 32-bit counts beyond ~65k accounts
    by_t = counts.group_by(*keys, "T").agg(
        pl.col("n").sum().cast(pl.Int64), pl.col("events").sum().cast(pl.Int64)
    )
    over = keys or None
    desc = by_t.sort(*keys, "T", descending=[*([False] * len(keys)), True]).with_columns(
        (pl.col("n").cum_sum().over(over) if over else pl.col("n").cum_sum()).alias("n_at_risk")
    )
    factor = (1 - pl.col("events") / pl.col("n_at_risk")).log()
    term = (
        pl.when(pl.col("n_at_risk") > pl.col("events"))
        .then(pl.col("events") / (pl.col("n_at_risk") * (pl.col("n_at_risk") - pl.col("events"))))
        .otherwise(0.0)
    )
    asc = desc.sort(*keys, "T")
    cum = (lambda e: e.cum_sum().over(over)) if over else (lambda e: e.cum_sum())
    return asc.select(
        *keys,
        pl.col("T").alias("t"),
        "n_at_risk",
        "events",
        (pl.col("n") - pl.col("events")).alias("censored"),
        cum(factor).exp().alias("survival"),
        cum(term).alias("greenwood"),
    )


def _km_at(
    table: pl.DataFrame, horizon: int, max_t: int | None, events_upto: int, lang: str
) -> dict[str, Any]:
    """KM estimate of churn within ``horizon`` with a log(-log) Greenwood 95% interval.

    Defined when some account is at risk at ``horizon`` (largest T >= H) or the curve has
    already reached 0 (everyone churned: 100%, its interval undefined).
    """
    out: dict[str, Any] = {"km_rate": None, "km_ci_low": None, "km_ci_high": None}
    rows = table.filter(pl.col("t") <= horizon)
    reached_zero = rows.height > 0 and float(rows["survival"][-1]) <= 0.0
    if (max_t is None or max_t < horizon) and not reached_zero:
        out.update(reason_fields("km", "no_account_observed_h", lang, h=horizon))
        return out
    if rows.height == 0 or events_upto == 0:
        out["km_rate"] = 0.0
        out.update(reason_fields("km_ci", "km_no_churn_ci", lang, h=horizon))
        return out
    surv = float(rows["survival"][-1])
    gw = float(rows["greenwood"][-1])
    out["km_rate"] = 1.0 - max(surv, 0.0)
    if surv <= 0.0 or surv >= 1.0 or not math.isfinite(gw):
        out.update(reason_fields("km_ci", "km_zero_survival_ci", lang, h=horizon))
        return out
    se = math.sqrt(gw) / abs(math.log(surv))
    s_low = surv ** math.exp(Z95 * se)
    s_high = surv ** math.exp(-Z95 * se)
    out["km_ci_low"] = 1.0 - s_high
    out["km_ci_high"] = 1.0 - s_low
    return out


def churn_within(
    ds: Dataset,
    as_of: MonthLike,
    horizon: int | None = None,
    by: By = None,
    cohort: str | None = None,
    config: Config | None = None,
) -> list[dict[str, Any]]:
    """Churn within ``horizon`` months: observed rate and Kaplan-Meier estimate with 95% CI.

    Definitions (SPEC §4): lifetimes as in :func:`account_lifetimes`; an account *churned within
    H* when it had an event with ``T <= H``. **Observed**: over the accounts whose whole window is
    seen (``s <= as_of - H``): ``eligible``, ``churned``, ``rate = churned / eligible``.
    **Kaplan-Meier**: ``1 - S(H)`` over all accounts, 95% interval from Greenwood's variance on
    the log(-log) scale (z = 1.959964); 100% when every account churned before H (the curve
    reached 0; its interval ``null`` with ``km_ci_reason``); otherwise ``null`` with
    ``km_reason`` when no account is at risk at H (largest T < H); ``km_ci_*`` null with
    ``km_ci_reason`` when there is no event. Every ``*_reason`` (in the configured language)
    has its ``*_reason_code`` beside it (:mod:`cs_metrics.messages`).

    Parameters
    ----------
    horizon : int, optional
        H in months (default ``revenue.churn_horizon_months``).
    by : str, optional
        An account attribute (``industry``, ``csm``, ``primary_product``, ...).
    cohort : {"month", "quarter", "fiscal_quarter", "fiscal_year"}, optional
        Group by acquisition cohort (first active month; fiscal years from
        ``general.fiscal_year_start_month``).
    config : Config, optional
        Defaults to the dataset's configuration.

    Returns
    -------
    list of dict
        One dict per group (one overall when neither ``by`` nor ``cohort``) with ``horizon,
        eligible, churned, rate, km_rate, km_ci_low, km_ci_high, accounts`` (+ reasons and the
        group keys).
    """
    cfg = config or ds.config
    h = int(cfg["revenue"]["churn_horizon_months"] if horizon is None else horizon)
    m = Month.parse(as_of)
    lt, keys = _grouped_lifetimes(ds, m, by, cohort, cfg)
    counts = core.lifetime_counts(nw.from_native(lt), m.index, h, keys).to_native().collect()
    return churn_within_from_counts(counts, h, keys, lang_of(cfg))


def _grouped_lifetimes(
    ds: Dataset, m: Month, by: By, cohort: str | None, cfg: Config
) -> tuple[pl.LazyFrame, list[str]]:
    """:func:`account_lifetimes` with the ``by`` attribute and the ``cohort`` label joined, and
    the group keys."""
    lt = with_by(account_lifetimes(ds, m), ds, m, by)
    keys: list[str] = by_keys(by)
    ce = _cohort_expr(cohort, int(cfg["general"]["fiscal_year_start_month"]))
    if ce is not None:
        lt = lt.with_columns(ce.alias("cohort"))
        keys.append("cohort")
    return lt, keys


def churn_within_from_counts(
    counts: pl.DataFrame, horizon: int, keys: list[str] | None = None, lang: str | None = None
) -> list[dict[str, Any]]:
    """:func:`churn_within` from :func:`cs_metrics.engine.core.lifetime_counts` (collected).

    ``counts``: ``*keys, T, event, eligible, n``, a few rows per group and lifetime, so both
    engines finish the observed rate and Kaplan-Meier here, on the driver. ``lang``: of the
    reasons (None: :func:`cs_metrics.messages.lang_of` without a configuration).
    """
    keys = list(keys or [])
    lang = lang or lang_of(None)
    n = pl.col("n")
    upto = pl.col("event") & (pl.col("T") <= horizon)
    table = km_table_from_counts(
        counts.lazy().select(
            *keys, "T", "n", pl.when(pl.col("event")).then(n).otherwise(0).alias("events")
        ),
        keys,
    ).collect()
    summary = (
        counts.group_by(keys or pl.lit(1).alias("_all"), maintain_order=True)
        .agg(
            n.sum().alias("accounts"),
            n.filter(pl.col("eligible")).sum().alias("eligible"),
            n.filter(pl.col("eligible") & upto).sum().alias("churned"),
            pl.col("T").max().alias("max_t"),
            n.filter(upto).sum().alias("events_upto"),
        )
        .sort(keys or "_all")
    )
    out = []
    for row in summary.iter_rows(named=True):
        group = {k: row[k] for k in keys}
        t = table
        for k, v in group.items():
            t = t.filter(pl.col(k) == v)
        rec: dict[str, Any] = {**group, "horizon": horizon, "accounts": int(row["accounts"])}
        rec["eligible"] = int(row["eligible"])
        rec["churned"] = int(row["churned"])
        rec["rate"] = rec["churned"] / rec["eligible"] if rec["eligible"] else None
        if not rec["eligible"]:
            rec.update(reason_fields("rate", "no_accounts_acquired_h_before", lang, h=horizon))
        rec.update(_km_at(t, horizon, row["max_t"], int(row["events_upto"]), lang))
        out.append(rec)
    if not out and not keys:
        out.append(
            {
                "horizon": horizon,
                "accounts": 0,
                "eligible": 0,
                "churned": 0,
                "rate": None,
                **reason_fields("rate", "no_accounts_at_all", lang),
                "km_rate": None,
                "km_ci_low": None,
                "km_ci_high": None,
                **reason_fields("km", "no_accounts_at_all", lang),
            }
        )
    return out


def km_curve(
    ds: Dataset,
    as_of: MonthLike,
    by: By = None,
    cohort: str | None = None,
    config: Config | None = None,
) -> pl.DataFrame:
    """The Kaplan-Meier survival curve for charts, with its pointwise log(-log) 95% interval.

    Returns
    -------
    DataFrame
        ``*group, t, n_at_risk, events, censored, survival, ci_low, ci_high, churn`` where
        ``churn = 1 - survival`` (the cumulative churn share by month t).
    """
    lt, keys = _grouped_lifetimes(ds, Month.parse(as_of), by, cohort, config or ds.config)
    t = km_table(lt, keys).collect()
    s = pl.col("survival")
    se = pl.col("greenwood").sqrt() / s.log().abs()
    valid = (s > 0) & (s < 1)
    return t.with_columns(
        pl.when(valid).then(s.pow((Z95 * se).exp())).otherwise(None).alias("ci_low"),
        pl.when(valid).then(s.pow((-Z95 * se).exp())).otherwise(None).alias("ci_high"),
        (1 - s).alias("churn"),
    ).drop("greenwood")


def churn_events(ds: Dataset, as_of: MonthLike, window_days: int | None = None) -> pl.DataFrame:
    """Every churn event up to ``as_of`` with its matched cancellation reason.

    Definition (SPEC §4): a churn event (MRR > 0 -> 0 in month c) is dated the last day of month
    c - 1. It is matched to the account's ``cancellations`` row (``cancelled_on`` on or before
    ``as_of``'s last day) with the nearest ``cancelled_on`` within ``window_days`` either side;
    ties go to the earlier row; a row matches at most one event (rows are assigned to their
    nearest event first, greedily by distance). Events without a match get the configured
    ``unknown`` label.

    Returns
    -------
    DataFrame
        ``account_id, churn_month_idx, churn_month, churn_date, lost_mrr, cancelled_on, reason,
        reason_category, days_from_cancellation``.
    """
    cfg = ds.config
    if window_days is None:
        window_days = int(cfg["revenue"]["reason_match_window_days"])
    unknown = cfg["reasons"]["unknown_label"]
    m = Month.parse(as_of)
    events = (
        account_segments(ds, m)
        .filter((pl.col("prev_mrr") > 0) & (pl.col("mrr") <= 0))
        .select(
            ACCOUNT,
            pl.col("idx").alias("churn_month_idx"),
            (index_to_month_expr(pl.col("idx")) - pl.duration(days=1)).alias("churn_date"),
            pl.col("prev_mrr").alias("lost_mrr"),
        )
        .with_row_index("event_id")
        .collect()
    )
    if ds.has("cancellations") and events.height:
        canc = (
            ds["cancellations"]
            .filter(pl.col("cancelled_on").is_not_null() & (pl.col("cancelled_on") <= m.last_day))
            .select(ACCOUNT, "cancelled_on", "reason", "reason_category")
            .with_row_index("cancel_id")
            .collect()
        )
        matches = _match_cancellations(events, canc, window_days)
        events = events.join(matches, on="event_id", how="left").join(
            canc.drop(ACCOUNT), on="cancel_id", how="left"
        )
    else:
        events = events.with_columns(
            pl.lit(None, dtype=pl.Date).alias("cancelled_on"),
            pl.lit(None, dtype=pl.String).alias("reason"),
            pl.lit(None, dtype=pl.String).alias("reason_category"),
            pl.lit(None, dtype=pl.Int64).alias("distance"),
        )
    return events.select(
        ACCOUNT,
        "churn_month_idx",
        index_to_month_expr(pl.col("churn_month_idx")).alias("churn_month"),
        "churn_date",
        "lost_mrr",
        "cancelled_on",
        "reason",
        pl.col("reason_category").fill_null(unknown),
        pl.col("distance").alias("days_from_cancellation"),
    ).sort("churn_month_idx", ACCOUNT)


def _match_cancellations(
    events: pl.DataFrame, canc: pl.DataFrame, window_days: int
) -> pl.DataFrame:
    """``event_id, cancel_id, distance`` of every matched (event, cancellation row) pair.

    Candidates are the account's rows within ``window_days`` of the event's date. Greedy
    one-to-one assignment by distance (ties: earlier row, earlier event), vectorised in rounds:
    in each round every event proposes its best free row and every row accepts its best proposal.
    """
    cand = (
        events.join(canc, on=ACCOUNT, how="inner")
        .with_columns(
            (pl.col("churn_date") - pl.col("cancelled_on")).dt.total_days().abs().alias("distance")
        )
        .filter(pl.col("distance") <= window_days)
        .sort("distance", "cancelled_on", "churn_date")
        .select("event_id", "cancel_id", "distance")
    )
    chosen = []
    while cand.height:
        best = cand.group_by("event_id", maintain_order=True).first()
        accepted = best.group_by("cancel_id", maintain_order=True).first()
        chosen.append(accepted)
        cand = cand.join(accepted.select("event_id"), on="event_id", how="anti").join(
            accepted.select("cancel_id"), on="cancel_id", how="anti"
        )
    if not chosen:
        return pl.DataFrame(
            schema={"event_id": pl.UInt32, "cancel_id": pl.UInt32, "distance": pl.Int64}
        )
    return pl.concat(chosen)


def churn_reasons(
    ds: Dataset,
    as_of: MonthLike,
    start: MonthLike | None = None,
    by: By = None,
    months: int = 12,
) -> pl.DataFrame:
    """Churn events by reason category over a period: counts, lost MRR and their shares.

    The period is ``start``..``as_of`` (default: the ``months`` months ending at ``as_of``).

    Returns
    -------
    DataFrame
        ``[by,] reason_category, events, lost_mrr, share_events, share_lost_mrr``; shares are of
        the period's churn events (within the ``by`` group), sorted by events descending.
    """
    m = Month.parse(as_of)
    lo = Month.parse(start) if start is not None else m - (months - 1)
    ev = churn_events(ds, m).filter(pl.col("churn_month_idx") >= lo.index)
    ev = with_by(ev.lazy(), ds, m, by).collect()
    keys = by_keys(by)
    g = ev.group_by(*keys, "reason_category").agg(
        pl.len().alias("events"), pl.col("lost_mrr").sum().alias("lost_mrr")
    )
    tot = (lambda e: e.sum().over(keys)) if keys else (lambda e: e.sum())
    return g.with_columns(
        (pl.col("events") / tot(pl.col("events"))).alias("share_events"),
        (pl.col("lost_mrr") / tot(pl.col("lost_mrr"))).alias("share_lost_mrr"),
    ).sort(*keys, "events", "reason_category", descending=[*([False] * len(keys)), True, False])
