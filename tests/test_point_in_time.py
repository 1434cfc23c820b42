"""Point in time (SPEC §3): every figure as of month m uses only what was knowable at m's last
day E - subscription lines that started by E, and rows dated on or before E. A property over
every metric family: the sample as known at E (rows dated after E removed) and the sample with
extra rows dated after E appended (renewals of the lines ending on E, reactivations, a new
account, cross-sell, cancellations, usage, touchpoints, NPS answers, onboarding sessions, CS
costs) give the same figures as of m, to the last digit that is not float rounding.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from conftest import SAMPLE

from cs_metrics.data.dataset import Dataset
from cs_metrics.data.load import load_dataset
from cs_metrics.metrics import (
    churn,
    health,
    kpis,
    ltv,
    nps,
    onboarding,
    retention,
    risk,
    scenarios,
    segments,
)
from cs_metrics.periods import Month

DATED = {
    "subscriptions": "start_date",
    "cancellations": "cancelled_on",
    "usage_weekly": "week_start",
    "touchpoints": "occurred_on",
    "nps_responses": "responded_on",
    "onboarding_sessions": "held_on",
    "cs_costs": "month",
}
KEYS = {
    "usage_weekly": ["account_id", "week_start"],
    "onboarding_sessions": ["user_id", "session_no"],
    "cs_costs": ["month"],
}


def known_at(ds: Dataset, m: Month) -> Dataset:
    """``ds`` as known at m's last day: rows dated after it removed (undated rows kept)."""
    e = m.last_day
    return ds.with_tables(
        **{t: ds[t].filter(pl.col(c).is_null() | (pl.col(c) <= e)) for t, c in DATED.items()}
    )


def _day(e: dt.date, days: int) -> pl.Expr:
    return pl.lit(e + dt.timedelta(days=days), dtype=pl.Date)


def _later(ds: Dataset, table: str, n: int, days: int, **cols: Any) -> pl.DataFrame:
    """One row per account (a copy of its first row) dated ``days`` after E, ``cols`` set."""
    e = Month(n).last_day
    rows = ds[table].collect().group_by("account_id", maintain_order=True).first()
    rows = rows.with_columns(_day(e, days).alias(DATED[table]), **cols)
    if table in KEYS:  # never a second row for a key the data already has
        rows = rows.join(ds[table].collect(), on=KEYS[table], how="anti")
    return rows


def _later_lines(ds: Dataset, m: Month) -> pl.DataFrame:
    """Renewals of every line ending on E, a reactivation of every account inactive at m, a
    cross-sell line for every account, all starting after E; a new account's first line."""
    e = m.last_day
    subs = ds.subscriptions.collect()
    sid = pl.format("PIT-{}-{}", pl.col("subscription_id"), pl.lit(m.index))
    renewals = subs.filter(pl.col("end_date") == e).with_columns(
        _day(e, 1).alias("start_date"), pl.lit(None, pl.Date).alias("end_date"), sid
    )
    first = subs.group_by("account_id", maintain_order=True).first()
    again = first.with_columns(
        _day(e, 1).alias("start_date"), pl.lit(None, pl.Date).alias("end_date"), sid
    )
    addon = first.with_columns(
        _day(e, 15).alias("start_date"),
        pl.lit("PIT-addon").alias("product"),
        pl.format("PIT-x-{}", pl.col("subscription_id")),
    )
    new = first.head(1).with_columns(
        pl.lit("PIT-NEW").alias("account_id"), _day(e, 3).alias("start_date"), sid
    )
    new = new.with_columns(pl.format("{}n", "subscription_id"))
    return pl.concat([x.select(subs.columns) for x in (renewals, again, addon, new)])


def with_later_rows(ds: Dataset, m: Month) -> Dataset:
    """``ds`` with rows dated after m's last day appended to every dated table."""
    e, n = m.last_day, m.index
    acc = ds.accounts.collect()
    frames = {
        "accounts": pl.concat([acc, acc.head(1).with_columns(account_id=pl.lit("PIT-NEW"))]),
        "subscriptions": _later_lines(ds, m),
        "cancellations": _later(ds, "cancellations", n, 5),
        "usage_weekly": _later(ds, "usage_weekly", n, 1, logins=pl.lit(0.0)),
        "touchpoints": _later(ds, "touchpoints", n, 2),
        "nps_responses": _later(
            ds,
            "nps_responses",
            n,
            1,
            score=pl.lit(0, pl.Int64),
            response_id=pl.format("PIT-{}", "_row"),
        ),
        "onboarding_sessions": _later(
            ds, "onboarding_sessions", n, 1, user_id=pl.lit("PIT-U"), status=pl.lit("done")
        ),
        "cs_costs": pl.DataFrame(
            {"_row": [0], "month": [Month(n + 1).first_day], "amount": [9e9]},
            schema=ds["cs_costs"].collect_schema(),
        ).join(ds["cs_costs"].collect(), on="month", how="anti"),
    }
    for t, f in frames.items():
        old = ds[t].collect()
        frames[t] = pl.concat([old, f.select(old.columns)]) if t != "accounts" else f
    assert frames["subscriptions"].filter(pl.col("start_date") > e).height > 0
    return ds.with_tables(**frames)


