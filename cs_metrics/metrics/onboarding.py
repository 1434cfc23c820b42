"""The 12-session onboarding program: completion, drop-off, graduation (SPEC §6).

Point in time: as of month m only ``onboarding_sessions`` rows with ``held_on`` on or before m's
last day (or without a date) are used, and a session counts as *done* when its ``status`` is
``done``. Session numbers outside 1..N (N = ``onboarding.sessions``) are ignored.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cs_metrics.data.dataset import Dataset, memoised
from cs_metrics.messages import lang_of, reason_fields
from cs_metrics.periods import Month, MonthLike, index_to_month_expr, month_index_expr

__all__ = [
    "onboarding_accounts",
    "onboarding_funnel",
    "onboarding_summary",
    "onboarding_users",
    "stalled_users",
    "stalled_users_history",
]


def _program_rows(ds: Dataset) -> pl.LazyFrame:
    """Session rows numbered 1..N with a boolean ``done`` (the table must exist)."""
    n = int(ds.config["onboarding"]["sessions"])
    return (
        ds["onboarding_sessions"]
        .filter(pl.col("session_no").is_between(1, n))
        .with_columns((pl.col("status") == "done").alias("done"))
    )


def _known_by(end: pl.Expr) -> pl.Expr:
    """A row is known at ``end`` when it is dated on or before it, or has no date."""
    return pl.col("held_on").is_null() | (pl.col("held_on") <= end)


def _sessions(ds: Dataset, m: Month) -> pl.LazyFrame | None:
    """Rows known at the last day of month ``m``, with a boolean ``done``; None without the
    table."""
    if not ds.has("onboarding_sessions"):
        return None
    return _program_rows(ds).filter(_known_by(pl.lit(m.last_day)))


def _progress() -> list[pl.Expr]:
    """Per user (aggregations over the rows known then): sessions done (distinct numbers),
    the program start (earliest ``held_on``) and the date the latest session was done."""
    return [
        pl.col("session_no").filter(pl.col("done")).unique().len().alias("sessions_done"),
        pl.col("held_on").min().alias("first_held_on"),
        pl.col("held_on").filter(pl.col("done")).max().alias("last_done_on"),
    ]


def _since_progress(end: pl.Expr) -> pl.Expr:
    return (end - pl.coalesce("last_done_on", "first_held_on")).dt.total_days()


def _stalled(cfg: dict[str, Any], end: pl.Expr, month_idx: pl.Expr) -> pl.Expr:
    """Stalled (see :func:`stalled_users`) from ``graduated, last_done_on, first_held_on``, as
    of the month ``month_idx`` ending on ``end``."""
    lookback = index_to_month_expr(month_idx - int(cfg["stalled_lookback_months"]))
    return (
        ~pl.col("graduated")
        & (_since_progress(end) > 7 * int(cfg["stalled_weeks"]))
        & (pl.col("first_held_on") >= lookback)
    ).fill_null(False)


@memoised  # the summary, the funnel and the risk rule read it: computed once per month
def onboarding_users(ds: Dataset, as_of: MonthLike) -> pl.DataFrame | None:
    """Per user: sessions done, graduation, time to graduate and stall, as of ``as_of``.

    - ``sessions_done``: distinct session numbers with status ``done``;
    - ``graduated``: all N sessions done (N = ``onboarding.sessions``, 12 by default);
    - ``days_to_graduate``: days from ``first_held_on`` (the earliest ``held_on`` of any of the
      user's sessions: the program start) to ``last_done_on`` (the date the last session was
      done), for graduated users only;
    - ``stalled``: see :func:`stalled_users`.

    Returns
    -------
    DataFrame or None
        ``account_id, user_id, sessions_done, first_held_on, last_done_on, next_session_no,
        graduated, days_to_graduate, days_since_progress, stalled``; None when the table is
        absent. ``next_session_no`` is the lowest session number not done (null when graduated).
    """
    m = Month.parse(as_of)
    lf = _sessions(ds, m)
    if lf is None:
        return None
    cfg = ds.config["onboarding"]
    n = int(cfg["sessions"])
    end = pl.lit(m.last_day)
    done_nos = pl.col("session_no").filter(pl.col("done")).unique()
    return (
        lf.group_by("account_id", "user_id")
        .agg(*_progress(), done_nos.cast(pl.Int64).alias("_done"))
        .with_columns(
            pl.lit(list(range(1, n + 1)), dtype=pl.List(pl.Int64))
            .list.set_difference(pl.col("_done"))
            .list.min()
            .alias("next_session_no")
        )
        .with_columns((pl.col("sessions_done") >= n).alias("graduated"))
        .with_columns(
            pl.when(pl.col("graduated"))
            .then((pl.col("last_done_on") - pl.col("first_held_on")).dt.total_days())
            .alias("days_to_graduate"),
            _since_progress(end).alias("days_since_progress"),
        )
        .with_columns(_stalled(cfg, end, pl.lit(m.index)).alias("stalled"))
        .select(
            "account_id",
            "user_id",
            pl.col("sessions_done").cast(pl.Int64),
            "first_held_on",
            "last_done_on",
            pl.col("next_session_no").cast(pl.Int64),
            "graduated",
            "days_to_graduate",
            "days_since_progress",
            "stalled",
        )
        .sort("account_id", "user_id")
        .collect()
    )


def stalled_users(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """Users stalled before graduation as of ``as_of`` (empty without the table).

    A user is *stalled* when not graduated, and the days from the latest done session (or, when
    none was done, from the program start ``first_held_on``) to as_of's last day are **more
    than** 7 x ``onboarding.stalled_weeks`` (exactly that many days is not yet stalled), and the
    program started on or after the first day of the month ``onboarding.stalled_lookback_months``
    before as_of (an old, never-finished program is history, not a live risk). A user with no
    dated session is never stalled (nothing says how long it has been).

    Returns
    -------
    DataFrame
        The columns of :func:`onboarding_users`, stalled users only.
    """
    users = onboarding_users(ds, as_of)
    if users is None:
        return pl.DataFrame(
            schema={
                "account_id": pl.String,
                "user_id": pl.String,
                "sessions_done": pl.Int64,
                "first_held_on": pl.Date,
                "last_done_on": pl.Date,
                "next_session_no": pl.Int64,
                "graduated": pl.Boolean,
                "days_to_graduate": pl.Int64,
                "days_since_progress": pl.Int64,
                "stalled": pl.Boolean,
            }
        )
    return users.filter(pl.col("stalled"))


def stalled_users_history(ds: Dataset, first: int, last: int) -> pl.LazyFrame:
    """Users stalled at the end of each month ``first..last`` (month indexes), each month as of
    its own last day: the same definition as :func:`stalled_users`, for a range in one pass.

    A user can only be stalled in the months from its program start (earliest ``held_on``) to
    ``onboarding.stalled_lookback_months`` later, so each user is paired with those months only.

    Returns
    -------
    LazyFrame
        ``account_id, user_id, month_idx, sessions_done, last_done_on`` (empty without the
        table).
    """
    schema = {
        "account_id": pl.String,
        "user_id": pl.String,
        "month_idx": pl.Int32,
        "sessions_done": pl.UInt32,
        "last_done_on": pl.Date,
    }
    if not ds.has("onboarding_sessions"):
        return pl.LazyFrame(schema=schema)
    cfg = ds.config["onboarding"]
    rows = _program_rows(ds)
    start = month_index_expr(pl.col("start"))
    months = (
        rows.group_by("account_id", "user_id")
        .agg(pl.col("held_on").min().alias("start"))
        .filter(pl.col("start").is_not_null())
        .select(
            "account_id",
            "user_id",
            pl.int_ranges(
                pl.max_horizontal(start, pl.lit(first)),
                pl.min_horizontal(start + int(cfg["stalled_lookback_months"]), pl.lit(last)) + 1,
                dtype=pl.Int32,
            ).alias("month_idx"),
        )
        .explode("month_idx")
        .drop_nulls("month_idx")
        .with_columns(index_to_month_expr(pl.col("month_idx")).dt.month_end().alias("_end"))
    )
    n = int(cfg["sessions"])
    return (
        months.join(rows, on=["account_id", "user_id"], how="inner")
        .filter(_known_by(pl.col("_end")))
        .group_by("account_id", "user_id", "month_idx", "_end")
        .agg(*_progress())
        .with_columns((pl.col("sessions_done") >= n).alias("graduated"))
        .filter(_stalled(cfg, pl.col("_end"), pl.col("month_idx")))
        .select(*schema)
        .cast(schema)
    )


def onboarding_accounts(ds: Dataset, as_of: MonthLike) -> pl.DataFrame | None:
    """Per account: users, graduated users, share graduated, whether all graduated, stalled users.

    Returns
    -------
    DataFrame or None
        ``account_id, users, graduated_users, stalled_users, mean_sessions_done,
        median_days_to_graduate, graduation_rate, graduated`` (``graduated`` = every user
        graduated).
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
            pl.col("sessions_done").mean().alias("mean_sessions_done"),
            pl.col("days_to_graduate").median().alias("median_days_to_graduate"),
        )
        .with_columns(
            (pl.col("graduated_users") / pl.col("users")).alias("graduation_rate"),
            (pl.col("graduated_users") == pl.col("users")).alias("graduated"),
        )
        .sort("account_id")
    )


