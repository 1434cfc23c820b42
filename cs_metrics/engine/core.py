"""The revenue core of SPEC §4, written once against narwhals' lazy API.

Every function takes and returns narwhals LazyFrames, so the same definition runs on a polars
LazyFrame (the default engine, :mod:`cs_metrics.metrics.revenue` and friends call these
functions) and on a PySpark DataFrame (:mod:`cs_metrics.engine.spark`). Month indexes are
integers ``year * 12 + month - 1``; money inside running sums is exact integer micro-yen.

The chain (see docs/architecture.md, "The revenue core: events, not grids"):

``subscriptions -> lines -> events -> segments (account x product, account) -> movements ->
bridge -> rates``; ``account segments -> trailing retention``, ``-> lifetimes -> counts per
lifetime`` (Kaplan-Meier runs on those counts on the driver), ``-> cohort retention``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import narwhals as nw

from cs_metrics.engine.primitives import SCALE, expand_ranges, is_polars, month_spine, segments

__all__ = [
    "ACCOUNT",
    "DECIMALS",
    "MOVEMENTS",
    "account_segments",
    "bridge",
    "cohort_retention",
    "first_months",
    "lifetime_counts",
    "lifetimes",
    "line_events",
    "month_index",
    "month_label",
    "movements",
    "mrr_by_month",
    "product_segments",
    "rates",
    "spine_for",
    "subscription_lines",
    "trailing_retention",
]

ACCOUNT = "account_id"
MOVEMENTS = ("new", "reactivation", "upsell", "cross_sell", "contraction", "churn")
# Sums of yen amounts are rounded to this many decimals so that floating-point noise
# (0.1 + 0.2 - 0.3) never makes an account look active.
DECIMALS = 6


def month_index(date: nw.Expr) -> nw.Expr:
    """Month index (Int32) of a Date expression."""
    return date.dt.year().cast(nw.Int32) * 12 + date.dt.month().cast(nw.Int32) - 1


def subscription_lines(subs: nw.LazyFrame, a: int, end_of_as_of: dt.date) -> nw.LazyFrame:
    """Paid subscription lines with their first and last active month index, known at ``a``.

    Parameters
    ----------
    subs : LazyFrame
        ``account_id, product, start_date, end_date, mrr`` (dates as Date, mrr numeric).
    a : month index of as_of; ``end_of_as_of`` its last day.

    Returns
    -------
    LazyFrame
        ``account_id, product, first_idx, last_idx, mrr``. A line is active in month m when
        ``start_date <= last day of m`` and ``end_date`` is empty or ``>= last day of m``; so
        ``first_idx`` is the start month and ``last_idx`` the last month whose last day is on or
        before ``end_date`` (capped at ``a``): the month of the day after ``end_date``, minus 1.
        Zero-MRR lines, lines starting after ``end_of_as_of`` and lines with no active month
        are dropped.
    """
    end = nw.col("end_date")
    after_end = month_index(end.dt.offset_by("1d")) - 1
    last = (
        nw.when(end.is_null())
        .then(nw.lit(a, dtype=nw.Int32))
        .otherwise(nw.min_horizontal(after_end, nw.lit(a, dtype=nw.Int32)))
        .cast(nw.Int32)
    )
    return (
        subs.filter(
            (nw.col("mrr") > 0)
            & ~nw.col("start_date").is_null()
            & (nw.col("start_date") <= nw.lit(end_of_as_of))
        )
        .select(
            ACCOUNT,
            "product",
            month_index(nw.col("start_date")).alias("first_idx"),
            last.alias("last_idx"),
            nw.col("mrr").cast(nw.Float64),
        )
        .filter(nw.col("last_idx") >= nw.col("first_idx"))
    )


def line_events(lines: nw.LazyFrame, a: int) -> nw.LazyFrame:
    """+MRR in a line's first active month, -MRR in the month after its last (if <= ``a``).

    Amounts are exact integers ``units`` = MRR x 10^6 (micro-yen, Int64), so running sums
    never drift. Int64 holds an account's monthly MRR up to 9.2 x 10^12 yen.
    """
    units = (nw.col("mrr") * SCALE).round(0).cast(nw.Int64)
    start = lines.select(ACCOUNT, "product", nw.col("first_idx").alias("idx"), units.alias("units"))
    stop = lines.filter(nw.col("last_idx") < a).select(
        ACCOUNT,
        "product",
        (nw.col("last_idx") + 1).cast(nw.Int32).alias("idx"),
        (-units).alias("units"),
    )
    return nw.concat([start, stop], how="vertical")


def _money(col: str) -> nw.Expr:
    return nw.col(col).cast(nw.Float64) / SCALE


def product_segments(events: nw.LazyFrame, a: int, generic: bool = False) -> nw.LazyFrame:
    """Per account x product: the MRR that holds from each event month to the next.

    Returns
    -------
    LazyFrame
        ``account_id, product, idx, next_idx, prev_mrr, mrr`` where ``mrr`` holds for months
        ``idx <= m < next_idx`` (``next_idx`` is ``a + 1`` for the last segment) and
        ``prev_mrr`` is the product's MRR in month ``idx - 1``.
    """
    seg = segments(events, [ACCOUNT, "product"], a, generic=generic)
    return seg.select(
        ACCOUNT,
        "product",
        "idx",
        "next_idx",
        ((nw.col("now") - nw.col("units")).cast(nw.Float64) / SCALE).alias("prev_mrr"),
        _money("now").alias("mrr"),
    )


def account_segments(events: nw.LazyFrame, a: int, generic: bool = False) -> nw.LazyFrame:
    """Per account: the MRR that holds from each event month to the next.

    Returns
    -------
    LazyFrame
        ``account_id, idx, next_idx, prev_mrr, mrr, ever_active_before`` where
        ``ever_active_before`` tells whether the account was active in any month before ``idx``.
    """
    seg = segments(events.drop("product"), [ACCOUNT], a, history=True, generic=generic)
    return seg.select(
        ACCOUNT,
        "idx",
        "next_idx",
        ((nw.col("now") - nw.col("units")).cast(nw.Float64) / SCALE).alias("prev_mrr"),
        _money("now").alias("mrr"),
        "ever_active_before",
    )


def movements(product_seg: nw.LazyFrame, account_seg: nw.LazyFrame) -> nw.LazyFrame:
    """Every MRR movement from month m-1 to m, per account x product (SPEC §4).

    Per account: ``new`` (0 -> > 0, never active before; amount = MRR in m), ``reactivation``
    (0 -> > 0, active before), ``churn`` (> 0 -> 0; amount = MRR in m-1); active in both months,
    per product: ``cross_sell`` (a product it did not have in m-1), ``upsell`` (an increase),
    ``contraction`` (a decrease, a dropped product included).

    Returns
    -------
    LazyFrame
        ``account_id, product, month_idx, movement, amount`` (amount > 0).
    """
    acct = account_seg.select(
        ACCOUNT,
        "idx",
        nw.col("prev_mrr").alias("prev_a"),
        nw.col("mrr").alias("cur_a"),
        "ever_active_before",
    )
    prod = product_seg.select(
        ACCOUNT, "product", "idx", nw.col("prev_mrr").alias("prev_p"), nw.col("mrr").alias("cur_p")
    )
    j = prod.join(acct, on=[ACCOUNT, "idx"], how="inner")
    started = (nw.col("prev_a") <= 0) & (nw.col("cur_a") > 0)
    stopped = (nw.col("prev_a") > 0) & (nw.col("cur_a") <= 0)
    both = (nw.col("prev_a") > 0) & (nw.col("cur_a") > 0)
    movement = (
        nw.when(started & nw.col("ever_active_before"))
        .then(nw.lit("reactivation"))
        .when(started)
        .then(nw.lit("new"))
        .when(stopped)
        .then(nw.lit("churn"))
        .when(both & (nw.col("prev_p") <= 0) & (nw.col("cur_p") > 0))
        .then(nw.lit("cross_sell"))
        .when(both & (nw.col("cur_p") > nw.col("prev_p")))
        .then(nw.lit("upsell"))
        .when(both & (nw.col("cur_p") < nw.col("prev_p")))
        .then(nw.lit("contraction"))
    )
    amount = (
        nw.when(started)
        .then(nw.col("cur_p"))
        .when(stopped)
        .then(nw.col("prev_p"))
        .otherwise((nw.col("cur_p") - nw.col("prev_p")).abs())
        .round(DECIMALS)
    )
    return j.select(
        ACCOUNT,
        "product",
        nw.col("idx").alias("month_idx"),
        movement.alias("movement"),
        amount.alias("amount"),
    ).filter(~nw.col("movement").is_null() & (nw.col("amount") > 0))


def _over(e: nw.Expr, keys: Sequence[str], order: str) -> nw.Expr:
    return e.over(*keys, order_by=order) if keys else e.over(order_by=order)


def _grid(spine: nw.LazyFrame, groups: nw.LazyFrame | None) -> nw.LazyFrame:
    return spine if groups is None else groups.join(spine, how="cross")


def _movement_amounts(moves: nw.LazyFrame, keys: list[str]) -> nw.LazyFrame:
    """The MRR of each movement per ``keys`` group and month."""
    return moves.group_by(*keys, "month_idx").agg(
        *[
            nw.when(nw.col("movement") == m).then(nw.col("amount")).otherwise(0.0).sum().alias(m)
            for m in MOVEMENTS
        ]
    )


def _movement_accounts(moves: nw.LazyFrame, keys: list[str]) -> nw.LazyFrame:
    """Distinct accounts per movement, per ``keys`` group and month.

    One pass over the distinct (account, month, movement) rows instead of a distinct count of
    account IDs per movement (six hash passes); typed as a distinct count is on each engine.
    """
    count_type = nw.UInt32 if is_polars(moves) else nw.Int64
    return (
        moves.filter(~nw.col(ACCOUNT).is_null())
        .select(*keys, "month_idx", "movement", ACCOUNT)
        .unique()
        .group_by(*keys, "month_idx")
        .agg(
            *[
                (nw.col("movement") == m)
                .cast(nw.Int64)
                .sum()
                .cast(count_type)
                .alias(f"accounts_{m}")
                for m in MOVEMENTS
            ]
        )
    )


def _level_changes(seg: nw.LazyFrame, keys: list[str]) -> nw.LazyFrame:
    """The change of MRR and of active accounts per ``keys`` group at each segment start."""
    level = seg.group_by(*keys, "idx").agg(
        (nw.col("mrr") - nw.col("prev_mrr")).sum().alias("d_mrr"),
        ((nw.col("mrr") > 0).cast(nw.Int64) - (nw.col("prev_mrr") > 0).cast(nw.Int64))
        .sum()
        .alias("d_active"),
    )
    return level.rename({"idx": "month_idx"})


def bridge(
    moves: nw.LazyFrame,
    seg: nw.LazyFrame,
    spine: nw.LazyFrame,
    keys: Sequence[str] = (),
) -> nw.LazyFrame:
    """The monthly MRR bridge (per ``keys`` group) over the months of ``spine``.

    ``moves`` are :func:`movements` and ``seg`` account (or product) segments, both carrying the
    ``keys`` columns. Identity, exact: ``mrr_end = mrr_start + new + reactivation + upsell +
    cross_sell - contraction - churn``; ``accounts_end = accounts_start + accounts_new +
    accounts_reactivated - accounts_churned``.

    Returns
    -------
    LazyFrame
        ``*keys, month_idx, mrr_start, new, reactivation, upsell, cross_sell, contraction, churn,
        mrr_end, accounts_start, accounts_new, accounts_reactivated, accounts_churned,
        accounts_end, accounts_upsell, accounts_cross_sell, accounts_contraction``.
    """
    keys = list(keys)
    amounts = _movement_amounts(moves, keys)
    counts = _movement_accounts(moves, keys)
    level = _level_changes(seg, keys)
    grid = _grid(spine, seg.select(*keys).unique() if keys else None)
    zero = ["d_mrr", "d_active", *MOVEMENTS, *[f"accounts_{m}" for m in MOVEMENTS]]
    out = (
        grid.join(level, on=[*keys, "month_idx"], how="left")
        .join(amounts, on=[*keys, "month_idx"], how="left")
        .join(counts, on=[*keys, "month_idx"], how="left")
        .with_columns(*[nw.col(c).fill_null(0) for c in zero])
        .with_columns(
            _over(nw.col("d_mrr").cum_sum(), keys, "month_idx").round(DECIMALS).alias("mrr_end"),
            _over(nw.col("d_active").cum_sum(), keys, "month_idx").alias("accounts_end"),
        )
        .with_columns(
            (nw.col("mrr_end") - nw.col("d_mrr")).round(DECIMALS).alias("mrr_start"),
            (nw.col("accounts_end") - nw.col("d_active")).alias("accounts_start"),
        )
    )
    return out.select(
        *keys,
        "month_idx",
        "mrr_start",
        *MOVEMENTS,
        "mrr_end",
        "accounts_start",
        "accounts_new",
        nw.col("accounts_reactivation").alias("accounts_reactivated"),
        nw.col("accounts_churn").alias("accounts_churned"),
        "accounts_end",
        "accounts_upsell",
        "accounts_cross_sell",
        "accounts_contraction",
    )


def _ratio(num: nw.Expr, den: nw.Expr) -> nw.Expr:
    return nw.when(den > 0).then(num / den)


def _range_steps(frame: nw.LazyFrame, keys: list[str], cols: dict[str, nw.Expr]) -> nw.LazyFrame:
    """``[lo, hi)`` month ranges of ``frame`` as +value at lo and -value at hi, summed per month."""
    up = frame.select(
        *keys, nw.col("lo").alias("month_idx"), *[e.alias(n) for n, e in cols.items()]
    )
    down = frame.select(
        *keys, nw.col("hi").alias("month_idx"), *[(-e).alias(n) for n, e in cols.items()]
    )
    return (
        nw.concat([up, down], how="vertical")
        .group_by(*keys, "month_idx")
        .agg(*[nw.col(n).sum() for n in cols])
    )


def trailing_retention(
    active_seg: nw.LazyFrame,
    spine: nw.LazyFrame,
    a: int,
    months: int = 12,
    keys: Sequence[str] = (),
) -> nw.LazyFrame:
    """NRR and GRR over trailing ``months`` for every month of ``spine`` (SPEC §4).

    ``active_seg``: account segments with ``mrr > 0`` (``account_id, *keys, idx, next_idx,
    mrr``). The cohort of month m is the accounts active in m - months; ``nrr`` = their MRR in m
    / their MRR in m - months; ``grr`` the same with each account's MRR in m capped at its MRR
    then. Sparse: pairs of active segments of one account whose shifted intervals overlap give
    ``[lo, hi)`` month ranges, summed as +value/-value steps over the spine.

    Returns
    -------
    LazyFrame
        ``*keys, month_idx, cohort_accounts, cohort_mrr_start, cohort_mrr_end,
        cohort_mrr_capped, nrr_trailing[_12m], grr_trailing[_12m]`` (months with a cohort only).
    """
    keys = list(keys)
    shifted = active_seg.select(
        ACCOUNT,
        *keys,
        (nw.col("idx") + months).alias("lo"),
        nw.min_horizontal(nw.col("next_idx") + months, nw.lit(a + 1)).alias("hi"),
        nw.col("mrr").alias("m0"),
    ).filter(nw.col("lo") < nw.col("hi"))
    later = active_seg.select(
        ACCOUNT,
        nw.col("idx").alias("b0"),
        nw.col("next_idx").alias("b1"),
        nw.col("mrr").alias("m1"),
    )
    pairs = (
        shifted.join(later, on=ACCOUNT, how="inner")
        .select(
            *keys,
            nw.max_horizontal("lo", "b0").alias("lo"),
            nw.min_horizontal("hi", "b1").alias("hi"),
            "m1",
            nw.min_horizontal("m0", "m1").alias("cap"),
        )
        .filter(nw.col("lo") < nw.col("hi"))
    )

    base = _range_steps(
        shifted,
        keys,
        {"cohort_accounts": nw.lit(1, dtype=nw.Int64), "cohort_mrr_start": nw.col("m0")},
    )
    grown = _range_steps(
        pairs, keys, {"cohort_mrr_end": nw.col("m1"), "cohort_mrr_capped": nw.col("cap")}
    )
    grid = _grid(spine, active_seg.select(*keys).unique() if keys else None)
    suffix = "_12m" if months == 12 else ""
    values = ["cohort_accounts", "cohort_mrr_start", "cohort_mrr_end", "cohort_mrr_capped"]
    return (
        grid.join(base, on=[*keys, "month_idx"], how="left")
        .join(grown, on=[*keys, "month_idx"], how="left")
        .with_columns(*[nw.col(c).fill_null(0) for c in values])
        .with_columns(*[_over(nw.col(c).cum_sum(), keys, "month_idx") for c in values])
        .with_columns(*[nw.col(c).round(DECIMALS) for c in values[1:]])
        .filter(nw.col("cohort_accounts") > 0)
        .with_columns(
            _ratio(nw.col("cohort_mrr_end"), nw.col("cohort_mrr_start")).alias(
                f"nrr_trailing{suffix}"
            ),
            _ratio(nw.col("cohort_mrr_capped"), nw.col("cohort_mrr_start")).alias(
                f"grr_trailing{suffix}"
            ),
        )
    )


def rates(bridge_frame: nw.LazyFrame, trailing: nw.LazyFrame, keys: Sequence[str] = ()):
    """The bridge with logo churn, GRR and NRR per month and the trailing-12-month rates.

    Month m against m-1: ``logo_churn_rate`` = accounts churned / accounts active in m-1;
    ``grr`` = (MRR(m-1) - churn - contraction) / MRR(m-1); ``nrr`` = the same + upsell +
    cross_sell; ``null`` when the denominator is 0. ``trailing``: ``*keys, month_idx,
    nrr_trailing_12m, grr_trailing_12m``.
    """
    keys = list(keys)
    kept = nw.col("mrr_start") - nw.col("churn") - nw.col("contraction")
    return bridge_frame.with_columns(
        _ratio(nw.col("accounts_churned").cast(nw.Float64), nw.col("accounts_start")).alias(
            "logo_churn_rate"
        ),
        _ratio(kept, nw.col("mrr_start")).alias("grr"),
        _ratio(kept + nw.col("upsell") + nw.col("cross_sell"), nw.col("mrr_start")).alias("nrr"),
    ).join(trailing, on=[*keys, "month_idx"], how="left")


def mrr_by_month(seg: nw.LazyFrame, keys: Sequence[str]) -> nw.LazyFrame:
    """Segments with ``mrr > 0`` expanded to one row per month: ``*keys, month_idx, mrr``."""
    active = seg.filter(nw.col("mrr") > 0).select(*keys, "idx", "next_idx", "mrr")
    return expand_ranges(active, "idx", "next_idx", "month_idx").select(*keys, "month_idx", "mrr")


def first_months(seg: nw.LazyFrame) -> nw.LazyFrame:
    """``account_id, s``: every ever-active account's first active month."""
    return seg.filter(nw.col("mrr") > 0).group_by(ACCOUNT).agg(nw.col("idx").min().alias("s"))


