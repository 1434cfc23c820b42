"""Risk and opportunity signals: named, configurable rules with their evidence (SPEC §6).

Each rule is a function in :data:`RULES` that returns one row per flagged active account and
month with the number behind it (``value``) and a human-readable ``evidence`` (Japanese, or
English with ``general.lang = "en"``). One definition per rule serves both one month
(:func:`risk_signals`) and a range of months in one pass (:func:`risk_flags`, for the backtest). A rule whose table is missing is *unavailable* (reported in
:attr:`RiskResult.unavailable` and :attr:`RiskResult.status`), never flagging everyone; a rule
listed in ``risk.disabled_rules`` is *disabled*. Everything is point in time: only rows dated on
or before the month's last day are used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cs_metrics.data.dataset import Dataset, memoised
from cs_metrics.metrics.health import HealthResult
from cs_metrics.metrics.revenue import ACCOUNT, UNSET, account_segments, active_accounts
from cs_metrics.metrics.segments import (
    account_month_grid,
    renewal_due_grid,
    segments,
    segments_history,
)
from cs_metrics.metrics.windows import latest_by_account, rows_in_windows
from cs_metrics.periods import Month, MonthLike, index_to_month_expr

__all__ = [
    "OPPORTUNITY_RULES",
    "RISK_RULES",
    "RULES",
    "RiskFlags",
    "RiskResult",
    "Unavailable",
    "last_login_days",
    "last_login_grid",
    "mrr_at_risk_by_csm",
    "risk_flags",
    "risk_list",
    "risk_matrix",
    "risk_signals",
    "risk_summary",
    "usage_ratio",
    "usage_ratio_grid",
]

# Risk rules in priority order: the first that applies is an account's "top risk" (e.g. in the
# Salesforce import file). A cancellation notice outranks every signal that only predicts one.
RISK_RULES = (
    "cancellation_notice",
    "renewal_unconfirmed",
    "no_login",
    "health_red",
    "usage_drop",
    "nps_detractor",
    "onboarding_stalled",
    "renewal_due",
    "no_touchpoint",
)
OPPORTUNITY_RULES = ("expansion_candidate",)
_COLUMNS = ["account_id", "rule", "kind", "value", "evidence"]


class Unavailable(Exception):
    """A rule cannot run on this dataset (its table is missing): a catalogue ``code`` (and its
    fields) that says why, rendered in the reader's language by :meth:`message`."""

    def __init__(self, code: str, /, **params: Any) -> None:
        from cs_metrics.messages import message

        self.code, self.params = code, params
        super().__init__(message(code, "en", **params))

    def message(self, lang: str) -> str:
        """Why, in ``lang``."""
        from cs_metrics.messages import message

        return message(self.code, lang, **self.params)


@dataclass
class RiskResult:
    """Signals of one month.

    ``signals``: one row per account x rule (``kind`` risk|opportunity) with ``csm, segment,
    mrr``; ``unavailable``: rule -> reason for rules whose table is missing; ``status``: one row
    per rule: ``rule, kind, status (ok|unavailable|disabled), reason, accounts, mrr``.
    """

    signals: pl.DataFrame
    unavailable: dict[str, str] = field(default_factory=dict)
    status: pl.DataFrame | None = None
    #: rule -> catalogue code of its ``unavailable`` reason
    unavailable_codes: dict[str, str] = field(default_factory=dict)


@dataclass
class RiskFlags:
    """Which rules flag which account in each month of a range (for the backtest).

    ``flags``: ``account_id, month_idx, rule, kind``; ``status``: rule -> (status, reason)
    with status ``ok``, ``unavailable`` or ``disabled``; ``segments``: the per-month segments
    (:func:`cs_metrics.metrics.segments.segments_history`) the rules used.
    """

    flags: pl.DataFrame
    status: dict[str, tuple[str, str | None]]
    segments: pl.DataFrame


@dataclass
class _Ctx:
    """What a rule sees: the (account, month) grid of active accounts and their segments.

    One definition per rule serves one month (``risk_signals``) and a range of months
    (``risk_flags``): a rule returns ``account_id, month_idx, value, evidence`` for every grid
    row it flags, each month as of its own last day E (``month_end``).
    """

    ds: Dataset
    grid: pl.LazyFrame  # account_month_grid(): account_id, month_idx, month_end, mrr, ...
    seg: pl.LazyFrame  # segments_history() + month_end: ..., csm, segment, score, band
    first: int  # month indexes of the range
    last: int
    cfg: dict[str, Any]
    ja: bool
    _ratio: pl.DataFrame | None = None  # usage_ratio_grid, shared by two rules
    unavailable_codes: dict[str, str] = field(default_factory=dict)  # rule -> reason code

    @property
    def keys(self) -> pl.LazyFrame:
        return self.grid.select(ACCOUNT, "month_idx", "month_end")

    def t(self, ja: str, en: str) -> str:
        return ja if self.ja else en

    def usage_ratio(self) -> pl.LazyFrame:
        """:func:`usage_ratio_grid` of the context, computed once."""
        if self._ratio is None:
            self._ratio = usage_ratio_grid(self.ds, self.keys, (self.first, self.last)).collect()
        return self._ratio.lazy()

    def need(self, table: str) -> pl.LazyFrame:
        if not self.ds.has(table):
            from cs_metrics.messages import table_text

            raise Unavailable("rule_no_table", table=table_text(table))
        return self.ds[table]


