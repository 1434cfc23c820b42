"""MRR, its movements and the monthly MRR bridge (SPEC §4).

The computation is sparse: every subscription line with ``mrr > 0`` becomes two *events* (``+mrr``
in its first active month, ``-mrr`` in the month after its last active month). Running sums of
those events per account x product give *segments* (a value that holds from one event month to
the next), so months in which nothing changes cost nothing and no account x product x month grid
of zeros is ever built. Movements are read off the event months only.

Month indexes are integers ``year * 12 + month - 1`` (see :mod:`cs_metrics.periods`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl
import polars.selectors as cs

from cs_metrics.data.dataset import Dataset
from cs_metrics.periods import (
    index_to_month_expr,
    last_active_index_expr,
    month_end,
    month_index_expr,
    month_to_index,
    parse_month,
)

MOVEMENTS = ("new", "reactivation", "upsell", "cross_sell", "contraction", "churn")
# Sums of yen amounts are rounded to this many decimals so that floating-point noise
# (0.1 + 0.2 - 0.3) never makes an account look active.
_DECIMALS = 6
_SCALE = 10**_DECIMALS
ACCOUNT = "account_id"
# Label of accounts whose breakdown attribute is empty.
UNSET = "(未設定)"


def as_of_index(as_of: dt.date | str) -> int:
    """Month index of ``as_of`` (a date or ``"YYYY-MM"``)."""
    return month_to_index(parse_month(as_of))


def subscription_lines(ds: Dataset, as_of: dt.date | str) -> pl.LazyFrame:
    """Paid subscription lines with their first and last active month index, known at ``as_of``.

    Parameters
    ----------
    ds : Dataset
        Needs ``subscriptions``.
    as_of : date or "YYYY-MM"
        Lines starting after the last day of ``as_of`` are not known yet and are dropped.

    Returns
    -------
    LazyFrame
        ``account_id, product, first_idx, last_idx, mrr``. A line is active in month m when
        ``start_date <= last day of m`` and ``end_date`` is empty or ``>= last day of m``; so
        ``first_idx`` is the start month and ``last_idx`` the last month whose last day is on or
        before ``end_date`` (capped at ``as_of``). Zero-MRR (free) lines and lines with no
        active month are dropped: they never make an account active.
    """
    a = as_of_index(as_of)
    end_of_as_of = month_end(parse_month(as_of))
    last = (
        pl.when(pl.col("end_date").is_null())
        .then(pl.lit(a, dtype=pl.Int32))
        .otherwise(pl.min_horizontal(last_active_index_expr(pl.col("end_date")), pl.lit(a)))
        .cast(pl.Int32)
    )
    # parsed once per dataset (parsing IDs, dates and amounts is the costly part of a scan)
    subs = _cached(
        ds,
        ("subscriptions_parsed",),
        lambda: ds.subscriptions.select(ACCOUNT, "product", "start_date", "end_date", "mrr"),
    )
    return (
        subs.filter(
            (pl.col("mrr") > 0)
            & pl.col("start_date").is_not_null()
            & (pl.col("start_date") <= end_of_as_of)
        )
        .select(
            ACCOUNT,
            "product",
            month_index_expr(pl.col("start_date")).alias("first_idx"),
            last.alias("last_idx"),
            "mrr",
        )
        .filter(pl.col("last_idx") >= pl.col("first_idx"))
    )


def _line_events(lines: pl.LazyFrame, a: int) -> pl.LazyFrame:
    """+MRR in a line's first active month, -MRR in the month after its last (if <= as_of).

    Amounts are exact integers ``units`` = MRR x 10^6 (Int128), so running sums never drift.
    """
    units = (pl.col("mrr") * _SCALE).round(0).cast(pl.Int128)
    minus = (pl.col("mrr") * -_SCALE).round(0).cast(pl.Int128)
    start = lines.select(ACCOUNT, "product", pl.col("first_idx").alias("idx"), units.alias("units"))
    stop = lines.filter(pl.col("last_idx") < a).select(
        ACCOUNT, "product", (pl.col("last_idx") + 1).alias("idx"), minus.alias("units")
    )
    return pl.concat([start, stop])


def _cached(ds: Dataset, key: tuple, build) -> pl.LazyFrame:
    """Collect ``build()`` once per dataset and key; later calls reuse the frame.

    Segments are the shared base of every revenue metric: computing them once per (dataset,
    as_of) lets a report ask for the bridge, the rates, lifetimes and cohorts without redoing the
    event sums each time.
    """
    return ds.memo(key, lambda: build().collect()).lazy()


def product_segments(ds: Dataset, as_of: dt.date | str) -> pl.LazyFrame:
    """Per account x product: the MRR that holds from each event month to the next.

    Returns
    -------
    LazyFrame
        ``account_id, product, idx, next_idx, prev_mrr, mrr`` where ``mrr`` holds for months
        ``idx <= m < next_idx`` (``next_idx`` is ``as_of + 1`` for the last segment) and
        ``prev_mrr`` is the product's MRR in month ``idx - 1``.
    """
    a = as_of_index(as_of)
    return _cached(ds, ("product_segments", a), lambda: _product_segments(ds, as_of, a))


def _segments(events: pl.LazyFrame, keys: list[str], a: int) -> pl.LazyFrame:
    """Running sums of integer events per ``keys``, sorted, without window hashing.

    Amounts are exact integers (``units`` = MRR x 10^6), so a segmented running sum equals the
    global running sum minus its value just before the group's first row: no floating-point
    drift, and a group id from ``rle_id`` on the sorted keys replaces a hashed window.
    """
    ev = events.group_by(*keys, "idx").agg(pl.col("units").sum()).sort(*keys, "idx")
    gid = pl.col("gid")
    return (
        ev.with_columns(
            pl.struct(keys).rle_id().alias("gid"), pl.col("units").cum_sum().alias("cs")
        )
        .with_columns(
            (pl.col("cs") - (pl.col("cs") - pl.col("units")).first().over("gid")).alias("now")
        )
        .with_columns(
            (pl.col("now").cast(pl.Float64) / _SCALE).alias("mrr"),
            ((pl.col("now") - pl.col("units")).cast(pl.Float64) / _SCALE).alias("prev_mrr"),
            pl.when(gid.shift(-1) == gid)
            .then(pl.col("idx").shift(-1))
            .otherwise(a + 1)
            .cast(pl.Int32)
            .alias("next_idx"),
        )
    )


def _product_segments(ds: Dataset, as_of, a: int) -> pl.LazyFrame:
    ev = _line_events(subscription_lines(ds, as_of), a)
    return _segments(ev, [ACCOUNT, "product"], a).select(
        ACCOUNT, "product", "idx", "next_idx", "prev_mrr", "mrr"
    )


def account_segments(ds: Dataset, as_of: dt.date | str) -> pl.LazyFrame:
    """Per account: the MRR that holds from each event month to the next.

    Returns
    -------
    LazyFrame
        ``account_id, idx, next_idx, prev_mrr, mrr, ever_active_before`` where
        ``ever_active_before`` tells whether the account was active in any month before ``idx``.
    """
    a = as_of_index(as_of)
    return _cached(ds, ("account_segments", a), lambda: _account_segments(ds, as_of, a))


def _account_segments(ds: Dataset, as_of, a: int) -> pl.LazyFrame:
    ev = _line_events(subscription_lines(ds, as_of), a)
    active = (pl.col("now") > 0).cast(pl.Int64)
    return (
        _segments(ev, [ACCOUNT], a)
        .with_columns((active.cum_sum() - active).alias("ca"))
        .with_columns(
            ((pl.col("ca") - pl.col("ca").first().over("gid")) > 0).alias("ever_active_before")
        )
        .select(ACCOUNT, "idx", "next_idx", "prev_mrr", "mrr", "ever_active_before")
    )


def _explode(segments: pl.LazyFrame, keys: Sequence[str]) -> pl.LazyFrame:
    return (
        segments.filter(pl.col("mrr") > 0)
        .select(*keys, pl.int_ranges("idx", "next_idx", dtype=pl.Int32).alias("month_idx"), "mrr")
        .explode("month_idx")
        .with_columns(index_to_month_expr(pl.col("month_idx")).alias("month"))
        .select(*keys, "month_idx", "month", "mrr")
    )


def mrr_by_account_product(ds: Dataset, as_of: dt.date | str) -> pl.LazyFrame:
    """MRR per account x product x month (month-end snapshot), up to ``as_of``.

    Definition (SPEC §4): the sum of ``mrr`` over the account's lines of that product with
    ``start_date <= last day of m`` and (``end_date`` empty or ``>= last day of m``).

    Returns
    -------
    LazyFrame
        ``account_id, product, month_idx, month, mrr`` with one row per account x product x month
        where ``mrr > 0`` (the product is *active*); a missing row means 0.
    """
    return _explode(product_segments(ds, as_of), [ACCOUNT, "product"])


def mrr_by_account(ds: Dataset, as_of: dt.date | str) -> pl.LazyFrame:
    """MRR per account x month for the months the account is active (MRR > 0), up to ``as_of``.

    Returns
    -------
    LazyFrame
        ``account_id, month_idx, month, mrr`` (only active account-months; missing = inactive).
    """
    return _explode(account_segments(ds, as_of), [ACCOUNT])


def mrr_movements(ds: Dataset, as_of: dt.date | str) -> pl.LazyFrame:
    """Every MRR movement from month m-1 to m, per account x product.

    Definitions (SPEC §4), per account:

    - ``new``: MRR 0 -> > 0 and never active before; amount = MRR in m (split by product).
    - ``reactivation``: MRR 0 -> > 0 and active in some month before; amount = MRR in m.
    - ``churn``: MRR > 0 -> 0; amount = MRR in m-1.
    - active in both months, per product: ``cross_sell`` = MRR of a product it did not have in
      m-1; ``upsell`` = increase of a product it had; ``contraction`` = decrease, a dropped
      product included.

    Returns
    -------
    LazyFrame
        ``account_id, product, month_idx, month, movement, amount`` (amount > 0).
    """
    acct = account_segments(ds, as_of).select(
        ACCOUNT,
        "idx",
        pl.col("prev_mrr").alias("prev_a"),
        pl.col("mrr").alias("cur_a"),
        "ever_active_before",
    )
    prod = product_segments(ds, as_of).select(
        ACCOUNT, "product", "idx", pl.col("prev_mrr").alias("prev_p"), pl.col("mrr").alias("cur_p")
    )
    j = prod.join(acct, on=[ACCOUNT, "idx"], how="inner")
    started = (pl.col("prev_a") <= 0) & (pl.col("cur_a") > 0)
    stopped = (pl.col("prev_a") > 0) & (pl.col("cur_a") <= 0)
    both = (pl.col("prev_a") > 0) & (pl.col("cur_a") > 0)
    movement = (
        pl.when(started & pl.col("ever_active_before"))
        .then(pl.lit("reactivation"))
        .when(started)
        .then(pl.lit("new"))
        .when(stopped)
        .then(pl.lit("churn"))
        .when(both & (pl.col("prev_p") <= 0) & (pl.col("cur_p") > 0))
        .then(pl.lit("cross_sell"))
        .when(both & (pl.col("cur_p") > pl.col("prev_p")))
        .then(pl.lit("upsell"))
        .when(both & (pl.col("cur_p") < pl.col("prev_p")))
        .then(pl.lit("contraction"))
    )
    amount = (
        pl.when(started)
        .then(pl.col("cur_p"))
        .when(stopped)
        .then(pl.col("prev_p"))
        .otherwise((pl.col("cur_p") - pl.col("prev_p")).abs())
        .round(_DECIMALS)
    )
    return (
        j.select(
            ACCOUNT,
            "product",
            pl.col("idx").alias("month_idx"),
            movement.alias("movement"),
            amount.alias("amount"),
        )
        .filter(pl.col("movement").is_not_null() & (pl.col("amount") > 0))
        .with_columns(index_to_month_expr(pl.col("month_idx")).alias("month"))
        .select(ACCOUNT, "product", "month_idx", "month", "movement", "amount")
    )


def account_attributes(ds: Dataset, as_of: dt.date | str) -> pl.LazyFrame:
    """Account attributes usable as ``by`` breakdowns.

    Returns
    -------
    LazyFrame
        ``account_id, industry, csm, primary_product`` where ``primary_product`` is the product
        with the largest MRR in the account's first active month (ties: first by name); null for
        accounts never active.
    """
    first = (
        product_segments(ds, as_of)
        .filter(pl.col("mrr") > 0)
        .sort(ACCOUNT, "idx", pl.col("mrr"), "product", descending=[False, False, True, False])
        .group_by(ACCOUNT, maintain_order=True)
        .agg(pl.col("product").first().alias("primary_product"))
    )
    return ds.accounts.select(ACCOUNT, "industry", "csm").join(first, on=ACCOUNT, how="left")


By = str | pl.DataFrame | pl.LazyFrame | None


def by_keys(by: By) -> list[str]:
    """Group-key column names of a ``by`` argument (a column name or an attribute frame)."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    cols = [c for c in by.collect_schema().names() if c != ACCOUNT]
    if len(cols) != 1:
        raise ValueError(f"a `by` frame needs account_id and one attribute column, got {cols}")
    return cols