def onboarding_funnel(ds: Dataset, as_of: MonthLike, by: str | None = None) -> pl.DataFrame | None:
    """Drop-off by session: users who completed session k (k = 1..N), for charts.

    Parameters
    ----------
    by : None or "account_id"
        None: one funnel over all users; ``"account_id"``: one funnel per account.

    Returns
    -------
    DataFrame or None
        ``[account_id,] session_no, users, users_done, share_of_users, drop_from_previous``:
        ``users`` = users in the program (any row known at as_of), ``users_done`` = users with
        session k done, ``share_of_users`` = users_done / users, ``drop_from_previous`` =
        users_done(k-1) - users_done(k) (for k = 1: users - users_done(1)).
    """
    lf = _sessions(ds, Month.parse(as_of))
    if lf is None:
        return None
    n = int(ds.config["onboarding"]["sessions"])
    keys = [by] if by else []
    totals = lf.group_by(keys or pl.lit(1).alias("_all")).agg(
        pl.col("user_id").n_unique().alias("users")
    )
    done = (
        lf.filter(pl.col("done"))
        .group_by(*keys, "session_no")
        .agg(pl.col("user_id").n_unique().alias("users_done"))
    )
    spine = pl.LazyFrame({"session_no": pl.int_range(1, n + 1, eager=True, dtype=pl.Int64)})
    grid = totals.join(spine, how="cross")
    prev = pl.col("users_done").shift(1)
    prev = prev.over(keys) if keys else prev
    return (
        grid.join(
            done.with_columns(pl.col("session_no").cast(pl.Int64)),
            on=[*keys, "session_no"],
            how="left",
        )
        .with_columns(
            pl.col("users_done").fill_null(0).cast(pl.Int64), pl.col("users").cast(pl.Int64)
        )
        .sort(*keys, "session_no")
        .with_columns(
            (pl.col("users_done") / pl.col("users")).alias("share_of_users"),
            (prev.fill_null(pl.col("users")) - pl.col("users_done")).alias("drop_from_previous"),
        )
        .select(*keys, "session_no", "users", "users_done", "share_of_users", "drop_from_previous")
        .collect()
    )


