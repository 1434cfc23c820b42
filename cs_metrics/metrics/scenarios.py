"""What-if scenarios for the churn-target review (SPEC §9), with honest uncertainty.

Two levers, each a fraction, each applied only when asked for and only when the groups whose
churn rates it uses have at least ``scenario.min_group_accounts`` eligible accounts:

- **save_reason** (x, reason R): x of every churn whose matched reason is R is treated as not
  having churned: in the observed rate it leaves the numerator; in Kaplan-Meier its event is
  removed and the account stays at risk until as_of; in trailing NRR x of the MRR it took is
  added back (accounts of the NRR cohort inactive at as_of whose last churn in the 12 months
  had reason R).
- **graduation** (y): accounts with onboarding records are split into graduated and not
  graduated and reweighted so that graduates are a share y of them (weights y n/n_G and
  (1 - y) n/n_N, n = n_G + n_N); accounts with no onboarding records are a third group that
  keeps its weight and its observed rate (never assumed to graduate, never merged). It moves
  churn within H (observed and Kaplan-Meier), not NRR.

Every figure (baseline and projected) comes with a 95% interval from one seeded bootstrap over
accounts: a (draws x accounts) matrix of multinomial resampling weights multiplies per-account
contributions, so every replicate is a few matrix products, not a loop over frames; the
percentile interval is widened to contain the estimate, and for the two churn rates also the
Wilson interval at the rate's effective number of accounts (Kish's for reweighted groups;
S(1-S)/Greenwood for Kaplan-Meier, the accounts at risk where that is 0), so that "all of a
handful churned" (or none) is never a zero-width interval. Baseline and projection use the same
replicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.errors import UsageError
from cs_metrics.messages import lang_of, message, reason_fields
from cs_metrics.metrics.backtest import wilson_interval
from cs_metrics.metrics.churn import account_lifetimes, churn_events
from cs_metrics.metrics.revenue import ACCOUNT, account_segments
from cs_metrics.periods import Month, MonthLike

__all__ = [
    "GROUPS",
    "FIGURES",
    "figure_label",
    "known_reasons",
    "lever_summary",
    "scenario_accounts",
    "what_if",
]

GROUPS = ("graduated", "not_graduated", "no_onboarding_records")
_CELLS = 4_000_000  # bootstrap weights evaluated per batch (draws x accounts)


def known_reasons(ds: Dataset, as_of: MonthLike) -> list[str]:
    """Reasons a save lever can name: the configured categories and every reason category of a
    churn event up to ``as_of`` (unmapped reasons keep their own text)."""
    cats = set(ds.config["reasons"]["categories"])
    ev = churn_events(ds, as_of)
    return sorted(cats | set(ev["reason_category"].drop_nulls().to_list()))


def scenario_accounts(ds: Dataset, as_of: MonthLike, horizon: int, reason: str) -> pl.DataFrame:
    """Per account ever active up to ``as_of``: what the scenario arithmetic needs.

    Returns
    -------
    DataFrame
        ``account_id, T, T_obs, event, eligible, churned, reason_hit, group, mrr_then, mrr_now,
        lost_back`` where ``T``/``event`` is the first spell (SPEC §4), ``T_obs = as_of - s``,
        ``eligible`` = s <= as_of - H, ``churned`` = eligible and an event with T <= H,
        ``reason_hit`` = its first-spell churn within H matched reason R, ``group`` one of
        :data:`GROUPS` (null without onboarding data), ``mrr_then``/``mrr_now`` its MRR 12
        months before and at as_of, ``lost_back`` the MRR of its last churn in the 12 months
        when that churn had reason R and it is inactive now (else 0).
    """
    m = Month.parse(as_of)
    a = m.index
    lt = account_lifetimes(ds, m).collect()
    ev = churn_events(ds, m).select(ACCOUNT, "churn_month_idx", "reason_category", "lost_mrr")
    hit = ev.filter(pl.col("reason_category") == reason).select(
        ACCOUNT, "churn_month_idx", pl.lit(True).alias("reason_hit")
    )
    seg = account_segments(ds, m).collect()

    def mrr_at(idx: int, name: str) -> pl.DataFrame:
        rows = seg.filter((pl.col("idx") <= idx) & (pl.col("next_idx") > idx))
        return rows.group_by(ACCOUNT).agg(pl.col("mrr").sum().alias(name))

    last = (
        ev.filter(pl.col("churn_month_idx") > a - 12)
        .sort("churn_month_idx")
        .group_by(ACCOUNT)
        .agg(pl.all().last())
        .select(
            ACCOUNT,
            pl.when(pl.col("reason_category") == reason)
            .then(pl.col("lost_mrr"))
            .otherwise(0.0)
            .alias("lost_r"),
        )
    )
    out = (
        lt.join(hit, on=[ACCOUNT, "churn_month_idx"], how="left")
        .join(mrr_at(a - 12, "mrr_then"), on=ACCOUNT, how="left")
        .join(mrr_at(a, "mrr_now"), on=ACCOUNT, how="left")
        .join(last, on=ACCOUNT, how="left")
        .with_columns(pl.col("mrr_then", "mrr_now", "lost_r").fill_null(0.0))
        # the NRR cohort is the accounts active 12 months ago: nobody else's MRR counts
        .with_columns(pl.when(pl.col("mrr_then") > 0).then(pl.col("mrr_now")).otherwise(0.0))
        .with_columns(
            (a - pl.col("first_month_idx")).alias("T_obs"),
            (pl.col("first_month_idx") <= a - horizon).alias("eligible"),
            (pl.col("event") & (pl.col("T") <= horizon)).alias("within"),
        )
        .with_columns(
            (pl.col("eligible") & pl.col("within")).alias("churned"),
            (pl.col("within") & pl.col("reason_hit").fill_null(False)).alias("reason_hit"),
            pl.when((pl.col("mrr_then") > 0) & (pl.col("mrr_now") <= 0))
            .then(pl.col("lost_r"))
            .otherwise(0.0)
            .alias("lost_back"),
        )
    )
    out = out.join(_onboarding_groups(ds, m), on=ACCOUNT, how="left")
    if ds.has("onboarding_sessions"):
        out = out.with_columns(pl.col("group").fill_null(GROUPS[2]))
    return out.select(
        ACCOUNT,
        "T",
        "T_obs",
        "event",
        "eligible",
        "churned",
        "reason_hit",
        "group",
        "mrr_then",
        "mrr_now",
        "lost_back",
    ).sort(ACCOUNT)


def _onboarding_groups(ds: Dataset, m: Month) -> pl.DataFrame:
    empty = pl.DataFrame(schema={ACCOUNT: pl.String, "group": pl.String})
    if not ds.has("onboarding_sessions"):
        return empty
    from cs_metrics.metrics.onboarding import onboarding_accounts

    acc = onboarding_accounts(ds, m)
    if acc is None:
        return empty
    return acc.select(
        ACCOUNT,
        pl.when(pl.col("graduated"))
        .then(pl.lit(GROUPS[0]))
        .otherwise(pl.lit(GROUPS[1]))
        .alias("group"),
    )


# ---- the arithmetic -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Design:
    """Per-account contributions (rows = accounts) that every statistic is a ratio of."""

    e: np.ndarray  # eligible
    c: np.ndarray  # churned within H (eligible)
    cr: np.ndarray  # ... with reason R
    at_risk: np.ndarray  # (N, H): T >= t
    events: np.ndarray  # (N, H): event at t
    extra_risk: np.ndarray  # (N, H): at risk if its R-churn is saved, beyond T
    r_events: np.ndarray  # (N, H): events with reason R
    groups: np.ndarray  # (N, 3) one-hot of GROUPS; zeros without onboarding data
    then: np.ndarray
    now: np.ndarray
    back: np.ndarray

    @classmethod
    def build(cls, acc: pl.DataFrame, h: int) -> _Design:
        f = lambda col: acc[col].cast(pl.Float64).to_numpy()  # noqa: E731
        t = np.arange(1, h + 1)[None, :]
        T, T_obs = acc["T"].to_numpy()[:, None], acc["T_obs"].to_numpy()[:, None]
        event = acc["event"].to_numpy()[:, None]
        hit = acc["reason_hit"].to_numpy()[:, None]
        at_risk = (T >= t).astype(float)
        events = (event & (T == t)).astype(float)
        groups = acc.select(
            [(pl.col("group") == g).fill_null(False).cast(pl.Float64).alias(g) for g in GROUPS]
        ).to_numpy()
        return cls(
            e=f("eligible"),
            c=f("churned"),
            cr=(acc["churned"] & acc["reason_hit"]).cast(pl.Float64).to_numpy(),
            at_risk=at_risk,
            events=events,
            extra_risk=np.where(hit, (T_obs >= t).astype(float) - at_risk, 0.0),
            r_events=np.where(hit, events, 0.0),
            groups=groups,
            then=f("mrr_then"),
            now=f("mrr_now"),
            back=f("lost_back"),
        )


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _evaluate(w: np.ndarray, d: _Design, x: float, y: float | None) -> dict[str, np.ndarray]:
    """rate, km_rate, nrr for resampling weights ``w`` (B, N); NaN where undefined.

    ``x`` = share of reason-R churn saved (0: none); ``y`` = graduation share (None: as is).
    """
    c = d.c - x * d.cr
    risk = d.at_risk + x * d.extra_risk
    ev = d.events - x * d.r_events
    h = risk.shape[1]
    if y is None:
        rate = _ratio(w @ c, w @ d.e)
        n, dd = w @ risk, w @ ev
    else:
        eg, cg = w @ (d.e[:, None] * d.groups), w @ (c[:, None] * d.groups)  # (B, 3)
        ng = w @ d.groups
        omega_e, omega_n = _omega(eg, y), _omega(ng, y)
        rate = _ratio(np.sum(omega_e * cg, axis=1), np.sum(omega_e * eg, axis=1))
        gr = d.groups[:, :, None]
        n_g = (w @ (risk[:, None, :] * gr).reshape(len(c), -1)).reshape(len(w), 3, h)
        d_g = (w @ (ev[:, None, :] * gr).reshape(len(c), -1)).reshape(len(w), 3, h)
        n = np.sum(omega_n[:, :, None] * n_g, axis=1)
        dd = np.sum(omega_n[:, :, None] * d_g, axis=1)
    frac = np.divide(dd, n, out=np.zeros_like(n), where=n > 0)
    surv = np.prod(1.0 - np.clip(frac, 0.0, 1.0), axis=1)
    km = np.where((n[:, -1] > 0) | (surv <= 0), 1.0 - surv, np.nan)
    nrr = _ratio(w @ (d.now + x * d.back), w @ d.then)
    out = {"rate": rate, "km_rate": km, "nrr_trailing_12m": nrr}
    if len(w) == 1:  # the point estimate: the effective sizes behind its Wilson intervals
        rate_w = d.e if y is None else d.e * (d.groups @ _omega(w @ d.groups, y)[0])
        out["rate_n"] = _kish(rate_w)
        out["km_rate_n"] = _km_effective_n(n[0], dd[0], float(surv[0]))
    return out


def _kish(weights: np.ndarray) -> np.ndarray:
    """Kish's effective number of accounts of a weighted proportion, (Σw)² / Σw² (= n with
    equal weights)."""
    sq = float(np.sum(weights**2))
    return np.array([float(np.sum(weights)) ** 2 / sq if sq > 0 else 0.0])


def _km_effective_n(n: np.ndarray, dd: np.ndarray, surv: float) -> np.ndarray:
    """Effective number of accounts behind 1 - S(H): S(1-S) / Greenwood's variance when 0 < S
    < 1; at S = 0 the accounts at risk when the curve reached 0, at S = 1 those at risk at H
    (no event: Greenwood's variance is 0 there, so a Wilson interval at this n replaces it)."""
    ok = (n > 0) & (n > dd)
    var = surv**2 * float(np.sum(np.divide(dd, n * (n - dd), out=np.zeros_like(n), where=ok)))
    if 0 < surv < 1 and var > 0:
        return np.array([surv * (1 - surv) / var])
    events = np.flatnonzero(dd > 0)
    at = n[events[-1]] if surv <= 0 and events.size else n[-1]
    return np.array([float(at)])


def _omega(counts: np.ndarray, y: float) -> np.ndarray:
    """Group weights making graduates a share y of the accounts with records (B, 3)."""
    both = counts[:, 0] + counts[:, 1]
    g = np.divide(y * both, counts[:, 0], out=np.zeros_like(both), where=counts[:, 0] > 0)
    n = np.divide((1 - y) * both, counts[:, 1], out=np.zeros_like(both), where=counts[:, 1] > 0)
    return np.stack([g, n, np.ones_like(both)], axis=1)


def _bootstrap(
    d: _Design, levers: tuple[float, float | None] | None, samples: int, seed: int
) -> dict[str, dict[str, np.ndarray]]:
    """Replicates of baseline (and projection) from multinomial weights over accounts,
    generated and evaluated in batches of at most ``_CELLS`` weights."""
    rng = np.random.default_rng(seed)
    n = len(d.e)
    out: dict[str, list[dict[str, np.ndarray]]] = {"baseline": [], "projected": []}
    batch = max(1, _CELLS // max(n, 1))
    done = 0
    while done < samples:
        b = min(batch, samples - done)
        w = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(float)
        out["baseline"].append(_evaluate(w, d, 0.0, None))
        if levers is not None:
            out["projected"].append(_evaluate(w, d, *levers))
        done += b
    return {k: {s: np.concatenate([r[s] for r in v]) for s in v[0]} for k, v in out.items() if v}


def _ci(draws: np.ndarray, value: float, n_eff: float | None = None) -> list[float] | None:
    """95% percentile interval of the replicates, widened to contain the estimate; for a rate
    (``n_eff`` given) also to contain the Wilson interval at its effective number of accounts,
    so that 0 of n or n of n is never a zero-width interval (a bootstrap cannot vary there)."""
    ok = draws[np.isfinite(draws)]
    wilson = wilson_interval(value * n_eff, n_eff) if n_eff else None
    if ok.size < max(0.5 * draws.size, 1):
        return None if wilson is None else [float(wilson[0]), float(wilson[1])]
    lo, hi = np.percentile(ok, [2.5, 97.5])
    lo, hi = min(lo, value), max(hi, value)
    if wilson is not None:
        lo, hi = min(lo, wilson[0]), max(hi, wilson[1])
    return [float(lo), float(hi)]


_CI_KEY = {"rate": "rate_ci", "km_rate": "km_ci", "nrr_trailing_12m": "nrr_ci"}
_UNDEFINED = {
    "rate": "no_accounts_acquired_h_before",
    "km_rate": "no_account_observed_h",
    "nrr_trailing_12m": "no_accounts_12m_before",
}


def _figures(
    point: dict[str, np.ndarray], draws: dict[str, np.ndarray], h: int, lang: str
) -> dict[str, Any]:
    """``{rate, rate_ci, km_rate, km_ci, nrr_trailing_12m, nrr_ci}`` (+ reasons where null)."""
    out: dict[str, Any] = {}
    for key, ci_key in _CI_KEY.items():
        v = float(point[key][0])
        if not np.isfinite(v):
            out[key], out[ci_key] = None, None
            out.update(reason_fields(key, _UNDEFINED[key], lang, h=h))
            continue
        out[key] = v
        n_eff = point.get(f"{key}_n")
        out[ci_key] = _ci(draws[key], v, None if n_eff is None else float(n_eff[0]))
        if out[ci_key] is None:
            out.update(reason_fields(ci_key, "scenario_ci_undefined", lang))
    return out


# ---- levers ---------------------------------------------------------------------------------


def _check_fraction(name: str, v: float | None) -> None:
    if v is not None and not (isinstance(v, int | float) and 0.0 <= float(v) <= 1.0):
        raise UsageError("scenario_out_of_range", name=name, value=v)


def _lever(name: str, status: str, groups: list[dict], code: str | None, lang: str, **p) -> dict:
    return {
        "lever": name,
        "status": status,
        "groups": groups,
        "reason": None if code is None else message(code, lang, **p),
        "reason_code": code,
    }


def _save_lever(ds: Dataset, acc: pl.DataFrame, reason: str, h: int, min_n: int, lang: str):
    n, c = int(acc["eligible"].sum()), int((acc["churned"] & acc["reason_hit"]).sum())
    groups = [{"group": reason, "eligible": n, "churned": c}]
    if not ds.has("cancellations"):
        return _lever("save_reason", "unavailable", [], "scenario_no_cancellations", lang)
    if n < min_n:
        return _lever(
            "save_reason", "insufficient_data", groups, "scenario_thin_save", lang, n=n, h=h,
            min=min_n,
        )  # fmt: skip
    return _lever("save_reason", "applied", groups, None, lang)


def _graduation_lever(ds: Dataset, acc: pl.DataFrame, min_n: int, lang: str):
    if not ds.has("onboarding_sessions") or acc["group"].null_count() == acc.height:
        return _lever("graduation", "unavailable", [], "scenario_no_onboarding", lang)
    counts = (
        acc.filter("eligible")
        .group_by("group")
        .agg(pl.len().alias("eligible"), pl.col("churned").sum().alias("churned"))
    )
    by = {r["group"]: r for r in counts.iter_rows(named=True)}  # at most three groups
    groups = [
        {"group": g, "eligible": int(by[g]["eligible"]), "churned": int(by[g]["churned"])}
        if g in by
        else {"group": g, "eligible": 0, "churned": 0}
        for g in GROUPS
        if g in by or g != GROUPS[2]  # an empty third group is simply absent
    ]
    small = min(groups[:2], key=lambda g: g["eligible"])
    if small["eligible"] < min_n:
        label = message(f"scenario_group_{small['group']}", lang)
        return _lever(
            "graduation", "insufficient_data", groups, "scenario_thin_graduation", lang,
            min=min_n, group=label, sn=small["eligible"], sc=small["churned"],
        )  # fmt: skip
    return _lever("graduation", "applied", groups, None, lang)


def what_if(
    ds: Dataset,
    as_of: MonthLike,
    save_reason_pct: float | None = None,
    reason: str | None = None,
    graduation_target: float | None = None,
    horizon: int | None = None,
) -> dict[str, Any]:
    """Baseline and projected churn within H (observed and Kaplan-Meier) and trailing-12-month
    NRR, each with a 95% bootstrap interval, under the levers asked for (SPEC §9).

    Parameters
    ----------
    save_reason_pct : float, optional
        x in [0, 1]: share of the churn with ``reason`` saved (None: lever not asked for).
    reason : str, optional
        A reason category (default ``scenario.default_reason``); must be known
        (:func:`known_reasons`).
    graduation_target : float, optional
        y in [0, 1]: onboarding graduation share among accounts with onboarding records.
    horizon : int, optional
        H (default ``revenue.churn_horizon_months``).

    Returns
    -------
    dict
        ``as_of, horizon, baseline, projected, levers, notes`` (module docstring; JSON-safe:
        ``null`` with ``*_reason`` where a figure is undefined). ``projected`` equals
        ``baseline`` when no lever is applied.

    Raises
    ------
    UsageError
        A lever outside [0, 1], or an unknown reason.
    """
    cfg = ds.config
    lang = lang_of(cfg)
    sc = cfg["scenario"]
    m = Month.parse(as_of)
    h = int(horizon or cfg["revenue"]["churn_horizon_months"])
    _check_fraction("save_reason_pct", save_reason_pct)
    _check_fraction("graduation_target", graduation_target)
    reason = reason or str(sc["default_reason"])
    if save_reason_pct is not None and reason not in known_reasons(ds, m):
        choices = ", ".join(known_reasons(ds, m))
        raise UsageError("scenario_reason_unknown", reason=reason, known=choices)
    acc = scenario_accounts(ds, m, h, reason)
    min_n = int(sc["min_group_accounts"])
    levers = []
    if save_reason_pct is not None:
        levers.append(_save_lever(ds, acc, reason, h, min_n, lang))
    if graduation_target is not None:
        levers.append(_graduation_lever(ds, acc, min_n, lang))
    applied = {lv["lever"] for lv in levers if lv["status"] == "applied"}
    x = float(save_reason_pct) if "save_reason" in applied else 0.0
    y = float(graduation_target) if "graduation" in applied else None
    d = _Design.build(acc, h)
    ones = np.ones((1, len(d.e)))
    samples, seed = int(sc["bootstrap_samples"]), int(sc["bootstrap_seed"])
    boot = _bootstrap(d, (x, y) if applied else None, samples, seed)
    baseline = _figures(_evaluate(ones, d, 0.0, None), boot["baseline"], h, lang)
    projected = (
        _figures(_evaluate(ones, d, x, y), boot["projected"], h, lang)
        if applied
        else dict(baseline)
    )
    notes = _notes(levers, applied, reason, save_reason_pct, graduation_target, h, lang)
    notes.insert(0, message("scenario_note_method", lang, b=samples, seed=seed))
    return {
        "as_of": str(m),
        "horizon": h,
        "baseline": baseline,
        "projected": projected,
        "levers": levers,
        "notes": notes,
    }


def _notes(
    levers: list[dict],
    applied: set[str],
    reason: str,
    x: float | None,
    y: float | None,
    h: int,
    lang: str,
) -> list[str]:
    notes = []
    for lv in levers:
        if lv["status"] != "applied":  # its reason says why; no description of an unused lever
            continue
        if lv["lever"] == "save_reason":
            g = lv["groups"][0]
            notes.append(
                message(
                    "scenario_note_save",
                    lang,
                    reason=reason,
                    x=f"{x:.0%}",
                    h=h,
                    n=g["eligible"],
                    c=g["churned"],
                )  # fmt: skip
            )
        if lv["lever"] == "graduation":
            ng, nn = lv["groups"][0]["eligible"], lv["groups"][1]["eligible"]
            y0 = f"{ng / (ng + nn):.0%}" if ng + nn else "—"
            notes.append(message("scenario_note_graduation", lang, y=f"{y:.0%}", y0=y0))
    if levers and not applied:
        notes.append(message("scenario_note_none_applied", lang))
    notes.append(message("scenario_note_caveat", lang))
    return notes


# ---- words for people (CLI table and review report) ---------------------------------------

FIGURES = (("rate", "rate_ci"), ("km_rate", "km_ci"), ("nrr_trailing_12m", "nrr_ci"))


def figure_label(key: str, lang: str, horizon: int) -> str:
    """The label of a figure of :func:`what_if` (``rate``, ``km_rate``, ``nrr_trailing_12m``)."""
    return message(f"scenario_figure_{key}", lang, h=horizon)


def lever_summary(lever: dict[str, Any], lang: str, horizon: int) -> str:
    """One lever for people: its name, status, the counts behind it and, when it is not applied,
    why (e.g. "オンボーディング卒業率: データ不足のため不適用（卒業 6社・うち解約 0社、…） — …")."""
    ja = lang == "ja"
    parts = []
    for g in lever["groups"]:
        if lever["lever"] == "save_reason":
            parts.append(
                message(
                    "scenario_counts_save",
                    lang,
                    h=horizon,
                    n=g["eligible"],
                    c=g["churned"],
                    reason=g["group"],
                )  # fmt: skip
            )
        else:
            label = message(f"scenario_group_{g['group']}", lang)
            parts.append(
                message("scenario_counts_group", lang, label=label, n=g["eligible"], c=g["churned"])
            )
    name = message("scenario_lever_" + lever["lever"], lang)
    text = f"{name}: {message('scenario_status_' + lever['status'], lang)}"
    if parts:
        text += f"（{'、'.join(parts)}）" if ja else f" ({'; '.join(parts)})"
    if lever.get("reason"):
        text += f" — {lever['reason']}"
    return text