def _rows(lf: pl.LazyFrame, value: pl.Expr, evidence: pl.Expr) -> pl.LazyFrame:
    return lf.select(
        ACCOUNT,
        pl.col("month_idx").cast(pl.Int32),
        value.cast(pl.Float64).alias("value"),
        evidence.cast(pl.String).alias("evidence"),
    )


def _fmt(e: pl.Expr, decimals: int = 0) -> pl.Expr:
    return e.round(decimals).cast(pl.Int64 if decimals == 0 else pl.Float64).cast(pl.String)


def _day(e: pl.Expr) -> pl.Expr:
    return e.dt.strftime("%Y-%m-%d")


E = pl.col("month_end")


def _one_month(m: Month, accounts: pl.LazyFrame) -> pl.LazyFrame:
    """A one-month grid ``account_id, month_idx, month_end`` of ``accounts``."""
    return accounts.select(ACCOUNT).with_columns(
        pl.lit(m.index, dtype=pl.Int32).alias("month_idx"),
        pl.lit(m.last_day).alias("month_end"),
    )


def last_login_grid(ds: Dataset, keys: pl.LazyFrame) -> pl.LazyFrame:
    """For each (account, month) of ``keys`` (``account_id, month_idx, month_end``): days from
    the last day of the latest week with logins > 0 (``week_start + 6 days``) to the month's
    last day E; null when the account never logged in as known then (weeks starting by E).

    Returns
    -------
    LazyFrame
        ``account_id, month_idx, month_end, last_login_day, days_since_login``.
    """
    # one row per (account, week) is not needed: only week_start is read from the row found
    weeks = ds["usage_weekly"].filter(pl.col("logins") > 0).select(ACCOUNT, "week_start")
    return (
        latest_by_account(keys, weeks, "month_end", "week_start")
        .with_columns((pl.col("week_start") + pl.duration(days=6)).alias("last_login_day"))
        .with_columns((E - pl.col("last_login_day")).dt.total_days().alias("days_since_login"))
        .select(ACCOUNT, "month_idx", "month_end", "last_login_day", "days_since_login")
    )


def last_login_days(ds: Dataset, as_of: MonthLike, accounts: pl.LazyFrame) -> pl.LazyFrame:
    """Days from the last day of the latest week with logins > 0 (``week_start + 6 days``) to
    as_of's last day; null when the account never logged in (as known then: weeks starting on or
    before as_of's last day). The one-month case of :func:`last_login_grid`.

    Returns
    -------
    LazyFrame
        ``account_id, last_login_day, days_since_login``.
    """
    ll = last_login_grid(ds, _one_month(Month.parse(as_of), accounts))
    return (
        accounts.select(ACCOUNT)
        .join(ll, on=ACCOUNT, how="left")
        .select(ACCOUNT, "last_login_day", "days_since_login")
    )


def usage_ratio_grid(
    ds: Dataset, keys: pl.LazyFrame, months: tuple[int, int] | None = None
) -> pl.LazyFrame:
    """Recent vs baseline weekly logins per (account, month) of ``keys`` (own baseline).

    ``recent`` = sum of logins over the last ``risk.usage_recent_weeks`` complete weeks
    (week_start in ``[E - 6 - 7N + 1, E - 6]``, E = the month's last day: weeks that have ended
    by E, as in :func:`cs_metrics.metrics.health.measure_values`) / those weeks; ``baseline`` = the same
    over the ``risk.usage_baseline_weeks`` weeks before them. Weeks without a row count as 0.
    Account-months without any row in either window are left out. ``months``: the (first,
    last) month indexes of ``keys`` when known (reads only the weeks that can matter).

    Returns
    -------
    LazyFrame
        ``account_id, month_idx, month_end, recent, baseline``.
    """
    cfg = ds.config["risk"]
    recent_w, base_w = int(cfg["usage_recent_weeks"]), int(cfg["usage_baseline_weeks"])
    recent = pl.col("week_start") >= E - pl.duration(days=6 + 7 * recent_w - 1)
    rows = rows_in_windows(
        ds["usage_weekly"].select(ACCOUNT, "week_start", "logins"),
        keys,
        "week_start",
        7 * (recent_w + base_w),
        6,
        months,
    )
    return rows.group_by(ACCOUNT, "month_idx", "month_end").agg(
        (pl.col("logins").filter(recent).sum() / recent_w).alias("recent"),
        (pl.col("logins").filter(~recent).sum() / base_w).alias("baseline"),
    )