def lifetimes(seg: nw.LazyFrame, a: int) -> nw.LazyFrame:
    """First spell of every account ever active up to ``a`` (SPEC §4).

    ``s`` = first active month; ``c`` = first month that drops to 0 (null when none up to
    ``a``). ``T = c - s`` with an event, else censored at ``T = a - s``: the account has been
    seen to survive ``a - s`` months of risk (month ``a + 1`` is not observed yet).

    Returns
    -------
    LazyFrame
        ``account_id, first_month_idx, churn_month_idx, T, event``.
    """
    stops = (
        seg.filter((nw.col("prev_mrr") > 0) & (nw.col("mrr") <= 0))
        .group_by(ACCOUNT)
        .agg(nw.col("idx").min().alias("c"))
    )
    return (
        first_months(seg)
        .join(stops, on=ACCOUNT, how="left")
        .select(
            ACCOUNT,
            nw.col("s").alias("first_month_idx"),
            nw.col("c").alias("churn_month_idx"),
            nw.when(~nw.col("c").is_null())
            .then(nw.col("c") - nw.col("s"))
            .otherwise(a - nw.col("s"))
            .cast(nw.Int32)
            .alias("T"),
            (~nw.col("c").is_null()).alias("event"),
        )
    )


def lifetime_counts(
    lt: nw.LazyFrame, a: int, horizon: int, keys: Sequence[str] = ()
) -> nw.LazyFrame:
    """Accounts per (group, lifetime T, event, whole window seen): small, collected to the driver.

    ``eligible`` = ``first_month_idx <= a - horizon`` (the observed rate's denominator).
    Kaplan-Meier and the observed rate are computed from these counts (cs_metrics.metrics.churn).

    Returns
    -------
    LazyFrame
        ``*keys, T, event, eligible, n``.
    """
    return (
        lt.with_columns((nw.col("first_month_idx") <= a - horizon).alias("eligible"))
        .group_by(*keys, "T", "event", "eligible")
        .agg(nw.len().alias("n"))
    )