FIGURES: dict[str, Callable[[Dataset, Month], Any]] = {
    "kpis": lambda ds, m: kpis.kpis(ds, m),
    "monthly_rates": lambda ds, m: retention.monthly_rates(ds, m),
    "cohort_retention": lambda ds, m: retention.cohort_retention(ds, m),
    "churn_within": lambda ds, m: churn.churn_within(ds, m),
    "km_curve": lambda ds, m: churn.km_curve(ds, m),
    "churn_events": lambda ds, m: churn.churn_events(ds, m),
    "churn_reasons": lambda ds, m: churn.churn_reasons(ds, m),
    "simple_ltv": lambda ds, m: ltv.simple_ltv(ds, m),
    "cohort_ltv": lambda ds, m: ltv.cohort_ltv(ds, m),
    "predictive_ltv": lambda ds, m: ltv.predictive_ltv(ds, m),
    "ltv_cac": lambda ds, m: ltv.ltv_cac(ds, m),
    "revenue_by_source": lambda ds, m: ltv.revenue_by_source(ds, m),
    "expansion_by_tenure": lambda ds, m: ltv.expansion_by_tenure(ds, m),
    "cost_to_serve": lambda ds, m: ltv.cost_to_serve(ds, m),
    "health": lambda ds, m: health.health_scores(ds, m),
    "health_change": lambda ds, m: health.health_with_change(ds, m),
    "segments": lambda ds, m: segments.segments(ds, m),
    "risk_signals": lambda ds, m: risk.risk_signals(ds, m),
    "risk_list": lambda ds, m: risk.risk_list(ds, m),
    "risk_summary": lambda ds, m: risk.risk_summary(ds, m),
    "nps": lambda ds, m: nps.nps(ds, m),
    "nps_trend": lambda ds, m: nps.nps_trend(ds, m),
    "onboarding": lambda ds, m: onboarding.onboarding_summary(ds, m),
    "onboarding_accounts": lambda ds, m: onboarding.onboarding_accounts(ds, m),
    "scenario_inputs": lambda ds, m: scenarios.scenario_accounts(
        ds, m, 24, ds.config["scenario"]["default_reason"]
    ),
    "what_if": lambda ds, m: scenarios.what_if(ds, m, save_reason_pct=0.3, graduation_target=0.9),
}


def plain(x: Any) -> Any:
    """A comparable plain value: frames as sorted rows, floats to 12 significant digits (the
    order of a float sum may differ between the two datasets, not its value)."""
    if isinstance(x, pl.LazyFrame):
        x = x.collect()
    if isinstance(x, pl.DataFrame):
        return sorted((plain(r) for r in x.to_dicts()), key=repr)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [plain(v) for v in x]
    if isinstance(x, float):
        return float(f"{x:.12g}")
    return x


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_dataset(SAMPLE)


@pytest.mark.parametrize("month", ["2025-06", "2026-03"])
def test_rows_dated_after_a_month_never_change_its_figures(sample, month):
    m = Month.parse(month)
    known, later = known_at(sample, m), with_later_rows(sample, m)
    for name, figure in FIGURES.items():
        assert plain(figure(known, m)) == plain(figure(later, m)), f"{name} as of {m}"


def test_a_renewal_starting_after_the_month_does_not_hide_renewal_unconfirmed(sample):
    # the lines ending on E get a renewal from E + 1 in ``with_later_rows``: still unconfirmed
    m = Month.parse("2026-03")
    ending = sample.subscriptions.filter(
        (pl.col("end_date") == m.last_day) & (pl.col("mrr") > 0)
    ).collect()
    assert ending.height > 0
    res = risk.risk_signals(with_later_rows(sample, m), m)
    flagged = set(res.signals.filter(pl.col("rule") == "renewal_unconfirmed")["account_id"])
    assert set(ending["account_id"]) <= flagged