def usage_ratio(ds: Dataset, as_of: MonthLike, accounts: pl.LazyFrame) -> pl.LazyFrame:
    """Recent vs baseline weekly logins per account (own baseline) as of ``as_of``: the
    one-month case of :func:`usage_ratio_grid`.

    Returns
    -------
    LazyFrame
        ``account_id, recent, baseline``.
    """
    m = Month.parse(as_of)
    ratio = usage_ratio_grid(ds, _one_month(m, accounts), (m.index, m.index))
    return ratio.select(ACCOUNT, "recent", "baseline")


# ---- the rules --------------------------------------------------------------------------------


def rule_no_login(c: _Ctx) -> pl.LazyFrame:
    """``no_login``: days since the last login > ``risk.no_login_days`` (exactly the limit is not
    flagged), or no login ever (value null)."""
    c.need("usage_weekly")
    ll = last_login_grid(c.ds, c.keys)
    limit = int(c.cfg["no_login_days"])
    d = pl.col("days_since_login")
    return _rows(
        ll.filter(d.is_null() | (d > limit)),
        d,
        pl.when(d.is_null())
        .then(pl.lit(c.t("ログイン記録なし", "no login recorded")))
        .otherwise(
            pl.format(
                c.t(
                    "最終ログインから{}日 (最終ログイン週の末日 {})",
                    "{} days since last login (week ending {})",
                ),
                _fmt(d),
                _day(pl.col("last_login_day")),
            )
        ),
    )


def rule_cancellation_notice(c: _Ctx) -> pl.LazyFrame:
    """``cancellation_notice`` (解約予定): a ``cancellations`` row dated on or before the month's
    last day and on or after the first day of the account's latest churn month (if it ever
    churned), while the account is still active. Value: days since the notice. Evidence: the
    notice date, the reason and the expected last month (the month of the latest end date of
    its running paid lines; 未定/open when any running line is open-ended)."""
    canc = c.need("cancellations")
    churns = (
        account_segments(c.ds, Month(c.last))
        .filter((pl.col("prev_mrr") > 0) & (pl.col("mrr") <= 0))
        .select(ACCOUNT, pl.col("idx").cast(pl.Int32).alias("churn_idx"))
    )
    latest = (  # one row per account and date (the last reason given that day)
        canc.group_by(ACCOUNT, "cancelled_on").agg(pl.col("reason").last())
    )
    churn_start = index_to_month_expr(pl.col("churn_idx"))
    with_churn = latest_by_account(c.keys, churns, "month_idx", "churn_idx")
    notices = latest_by_account(with_churn, latest, "month_end", "cancelled_on").filter(
        pl.col("cancelled_on").is_not_null()
        & (pl.col("churn_idx").is_null() | (pl.col("cancelled_on") >= churn_start))
    )
    running = (
        notices.select(ACCOUNT, "month_idx", "month_end")
        .join(c.ds.subscriptions.select(ACCOUNT, "start_date", "end_date", "mrr"), on=ACCOUNT)
        .filter(
            (pl.col("start_date") <= E)
            & (pl.col("mrr") > 0)
            & (pl.col("end_date").is_null() | (pl.col("end_date") >= E))
        )
        .group_by(ACCOUNT, "month_idx")
        .agg(
            pl.col("end_date").is_null().any().alias("open_ended"),
            pl.col("end_date").max().alias("last_end"),
        )
    )
    last_month = (
        pl.when(pl.col("open_ended") | pl.col("last_end").is_null())
        .then(pl.lit(c.t("未定", "open")))
        .otherwise(pl.col("last_end").dt.strftime("%Y-%m"))
    )
    return _rows(
        notices.join(running, on=[ACCOUNT, "month_idx"], how="left"),
        (E - pl.col("cancelled_on")).dt.total_days(),
        pl.format(
            c.t(
                "解約予定 {} 受付: {} / 最終月(見込み): {}",
                "cancellation notice {}: {} / expected last month: {}",
            ),
            _day(pl.col("cancelled_on")),
            pl.col("reason").fill_null("-"),
            last_month,
        ),
    )


def rule_renewal_due(c: _Ctx) -> pl.LazyFrame:
    """``renewal_due``: a paid line of an active account ends after the month's last day and by
    the last day of the month ``risk.renewal_due_months`` later (inclusive; see
    :func:`cs_metrics.metrics.segments.renewal_due_grid`). A line ending on the month's last day
    itself is renewed or not already: :func:`rule_renewal_unconfirmed`. Value: days to the
    earliest end."""
    due = (
        renewal_due_grid(c.ds, c.grid, int(c.cfg["renewal_due_months"]))
        .filter(pl.col("end_date") > index_to_month_expr(pl.col("month_idx")).dt.month_end())
        .sort(ACCOUNT, "month_idx", "end_date", "product")
        .group_by(ACCOUNT, "month_idx")
        .agg(pl.col("end_date").first(), pl.col("product").first(), pl.len().alias("lines"))
        .with_columns(index_to_month_expr(pl.col("month_idx")).dt.month_end().alias("month_end"))
    )
    return _rows(
        due,
        (pl.col("end_date") - E).dt.total_days(),
        pl.format(
            c.t("契約終了 {} ({})", "contract ends {} ({})"),
            _day(pl.col("end_date")),
            pl.col("product"),
        ),
    )


