"""NPS from response rows with an adjusted-Wald 95% interval (SPEC §6). Never an average."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

from cs_metrics.data.load import Dataset
from cs_metrics.metrics.revenue import By, _with_by, by_keys
from cs_metrics.periods import add_months, month_end, parse_month

Z95 = 1.959964


def nps_from_counts(promoters: int, passives: int, detractors: int) -> dict[str, Any]:
    """NPS and its 95% adjusted-Wald interval from the three counts.

    NPS = 100 x (promoters - detractors) / n. Interval (Rocks 2016, *The American Statistician*;
    as described by Sauro & Lewis): add 3 to n and 3/4 to promoters and to detractors,
    ``p = (P + 3/4) / (n + 3)``, ``d = (D + 3/4) / (n + 3)``, ``nps' = p - d``,
    ``se = sqrt((p + d - nps'^2) / (n + 3))``, interval ``100 x (nps' ± 1.959964 se)`` clipped to
    -100..100. ``null`` (with ``reason``) when there are no responses.
    """
    n = promoters + passives + detractors
    out: dict[str, Any] = {
        "n": n,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
    }
    if n == 0:
        out.update(nps=None, ci_low=None, ci_high=None, reason="no responses in the window")
        return out
    na = n + 3
    p, d = (promoters + 0.75) / na, (detractors + 0.75) / na
    adj = p - d
    se = math.sqrt(max(p + d - adj * adj, 0.0) / na)
    out["nps"] = 100.0 * (promoters - detractors) / n
    out["ci_low"] = max(-100.0, 100.0 * (adj - Z95 * se))
    out["ci_high"] = min(100.0, 100.0 * (adj + Z95 * se))
    out["se_adjusted"] = 100.0 * se
    out["nps_adjusted"] = 100.0 * adj
    return out


def nps_responses_in_window(
    ds: Dataset, as_of: dt.date | str, window_months: int | None = None, survey: str | None = None
) -> pl.LazyFrame | None:
    """Responses dated in the ``window_months`` calendar months ending at ``as_of`` (inclusive)."""
    if not ds.has("nps_responses"):
        return None
    m = parse_month(as_of)
    months = int(window_months or ds.config["nps"]["window_months"])
    start = add_months(m, -(months - 1))
    lf = ds["nps_responses"].filter(
        (pl.col("responded_on") >= start)
        & (pl.col("responded_on") <= month_end(m))
        & pl.col("score").is_not_null()
    )
    if survey:
        lf = lf.filter(pl.col("survey") == survey)
    return lf


def nps(
    ds: Dataset,
    as_of: dt.date | str,
    window_months: int | None = None,
    survey: str | None = None,
    by: By = None,
) -> list[dict[str, Any]]:
    """NPS over the window (default: the 12 calendar months ending at ``as_of``).

    Promoters score 9-10, passives 7-8, detractors 0-6; all surveys unless ``survey`` is given.

    Returns
    -------
    list of dict
        One dict per group (one when ``by`` is None): ``nps, n, promoters, passives,
        detractors, ci_low, ci_high`` (see :func:`nps_from_counts`), plus ``window_start,
        window_end`` and the ``by`` key. ``by`` may be ``"survey"``, an account attribute or a
        frame ``[account_id, attribute]``.
    """
    m = parse_month(as_of)
    months = int(window_months or ds.config["nps"]["window_months"])
    window = {
        "window_start": add_months(m, -(months - 1)).strftime("%Y-%m"),
        "window_end": m.strftime("%Y-%m"),
    }
    lf = nps_responses_in_window(ds, m, months, survey)
    if lf is None:
        return [{**nps_from_counts(0, 0, 0), **window, "reason": "no nps_responses table"}]
    keys = by_keys(by)
    if by is not None and not (isinstance(by, str) and by == "survey"):
        lf = _with_by(lf, ds, m, by)
    counts = (
        lf.group_by(keys or pl.lit(1).alias("_all"))
        .agg(
            (pl.col("score") >= 9).sum().alias("promoters"),
            pl.col("score").is_between(7, 8).sum().alias("passives"),
            (pl.col("score") <= 6).sum().alias("detractors"),
        )
        .sort(keys or "_all")
        .collect()
    )
    if counts.height == 0:
        return [{**nps_from_counts(0, 0, 0), **window}]
    return [
        {
            **{k: r[k] for k in keys},
            **nps_from_counts(int(r["promoters"]), int(r["passives"]), int(r["detractors"])),
            **window,
        }
        for r in counts.iter_rows(named=True)
    ]


def nps_change(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """Change between two periods' NPS with a 95% interval for the difference.

    The difference of the adjusted estimates ± 1.959964 x sqrt(se1² + se2²) (independent
    samples). ``null`` when either period has no responses.
    """
    if current.get("nps") is None or previous.get("nps") is None:
        return {
            "delta": None,
            "ci_low": None,
            "ci_high": None,
            "reason": "a period without responses",
        }
    se = math.sqrt(current["se_adjusted"] ** 2 + previous["se_adjusted"] ** 2)
    diff_adj = current["nps_adjusted"] - previous["nps_adjusted"]
    return {
        "delta": current["nps"] - previous["nps"],
        "ci_low": diff_adj - Z95 * se,
        "ci_high": diff_adj + Z95 * se,
    }