def cohort_retention(
    active_seg: nw.LazyFrame, first: nw.LazyFrame, a: int, groups: Sequence[str]
) -> nw.LazyFrame:
    """Logo and revenue retention by age (months since each account's first active month).

    ``active_seg``: account segments with ``mrr > 0``; ``first``: ``account_id, s, *groups``
    (``groups`` include the cohort key). Each active segment adds (1 account, its MRR) to ages
    ``[idx - s, next_idx - s)``; ages run to ``a - (latest s in the group)`` so that every
    account of the group has been observed.

    Returns
    -------
    LazyFrame
        ``*groups, age, cohort_accounts, active_accounts, mrr, cohort_mrr_start,
        logo_retention, revenue_retention``.
    """
    gk = list(groups)
    sizes = first.group_by(*gk).agg(
        nw.len().alias("cohort_accounts"), nw.col("s").max().alias("last_s")
    )
    spans = active_seg.join(first, on=ACCOUNT, how="inner").select(
        *gk,
        (nw.col("idx") - nw.col("s")).alias("lo"),
        (nw.col("next_idx") - nw.col("s")).alias("hi"),
        "mrr",
    )
    up = spans.select(*gk, nw.col("lo").alias("age"), nw.lit(1, nw.Int64).alias("n"), "mrr")
    down = spans.select(
        *gk, nw.col("hi").alias("age"), nw.lit(-1, nw.Int64).alias("n"), (-nw.col("mrr"))
    )
    deltas = (
        nw.concat([up, down], how="vertical")
        .group_by(*gk, "age")
        .agg(nw.col("n").sum(), nw.col("mrr").sum())
    )
    ages = expand_ranges(
        sizes.select(*gk, nw.lit(0).alias("lo"), (a - nw.col("last_s") + 1).alias("hi")),
        "lo",
        "hi",
        "age",
    ).select(*gk, "age")
    rows = (
        ages.join(deltas, on=[*gk, "age"], how="left")
        .with_columns(nw.col("n").fill_null(0), nw.col("mrr").fill_null(0.0))
        .with_columns(
            nw.col("n").cum_sum().over(*gk, order_by="age").alias("active_accounts"),
            nw.col("mrr").cum_sum().over(*gk, order_by="age").round(DECIMALS).alias("mrr"),
        )
        .join(sizes.select(*gk, "cohort_accounts"), on=gk, how="left")
    )
    start = rows.filter(nw.col("age") == 0).select(*gk, nw.col("mrr").alias("cohort_mrr_start"))
    return rows.join(start, on=gk, how="left").select(
        *gk,
        "age",
        "cohort_accounts",
        "active_accounts",
        "mrr",
        "cohort_mrr_start",
        (nw.col("active_accounts") / nw.col("cohort_accounts")).alias("logo_retention"),
        _ratio(nw.col("mrr"), nw.col("cohort_mrr_start")).alias("revenue_retention"),
    )


def spine_for(lines: nw.LazyFrame, a: int) -> nw.LazyFrame:
    """Months from the first month with a subscription line (or ``a``) to ``a``."""
    first = lines.select(nw.col("first_idx").min()).collect().item()
    start = a if first is None else min(int(first), a)
    return month_spine(lines, start, a)


def month_label(idx: nw.Expr) -> nw.Expr:
    """``"YYYY-MM"`` of a month-index expression."""
    month = idx % 12 + 1
    pad = nw.when(month < 10).then(nw.lit("0")).otherwise(nw.lit(""))
    return nw.concat_str([(idx // 12).cast(nw.String), nw.lit("-"), pad, month.cast(nw.String)])