def rule_renewal_unconfirmed(c: _Ctx) -> pl.LazyFrame:
    """``renewal_unconfirmed`` (更新未確認): a paid line of an active account ends on the month's
    last day E and no paid line of the same product known at E (started by E) runs past E: as
    of E the contract runs out and no renewal is recorded. Point in time (SPEC §3): a renewal
    line that starts after E is not known at E, so it never hides the signal (the figure of a
    month does not change when later lines are added). Value: the MRR of such lines. Evidence:
    the end date and products."""
    paid = c.ds.subscriptions.filter(pl.col("mrr") > 0)
    known = c.keys.join(
        paid.select(ACCOUNT, "product", "start_date", "end_date", "mrr"), on=ACCOUNT
    ).filter(pl.col("start_date") <= E)
    ending = known.filter(pl.col("end_date") == E)
    continuing = known.filter(pl.col("end_date").is_null() | (pl.col("end_date") > E)).select(
        ACCOUNT, "month_idx", "product"
    )
    lines = (
        ending.join(continuing, on=[ACCOUNT, "month_idx", "product"], how="anti")
        .group_by(ACCOUNT, "month_idx", "month_end")
        .agg(pl.col("mrr").sum(), pl.col("product").unique().sort().str.join(", "))
    )
    return _rows(
        lines,
        pl.col("mrr"),
        pl.format(
            c.t("契約終了 {} ({}) 以降の更新契約なし", "contract ended {} ({}); no renewal line"),
            _day(E),
            pl.col("product"),
        ),
    )


def rule_usage_drop(c: _Ctx) -> pl.LazyFrame:
    """``usage_drop``: recent weekly logins < (1 - ``risk.usage_drop``) x the account's own
    baseline (baseline > 0; see :func:`usage_ratio_grid`). Value: recent / baseline - 1."""
    c.need("usage_weekly")
    ratio = c.usage_ratio()
    drop = float(c.cfg["usage_drop"])
    r, b = pl.col("recent"), pl.col("baseline")
    return _rows(
        ratio.filter((b > 0) & (r < (1 - drop) * b)),
        r / b - 1,
        pl.format(
            c.t("週平均ログイン {} → {} ({}%)", "weekly logins {} → {} ({}%)"),
            _fmt(b, 1),
            _fmt(r, 1),
            _fmt(100 * (r / b - 1)),
        ),
    )


def rule_nps_detractor(c: _Ctx) -> pl.LazyFrame:
    """``nps_detractor``: a response scoring 0-6 within the ``risk.nps_recent_days`` days ending
    at the month's last day (the latest such response is the evidence). An account without
    responses is not flagged."""
    resp = c.need("nps_responses")
    det = (
        rows_in_windows(
            resp.filter(pl.col("score") <= 6).select(ACCOUNT, "responded_on", "score"),
            c.keys,
            "responded_on",
            int(c.cfg["nps_recent_days"]),
            months=(c.first, c.last),
        )
        .sort(ACCOUNT, "month_idx", "responded_on", "score", descending=[False, False, False, True])
        .group_by(ACCOUNT, "month_idx")
        .agg(pl.col("score").last(), pl.col("responded_on").last(), pl.len().alias("n"))
    )
    return _rows(
        det,
        pl.col("score"),
        pl.format(
            c.t(
                "NPS {}点 ({}), 直近の批判者回答 {}件",
                "NPS {} ({}); {} recent detractor response(s)",
            ),
            pl.col("score"),
            _day(pl.col("responded_on")),
            pl.col("n"),
        ),
    )


def rule_health_red(c: _Ctx) -> pl.LazyFrame:
    """``health_red``: the account's health band is red. Value: the score. Unavailable when no
    active account has a health band (no measure has data: missing data is not bad health)."""
    if not c.seg.select(pl.col("band").is_not_null().any()).collect().item():
        raise Unavailable("rule_no_health")
    return _rows(
        c.seg.filter(pl.col("band") == "red"),
        pl.col("score"),
        pl.format(c.t("ヘルススコア {} (危険)", "health score {} (at risk)"), pl.col("score")),
    )


def rule_onboarding_stalled(c: _Ctx) -> pl.LazyFrame:
    """``onboarding_stalled``: a user of the account not graduated and with no session done for
    ``onboarding.stalled_weeks`` weeks (see
    :func:`cs_metrics.metrics.onboarding.stalled_users_history`). Value: stalled users."""
    c.need("onboarding_sessions")
    from cs_metrics.metrics.onboarding import stalled_users_history

    stalled = (
        stalled_users_history(c.ds, c.first, c.last)
        .join(c.keys, on=[ACCOUNT, "month_idx"], how="semi")
        .group_by(ACCOUNT, "month_idx")
        .agg(pl.len().alias("users"), pl.col("sessions_done").min(), pl.col("last_done_on").max())
    )
    return _rows(
        stalled,
        pl.col("users"),
        pl.format(
            c.t(
                "未卒業で停滞 {}名 (最少 {}回完了, 最終実施 {})",
                "{} user(s) stalled before graduation (fewest done {}, last done {})",
            ),
            pl.col("users"),
            pl.col("sessions_done"),
            _day(pl.col("last_done_on")).fill_null(c.t("なし", "never")),
        ),
    )


