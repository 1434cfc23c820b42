"""MRR, its movements and the monthly MRR bridge (SPEC §4).

The computation is sparse: every subscription line with ``mrr > 0`` becomes two *events* (``+mrr``
in its first active month, ``-mrr`` in the month after its last active month). Running sums of
those events per account x product give *segments* (a value that holds from one event month to
the next), so months in which nothing changes cost nothing and no account x product x month grid
of zeros is ever built. Movements are read off the event months only.

Month indexes are integers ``year * 12 + month - 1`` (see :mod:`cs_metrics.periods`).
"""

from __future__ import annotations

from collections.abc import Sequence

import narwhals as nw
import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.engine import core
from cs_metrics.periods import Month, MonthLike, index_to_month_expr

__all__ = [
    "ACCOUNT",
    "By",
    "MOVEMENTS",
    "UNSET",
    "account_attributes",
    "account_segments",
    "active_accounts",
    "by_keys",
    "month_spine",
    "mrr_bridge",
    "mrr_by_account",
    "mrr_by_account_product",
    "mrr_movements",
    "product_segments",
    "subscription_lines",
    "with_by",
]

ACCOUNT = core.ACCOUNT
MOVEMENTS = core.MOVEMENTS
# Label of accounts whose breakdown attribute is empty.
UNSET = "(未設定)"


def _nw(frame: pl.LazyFrame) -> nw.LazyFrame:
    return nw.from_native(frame)


