"""An independent, deliberately naive implementation of SPEC §4 (plain Python loops over accounts
and months) used as an oracle for the polars implementation. Slow and obvious on purpose."""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections import defaultdict


def me(idx: int) -> dt.date:
    y, m = idx // 12, idx % 12 + 1
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def idx_of(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def product_mrr(lines: list[dict], as_of_idx: int) -> dict[int, dict[tuple[str, str], float]]:
    """month -> {(account, product): mrr} for months from the first line's start to as_of."""
    first = min(idx_of(line["start_date"]) for line in lines)
    out: dict[int, dict[tuple[str, str], float]] = {}
    for m in range(first, as_of_idx + 1):
        end = me(m)
        cur: dict[tuple[str, str], float] = defaultdict(float)
        for line in lines:
            if line["start_date"] <= end and (line["end_date"] is None or line["end_date"] >= end):
                cur[(line["account_id"], line["product"])] += line["mrr"]
        out[m] = {k: v for k, v in cur.items() if v > 0}
    return out


def account_mrr(pm: dict[int, dict[tuple[str, str], float]]) -> dict[int, dict[str, float]]:
    out = {}
    for m, d in pm.items():
        acc: dict[str, float] = defaultdict(float)
        for (a, _p), v in d.items():
            acc[a] += v
        out[m] = {a: v for a, v in acc.items() if v > 0}
    return out


def bridge(lines: list[dict], as_of_idx: int) -> dict[int, dict]:
    pm = product_mrr(lines, as_of_idx)
    am = account_mrr(pm)
    months = sorted(pm)
    ever: set[str] = set()
    res = {}
    for m in months:
        prev_a = am.get(m - 1, {})
        cur_a = am[m]
        r = dict.fromkeys(
            ("new", "reactivation", "upsell", "cross_sell", "contraction", "churn"), 0.0
        )
        counts = dict.fromkeys(("new", "reactivated", "churned"), 0)
        for a in set(prev_a) | set(cur_a):
            p, c = prev_a.get(a, 0.0), cur_a.get(a, 0.0)
            if p == 0 and c > 0:
                if a in ever:
                    r["reactivation"] += c
                    counts["reactivated"] += 1
                else:
                    r["new"] += c
                    counts["new"] += 1
            elif p > 0 and c == 0:
                r["churn"] += p
                counts["churned"] += 1
            elif p > 0 and c > 0:
                prods = {k[1] for k in pm.get(m - 1, {}) if k[0] == a} | {
                    k[1] for k in pm[m] if k[0] == a
                }
                for prod in prods:
                    pp = pm.get(m - 1, {}).get((a, prod), 0.0)
                    cp = pm[m].get((a, prod), 0.0)
                    if pp == 0 and cp > 0:
                        r["cross_sell"] += cp
                    elif cp > pp:
                        r["upsell"] += cp - pp
                    elif cp < pp:
                        r["contraction"] += pp - cp
        for a in cur_a:
            ever.add(a)
        mrr_start = sum(prev_a.values())
        mrr_end = sum(cur_a.values())
        row = {
            "mrr_start": mrr_start,
            "mrr_end": mrr_end,
            **{f"mrr_{k}": v for k, v in r.items()},
            "accounts_start": len(prev_a),
            "accounts_end": len(cur_a),
            "accounts_new": counts["new"],
            "accounts_reactivated": counts["reactivated"],
            "accounts_churned": counts["churned"],
            "logo_churn_rate": counts["churned"] / len(prev_a) if prev_a else None,
            "grr": (mrr_start - r["churn"] - r["contraction"]) / mrr_start if mrr_start else None,
            "nrr": (mrr_start - r["churn"] - r["contraction"] + r["upsell"] + r["cross_sell"])
            / mrr_start
            if mrr_start
            else None,
        }
        base = am.get(m - 12, {})
        if base:
            tot0 = sum(base.values())
            row["nrr_trailing_12m"] = sum(cur_a.get(a, 0.0) for a in base) / tot0
            row["grr_trailing_12m"] = sum(min(cur_a.get(a, 0.0), v) for a, v in base.items()) / tot0
        else:
            row["nrr_trailing_12m"] = row["grr_trailing_12m"] = None
        res[m] = row
    return res


def lifetimes(lines: list[dict], as_of_idx: int) -> dict[str, tuple[int, int, bool]]:
    """account -> (s, T, event)."""
    am = account_mrr(product_mrr(lines, as_of_idx))
    out = {}
    accounts = {a for d in am.values() for a in d}
    for a in accounts:
        s = min(m for m, d in am.items() if a in d)
        c = next((m for m in range(s + 1, as_of_idx + 1) if a not in am[m]), None)
        out[a] = (s, c - s, True) if c is not None else (s, as_of_idx - s, False)
    return out


def churn_within(lines: list[dict], as_of_idx: int, horizon: int = 24) -> dict:
    lt = lifetimes(lines, as_of_idx)
    eligible = [a for a, (s, _t, _e) in lt.items() if s <= as_of_idx - horizon]
    churned = [a for a in eligible if lt[a][2] and lt[a][1] <= horizon]
    out = {
        "eligible": len(eligible),
        "churned": len(churned),
        "rate": len(churned) / len(eligible) if eligible else None,
    }
    times = sorted({t for (_s, t, e) in lt.values() if e and t <= horizon})
    if not lt:
        out.update(km_rate=None, km_ci_low=None, km_ci_high=None)
        return out
    surv, gw = 1.0, 0.0
    for t in times:
        n = sum(1 for (_s, tt, _e) in lt.values() if tt >= t)
        d = sum(1 for (_s, tt, e) in lt.values() if e and tt == t)
        surv *= 1 - d / n
        gw += d / (n * (n - d)) if n > d else 0.0
    # defined when an account is at risk at H (T >= H), or when everyone churned (S = 0)
    if max(t for (_s, t, _e) in lt.values()) < horizon and surv > 0:
        out.update(km_rate=None, km_ci_low=None, km_ci_high=None)
        return out
    out["km_rate"] = 1 - surv
    if not times or surv <= 0:
        out.update(km_ci_low=None, km_ci_high=None)
        return out
    se = math.sqrt(gw) / abs(math.log(surv))
    out["km_ci_low"] = 1 - surv ** math.exp(-1.959964 * se)
    out["km_ci_high"] = 1 - surv ** math.exp(1.959964 * se)
    return out