def rule_no_touchpoint(c: _Ctx) -> pl.LazyFrame:
    """``no_touchpoint``: days from the latest touchpoint to the month's last day > N, N by the
    account's segment that month (``[risk.no_touchpoint_days]``: the 定期検診 rhythm), or none
    ever (value null). Exactly N days is not flagged."""
    tps = c.need("touchpoints")
    limits = {k: int(v) for k, v in c.cfg["no_touchpoint_days"].items()}
    last_tp = tps.select(ACCOUNT, pl.col("occurred_on").alias("last_tp"))
    days = pl.col("days")
    seg = c.seg.select(ACCOUNT, "month_idx", "month_end", "segment")
    tp = (
        latest_by_account(seg, last_tp, "month_end", "last_tp")
        .with_columns(
            (E - pl.col("last_tp")).dt.total_days().alias("days"),
            pl.col("segment")
            .replace_strict(limits, default=None, return_dtype=pl.Int64)
            .alias("limit"),
        )
        .filter(pl.col("limit").is_not_null() & (days.is_null() | (days > pl.col("limit"))))
    )
    rhythm = pl.format(
        c.t("セグメント{}: {}日ごと", "segment {}: every {} days"),
        pl.col("segment"),
        pl.col("limit"),
    )
    return _rows(
        tp,
        days,
        pl.when(days.is_null())
        .then(pl.format(c.t("接点記録なし ({})", "no touchpoint recorded ({})"), rhythm))
        .otherwise(
            pl.format(
                c.t("最終接点から{}日 ({}, {})", "{} days since the last touchpoint ({}, {})"),
                days,
                _day(pl.col("last_tp")),
                rhythm,
            )
        ),
    )


def rule_expansion_candidate(c: _Ctx) -> pl.LazyFrame:
    """Opportunity ``expansion_candidate``: health band green and recent weekly logins >=
    (1 + ``risk.usage_rise``) x the account's own baseline (baseline > 0). Value: recent /
    baseline - 1."""
    c.need("usage_weekly")
    green = c.seg.filter(pl.col("band") == "green").select(ACCOUNT, "month_idx")
    r, b = pl.col("recent"), pl.col("baseline")
    rise = float(c.cfg["usage_rise"])
    return _rows(
        c.usage_ratio()
        .join(green, on=[ACCOUNT, "month_idx"], how="semi")
        .filter((b > 0) & (r >= (1 + rise) * b)),
        r / b - 1,
        pl.format(
            c.t(
                "ヘルス良好・利用増 週平均ログイン {} → {}",
                "healthy and growing: weekly logins {} → {}",
            ),
            _fmt(b, 1),
            _fmt(r, 1),
        ),
    )


RULES: dict[str, Callable[[_Ctx], pl.LazyFrame]] = {
    "cancellation_notice": rule_cancellation_notice,
    "renewal_unconfirmed": rule_renewal_unconfirmed,
    "no_login": rule_no_login,
    "health_red": rule_health_red,
    "usage_drop": rule_usage_drop,
    "nps_detractor": rule_nps_detractor,
    "onboarding_stalled": rule_onboarding_stalled,
    "renewal_due": rule_renewal_due,
    "no_touchpoint": rule_no_touchpoint,
    "expansion_candidate": rule_expansion_candidate,
}
assert tuple(RULES) == RISK_RULES + OPPORTUNITY_RULES


def _context(
    ds: Dataset, as_of: MonthLike, months: int, health: HealthResult | None = None
) -> _Ctx:
    m = Month.parse(as_of)
    seg = segments_history(ds, m, months, health).lazy()
    return _Ctx(
        ds,
        # collected once: every rule reads the grid (a lazy grid is recomputed per rule)
        account_month_grid(ds, m, months).collect().lazy(),
        seg.with_columns(
            index_to_month_expr(pl.col("month_idx")).dt.month_end().alias("month_end")
        ),
        m.index - months + 1,
        m.index,
        ds.config["risk"],
        ds.config["general"]["lang"] == "ja",
    )


def _evaluate(c: _Ctx) -> tuple[list[pl.LazyFrame], list[dict[str, Any]], dict[str, str]]:
    """Every rule over the context: its rows (``account_id, month_idx, rule, kind, value,
    evidence``), one status row per rule, and rule -> reason for unavailable rules."""
    disabled = set(c.cfg["disabled_rules"])
    parts: list[pl.LazyFrame] = []
    unavailable: dict[str, str] = {}
    status: list[dict[str, Any]] = []
    for name, rule in RULES.items():  # a loop over the configured rules, not over accounts
        kind = "opportunity" if name in OPPORTUNITY_RULES else "risk"
        if name in disabled:
            status.append({"rule": name, "kind": kind, "status": "disabled", "reason": None})
            continue
        try:
            rows = rule(c)
        except Unavailable as e:
            why = e.message("ja" if c.ja else "en")
            unavailable[name] = why
            c.unavailable_codes[name] = e.code
            status.append({"rule": name, "kind": kind, "status": "unavailable", "reason": why})
            continue
        status.append({"rule": name, "kind": kind, "status": "ok", "reason": None})
        parts.append(
            rows.select(
                ACCOUNT,
                "month_idx",
                pl.lit(name).alias("rule"),
                pl.lit(kind).alias("kind"),
                "value",
                "evidence",
            )
        )
    return parts, status, unavailable


