"""NPS from response rows with an adjusted-Wald 95% interval (SPEC §6). Never an average.

NPS = 100 x (promoters - detractors) / n, promoters scoring 9-10, passives 7-8, detractors 0-6,
counted from ``nps_responses`` rows (one row = one response).

Interval: the adjusted-Wald interval for NPS of Rocks (2016), "Interval Estimation for the 'Net
Promoter Score'", *The American Statistician* 70(4), 365-372 (arXiv:1601.07235), in the form
given by Sauro & Lewis (MeasuringU, "Confidence Intervals for Net Promoter Scores"): the NPS is a
difference of two proportions of one multinomial sample, so add 3 pseudo-responses to n, 3/4 to
the promoters and 3/4 to the detractors, and use the variance of that difference::

    n' = n + 3,  p = (P + 3/4) / n',  d = (D + 3/4) / n'
    se = sqrt((p + d - (p - d)^2) / n')
    interval = 100 x ((p - d) - z se, (p - d) + z se), z = 1.959964, clipped to [-100, 100]
    and widened to hold the plain estimate (see below)

The point estimate reported as ``nps`` is the plain 100 x (P - D) / n; only the interval uses
the adjusted proportions. With few responses at an extreme the adjusted centre sits so far from
the plain estimate that the estimate would fall outside its own interval (n = 1, a promoter:
NPS 100, adjusted interval -48.5..98.5); the interval is then widened to reach the estimate
(-48.5..100), so it always contains it. The change between two independent periods (:func:`nps_change`) uses
the difference of the adjusted estimates ± z sqrt(se_1^2 + se_2^2), the same construction
applied to two samples.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.errors import UsageError
from cs_metrics.messages import lang_of, reason_fields
from cs_metrics.metrics.revenue import By, by_keys, with_by
from cs_metrics.periods import Month, MonthLike, index_to_month_expr, month_index_expr

__all__ = [
    "MAX_WINDOW_MONTHS",
    "Z95",
    "check_nps_by",
    "check_nps_survey",
    "nps",
    "nps_change",
    "nps_exprs",
    "nps_from_counts",
    "nps_period_change",
    "nps_responses_in_window",
    "nps_trend",
]

Z95 = 1.959964


def nps_from_counts(
    promoters: int, passives: int, detractors: int, lang: str | None = None
) -> dict[str, Any]:
    """NPS and its 95% adjusted-Wald interval from the three counts (see the module docstring).

    Returns
    -------
    dict
        ``nps, n, promoters, passives, detractors, ci_low, ci_high`` (NPS units, -100..100) and
        ``nps_adjusted, se_adjusted`` (for :func:`nps_change`). ``nps`` and the interval are
        ``None`` with a ``reason`` (in ``lang``; None: :func:`cs_metrics.messages.lang_of`
        without a configuration) and ``reason_code`` when there are no responses.
    """
    n = promoters + passives + detractors
    out: dict[str, Any] = {
        "n": n,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
    }
    if n == 0:
        out.update(
            nps=None,
            ci_low=None,
            ci_high=None,
            nps_adjusted=None,
            se_adjusted=None,
            **reason_fields("", "nps_no_responses", lang or lang_of(None)),
        )
        return out
    na = n + 3
    p, d = (promoters + 0.75) / na, (detractors + 0.75) / na
    adj = p - d
    se = math.sqrt(max(p + d - adj * adj, 0.0) / na)
    est = 100.0 * (promoters - detractors) / n
    out["nps"] = est
    # clipped to the scale, and widened to hold the estimate itself (n = 1 at an extreme: the
    # adjusted centre is pulled towards 0 so far that the plain estimate would fall outside)
    out["ci_low"] = min(est, max(-100.0, 100.0 * (adj - Z95 * se)))
    out["ci_high"] = max(est, min(100.0, 100.0 * (adj + Z95 * se)))
    out["nps_adjusted"] = 100.0 * adj
    out["se_adjusted"] = 100.0 * se
    return out


# Longest window (months): a century of responses is already more than any export holds.
MAX_WINDOW_MONTHS = 1200


def _window_months(ds: Dataset, config: dict[str, Any] | None, window_months: int | None) -> int:
    """The window: ``window_months`` when given (0 is not "the default"), else
    ``nps.window_months``; refused (UsageError) outside 1..MAX_WINDOW_MONTHS."""
    cfg = config if config is not None else ds.config
    months = cfg["nps"]["window_months"] if window_months is None else window_months
    if (
        isinstance(months, bool)
        or not isinstance(months, int)
        or not (1 <= months <= MAX_WINDOW_MONTHS)
    ):
        raise UsageError(
            "option_range", option="window_months", value=repr(months), lo=1, hi=MAX_WINDOW_MONTHS
        )
    return months


NPS_BY_SPECIAL = ("survey", "segment", "industry", "csm", "primary_product")


def check_nps_by(ds: Dataset, by: By) -> None:
    """Refuse a ``by`` that NPS cannot be broken down by (UsageError ``by_unknown`` listing the
    keys that work: survey, segment, the account attributes and the ``accounts`` columns)."""
    if by is None or not isinstance(by, str):
        return
    columns = [c for c in ds.accounts.collect_schema().names() if not c.startswith("_")]
    known = sorted({*NPS_BY_SPECIAL, *columns} - {"account_id"})
    if by not in known and by != "account_id":
        raise UsageError("by_unknown", by=repr(by), known=", ".join(known))


def check_nps_survey(ds: Dataset, survey: str | None) -> None:
    """Refuse a survey name that no response of the data has (a typo would otherwise give an
    NPS of "no responses"): UsageError naming the surveys there are."""
    if survey is None or not ds.has("nps_responses"):
        return
    names = ds["nps_responses"].select(pl.col("survey").drop_nulls().unique()).collect()
    known = sorted(names["survey"].to_list())
    if survey not in known:
        raise UsageError("survey_unknown", survey=repr(survey), known=", ".join(known) or "-")


def nps_responses_in_window(
    ds: Dataset,
    as_of: MonthLike,
    window_months: int | None = None,
    survey: str | None = None,
    config: dict[str, Any] | None = None,
) -> pl.LazyFrame | None:
    """Responses dated in the ``window_months`` calendar months ending at ``as_of`` (from the
    first day of the first month to as_of's last day, inclusive); None without the table."""
    if not ds.has("nps_responses"):
        return None
    m = Month.parse(as_of)
    months = _window_months(ds, config, window_months)
    lf = ds["nps_responses"].filter(
        pl.col("responded_on").is_between((m - (months - 1)).first_day, m.last_day)
        & pl.col("score").is_not_null()
    )
    if survey:
        lf = lf.filter(pl.col("survey") == survey)
    return lf


def _counts() -> list[pl.Expr]:
    return [
        (pl.col("score") >= 9).sum().alias("promoters"),
        pl.col("score").is_between(7, 8).sum().alias("passives"),
        (pl.col("score") <= 6).sum().alias("detractors"),
    ]


def _attach_by(lf: pl.LazyFrame, ds: Dataset, m: Month, by: By) -> pl.LazyFrame:
    if by is None or (isinstance(by, str) and by == "survey"):
        return lf
    if isinstance(by, str) and by == "segment":
        from cs_metrics.metrics.segments import segment_frame

        by = segment_frame(ds, m)
    return with_by(lf, ds, m, by)


def nps(
    ds: Dataset,
    as_of: MonthLike,
    config: dict[str, Any] | None = None,
    window_months: int | None = None,
    survey: str | None = None,
    by: By = None,
) -> list[dict[str, Any]]:
    """NPS over the window (default ``nps.window_months``: the 12 calendar months ending at
    ``as_of``), all surveys unless ``survey`` is given.

    Parameters
    ----------
    ds : Dataset
        Uses ``nps_responses`` (``responded_on``, ``score``, optional ``survey``).
    as_of : "YYYY-MM", date or Month
        The window's last month; responses after its last day are not used.
    config : dict, optional
        Configuration (default ``ds.config``); ``nps.window_months`` is the default window.
    window_months, survey :
        Override the window; keep one survey only.
    by : None, "survey", "segment", an account attribute or a frame ``[account_id, attribute]``
        One result per group. ``"segment"`` is the S/A/B/C segment at ``as_of`` (accounts not
        active then: ``(未設定)``); other attributes as in the revenue breakdowns.

    Returns
    -------
    list of dict
        One dict per group (one when ``by`` is None; none when ``by`` is given and there is no
        response in the window or no table): ``nps, n, promoters, passives,
        detractors, ci_low, ci_high, nps_adjusted, se_adjusted, window_start, window_end``
        (months ``"YYYY-MM"``) plus the ``by`` key; ``nps`` null with ``reason`` when there are
        no responses (also when the table is absent).
    """
    m = Month.parse(as_of)
    months = _window_months(ds, config, window_months)
    lang = lang_of(config if config is not None else ds.config)
    check_nps_by(ds, by)
    window = {"window_start": str(m - (months - 1)), "window_end": str(m)}
    lf = nps_responses_in_window(ds, m, months, survey)
    keys = by_keys(by)
    if lf is None:  # no table: one empty result, or no group at all
        empty = {**nps_from_counts(0, 0, 0, lang), **window}
        empty.update(reason_fields("", "nps_no_table", lang))
        return [] if keys else [empty]
    lf = _attach_by(lf, ds, m, by)
    counts = (
        lf.group_by(keys or pl.lit(1).alias("_all")).agg(*_counts()).sort(keys or "_all").collect()
    )
    if counts.height == 0:  # nothing in the window: one empty result, or no group at all
        return [] if keys else [{**nps_from_counts(0, 0, 0, lang), **window}]
    return [
        {
            **{k: r[k] for k in keys},
            **nps_from_counts(int(r["promoters"]), int(r["passives"]), int(r["detractors"]), lang),
            **window,
        }
        for r in counts.iter_rows(named=True)
    ]


def nps_exprs() -> list[pl.Expr]:
    """Polars expressions for ``n, nps, ci_low, ci_high`` from integer columns ``promoters,
    passives, detractors`` (the formula of :func:`nps_from_counts`, vectorised; nulls when
    n = 0)."""
    pr, pa, de = (pl.col(c).cast(pl.Float64) for c in ("promoters", "passives", "detractors"))
    n = pr + pa + de
    na = n + 3
    p, d = (pr + 0.75) / na, (de + 0.75) / na
    adj = p - d
    se = ((p + d - adj * adj).clip(lower_bound=0.0) / na).sqrt()
    some = n > 0
    est = 100.0 * (pr - de) / n
    return [
        n.cast(pl.Int64).alias("n"),
        pl.when(some).then(est).alias("nps"),
        pl.when(some)
        .then(pl.min_horizontal(est, (100.0 * (adj - Z95 * se)).clip(lower_bound=-100.0)))
        .alias("ci_low"),
        pl.when(some)
        .then(pl.max_horizontal(est, (100.0 * (adj + Z95 * se)).clip(upper_bound=100.0)))
        .alias("ci_high"),
    ]


def nps_trend(
    ds: Dataset,
    as_of: MonthLike,
    months: int = 12,
    config: dict[str, Any] | None = None,
    window_months: int | None = None,
    survey: str | None = None,
) -> pl.DataFrame:
    """NPS per period: for each of the ``months`` months ending at ``as_of``, the NPS over the
    window ending at that month (default window ``nps.window_months``; ``window_months=1`` gives
    calendar-month NPS). Each period uses only responses dated by its own last day.

    Returns
    -------
    DataFrame
        ``month ("YYYY-MM"), n, promoters, passives, detractors, nps, ci_low, ci_high`` (nps and
        interval null for a month without responses; every count null without the table).
    """
    m = Month.parse(as_of)
    w = _window_months(ds, config, window_months)
    a = m.index
    spine = pl.LazyFrame(
        {"month_idx": pl.int_range(a - months + 1, a + 1, eager=True, dtype=pl.Int32)}
    )
    lf = nps_responses_in_window(ds, m, w + months - 1, survey)
    if lf is None:
        lf = pl.LazyFrame(schema={"responded_on": pl.Date, "score": pl.Int64})
    counts = (
        spine.join(
            lf.select(month_index_expr(pl.col("responded_on")).alias("r_idx"), "score"), how="cross"
        )
        .filter(pl.col("r_idx").is_between(pl.col("month_idx") - w + 1, pl.col("month_idx")))
        .group_by("month_idx")
        .agg(*_counts())
    )
    return (
        spine.join(counts, on="month_idx", how="left")
        .with_columns(
            pl.col(c).fill_null(0).cast(pl.Int64) for c in ("promoters", "passives", "detractors")
        )
        .with_columns(*nps_exprs())
        .sort("month_idx")
        .select(
            index_to_month_expr(pl.col("month_idx")).dt.strftime("%Y-%m").alias("month"),
            "n",
            "promoters",
            "passives",
            "detractors",
            "nps",
            "ci_low",
            "ci_high",
        )
        .collect()
    )


def nps_change(
    current: dict[str, Any], previous: dict[str, Any], lang: str | None = None
) -> dict[str, Any]:
    """Change from ``previous`` to ``current`` (two results of :func:`nps` /
    :func:`nps_from_counts` over independent periods) with a 95% interval for the difference.

    ``delta`` = current nps - previous nps (plain estimates); interval = (adjusted current -
    adjusted previous) ± 1.959964 x sqrt(se_current² + se_previous²), in NPS points (it may
    reach ±200), widened where needed to hold ``delta``. ``None`` with a ``reason`` when either period has no responses.
    """
    if current.get("nps") is None or previous.get("nps") is None:
        return {
            "delta": None,
            "ci_low": None,
            "ci_high": None,
            **reason_fields("", "nps_period_without_responses", lang or lang_of(None)),
        }
    se = math.sqrt(current["se_adjusted"] ** 2 + previous["se_adjusted"] ** 2)
    diff_adj = current["nps_adjusted"] - previous["nps_adjusted"]
    delta = current["nps"] - previous["nps"]
    return {
        "delta": delta,
        "ci_low": min(delta, max(-200.0, diff_adj - Z95 * se)),
        "ci_high": max(delta, min(200.0, diff_adj + Z95 * se)),
    }


def nps_period_change(
    ds: Dataset,
    as_of: MonthLike,
    previous: MonthLike,
    config: dict[str, Any] | None = None,
    window_months: int | None = None,
    survey: str | None = None,
) -> dict[str, Any]:
    """NPS of the window ending at ``as_of`` against the window ending at ``previous`` (e.g. 12
    months earlier for year over year), with :func:`nps_change`'s interval.

    Returns
    -------
    dict
        ``current`` and ``previous`` (as :func:`nps`) and ``change`` (as :func:`nps_change`).
    """
    cur = nps(ds, as_of, config, window_months, survey)[0]
    prev = nps(ds, previous, config, window_months, survey)[0]
    lang = lang_of(config if config is not None else ds.config)
    return {"current": cur, "previous": prev, "change": nps_change(cur, prev, lang)}