def _is_product(by: By) -> bool:
    return isinstance(by, str) and by == "product"


def _with_by(frame: pl.LazyFrame, ds: Dataset, as_of, by: By) -> pl.LazyFrame:
    """Join the ``by`` attribute onto ``frame`` by account (empty values -> ``(未設定)``).

    ``by`` is a column name (``industry``, ``csm``, ``primary_product`` or any ``accounts``
    column) or a frame ``[account_id, <attribute>]`` (e.g. the S/A/B/C segment per account).
    """
    if by is None:
        return frame
    if not isinstance(by, str):
        name = by_keys(by)[0]
        attrs = by.lazy().select(ACCOUNT, name)
        return frame.join(attrs, on=ACCOUNT, how="left").with_columns(
            pl.col(name).cast(pl.String).fill_null(UNSET)
        )
    if by in frame.collect_schema().names():
        return frame
    attrs = account_attributes(ds, as_of)
    if by not in attrs.collect_schema().names():
        acc_cols = ds.accounts.collect_schema().names()
        if by in acc_cols:
            attrs = ds.accounts.select(ACCOUNT, by)
        else:
            known = sorted(
                {"product", *attrs.collect_schema().names(), *acc_cols} - {ACCOUNT, "_row"}
            )
            raise ValueError(f"cannot break down by {by!r}; known: {', '.join(known)}")
    return frame.join(attrs.select(ACCOUNT, by), on=ACCOUNT, how="left").with_columns(
        pl.col(by).cast(pl.String).fill_null(UNSET)
    )