_EMPTY = {
    ACCOUNT: pl.String,
    "month_idx": pl.Int32,
    "rule": pl.String,
    "kind": pl.String,
    "value": pl.Float64,
    "evidence": pl.String,
}


@memoised  # the risk list, the report and notify read it: evaluated once per month
def risk_signals(ds: Dataset, as_of: MonthLike) -> RiskResult:
    """Evaluate every risk rule and opportunity signal for the accounts active at ``as_of``.

    Rules (thresholds in ``[risk]``; each documented on its ``rule_*`` function):
    ``no_login``, ``cancellation_notice``, ``renewal_due``, ``usage_drop``, ``nps_detractor``,
    ``health_red``, ``onboarding_stalled``, ``no_touchpoint``; opportunity
    ``expansion_candidate``. Rules in ``risk.disabled_rules`` are skipped (status
    ``disabled``); a rule whose table is missing flags nobody (status ``unavailable``). The same
    rule definitions evaluate a range of months in :func:`risk_flags`.

    Returns
    -------
    RiskResult
        ``signals``: ``account_id, csm, segment, mrr, rule, kind, value, evidence`` sorted by
        CSM, account and rule; ``mrr`` is the account's MRR at as_of.
    """
    ctx = _context(ds, as_of, 1)
    parts, status, unavailable = _evaluate(ctx)
    signals = (
        pl.concat([pl.LazyFrame(schema=_EMPTY), *parts], how="vertical_relaxed")
        .join(
            ctx.seg.select(ACCOUNT, "month_idx", "csm", "segment", "mrr"),
            on=[ACCOUNT, "month_idx"],
            how="left",
        )
        .with_columns(pl.col("csm").fill_null(UNSET))
        .select(ACCOUNT, "csm", "segment", "mrr", *_COLUMNS[1:])
        .sort("csm", ACCOUNT, "rule")
        # the in-memory engine: polars 2.1's default (streaming) panicked here at 100k accounts
        # ("assertion failed: i < self.len()" in a string view), see docs/performance.md
        .collect(engine="in-memory")
    )
    counts = signals.group_by("rule").agg(
        pl.len().cast(pl.Int64).alias("accounts"), pl.col("mrr").sum().alias("mrr")
    )
    status_df = (
        pl.DataFrame(
            status,
            schema={"rule": pl.String, "kind": pl.String, "status": pl.String, "reason": pl.String},
        )
        .join(counts, on="rule", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("status") == "ok")
            .then(pl.col("accounts").fill_null(0))
            .alias("accounts"),
            pl.when(pl.col("status") == "ok").then(pl.col("mrr").fill_null(0.0)).alias("mrr"),
        )
    )
    return RiskResult(signals, unavailable, status_df, dict(ctx.unavailable_codes))


def risk_flags(
    ds: Dataset, as_of: MonthLike, months: int, health: HealthResult | None = None
) -> RiskFlags:
    """Which rule flags which active account in each of the ``months`` months ending at
    ``as_of``, each month as of its own last day (only rows dated by then), in one pass.

    The same rule functions as :func:`risk_signals` (which is this with one month, plus the
    evidence); here the evidence text is never computed.

    Parameters
    ----------
    health : HealthResult, optional
        :func:`cs_metrics.metrics.health.health_history` of the same months, if at hand.

    Returns
    -------
    RiskFlags
        ``flags``: ``account_id, month_idx, rule, kind`` (one row per flag).
    """
    ctx = _context(ds, as_of, months, health)
    parts, status, _ = _evaluate(ctx)
    flags = (
        pl.concat([pl.LazyFrame(schema=_EMPTY), *parts], how="vertical_relaxed")
        .select(ACCOUNT, "month_idx", "rule", "kind")
        .collect()
    )
    return RiskFlags(
        flags,
        {st["rule"]: (st["status"], st["reason"]) for st in status},
        ctx.seg.drop("month_end").collect(),
    )


def _ranked_signals(ds: Dataset, m: Month) -> pl.DataFrame:
    """This month's risk signals with their severity and whether each is new this month (the
    rule did not flag the account the month before), most severe first per account."""
    cfg = ds.config["risk"]
    sev = {r: float(cfg["severity"][r]) for r in RISK_RULES}
    order = {r: i for i, r in enumerate(RISK_RULES)}
    before = (
        risk_signals(ds, m - 1)
        .signals.filter(pl.col("kind") == "risk")
        .select(ACCOUNT, "rule", pl.lit(False).alias("new"))
    )
    return (
        risk_signals(ds, m)
        .signals.filter(pl.col("kind") == "risk")
        .join(before, on=[ACCOUNT, "rule"], how="left")
        .with_columns(
            pl.col("new").fill_null(True),
            pl.col("rule").replace_strict(sev, return_dtype=pl.Float64).alias("severity"),
            pl.col("rule").replace_strict(order, return_dtype=pl.Int64).alias("order"),
        )
        .sort(ACCOUNT, "severity", "order", descending=[False, True, False])
    )