def subscription_lines(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
    """Paid subscription lines with their first and last active month index, known at ``as_of``.

    Parameters
    ----------
    ds : Dataset
        Needs ``subscriptions``.
    as_of : "YYYY-MM", date or Month
        Lines starting after the last day of ``as_of`` are not known yet and are dropped.

    Returns
    -------
    LazyFrame
        ``account_id, product, first_idx, last_idx, mrr``; definition in
        :func:`cs_metrics.engine.core.subscription_lines` (shared with the Spark engine).
    """
    # parsed once per dataset (parsing IDs, dates and amounts is the costly part of a scan)
    subs = _cached(
        ds,
        ("subscriptions_parsed",),
        lambda: ds.subscriptions.select(ACCOUNT, "product", "start_date", "end_date", "mrr"),
    )
    m = Month.parse(as_of)
    return core.subscription_lines(_nw(subs), m.index, m.last_day).to_native()


def _events(ds: Dataset, m: Month) -> nw.LazyFrame:
    return core.line_events(_nw(subscription_lines(ds, m)), m.index)


def _cached(ds: Dataset, key: tuple, build) -> pl.LazyFrame:
    """Collect ``build()`` once per dataset and key; later calls reuse the frame.

    Segments are the shared base of every revenue metric: computing them once per (dataset,
    as_of) lets a report ask for the bridge, the rates, lifetimes and cohorts without redoing the
    event sums each time.
    """
    return ds.memo(key, lambda: build().collect()).lazy()


def product_segments(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
    """Per account x product: the MRR that holds from each event month to the next.

    Returns
    -------
    LazyFrame
        ``account_id, product, idx, next_idx, prev_mrr, mrr`` where ``mrr`` holds for months
        ``idx <= m < next_idx`` (``next_idx`` is ``as_of + 1`` for the last segment) and
        ``prev_mrr`` is the product's MRR in month ``idx - 1``
        (:func:`cs_metrics.engine.core.product_segments`).
    """
    m = Month.parse(as_of)
    return _cached(
        ds,
        ("product_segments", m),
        lambda: core.product_segments(_events(ds, m), m.index).to_native(),
    )


def account_segments(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
    """Per account: the MRR that holds from each event month to the next.

    Returns
    -------
    LazyFrame
        ``account_id, idx, next_idx, prev_mrr, mrr, ever_active_before`` where
        ``ever_active_before`` tells whether the account was active in any month before ``idx``
        (:func:`cs_metrics.engine.core.account_segments`).
    """
    m = Month.parse(as_of)
    return _cached(
        ds,
        ("account_segments", m),
        lambda: core.account_segments(_events(ds, m), m.index).to_native(),
    )


def _explode(segments: pl.LazyFrame, keys: Sequence[str]) -> pl.LazyFrame:
    return (
        core.mrr_by_month(_nw(segments), keys)
        .to_native()
        .with_columns(index_to_month_expr(pl.col("month_idx")).alias("month"))
        .select(*keys, "month_idx", "month", "mrr")
    )


def mrr_by_account_product(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
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


def mrr_by_account(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
    """MRR per account x month for the months the account is active (MRR > 0), up to ``as_of``.

    Returns
    -------
    LazyFrame
        ``account_id, month_idx, month, mrr`` (only active account-months; missing = inactive).
    """
    return _explode(account_segments(ds, as_of), [ACCOUNT])


def mrr_movements(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
    """Every MRR movement from month m-1 to m, per account x product.

    Definitions (SPEC §4), per account:

    - ``new``: MRR 0 -> > 0 and never active before; amount = MRR in m (split by product).
    - ``reactivation``: MRR 0 -> > 0 and active in some month before; amount = MRR in m.
    - ``churn``: MRR > 0 -> 0; amount = MRR in m-1.
    - active in both months, per product: ``cross_sell`` = MRR of a product it did not have in
      m-1; ``upsell`` = increase of a product it had; ``contraction`` = decrease, a dropped
      product included.

    Written once in :func:`cs_metrics.engine.core.movements` (shared with the Spark engine).

    Returns
    -------
    LazyFrame
        ``account_id, product, month_idx, month, movement, amount`` (amount > 0).
    """
    moves = core.movements(_nw(product_segments(ds, as_of)), _nw(account_segments(ds, as_of)))
    return (
        moves.to_native()
        .with_columns(index_to_month_expr(pl.col("month_idx")).alias("month"))
        .select(ACCOUNT, "product", "month_idx", "month", "movement", "amount")
    )


def account_attributes(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
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


def with_by(frame: pl.LazyFrame, ds: Dataset, as_of: MonthLike, by: By) -> pl.LazyFrame:
    """Join the ``by`` attribute onto ``frame`` by account (empty values -> ``(未設定)``).

    The one breakdown join of every metric family. ``by`` is a column name (``industry``,
    ``csm``, ``primary_product`` as of ``as_of``, or any ``accounts`` column; a column ``frame``
    already has is used as is) or a frame ``[account_id, <attribute>]`` (e.g. the S/A/B/C segment
    per account). ``None`` returns ``frame`` unchanged.
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


def month_spine(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
    """Every month index from the first month with a subscription line to ``as_of``
    (``month_idx``): the spine the bridge and the trailing rates are summed over."""
    m = Month.parse(as_of)
    return core.spine_for(_nw(subscription_lines(ds, m)), m.index).to_native()


def mrr_bridge(ds: Dataset, as_of: MonthLike, by: By = None) -> pl.DataFrame:
    """The monthly MRR bridge from the first month with a subscription line to ``as_of``.

    Identity, exact: ``mrr_end = mrr_start + new + reactivation + upsell + cross_sell -
    contraction - churn`` and ``accounts_end = accounts_start + accounts_new +
    accounts_reactivated - accounts_churned`` (:func:`cs_metrics.engine.core.bridge`).

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
    m = Month.parse(as_of)
    keys = by_keys(by)
    mov = with_by(mrr_movements(ds, m), ds, m, by)
    if _is_product(by):
        seg = product_segments(ds, m)
    else:
        seg = with_by(account_segments(ds, m), ds, m, by)
    out = core.bridge(_nw(mov), _nw(seg), _nw(month_spine(ds, m)), keys).to_native()
    cols = out.collect_schema().names()
    return (
        out.with_columns(index_to_month_expr(pl.col("month_idx")).alias("month"))
        .select(*keys, "month", *cols[len(keys) :])
        .sort(*keys, "month_idx")
        .collect()
    )


def active_accounts(ds: Dataset, as_of: MonthLike) -> pl.LazyFrame:
    """Accounts active in month ``as_of`` (MRR > 0 on its last day) with their MRR.

    Returns
    -------
    LazyFrame
        ``account_id, mrr, first_month_idx`` (``first_month_idx`` = first active month ever).
    """
    m = Month.parse(as_of)
    a = m.index
    seg = account_segments(ds, m)
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
