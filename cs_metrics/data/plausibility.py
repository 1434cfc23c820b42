"""Plausibility rules of the validation gate: values that parse but cannot be true.

A value that parses is not yet a value to compute with. A date in the year 0024 (a two-digit
year typed into a four-digit field), an MRR of 1e40 or a weekly login count of 1e300 would
otherwise flow into every metric as a silently wrong number, or overflow in the exact revenue
arithmetic. These rules make them **errors** (exit 2, nothing computed) against configurable
bounds:

- ``date_implausible``: a date whose year is outside ``validation.min_year`` ..
  ``validation.max_year``;
- ``amount_implausible``: ``subscriptions.mrr`` above ``validation.max_mrr``, any other amount
  (``accounts.acquisition_cost``, ``cs_costs.amount``) above ``validation.max_amount``;
- ``value_implausible``: a usage measure (``logins``, ``deliveries``, any extra numeric column of
  ``usage_weekly``) above ``validation.max_measure``.

And three **warnings** (the data computes, but the reader should look):

- ``invisible_characters``: IDs and codes that held invisible characters (a zero-width space
  U+200B, a word joiner, a BOM, ...). The loader removes them (an ID that only differs by them
  looks identical, so it is the same ID); the warning names the rows so the export can be fixed.
- ``overlapping_lines``: two subscription lines of the same account and product with MRR > 0
  both active on the last day of some month (a renewal that starts before the previous term
  ends): their MRR adds up in the months they share. Named by row.
- ``stray_rows``: activity rows (usage, touchpoints, NPS, onboarding) dated on a few dates after
  more than a month without any activity (a typo'd year, a late import): they do not move the
  export date or the default month (SPEC §3); named by row.
- ``usage_ended_early``: the weekly usage export ends more than a month before the other
  activity; a missing week counts as no usage (SPEC §6), so the months after it score everyone
  as not logging in. Named (its last week's rows) so the export can be redone.

:func:`plausibility_issues` is called by :func:`cs_metrics.data.validate.validate_dataset`; any
other gate engine must call it too (``tests/adversarial`` checks the rules through the CLI).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from cs_metrics.data.checks import RowCheck, collect_issues, flagged_rows, raw_values
from cs_metrics.data.dataset import STRAY_GAP_DAYS, Dataset, activity_date_exprs
from cs_metrics.data.issues import Issue
from cs_metrics.data.load import INVISIBLE_CHARS, ROW
from cs_metrics.data.schema import TABLES
from cs_metrics.periods import last_active_index_expr, month_index_expr

__all__ = ["overlapping_lines", "plausibility_issues"]


def _bound_rules(ds: Dataset) -> list[RowCheck]:
    v = ds.config["validation"]
    lo, hi = int(v["min_year"]), int(v["max_year"])
    rules: list[RowCheck] = []
    for name, lf in ds.frames.items():
        schema = lf.collect_schema()
        for c in TABLES[name].columns:
            if c.name not in schema:
                continue
            x = pl.col(c.name)
            if c.kind == "date":
                y = x.dt.year()
                fields = {"lo": lo, "hi": hi}
                rules.append(
                    RowCheck(
                        name,
                        "date_implausible",
                        c.name,
                        flagged_rows(ds, name, (y < lo) | (y > hi), [c.name]),
                        fields,
                    )
                )
            elif c.kind == "money":
                key = "max_mrr" if (name, c.name) == ("subscriptions", "mrr") else "max_amount"
                limit = float(v[key])
                fields = {"limit": f"{limit:,.0f}", "key": key}
                rules.append(
                    RowCheck(
                        name,
                        "amount_implausible",
                        c.name,
                        flagged_rows(ds, name, x.abs() > limit, [c.name]),
                        fields,
                    )
                )
        if name == "usage_weekly":
            known = {c.name for c in TABLES[name].columns if c.kind != "number"}
            limit = float(v["max_measure"])
            for col in [c for c in schema.names() if c not in known and c != ROW]:
                if not schema[col].is_numeric():
                    continue
                cond = pl.col(col).abs() > limit
                fields = {"limit": f"{limit:,.0f}"}
                rules.append(
                    RowCheck(
                        name, "value_implausible", col, flagged_rows(ds, name, cond, [col]), fields
                    )
                )
    return rules


def _invisible_rules(ds: Dataset) -> list[RowCheck]:
    rules = []
    for name, raw in ds.raw.items():
        schema = raw.collect_schema()
        for c in TABLES[name].columns:
            if c.kind not in ("id", "code") or c.name not in schema:
                continue
            text = pl.col(c.name).cast(pl.String)
            rows = raw.filter(text.str.contains(INVISIBLE_CHARS).fill_null(False)).select(
                ROW, text.alias("__val")
            )
            rules.append(RowCheck(name, "invisible_characters", c.name, rows, {}, "warning"))
    return rules


def overlapping_lines(subscriptions: pl.LazyFrame) -> pl.LazyFrame:
    """Subscription lines with MRR > 0 that are active in a month together with another line of
    the same account and product (active in m = started by m's last day and not ended before it,
    SPEC §4).

    Sorted by first active month within each account x product, a line overlaps a later one when
    its last active month reaches the next line's first; the later one overlaps when its first
    active month is not after the latest last month before it. One pass, no self-join, and no
    window over the groups (``over`` took ~10 s per 2.6M lines): the running maximum per group
    is one running maximum of ``group number * 2^31 + last month`` over the sorted lines.

    Returns
    -------
    LazyFrame
        ``_row`` of every such line (both lines of each overlapping pair).
    """
    big = 10**9  # an open-ended line is active "for ever"
    group = ["account_id", "product"]
    new = pl.any_horizontal([pl.col(k) != pl.col(k).shift(1) for k in group]).fill_null(True)
    step = 2**31  # > big + any month index from the earliest first month on
    key = new.cum_sum().cast(pl.Int64) * step  # per group, increasing in sort order
    same_before = key == key.shift(1)
    same_after = key == key.shift(-1)
    running_last = (key + pl.col("_last") - pl.col("_first").min()).cum_max() - key
    before = pl.when(same_before).then(running_last.shift(1) + pl.col("_first").min())
    after = pl.when(same_after).then(pl.col("_first").shift(-1))
    lines = (
        subscriptions.filter(
            (pl.col("mrr") > 0)
            & pl.col("start_date").is_not_null()
            & pl.all_horizontal([pl.col(k).is_not_null() for k in group])
        )
        .select(
            ROW,
            *group,
            month_index_expr(pl.col("start_date")).cast(pl.Int64).alias("_first"),
            pl.when(pl.col("end_date").is_null())
            .then(pl.lit(big, pl.Int64))
            .otherwise(last_active_index_expr(pl.col("end_date")).cast(pl.Int64))
            .alias("_last"),
        )
        .filter(pl.col("_last") >= pl.col("_first"))  # a line never active cannot overlap
        .sort([*group, "_first", ROW])
    )
    return (
        lines.with_columns(before.alias("_before"), after.alias("_after"))
        .filter(
            (pl.col("_first") <= pl.col("_before")).fill_null(False)
            | (pl.col("_last") >= pl.col("_after")).fill_null(False)
        )
        .select(ROW)
    )


def _overlap_rule(ds: Dataset) -> list[RowCheck]:
    if "subscriptions" not in ds.frames:
        return []
    cols = ["subscription_id", "product", "start_date", "end_date", "mrr"]
    lines = overlapping_lines(ds.frames["subscriptions"])
    rows = lines.join(raw_values(ds, "subscriptions", cols, lines), on=ROW, how="left").sort(ROW)
    return [
        RowCheck("subscriptions", "overlapping_lines", "account_id, product", rows, {}, "warning")
    ]


_ACTIVITY_COLUMN = {
    "usage_weekly": "week_start",
    "touchpoints": "occurred_on",
    "nps_responses": "responded_on",
    "onboarding_sessions": "held_on",
}


def _stray_rule(ds: Dataset) -> list[RowCheck]:
    """``stray_rows``: activity dated after more than a month without any activity, on a few
    dates (:meth:`Dataset.activity`): left out of the export date, so they never make their
    month the default; named so the export can be fixed."""
    today = dt.date.today()
    act = ds.activity(today)
    exprs = activity_date_exprs()
    rules = []
    for name, cut in act.stray_after.items():
        col = _ACTIVITY_COLUMN[name]
        d = exprs[name]
        fields = {"end": cut.isoformat(), "gap": STRAY_GAP_DAYS}
        rows = flagged_rows(ds, name, (d > cut) & (d <= today), [col])
        rules.append(RowCheck(name, "stray_rows", col, rows, fields, "warning"))
    return rules


def _usage_end_rule(ds: Dataset) -> list[RowCheck]:
    """``usage_ended_early``: the weekly usage export ends more than a month before the other
    activity. SPEC §6 counts a missing usage week as no usage, so the months after its end
    score every account as not logging in; named (its last week's rows) so that the team
    re-exports usage or reports an earlier month instead of acting on those scores."""
    act = ds.activity(dt.date.today())
    span = act.tables.get("usage_weekly")
    if span is None or (act.export_date - span[1]).days <= STRAY_GAP_DAYS:
        return []
    last_week = span[1] - dt.timedelta(days=6)
    fields = {
        "last": span[1].isoformat(),
        "export": act.export_date.isoformat(),
        "days": (act.export_date - span[1]).days,
    }
    rows = flagged_rows(ds, "usage_weekly", pl.col("week_start") == last_week, ["week_start"])
    return [RowCheck("usage_weekly", "usage_ended_early", "week_start", rows, fields, "warning")]


def plausibility_issues(ds: Dataset) -> list[Issue]:
    """The plausibility errors and warnings of the module docstring, each with its rows.

    Parameters
    ----------
    ds : Dataset
        A loaded dataset (raw text in ``ds.raw`` for the examples); bounds from
        ``ds.config["validation"]``.

    Returns
    -------
    list of Issue
        Errors (``date_implausible``, ``amount_implausible``, ``value_implausible``) and warnings
        (``invisible_characters``, ``overlapping_lines``, ``stray_rows``,
        ``usage_ended_early``), in table order.
    """
    rules = _bound_rules(ds) + _invisible_rules(ds) + _overlap_rule(ds) + _stray_rule(ds)
    rules += _usage_end_rule(ds)
    out = collect_issues(ds, rules)
    order = {name: i for i, name in enumerate(TABLES)}
    return sorted(out, key=lambda i: order.get(i.table, -1))