def onboarding_summary(ds: Dataset, as_of: MonthLike) -> dict[str, Any]:
    """The JSON of ``cs-metrics onboarding``: totals and per-session completion.

    Returns
    -------
    dict
        ``available, sessions, users, accounts, graduated_users, graduation_rate,
        stalled_users, median_days_to_graduate, per_session`` (a list of ``{session_no,
        users_done, share_of_users, drop_from_previous}``); ``{available: false, reason, reason_code}``
        without the table.
    """
    users = onboarding_users(ds, as_of)
    if users is None:
        return {"available": False, **reason_fields("", "onboarding_no_table", lang_of(ds.config))}
    funnel = onboarding_funnel(ds, as_of)
    assert funnel is not None
    grads = users.filter(pl.col("graduated"))
    median = grads["days_to_graduate"].median() if grads.height else None
    return {
        "available": True,
        "sessions": int(ds.config["onboarding"]["sessions"]),
        "users": users.height,
        "accounts": users["account_id"].n_unique(),
        "graduated_users": grads.height,
        "graduation_rate": grads.height / users.height if users.height else None,
        "stalled_users": int(users["stalled"].sum()),
        "median_days_to_graduate": None if median is None else float(median),
        "per_session": [
            {
                "session_no": int(r["session_no"]),
                "users_done": int(r["users_done"]),
                "share_of_users": r["share_of_users"],
                "drop_from_previous": int(r["drop_from_previous"]),
            }
            for r in funnel.iter_rows(named=True)
        ],
    }