def _health_notes(ds: Dataset, m: Month, accounts: pl.DataFrame, lang: str) -> pl.DataFrame:
    """``account_id, health_note`` for accounts whose health band is green although they are in
    the risk list: what the score is made of (measure contributions, largest first), so the
    list says why health and risk disagree."""
    from cs_metrics.labels import CATALOGUE, band_label, label
    from cs_metrics.metrics.health import health_scores

    green = accounts.filter(pl.col("band") == "green").select(ACCOUNT, "score")
    if green.height == 0:
        return pl.DataFrame(schema={ACCOUNT: pl.String, "health_note": pl.String})
    names = {k: v.get(lang, v["en"]) for k, v in CATALOGUE["measure"].items()}
    template = label(
        "word.health_note", lang, band=band_label("green", lang), score="{}", parts="{}"
    )
    sep = "・" if lang == "ja" else ", "
    return (
        health_scores(ds, m)
        .details.join(green, on=ACCOUNT, how="semi")
        .sort(ACCOUNT, "contribution", "measure", descending=[False, True, False])
        .with_columns(
            pl.format(
                "{} {}",
                pl.col("measure").replace_strict(names, default=pl.col("measure")),
                pl.col("contribution").round(1),
            ).alias("part")
        )
        .group_by(ACCOUNT, maintain_order=True)
        .agg(pl.col("part").str.join(sep))
        .join(green, on=ACCOUNT)
        .select(
            ACCOUNT,
            pl.format(template, pl.col("score").round(1), pl.col("part")).alias("health_note"),
        )
    )


