"""The 12-session onboarding program: completion, drop-off, graduation (SPEC §6)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from cs_metrics.data.load import Dataset
from cs_metrics.periods import add_months, month_end, parse_month


def _sessions(ds: Dataset, as_of) -> pl.LazyFrame | None:
    """Point in time: a session counts as done only if held on or before as_of's last day."""
    if not ds.has("onboarding_sessions"):
        return None
    end = month_end(parse_month(as_of))
    done = (pl.col("status") == "done") & (pl.col("held_on").is_null() | (pl.col("held_on") <= end))
    return ds["onboarding_sessions"].with_columns(done.alias("done"))


def onboarding_users(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame | None:
    """Per user: sessions done, graduation and time to graduate, as of ``as_of``.

    A user *graduates* when all N sessions (config ``onboarding.sessions``) are done; time to
    graduate = days from the first to the last done session's ``held_on``. A user is *stalled*
    when not graduated, no session was done in the last ``onboarding.stalled_weeks`` weeks
    before as_of's last day (or none ever), and the program started (first planned session)
    within ``onboarding.stalled_lookback_months`` months before as_of.

    Returns
    -------
    DataFrame or None
        ``account_id, user_id, sessions_done, first_held_on, first_planned_on, last_done_on,
        graduated, days_to_graduate, stalled``; None when the table is absent.
    """
    lf = _sessions(ds, as_of)
    if lf is None:
        return None
    n = int(ds.config["onboarding"]["sessions"])
    end = month_end(parse_month(as_of))
    stall = dt.timedelta(weeks=int(ds.config["onboarding"]["stalled_weeks"]))
    lookback = add_months(
        parse_month(as_of), -int(ds.config["onboarding"]["stalled_lookback_months"])
    )
    return (
        lf.group_by("account_id", "user_id")
        .agg(
            pl.col("session_no").filter(pl.col("done")).n_unique().alias("sessions_done"),
            pl.col("held_on").filter(pl.col("done")).min().alias("first_held_on"),
            pl.col("held_on").min().alias("first_planned_on"),
            pl.col("held_on").filter(pl.col("done")).max().alias("last_done_on"),
        )
        .with_columns((pl.col("sessions_done") >= n).alias("graduated"))
        .with_columns(
            pl.when(pl.col("graduated"))
            .then((pl.col("last_done_on") - pl.col("first_held_on")).dt.total_days())
            .alias("days_to_graduate"),
            (
                ~pl.col("graduated")
                & (pl.col("last_done_on").is_null() | (pl.col("last_done_on") < end - stall))
                & (pl.col("first_planned_on").is_null() | (pl.col("first_planned_on") >= lookback))
            ).alias("stalled"),
        )
        .sort("account_id", "user_id")
        .collect()
    )


def onboarding_accounts(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame | None:
    """Per account: users, graduated users, share graduated, whether all graduated, stalled users.

    Returns
    -------
    DataFrame or None
        ``account_id, users, graduated_users, graduation_rate, graduated, stalled_users,
        median_days_to_graduate``.
    """
    users = onboarding_users(ds, as_of)
    if users is None:
        return None
    return (
        users.group_by("account_id")
        .agg(
            pl.len().alias("users"),
            pl.col("graduated").sum().alias("graduated_users"),
            pl.col("stalled").sum().alias("stalled_users"),
            pl.col("days_to_graduate").median().alias("median_days_to_graduate"),
        )
        .with_columns(
            (pl.col("graduated_users") / pl.col("users")).alias("graduation_rate"),
            (pl.col("graduated_users") == pl.col("users")).alias("graduated"),
        )
        .sort("account_id")
    )


def onboarding_funnel(ds: Dataset, as_of: dt.date | str) -> pl.DataFrame | None:
    """Drop-off by session: users who completed session k (k = 1..N), for charts.

    Returns
    -------
    DataFrame or None
        ``session_no, users_done, share_of_users, drop_from_previous``.
    """
    lf = _sessions(ds, as_of)
    if lf is None:
        return None
    n = int(ds.config["onboarding"]["sessions"])
    users = lf.select(pl.col("user_id").n_unique()).collect().item()
    done = (
        lf.filter(pl.col("done"))
        .group_by("session_no")
        .agg(pl.col("user_id").n_unique().alias("users_done"))
    )
    spine = pl.LazyFrame({"session_no": pl.int_range(1, n + 1, eager=True, dtype=pl.Int64)})
    return (
        spine.join(done, on="session_no", how="left")
        .with_columns(pl.col("users_done").fill_null(0).cast(pl.Int64))
        .sort("session_no")
        .with_columns(
            (pl.col("users_done") / users if users else pl.lit(None, pl.Float64)).alias(
                "share_of_users"
            ),
            (pl.col("users_done").shift(1).fill_null(users) - pl.col("users_done")).alias(
                "drop_from_previous"
            ),
        )
        .collect()
    )


def onboarding_summary(ds: Dataset, as_of: dt.date | str) -> dict[str, Any]:
    """The JSON of ``cs-metrics onboarding``: totals and per-session completion."""
    users = onboarding_users(ds, as_of)
    if users is None:
        return {"available": False, "reason": "no onboarding_sessions table"}
    funnel = onboarding_funnel(ds, as_of)
    assert funnel is not None
    grads = users.filter(pl.col("graduated"))
    return {
        "available": True,
        "sessions": int(ds.config["onboarding"]["sessions"]),
        "users": users.height,
        "accounts": users["account_id"].n_unique(),
        "graduated_users": grads.height,
        "graduation_rate": grads.height / users.height if users.height else None,
        "stalled_users": int(users["stalled"].sum()),
        "median_days_to_graduate": grads["days_to_graduate"].median() if grads.height else None,
        "per_session": [
            {
                "session_no": int(r["session_no"]),
                "users_done": int(r["users_done"]),
                "share_of_users": r["share_of_users"],
            }
            for r in funnel.iter_rows(named=True)
        ],
    }