def _over(e: pl.Expr, keys: Sequence[str]) -> pl.Expr:
    return e.over(keys) if keys else e


def _month_spine(ds: Dataset, as_of) -> pl.LazyFrame:
    a = as_of_index(as_of)
    first = subscription_lines(ds, as_of).select(pl.col("first_idx").min()).collect().item()
    start = a if first is None else min(first, a)
    return pl.LazyFrame({"month_idx": pl.int_range(start, a + 1, eager=True, dtype=pl.Int32)})


def mrr_bridge(ds: Dataset, as_of: dt.date | str, by: By = None) -> pl.DataFrame:
    """The monthly MRR bridge from the first month with a subscription line to ``as_of``.

    Identity, exact: ``mrr_end = mrr_start + new + reactivation + upsell + cross_sell -
    contraction - churn`` and ``accounts_end = accounts_start + accounts_new +
    accounts_reactivated - accounts_churned``.

    Parameters
    ----------
    by : str or frame, optional
        ``"product"`` splits every movement by product line (account counts are then accounts
        with that product); any account attribute (``industry``, ``csm``, ``primary_product``,
        or another ``accounts`` column) groups accounts; so does a frame
        ``[account_id, <attribute>]`` (e.g. the S/A/B/C segment).

    Returns
    -------
    DataFrame
        One row per month (and ``by`` value): ``month, month_idx, mrr_start, new, reactivation,
        upsell, cross_sell, contraction, churn, mrr_end, accounts_start, accounts_new,
        accounts_reactivated, accounts_churned, accounts_end, accounts_upsell,
        accounts_cross_sell, accounts_contraction``.
    """
    keys = by_keys(by)
    spine = _month_spine(ds, as_of)
    mov = _with_by(mrr_movements(ds, as_of), ds, as_of, by)
    amounts = mov.group_by(*keys, "month_idx").agg(
        [pl.col("amount").filter(pl.col("movement") == m).sum().alias(m) for m in MOVEMENTS]
        + [
            pl.col(ACCOUNT).filter(pl.col("movement") == m).n_unique().alias(f"accounts_{m}")
            for m in MOVEMENTS
        ]
    )
    if _is_product(by):
        seg = product_segments(ds, as_of)
    else:
        seg = _with_by(account_segments(ds, as_of), ds, as_of, by)
    level = (
        seg.group_by(*keys, "idx")
        .agg(
            (pl.col("mrr") - pl.col("prev_mrr")).sum().alias("d_mrr"),
            ((pl.col("mrr") > 0).cast(pl.Int64) - (pl.col("prev_mrr") > 0).cast(pl.Int64))
            .sum()
            .alias("d_active"),
        )
        .rename({"idx": "month_idx"})
    )
    if keys:
        groups = seg.select(*keys).unique()
        grid = groups.join(spine, how="cross")
    else:
        grid = spine
    out = (
        grid.join(level, on=[*keys, "month_idx"], how="left")
        .join(amounts, on=[*keys, "month_idx"], how="left")
        .with_columns(cs.numeric().exclude("month_idx").fill_null(0))
        .sort(*keys, "month_idx")
        .with_columns(
            _over(pl.col("d_mrr").cum_sum(), keys).round(_DECIMALS).alias("mrr_end"),
            _over(pl.col("d_active").cum_sum(), keys).alias("accounts_end"),
        )
        .with_columns(
            (pl.col("mrr_end") - pl.col("d_mrr")).round(_DECIMALS).alias("mrr_start"),
            (pl.col("accounts_end") - pl.col("d_active")).alias("accounts_start"),
            index_to_month_expr(pl.col("month_idx")).alias("month"),
        )
        .rename(
            {
                "accounts_reactivation": "accounts_reactivated",
                "accounts_churn": "accounts_churned",
            }
        )
        .select(
            *keys,
            "month",
            "month_idx",
            "mrr_start",
            *MOVEMENTS,
            "mrr_end",
            "accounts_start",
            "accounts_new",
            "accounts_reactivated",
            "accounts_churned",
            "accounts_end",
            "accounts_upsell",
            "accounts_cross_sell",
            "accounts_contraction",
        )
    )
    return out.collect()


def active_accounts(ds: Dataset, as_of: dt.date | str) -> pl.LazyFrame:
    """Accounts active in month ``as_of`` (MRR > 0 on its last day) with their MRR.

    Returns
    -------
    LazyFrame
        ``account_id, mrr, first_month_idx`` (``first_month_idx`` = first active month ever).
    """
    a = as_of_index(as_of)
    seg = account_segments(ds, as_of)
    first = (
        seg.filter(pl.col("mrr") > 0)
        .group_by(ACCOUNT)
        .agg(pl.col("idx").min().alias("first_month_idx"))
    )
    return (
        seg.filter((pl.col("idx") <= a) & (pl.col("next_idx") > a) & (pl.col("mrr") > 0))
        .select(ACCOUNT, "mrr")
        .join(first, on=ACCOUNT, how="left")
    )