def risk_list(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """Risk list per CSM: accounts with at least one risk signal, ranked by priority, each with
    a suggested next action (SPEC §6).

    Priority (documented in ``docs/metrics.md``) = ``mrr x severity x recency``:

    - ``severity`` of an account = 1 - product over its signals of (1 - s), s = the rule's
      ``[risk.severity]`` (0..1): one signal counts at its own severity, several combine like
      independent chances, never above 1;
    - ``recency`` = ``risk.recency_weight`` when at least one of its signals is new this month
      (the rule did not flag the account the month before), else 1.

    CSMs come in descending order of their MRR at risk (the sum of their flagged accounts'
    MRR); accounts within a CSM by priority (ties: MRR, then account ID), ``rank`` 1, 2, ...
    ``rules`` and ``evidence`` are ordered by severity (then rule priority order), ``top_rule``
    is the first; ``next_action`` is ``[risk.next_action.<lang>]`` of the top rule. An account
    whose health band is green gets a ``health_note`` saying what its score is made of (so a
    green account with no login for 80 days is explained, not contradicted). Opportunity
    signals are not part of the list.

    Returns
    -------
    DataFrame
        ``csm, rank, account_id, account_name, segment, mrr, priority, severity, rules (list),
        rule_labels (list), new_rules (list), evidence (list), top_rule, next_action, score,
        band, health_note, csm_mrr_at_risk``.
    """
    m = Month.parse(as_of)
    lang = ds.config["general"]["lang"]
    per_account = _risk_accounts(ds, m, lang)
    notes = _health_notes(ds, m, per_account, lang)
    return (
        per_account.join(notes, on=ACCOUNT, how="left")
        .with_columns(pl.col("mrr").sum().over("csm").alias("csm_mrr_at_risk"))
        .sort(
            ["csm_mrr_at_risk", "csm", "priority", "mrr", ACCOUNT],
            descending=[True, False, True, True, False],
        )
        .with_columns(pl.int_range(1, pl.len() + 1).over("csm").alias("rank"))
        .select(
            "csm",
            "rank",
            ACCOUNT,
            "account_name",
            "segment",
            "mrr",
            "priority",
            "severity",
            "rules",
            "rule_labels",
            "new_rules",
            "evidence",
            "top_rule",
            "next_action",
            "score",
            "band",
            "health_note",
            "csm_mrr_at_risk",
        )
    )


def _risk_accounts(ds: Dataset, m: Month, lang: str) -> pl.DataFrame:
    """One row per account with a risk signal in month ``m``: its rules (most severe first),
    their words and evidence, the rules new this month, the combined severity, the priority, the
    next action, the account's name and its health score and band (see :func:`risk_list`)."""
    from cs_metrics.labels import label, rule_label

    cfg = ds.config["risk"]
    labels = {r: rule_label(r, cfg, lang) for r in RISK_RULES}
    actions = dict(cfg["next_action"][lang])
    health = segments(ds, m).select(ACCOUNT, "score", "band")
    names = ds.accounts.select(ACCOUNT, "account_name").collect()
    return (
        _ranked_signals(ds, m)
        .group_by("csm", ACCOUNT, "segment", "mrr", maintain_order=True)
        .agg(
            pl.col("rule").alias("rules"),
            pl.col("evidence"),
            pl.col("rule").filter(pl.col("new")).alias("new_rules"),
            (1 - (1 - pl.col("severity")).product()).round(4).alias("severity"),
        )
        .with_columns(
            pl.col("rules").list.first().alias("top_rule"),
            pl.col("rules")
            .list.eval(pl.element().replace_strict(labels, return_dtype=pl.String))
            .alias("rule_labels"),
        )
        .with_columns(
            (
                pl.col("mrr")
                * pl.col("severity")
                * pl.when(pl.col("new_rules").list.len() > 0)
                .then(float(cfg["recency_weight"]))
                .otherwise(1.0)
            )
            .round(0)
            .alias("priority"),
            pl.col("top_rule").replace_strict(actions, default="").alias("next_action"),
            pl.col("csm").replace(UNSET, label("word.unset", lang)),
        )
        .join(names, on=ACCOUNT, how="left")
        .join(health, on=ACCOUNT, how="left")
    )


def risk_matrix(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """One CSM x signal table: per CSM of an active account (every one, flagged or not) and
    per risk rule that could run (status ``ok``), the accounts it flags and their MRR. An
    account with two signals counts under both rules; distinct totals are
    :func:`mrr_at_risk_by_csm`.

    Returns
    -------
    DataFrame
        ``csm, rule, accounts, mrr`` (zeros where a rule flags nobody), CSMs by MRR at risk
        (descending, then name; CSMs with nothing at risk last), rules in priority order.
    """
    from cs_metrics.labels import label

    m = Month.parse(as_of)
    lang = ds.config["general"]["lang"]
    res = risk_signals(ds, m)
    ok = [r for r in RISK_RULES if r in set(res.status.filter(pl.col("status") == "ok")["rule"])]
    unset = label("word.unset", lang)
    csms = (
        segments(ds, m)
        .select(pl.col("csm").fill_null(UNSET).replace(UNSET, unset))
        .unique()
        .join(mrr_at_risk_by_csm(ds, m), on="csm", how="left")
        .with_columns(pl.col("mrr_at_risk").fill_null(0.0))
        .sort(["mrr_at_risk", "csm"], descending=[True, False])
        .select("csm")
    )
    counts = (
        res.signals.filter(pl.col("kind") == "risk")
        .with_columns(pl.col("csm").replace(UNSET, unset))
        .group_by("csm", "rule")
        .agg(pl.len().cast(pl.Int64).alias("accounts"), pl.col("mrr").sum())
    )
    rules = pl.DataFrame(
        {"rule": ok, "order": list(range(len(ok)))}, schema_overrides={"order": pl.Int64}
    )
    return (
        csms.with_row_index("c")
        .join(rules, how="cross")
        .join(counts, on=["csm", "rule"], how="left")
        .with_columns(pl.col("accounts").fill_null(0), pl.col("mrr").fill_null(0.0))
        .sort("c", "order")
        .select("csm", "rule", "accounts", "mrr")
    )


def risk_summary(ds: Dataset, as_of: MonthLike) -> dict[str, Any]:
    """Accounts at risk and their MRR this month and last month, and those new to the list.

    Returns
    -------
    dict
        ``accounts, mrr`` (this month: accounts with a risk signal, their MRR), ``accounts_prev,
        mrr_prev`` (the same as of last month, each month point in time), ``new_accounts,
        new_mrr`` (in the list now but not last month), ``active_accounts, active_mrr``.
    """
    m = Month.parse(as_of)

    def at_risk(month: Month) -> pl.DataFrame:
        return (
            risk_signals(ds, month)
            .signals.filter(pl.col("kind") == "risk")
            .select(ACCOUNT, "mrr")
            .unique(ACCOUNT)
        )

    now, before = at_risk(m), at_risk(m - 1)
    new = now.join(before, on=ACCOUNT, how="anti")
    active = active_accounts(ds, m).select("mrr").collect()
    return {
        "accounts": now.height,
        "mrr": float(now["mrr"].sum()),
        "accounts_prev": before.height,
        "mrr_prev": float(before["mrr"].sum()),
        "new_accounts": new.height,
        "new_mrr": float(new["mrr"].sum()),
        "active_accounts": active.height,
        "active_mrr": float(active["mrr"].sum()),
    }


def mrr_at_risk_by_csm(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """Per CSM: accounts at risk and their MRR, ordered by MRR at risk (descending).

    Returns
    -------
    DataFrame
        ``csm, accounts_at_risk, mrr_at_risk``.
    """
    rl = risk_list(ds, as_of)
    return (
        rl.group_by("csm")
        .agg(pl.len().alias("accounts_at_risk"), pl.col("mrr").sum().alias("mrr_at_risk"))
        .sort(["mrr_at_risk", "csm"], descending=[True, False])
    )
