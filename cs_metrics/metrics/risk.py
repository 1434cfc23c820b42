"""Risk and opportunity signals: named, configurable rules with their evidence (SPEC §6).

Each rule returns one row per flagged account with a human-readable ``evidence`` and the number
behind it (``value``). A rule whose table is missing is reported as *unavailable* (in
:attr:`RiskResult.unavailable`), never as flagging everyone. Everything is point in time: only
rows dated on or before the as-of month's last day are used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl

from cs_metrics.data.load import Dataset
from cs_metrics.metrics.revenue import ACCOUNT, account_segments, active_accounts, as_of_index
from cs_metrics.metrics.segments import renewal_due_lines, segments
from cs_metrics.periods import month_end, parse_month

RISK_RULES = (
    "no_login",
    "cancellation_notice",
    "renewal_due",
    "usage_drop",
    "nps_detractor",
    "health_red",
    "onboarding_stalled",
    "no_touchpoint",
)
OPPORTUNITY_RULES = ("expansion_candidate",)
_COLUMNS = ["account_id", "rule", "kind", "value", "evidence"]


@dataclass
class RiskResult:
    """``signals``: one row per account x rule (``kind`` risk|opportunity) with csm, mrr,
    segment; ``unavailable``: rule -> reason for rules whose table is missing."""

    signals: pl.DataFrame
    unavailable: dict[str, str] = field(default_factory=dict)


def _rows(lf: pl.LazyFrame, rule: str, value: pl.Expr, evidence: pl.Expr, kind: str = "risk"):
    return lf.select(
        ACCOUNT,
        pl.lit(rule).alias("rule"),
        pl.lit(kind).alias("kind"),
        value.cast(pl.Float64).alias("value"),
        evidence.alias("evidence"),
    )


def _fmt(e: pl.Expr, decimals: int = 0) -> pl.Expr:
    return e.round(decimals).cast(pl.Int64 if decimals == 0 else pl.Float64).cast(pl.String)


def last_login_days(ds: Dataset, as_of: dt.date | str, accounts: pl.LazyFrame) -> pl.LazyFrame:
    """Days from the last day of the latest week with logins > 0 (``week_start + 6``) to as_of's
    last day; null when the account never logged in (as of then).

    Returns
    -------
    LazyFrame
        ``account_id, last_login_day, days_since_login``.
    """
    end = month_end(parse_month(as_of))
    last = (
        ds["usage_weekly"]
        .filter((pl.col("logins") > 0) & (pl.col("week_start") <= end))
        .group_by(ACCOUNT)
        .agg((pl.col("week_start").max() + pl.duration(days=6)).alias("last_login_day"))
    )
    return (
        accounts.select(ACCOUNT)
        .join(last, on=ACCOUNT, how="left")
        .with_columns(
            (pl.lit(end) - pl.col("last_login_day")).dt.total_days().alias("days_since_login")
        )
    )


def _usage_ratio(ds: Dataset, as_of, accounts: pl.LazyFrame) -> pl.LazyFrame:
    cfg = ds.config["risk"]
    end = month_end(parse_month(as_of))
    recent_w, base_w = int(cfg["usage_recent_weeks"]), int(cfg["usage_baseline_weeks"])
    recent_start = end - dt.timedelta(days=7 * recent_w - 1)
    base_start = recent_start - dt.timedelta(days=7 * base_w)
    u = ds["usage_weekly"].filter(pl.col("week_start").is_between(base_start, end))
    agg = u.group_by(ACCOUNT).agg(
        (pl.col("logins").filter(pl.col("week_start") >= recent_start).sum() / recent_w).alias(
            "recent"
        ),
        (pl.col("logins").filter(pl.col("week_start") < recent_start).sum() / base_w).alias(
            "baseline"
        ),
    )
    return accounts.select(ACCOUNT).join(agg, on=ACCOUNT, how="inner")


def risk_signals(ds: Dataset, as_of: dt.date | str) -> RiskResult:
    """Evaluate every risk rule and opportunity signal for the accounts active at ``as_of``.

    Rules (thresholds in ``[risk]``):

    - ``no_login``: days since the last login > ``no_login_days`` (no login ever also counts);
    - ``cancellation_notice`` (解約予定): a ``cancellations`` row dated after the account's
      last churn (if any) and on or before as_of's last day, while the account is still active;
      evidence gives the expected last month (the latest end date of its running lines);
    - ``renewal_due``: a line ends within ``renewal_due_months`` after as_of's last day;
    - ``usage_drop``: mean weekly logins over the recent weeks < (1 - ``usage_drop``) x the
      baseline weeks before them (baseline > 0);
    - ``nps_detractor``: a score 0-6 responded within ``nps_recent_days``;
    - ``health_red``: health band red;
    - ``onboarding_stalled``: a user not graduated with no session done for
      ``onboarding.stalled_weeks`` weeks;
    - ``no_touchpoint``: no touchpoint for more than N days, N by segment
      (``[risk.no_touchpoint_days]``), or none ever;
    - opportunity ``expansion_candidate``: health green and recent logins >= (1 + ``usage_rise``)
      x baseline.

    Returns
    -------
    RiskResult
        ``signals``: ``account_id, csm, segment, mrr, rule, kind, value, evidence``.
    """
    m = parse_month(as_of)
    end = month_end(m)
    cfg = ds.config["risk"]
    acts = active_accounts(ds, m)
    seg = segments(ds, m)
    seg_lf = seg.lazy()
    parts: list[pl.LazyFrame] = []
    unavailable: dict[str, str] = {}

    if ds.has("usage_weekly"):
        ll = last_login_days(ds, m, acts)
        limit = int(cfg["no_login_days"])
        flagged = ll.filter(
            pl.col("days_since_login").is_null() | (pl.col("days_since_login") > limit)
        )
        parts.append(
            _rows(
                flagged,
                "no_login",
                pl.col("days_since_login"),
                pl.when(pl.col("days_since_login").is_null())
                .then(pl.lit("ログイン記録なし (no login recorded)"))
                .otherwise(
                    pl.format(
                        "最終ログインから{}日 (last login week ended {})",
                        _fmt(pl.col("days_since_login")),
                        pl.col("last_login_day").dt.strftime("%Y-%m-%d"),
                    )
                ),
            )
        )
        ratio = _usage_ratio(ds, m, acts)
        drop = float(cfg["usage_drop"])
        parts.append(
            _rows(
                ratio.filter(
                    (pl.col("baseline") > 0) & (pl.col("recent") < (1 - drop) * pl.col("baseline"))
                ),
                "usage_drop",
                pl.col("recent") / pl.col("baseline") - 1,
                pl.format(
                    "週平均ログイン {} → {} ({}%)",
                    _fmt(pl.col("baseline"), 1),
                    _fmt(pl.col("recent"), 1),
                    _fmt(100 * (pl.col("recent") / pl.col("baseline") - 1)),
                ),
            )
        )
        rise = float(cfg["usage_rise"])
        green = seg_lf.filter(pl.col("band") == "green").select(ACCOUNT)
        parts.append(
            _rows(
                ratio.join(green, on=ACCOUNT, how="semi").filter(
                    (pl.col("baseline") > 0) & (pl.col("recent") >= (1 + rise) * pl.col("baseline"))
                ),
                "expansion_candidate",
                pl.col("recent") / pl.col("baseline") - 1,
                pl.format(
                    "ヘルス良好・利用増 週平均ログイン {} → {}",
                    _fmt(pl.col("baseline"), 1),
                    _fmt(pl.col("recent"), 1),
                ),
                kind="opportunity",
            )
        )
    else:
        for r in ("no_login", "usage_drop", "expansion_candidate"):
            unavailable[r] = "no usage_weekly table"

    if ds.has("cancellations"):
        seg_all = account_segments(ds, m)
        last_churn = (
            seg_all.filter((pl.col("prev_mrr") > 0) & (pl.col("mrr") <= 0))
            .group_by(ACCOUNT)
            .agg(pl.col("idx").max().alias("last_churn_idx"))
            .with_columns(
                pl.date(pl.col("last_churn_idx") // 12, pl.col("last_churn_idx") % 12 + 1, 1).alias(
                    "last_churn_start"
                )
            )
        )
        expected = (
            ds.subscriptions.filter(
                (pl.col("start_date") <= end)
                & (pl.col("mrr") > 0)
                & (pl.col("end_date").is_null() | (pl.col("end_date") >= end))
            )
            .group_by(ACCOUNT)
            .agg(
                pl.col("end_date").is_null().any().alias("open_ended"),
                pl.col("end_date").max().alias("last_end"),
            )
        )
        notices = (
            ds["cancellations"]
            .filter(pl.col("cancelled_on") <= end)
            .join(acts.select(ACCOUNT), on=ACCOUNT, how="semi")
            .join(last_churn, on=ACCOUNT, how="left")
            .filter(
                pl.col("last_churn_start").is_null()
                | (pl.col("cancelled_on") >= pl.col("last_churn_start"))
            )
            .group_by(ACCOUNT)
            .agg(pl.col("cancelled_on").max(), pl.col("reason").last())
            .join(expected, on=ACCOUNT, how="left")
        )
        parts.append(
            _rows(
                notices,
                "cancellation_notice",
                (pl.lit(end) - pl.col("cancelled_on")).dt.total_days(),
                pl.format(
                    "解約予定 {} 受付: {} / 最終月(見込み): {}",
                    pl.col("cancelled_on").dt.strftime("%Y-%m-%d"),
                    pl.col("reason").fill_null("-"),
                    pl.when(pl.col("last_end").is_null())
                    .then(pl.lit("未定"))
                    .otherwise(pl.col("last_end").dt.strftime("%Y-%m")),
                ),
            )
        )
    else:
        unavailable["cancellation_notice"] = "no cancellations table"

    months = int(ds.config["attributes"]["renewal_due_months"])
    due = (
        renewal_due_lines(ds, m, int(cfg.get("renewal_due_months", months)))
        .group_by(ACCOUNT)
        .agg(
            pl.col("end_date").min(),
            pl.col("mrr").sum().alias("due_mrr"),
            pl.col("product").first(),
        )
    )
    parts.append(
        _rows(
            due,
            "renewal_due",
            (pl.col("end_date") - pl.lit(end)).dt.total_days(),
            pl.format(
                "契約終了 {} ({})", pl.col("end_date").dt.strftime("%Y-%m-%d"), pl.col("product")
            ),
        )
    )

    if ds.has("nps_responses"):
        since = end - dt.timedelta(days=int(cfg["nps_recent_days"]) - 1)
        det = (
            ds["nps_responses"]
            .filter(pl.col("responded_on").is_between(since, end) & (pl.col("score") <= 6))
            .join(acts.select(ACCOUNT), on=ACCOUNT, how="semi")
            .sort("responded_on")
            .group_by(ACCOUNT)
            .agg(pl.col("score").last(), pl.col("responded_on").last())
        )
        parts.append(
            _rows(
                det,
                "nps_detractor",
                pl.col("score"),
                pl.format(
                    "NPS {}点 ({})", pl.col("score"), pl.col("responded_on").dt.strftime("%Y-%m-%d")
                ),
            )
        )
    else:
        unavailable["nps_detractor"] = "no nps_responses table"

    red = seg_lf.filter(pl.col("band") == "red")
    parts.append(
        _rows(red, "health_red", pl.col("score"), pl.format("ヘルススコア {}", pl.col("score")))
    )

    if ds.has("onboarding_sessions"):
        from cs_metrics.metrics.onboarding import onboarding_users

        users = onboarding_users(ds, m)
        assert users is not None
        stalled = (
            users.lazy()
            .filter(pl.col("stalled"))
            .join(acts.select(ACCOUNT), on=ACCOUNT, how="semi")
            .group_by(ACCOUNT)
            .agg(
                pl.len().alias("users"), pl.col("sessions_done").min(), pl.col("last_done_on").max()
            )
        )
        parts.append(
            _rows(
                stalled,
                "onboarding_stalled",
                pl.col("users"),
                pl.format(
                    "未卒業で停滞 {}名 (最少 {}回完了, 最終実施 {})",
                    pl.col("users"),
                    pl.col("sessions_done"),
                    pl.col("last_done_on").dt.strftime("%Y-%m-%d").fill_null("なし"),
                ),
            )
        )
    else:
        unavailable["onboarding_stalled"] = "no onboarding_sessions table"

    if ds.has("touchpoints"):
        limits = {k: int(v) for k, v in cfg["no_touchpoint_days"].items()}
        last_tp = (
            ds["touchpoints"]
            .filter(pl.col("occurred_on") <= end)
            .group_by(ACCOUNT)
            .agg(pl.col("occurred_on").max().alias("last_tp"))
        )
        tp = (
            seg_lf.select(ACCOUNT, "segment")
            .join(last_tp, on=ACCOUNT, how="left")
            .with_columns(
                (pl.lit(end) - pl.col("last_tp")).dt.total_days().alias("days"),
                pl.col("segment")
                .replace_strict(limits, default=None, return_dtype=pl.Int64)
                .alias("limit"),
            )
            .filter(
                pl.col("limit").is_not_null()
                & (pl.col("days").is_null() | (pl.col("days") > pl.col("limit")))
            )
        )
        parts.append(
            _rows(
                tp,
                "no_touchpoint",
                pl.col("days"),
                pl.when(pl.col("days").is_null())
                .then(
                    pl.format(
                        "接点記録なし (セグメント{}: {}日ごと)", pl.col("segment"), pl.col("limit")
                    )
                )
                .otherwise(
                    pl.format(
                        "最終接点から{}日 (セグメント{}: {}日ごと)",
                        pl.col("days"),
                        pl.col("segment"),
                        pl.col("limit"),
                    )
                ),
            )
        )
    else:
        unavailable["no_touchpoint"] = "no touchpoints table"

    signals = (
        pl.concat(parts, how="vertical_relaxed")
        .join(seg_lf.select(ACCOUNT, "csm", "segment", "mrr"), on=ACCOUNT, how="left")
        .with_columns(pl.col("csm").fill_null("(未設定)"))
        .select(ACCOUNT, "csm", "segment", "mrr", *_COLUMNS[1:])
        .sort("csm", ACCOUNT, "rule")
        .collect()
    )
    _ = as_of_index(m)
    return RiskResult(signals, unavailable)


def risk_list(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame:
    """Risk list per CSM: accounts with at least one risk signal, ordered by MRR at risk.

    Returns
    -------
    DataFrame
        ``csm, account_id, account_name, segment, mrr, rules (list), evidence (list)``, sorted by
        CSM, then MRR descending.
    """
    sig = risk_signals(ds, as_of).signals.filter(pl.col("kind") == "risk")
    names = ds.accounts.select(ACCOUNT, "account_name").collect()
    return (
        sig.group_by("csm", ACCOUNT, "segment", "mrr")
        .agg(pl.col("rule"), pl.col("evidence"))
        .rename({"rule": "rules"})
        .join(names, on=ACCOUNT, how="left")
        .select("csm", ACCOUNT, "account_name", "segment", "mrr", "rules", "evidence")
        .sort(["csm", "mrr", ACCOUNT], descending=[False, True, False])
    )


def mrr_at_risk_by_csm(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame:
    """Per CSM: accounts at risk and their MRR, ordered by MRR at risk (descending)."""
    rl = risk_list(ds, as_of)
    return (
        rl.group_by("csm")
        .agg(pl.len().alias("accounts_at_risk"), pl.col("mrr").sum().alias("mrr_at_risk"))
        .sort("mrr_at_risk", descending=True)
    )
