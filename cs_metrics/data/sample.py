"""Deterministic sample data shaped like the team in the policy slides (SPEC §2, all 8 tables).

About 150 Japanese B2B accounts over 40 months ending 2026-09, five CSMs, industries including
金融 and 医療, a base plan (Standard/Pro tiers) with add-on products (so cross-sell happens),
monthly and annual contracts (annual terms are one line per 12-month term, so renewals show as
end dates), upsell (tier changes), contraction, a product swap or two, a few reactivations,
free trial lines, 2-year churn near 21% with ~74% of reasons 施策終了・中止, a few 解約予定
notices, weekly usage that declines before churn, touchpoints, NPS, 12-session onboarding, CS
costs and acquisition costs.

The generator is a plain loop over accounts (it is a data *generator*, not a metric): clarity
first. Everything comes from ``numpy.random.default_rng(seed)`` and rows are written sorted with
fixed formatting, so the same arguments give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from cs_metrics.errors import OutputError
from cs_metrics.fsutil import (
    OWNER,
    make_owned_temp,
    publish_new_dir,
    remove_stale_temp_dirs,
    replace_dir,
)
from cs_metrics.periods import Month, MonthLike

__all__ = ["MANIFEST", "foreign_entries", "generate_sample", "generate_tables"]

CSMS = ["鈴木", "嘉生", "糸谷", "大本", "津田"]
INDUSTRIES = ["金融", "医療", "小売", "製造", "IT・通信", "教育", "不動産", "人材"]
INDUSTRY_WEIGHTS = [0.12, 0.10, 0.16, 0.16, 0.18, 0.10, 0.08, 0.10]
BASE = "配信基本プラン"
ADDONS = {"分析オプション": 20_000, "録画オプション": 10_000, "API連携": 30_000}
TIER_MRR = {"Standard": [50_000, 80_000, 120_000], "Pro": [150_000, 200_000, 300_000]}

NAME_HEAD = [
    "東京",
    "大和",
    "さくら",
    "みらい",
    "日本",
    "青葉",
    "北斗",
    "中央",
    "あおい",
    "ひかり",
    "富士",
    "光和",
    "新星",
    "湘南",
    "瀬戸内",
    "関西",
    "北海",
    "九州",
    "明和",
    "常盤",
]
NAME_TAIL = [
    "商事",
    "ホールディングス",
    "テクノロジー",
    "メディカル",
    "銀行",
    "証券",
    "製作所",
    "システムズ",
    "エデュケーション",
    "不動産",
    "キャリア",
    "物産",
    "ソリューションズ",
    "クリニック",
    "リテール",
    "工業",
    "コミュニケーションズ",
    "ネットワークス",
]

REASONS_CAMPAIGN = [
    "施策終了のため",
    "イベント施策の中止",
    "キャンペーン終了に伴い解約",
    "施策中止（予算の組み替え）",
    "施策終了・中止",
    "ウェビナー施策の終了",
]
REASONS_OTHER = [
    "予算削減のため",
    "競合他社サービスへ乗り換え",
    "担当者異動により利用継続困難",
    "機能不足（録画編集が必要）",
    "利用率が上がらず活用できず",
]
NPS_COMMENTS = {
    "promoter": [
        "サポートが手厚く助かっています",
        "配信が安定していて満足",
        "事例共有が参考になる",
    ],
    "passive": ["おおむね満足", "もう少し分析機能が欲しい", "特に不満はない"],
    "detractor": ["操作が難しい", "費用に見合う成果が出ていない", "問い合わせの返答が遅い"],
}


# Accounts acquired in the latest month (the last ones generated).
LATEST_NEW = 2


@dataclass
class _Tables:
    accounts: list[dict] = field(default_factory=list)
    subscriptions: list[dict] = field(default_factory=list)
    cancellations: list[dict] = field(default_factory=list)
    usage_weekly: list[dict] = field(default_factory=list)
    touchpoints: list[dict] = field(default_factory=list)
    nps_responses: list[dict] = field(default_factory=list)
    onboarding_sessions: list[dict] = field(default_factory=list)
    cs_costs: list[dict] = field(default_factory=list)


def _plus_months(d: dt.date, n: int) -> dt.date:
    """Same day n months later (clamped to the month's length)."""
    month = Month.parse(d) + n
    return month.first_day.replace(day=min(d.day, month.last_day.day))


def _active(lines: list[dict], idx: int) -> set[str]:
    """Accounts with a paid line active on the last day of month ``idx``."""
    last = Month(idx).last_day
    return {
        x["account_id"]
        for x in lines
        if x["mrr"] > 0
        and x["start_date"] <= last
        and (x["end_date"] is None or x["end_date"] >= last)
    }


def _latest_month_moves(t: _Tables, e_idx: int, add_line) -> None:
    """Make the latest month show every movement of the bridge (new business comes from the
    accounts acquired then): one upsell (a Standard monthly base line moves to Pro), one
    cross-sell (an add-on starts), one contraction (an add-on ends the month before) and one
    reactivation (an account that churned at least 3 months earlier returns, with its usage).
    Accounts are chosen by rule, in account order (no random draws), so the rest of the sample
    is unchanged."""
    first, prev_end = Month(e_idx).first_day, Month(e_idx - 1).last_day
    before, now = _active(t.subscriptions, e_idx - 1), _active(t.subscriptions, e_idx)
    steady = sorted(before & now)
    open_lines = {
        (x["account_id"], x["product"]): x
        for x in t.subscriptions
        if x["end_date"] is None and x["mrr"] > 0
    }
    base = [
        a for a in steady if (a, BASE) in open_lines and open_lines[(a, BASE)]["plan"] == "Standard"
    ]
    if base:  # upsell: Standard -> Pro from the first day of the month
        line = open_lines[(base[0], BASE)]
        line["end_date"] = prev_end
        add_line(base[0], BASE, "Pro", first, None, TIER_MRR["Pro"][0], 1)
    addon = "分析オプション"
    cross = [a for a in steady[1:] if (a, addon) not in open_lines and a not in base[:1]]
    if cross:
        add_line(cross[-1], addon, None, first, None, ADDONS[addon], 1)
    drop = [
        a for a in steady if (a, "録画オプション") in open_lines and a not in base[:1] + cross[-1:]
    ]
    if drop:
        open_lines[(drop[0], "録画オプション")]["end_date"] = prev_end
    ever = {x["account_id"] for x in t.subscriptions if x["mrr"] > 0}
    gone = sorted(
        a
        for a in ever - before - now
        if all(
            x["end_date"] is not None and x["end_date"] < Month(e_idx - 3).last_day
            for x in t.subscriptions
            if x["account_id"] == a
        )
    )
    if gone:  # reactivation: back on a monthly Standard plan, with a month of usage
        acc = gone[0]
        add_line(acc, BASE, "Standard", first, None, TIER_MRR["Standard"][0], 1)
        wk = first - dt.timedelta(days=first.weekday())
        while wk <= Month.parse(first).last_day:
            if wk >= first - dt.timedelta(days=6):
                t.usage_weekly.append(
                    {
                        "account_id": acc,
                        "week_start": wk,
                        "logins": 4,
                        "deliveries": 2,
                        "outcome_rate": 0.3,
                    }
                )
            wk += dt.timedelta(days=7)


_S, _D, _I, _F = pl.String, pl.Date, pl.Int64, pl.Float64
# Column order and types of each table as written (a small sample may leave a table empty).
_SCHEMAS: dict[str, dict[str, Any]] = {
    "accounts": {
        "account_id": _S,
        "account_name": _S,
        "industry": _S,
        "csm": _S,
        "acquisition_cost": _I,
    },
    "subscriptions": {
        "subscription_id": _S,
        "account_id": _S,
        "product": _S,
        "plan": _S,
        "start_date": _D,
        "end_date": _D,
        "mrr": _I,
        "billing_interval_months": _I,
    },
    "cancellations": {"account_id": _S, "cancelled_on": _D, "reason": _S, "note": _S},
    "usage_weekly": {
        "account_id": _S,
        "week_start": _D,
        "logins": _I,
        "deliveries": _I,
        "outcome_rate": _F,
    },
    "touchpoints": {"account_id": _S, "occurred_on": _D, "kind": _S, "csm": _S},
    "nps_responses": {
        "account_id": _S,
        "responded_on": _D,
        "score": _I,
        "survey": _S,
        "comment": _S,
    },
    "onboarding_sessions": {
        "account_id": _S,
        "user_id": _S,
        "session_no": _I,
        "status": _S,
        "held_on": _D,
    },
    "cs_costs": {"month": _D, "amount": _I},
}


def _frame(rows: list[dict[str, Any]], table: str) -> pl.DataFrame:
    """The rows as a frame; the table's columns (no rows) when there are none."""
    if not rows:
        return pl.DataFrame(schema=_SCHEMAS[table])
    if table == "accounts":
        return pl.DataFrame(rows, schema_overrides={"acquisition_cost": pl.Int64})
    return pl.DataFrame(rows)


@dataclass
class _Account:
    """One account's draws that several tables share (its spell, plan, health and reactivation)."""

    acc: str
    csm: str
    industry: str
    health: float  # latent engagement: drives usage, NPS, churn
    acq: int  # month index of the first active month
    start: dt.date
    annual: bool
    tier: str
    mrr: int
    churn_idx: int | None = None  # first inactive month of the first spell
    last_active: int | None = None
    stop_day: dt.date | None = None
    back: int | None = None  # month index of a reactivation


class _Generator:
    """The generator's state: the random stream, the period, the tables written so far.

    Each method writes one kind of row for one account; :meth:`run` calls them in a fixed order,
    so the random draws (and the files) are the same for the same arguments.
    """

    def __init__(self, seed: int, accounts: int, months: int, end: MonthLike) -> None:
        self.rng = np.random.default_rng(seed)
        end_m = Month.parse(end)
        self.accounts, self.months = accounts, months
        self.e_idx = end_m.index
        self.s_idx = self.e_idx - months + 1
        self.end_day = end_m.last_day
        self.t = _Tables()
        self.sub_no = 0
        self.used_names: set[str] = set()
        self.n_churn_rows = 0

    def run(self) -> dict[str, pl.DataFrame]:
        for i in range(self.accounts):
            a = self._account(i)
            self._lifetime(a)
            self._base_lines(a)
            self._addons(a)
            self._reactivation(a)
            self._cancellations(a)
            self._usage(a)
            self._touchpoints(a)
            self._nps(a)
            self._onboarding(a)
        _latest_month_moves(self.t, self.e_idx, self.add_line)
        for m in range(self.s_idx, self.e_idx + 1):
            amount = 3_000_000 + int(self.rng.integers(-20, 21)) * 10_000
            self.t.cs_costs.append({"month": Month(m).first_day, "amount": amount})
        return _frames(self.t)

    def add_line(self, acc, product, plan, start, stop, mrr, interval) -> None:  # noqa: ANN001
        self.sub_no += 1
        self.t.subscriptions.append(
            {
                "subscription_id": f"SUB-{self.sub_no:05d}",
                "account_id": acc,
                "product": product,
                "plan": plan,
                "start_date": start,
                "end_date": stop,
                "mrr": int(mrr),
                "billing_interval_months": interval,
            }
        )

    def _name(self) -> str:
        rng = self.rng
        while True:
            name = f"株式会社{rng.choice(NAME_HEAD)}{rng.choice(NAME_TAIL)}"
            if name not in self.used_names:
                break
            name = f"{name}{len(self.used_names) % 9 + 1}"
            if name not in self.used_names:
                break
        self.used_names.add(name)
        return name

    def _account(self, i: int) -> _Account:
        """The accounts row and the account's plan: acquisition month, contract, tier, MRR."""
        rng = self.rng
        acc = f"ACC-{i + 1:04d}"
        name = self._name()
        industry = str(rng.choice(INDUSTRIES, p=INDUSTRY_WEIGHTS))
        csm = CSMS[i % len(CSMS)]
        health = float(rng.normal())
        # acquisition: an early wave, then steady monthly sales
        if rng.random() < 0.35:
            acq = self.s_idx + int(rng.integers(0, 6))
        else:
            acq = self.s_idx + int(rng.integers(0, self.months - 1))
        if i >= self.accounts - LATEST_NEW and self.accounts > 2 * LATEST_NEW:
            acq = self.e_idx  # the latest month has new business (the demo's month shows it all)
        start = Month(acq).first_day.replace(day=int(rng.choice([1, 1, 1, 5, 10, 15, 20])))
        annual = bool(rng.random() < 0.55)
        tier = "Pro" if rng.random() < 0.25 else "Standard"
        mrr = int(rng.choice(TIER_MRR[tier]))
        acq_cost = None if rng.random() < 0.1 else int(rng.integers(30, 121)) * 10_000
        self.t.accounts.append(
            {
                "account_id": acc,
                "account_name": name,
                "industry": industry,
                "csm": csm,
                "acquisition_cost": acq_cost,
            }
        )
        return _Account(acc, csm, industry, health, acq, start, annual, tier, mrr)

    def _lifetime(self, a: _Account) -> None:
        """The first spell's length in months: churn at a renewal (annual) or any month."""
        risk = 1.0 * np.exp(-0.7 * a.health) * (1.5 if a.industry in ("小売", "教育") else 1.0)
        if a.annual:
            life = None
            for k in range(1, 10):
                if self.rng.random() < min(0.9, 0.088 * risk):
                    life = 12 * k
                    break
        else:
            life = int(self.rng.geometric(min(0.5, 0.0075 * risk)))
        churn_idx = a.acq + life if life is not None else None  # first inactive month
        if churn_idx is not None and churn_idx > self.e_idx:
            churn_idx = None
        a.churn_idx = churn_idx
        a.last_active = (churn_idx - 1) if churn_idx is not None else None
        a.stop_day = Month(a.last_active).last_day if a.last_active is not None else None

    def _tier_change(self, a: _Account) -> tuple[int | None, str, int]:
        """The month of a tier change (None: none) and the new tier and MRR."""
        rng = self.rng
        change_at = None
        if rng.random() < 0.30:
            span = (a.last_active if a.last_active is not None else self.e_idx) - a.acq
            if span >= 4:
                change_at = a.acq + int(rng.integers(2, span))
        new_tier, new_mrr = a.tier, a.mrr
        if change_at is not None:
            if a.tier == "Standard" or rng.random() < 0.6:
                new_tier = "Pro"
                new_mrr = int(rng.choice(TIER_MRR["Pro"]))
            else:
                new_tier = "Standard"
                new_mrr = int(rng.choice(TIER_MRR["Standard"]))
            if new_mrr == a.mrr:
                new_mrr = a.mrr + 30_000
        return change_at, new_tier, new_mrr

    def _base_lines(self, a: _Account) -> None:
        """Base plan lines: annual terms, or one open monthly line; at most one tier change."""
        change_at, new_tier, new_mrr = self._tier_change(a)
        if a.annual:
            self._annual_terms(a, change_at, new_tier, new_mrr)
        elif change_at is not None:
            cut = Month(change_at - 1).last_day
            self.add_line(a.acc, BASE, a.tier, a.start, cut, a.mrr, 1)
            self.add_line(a.acc, BASE, new_tier, cut + dt.timedelta(days=1), a.stop_day, new_mrr, 1)
        else:
            self.add_line(a.acc, BASE, a.tier, a.start, a.stop_day, a.mrr, 1)

    def _annual_terms(
        self, a: _Account, change_at: int | None, new_tier: str, new_mrr: int
    ) -> None:
        """One line per 12-month term until the spell ends or the data does; a tier change ends
        the running term at a month end and starts the new tier."""
        term_start, cur_tier, cur_mrr = a.start, a.tier, a.mrr
        stop_day = a.stop_day
        while True:
            term_end = _plus_months(term_start, 12) - dt.timedelta(days=1)
            if (
                change_at is not None
                and Month.parse(term_start).index <= change_at <= Month.parse(term_end).index
            ):
                cut = Month(change_at - 1).last_day
                if cut >= term_start:
                    self.add_line(a.acc, BASE, cur_tier, term_start, cut, cur_mrr, 12)
                cur_tier, cur_mrr = new_tier, new_mrr
                term_start = cut + dt.timedelta(days=1)
                change_at = None
                continue
            if stop_day is not None and term_end >= stop_day:
                end = stop_day if stop_day < term_end else term_end
                self.add_line(a.acc, BASE, cur_tier, term_start, end, cur_mrr, 12)
                break
            self.add_line(a.acc, BASE, cur_tier, term_start, term_end, cur_mrr, 12)
            if term_end >= self.end_day:
                break
            term_start = term_end + dt.timedelta(days=1)

    def _life_end_of(self, a: _Account) -> int:
        return a.last_active if a.last_active is not None else self.e_idx

    def _addons(self, a: _Account) -> None:
        """Add-ons: cross-sell during the life; some dropped (contraction) or swapped; a rare
        free trial line (never makes an account active)."""
        rng, life_end = self.rng, self._life_end_of(a)
        for product, price in ADDONS.items():
            if rng.random() < 0.28 + 0.1 * (a.health > 0.5) and life_end - a.acq >= 3:
                a0 = a.acq + int(rng.integers(1, life_end - a.acq))
                a_start = Month(a0).first_day.replace(day=int(rng.choice([1, 10, 20])))
                a_stop = a.stop_day
                if rng.random() < 0.2 and life_end - a0 >= 3:
                    drop = a0 + int(rng.integers(1, life_end - a0))
                    a_stop = Month(drop).last_day
                    if product == "録画オプション" and rng.random() < 0.5:
                        # swap: recording replaced by API integration the next month
                        swap_start = a_stop + dt.timedelta(days=1)
                        api = ADDONS["API連携"]
                        self.add_line(a.acc, "API連携", None, swap_start, a.stop_day, api, 1)
                self.add_line(a.acc, product, None, a_start, a_stop, price, 1)
        if rng.random() < 0.02:
            self.add_line(a.acc, "トライアル", None, a.start, None, 0, 1)

    def _reactivation(self, a: _Account) -> None:
        """A few churned accounts come back on a monthly plan."""
        if a.churn_idx is not None and self.rng.random() < 0.22:
            back = a.churn_idx + int(self.rng.integers(3, 10))
            if back <= self.e_idx - 1:
                mrr = TIER_MRR["Standard"][0]
                self.add_line(a.acc, BASE, "Standard", Month(back).first_day, None, mrr, 1)
                a.back = back

    def _cancellations(self, a: _Account) -> None:
        """One row per churn, a few unrecorded; 解約予定 notices of annual accounts."""
        rng = self.rng
        if a.churn_idx is not None and rng.random() < 0.95:
            assert a.stop_day is not None
            when = a.stop_day - dt.timedelta(days=int(rng.integers(7, 75)))
            # a low-discrepancy split keeps the campaign share at ~74% even for few events
            self.n_churn_rows += 1
            n = self.n_churn_rows
            campaign = int(n * 0.79) > int((n - 1) * 0.79)
            reason = str(rng.choice(REASONS_CAMPAIGN if campaign else REASONS_OTHER))
            note = "更新時に解約" if a.annual else ""
            self.t.cancellations.append(
                {"account_id": a.acc, "cancelled_on": when, "reason": reason, "note": note}
            )
        active_at_end = (a.churn_idx is None) or (a.back is not None)
        if active_at_end and a.annual and a.churn_idx is None and rng.random() < 0.04:
            self.t.cancellations.append(
                {
                    "account_id": a.acc,
                    "cancelled_on": self.end_day - dt.timedelta(days=int(rng.integers(3, 40))),
                    "reason": "施策終了のため次回更新なし",
                    "note": "解約予定",
                }
            )

    def _usage(self, a: _Account) -> None:
        """Weekly usage while active; it declines in the 12 weeks before churn."""
        rng, end_day = self.rng, self.end_day
        active_until = Month(a.last_active).last_day if a.last_active is not None else end_day
        spells = [(a.start, active_until)]
        if a.back is not None:
            spells.append((Month(a.back).first_day, end_day))
        size = a.mrr / 100_000
        silent = rng.random() < 0.06 and a.churn_idx is None  # active, not logging in lately
        for s0, s1 in spells:
            wk = s0 - dt.timedelta(days=s0.weekday())
            while wk <= s1:
                churning = a.churn_idx is not None and s1 == active_until
                weeks_left = (active_until - wk).days / 7 if churning else 99
                decline = min(1.0, max(0.1, weeks_left / 12)) if weeks_left < 12 else 1.0
                lam = max(0.2, (6 + 3 * a.health) * (0.7 + 0.6 * size)) * decline
                logins = int(rng.poisson(lam))
                if silent and (end_day - wk).days < 80:
                    logins = 0
                deliveries = int(rng.poisson(max(0.1, (2 + a.health) * decline)))
                rate = float(np.clip(rng.beta(2 + max(a.health, -1.5) + 1.5, 6), 0, 1)) * decline
                if wk >= a.start - dt.timedelta(days=6):
                    self.t.usage_weekly.append(
                        {
                            "account_id": a.acc,
                            "week_start": wk,
                            "logins": logins,
                            "deliveries": deliveries,
                            "outcome_rate": round(rate, 3),
                        }
                    )
                wk += dt.timedelta(days=7)

    def _touchpoints(self, a: _Account) -> None:
        """QBR each quarter for larger accounts; meetings, email, support and events."""
        rng = self.rng
        kinds, p = ["meeting", "email", "support", "event"], [0.35, 0.35, 0.2, 0.1]
        for m in range(a.acq, self._life_end_of(a) + 1):
            for _ in range(int(rng.poisson(0.9 + 0.4 * (a.health > 0)))):
                day = Month(m).first_day.replace(day=int(rng.integers(1, 29)))
                kind = str(rng.choice(kinds, p=p))
                self.t.touchpoints.append(
                    {"account_id": a.acc, "occurred_on": day, "kind": kind, "csm": a.csm}
                )
            if (m - a.acq) % 3 == 2 and a.mrr >= 80_000:
                day = Month(m).first_day.replace(day=25)
                self.t.touchpoints.append(
                    {"account_id": a.acc, "occurred_on": day, "kind": "qbr", "csm": a.csm}
                )

    def _nps_row(self, a: _Account, m: int, day: int | None, mean: float, survey: str) -> None:
        """One response in month ``m`` (on ``day``, or a day drawn after the score)."""
        sd = 1.6 if survey == "relationship" else 1.5
        score = int(np.clip(round(self.rng.normal(mean, sd)), 0, 10))
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        if day is None:
            day = int(self.rng.integers(5, 25))
        self.t.nps_responses.append(
            {
                "account_id": a.acc,
                "responded_on": Month(m).first_day.replace(day=day),
                "score": score,
                "survey": survey,
                "comment": str(self.rng.choice(NPS_COMMENTS[group])),
            }
        )

    def _nps(self, a: _Account) -> None:
        """Relationship survey in January and July; onboarding survey after 3 months."""
        rng = self.rng
        for m in range(a.acq, self._life_end_of(a) + 1):
            if m % 12 + 1 in (1, 7) and rng.random() < 0.6:
                for _ in range(int(rng.integers(1, 3))):
                    self._nps_row(a, m, None, 7.3 + 1.3 * a.health, "relationship")
            if m == a.acq + 3 and rng.random() < 0.5:
                self._nps_row(a, m, 12, 7.8 + a.health, "onboarding")

    def _onboarding(self, a: _Account) -> None:
        """12 weekly sessions per new user; weaker accounts stall."""
        rng, end_day = self.rng, self.end_day
        if a.acq < self.s_idx + 6:
            return
        for u in range(int(rng.integers(1, 4))):
            user = f"{a.acc}-U{u + 1}"
            reach = 12 if rng.random() < 0.55 + 0.15 * a.health else int(rng.integers(2, 12))
            for k in range(1, 13):
                held = a.start + dt.timedelta(days=7 * (k - 1) + int(rng.integers(0, 3)))
                if held > end_day:
                    status, held_on = "scheduled", held
                elif k <= reach:
                    # a missed session is made up a few days later (same session number)
                    late = 0 if rng.random() < 0.97 else 3
                    status, held_on = "done", held + dt.timedelta(days=late)
                else:
                    status, held_on = ("cancelled", None) if k > reach + 1 else ("missed", held)
                self.t.onboarding_sessions.append(
                    {
                        "account_id": a.acc,
                        "user_id": user,
                        "session_no": k,
                        "status": status,
                        "held_on": held_on,
                    }
                )


def _frames(t: _Tables) -> dict[str, pl.DataFrame]:
    """The tables as frames, sorted as written (response IDs numbered in that order)."""
    frames = {
        "accounts": _frame(t.accounts, "accounts").sort("account_id"),
        "subscriptions": _frame(t.subscriptions, "subscriptions").sort("subscription_id"),
        "cancellations": _frame(t.cancellations, "cancellations").sort(
            "account_id", "cancelled_on"
        ),
        "usage_weekly": _frame(t.usage_weekly, "usage_weekly").sort("account_id", "week_start"),
        "touchpoints": _frame(t.touchpoints, "touchpoints").sort(
            "account_id", "occurred_on", "kind"
        ),
        "nps_responses": _frame(t.nps_responses, "nps_responses").sort(
            "account_id", "responded_on", "survey"
        ),
        "onboarding_sessions": _frame(t.onboarding_sessions, "onboarding_sessions").sort(
            "user_id", "session_no"
        ),
        "cs_costs": _frame(t.cs_costs, "cs_costs").sort("month"),
    }
    frames["nps_responses"] = (
        frames["nps_responses"]
        .with_row_index("n", offset=1)
        .select(
            pl.format("NPS-{}", pl.col("n").cast(pl.String).str.zfill(5)).alias("response_id"),
            pl.exclude("n"),
        )
    )
    return frames


def generate_tables(
    seed: int = 24, accounts: int = 150, months: int = 40, end: MonthLike = "2026-09"
) -> dict[str, pl.DataFrame]:
    """Generate all 8 tables in memory (see the module docstring)."""
    return _Generator(seed, accounts, months, end).run()


MANIFEST = ".cs-metrics-sample.json"
_TMP_PREFIX = ".cs-metrics-sample-tmp-"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _own_files(out: Path) -> dict[str, str]:
    """Files of ``out`` that a previous run wrote and nobody changed since: name -> sha256 as
    recorded in its manifest (an entry whose file is gone or differs is not ours any more)."""
    try:
        recorded = json.loads((out / MANIFEST).read_text("utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    own = {}
    for name, digest in recorded.items() if isinstance(recorded, dict) else ():
        path = out / str(name)
        if Path(str(name)).name == name and path.is_file() and _sha256(path) == digest:
            own[name] = digest
    return own


def foreign_entries(out: Path) -> list[str]:
    """Names in ``out`` that this program did not write (or that were changed since): what
    ``generate_sample`` must never overwrite or delete without ``force``."""
    if not out.is_dir():
        return []
    own = set(_own_files(out)) | {MANIFEST}
    return sorted(f.name for f in out.iterdir() if f.name not in own)


def _holds_cwd(out: Path) -> bool:
    """Whether ``out`` is the current folder or one of its parents."""
    try:
        here = Path.cwd().resolve()
    except OSError:
        return False
    return out.is_dir() and (here == out.resolve() or out.resolve() in here.parents)


def _backup_name(path: Path) -> Path:
    for k in range(1, 1000):
        candidate = path.with_name(f"{path.name}.orig" + (f"{k}" if k > 1 else ""))
        if not candidate.exists():
            return candidate
    raise OutputError("output_unwritable", path=str(path), detail="no free backup name")


def _merge_into(tmp: Path, out: Path) -> None:
    """``--force`` into a folder with other files: each file moved in by itself; a file of the
    same name that this program did not write is kept as ``<name>.orig`` first; files of an
    earlier sample that this run does not write again are removed; nothing else is touched."""
    own = _own_files(out)
    new = {f.name for f in tmp.iterdir()}
    for name in sorted(new - {MANIFEST}):
        target = out / name
        same = target.is_file() and _sha256(target) == _sha256(tmp / name)
        if target.exists() and name not in own and not same:  # identical bytes lose nothing
            os.replace(target, _backup_name(target))
        os.replace(tmp / name, target)
    for name in sorted(set(own) - new):
        (out / name).unlink(missing_ok=True)
    os.replace(tmp / MANIFEST, out / MANIFEST)


def generate_sample(
    out_dir: str | Path,
    seed: int = 24,
    accounts: int = 150,
    months: int = 40,
    end: MonthLike = "2026-09",
    force: bool = False,
) -> dict[str, Path]:
    """Write the sample as one UTF-8 CSV per table into ``out_dir``.

    Nothing the program did not create is ever overwritten or deleted: a manifest
    (``.cs-metrics-sample.json``, file -> sha256) records what a run wrote. ``out_dir`` may be
    new, empty, or hold only an earlier sample's unchanged files (then it is replaced as a whole,
    atomically). A folder with any other file is refused (``OutputError`` ``output_not_empty``)
    unless ``force``: then the sample's files are moved in one by one, a file of the same name
    that the program did not write is kept as ``<name>.orig`` (unless its bytes are the same),
    and every other file stays.

    Raises
    ------
    OutputError
        ``output_not_empty`` (a folder with files the program did not write, no ``force``) or
        ``output_unwritable`` (``out_dir`` is a file, or cannot be written).
    """
    out = Path(os.path.abspath(out_dir))  # "." and ".." have a name and a parent then
    if out.exists() and not out.is_dir():
        raise OutputError("output_unwritable", path=str(out), detail="not a folder")
    foreign = foreign_entries(out)
    if foreign and not force:
        shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
        raise OutputError("output_not_empty", path=str(out), names=shown)
    frames = generate_tables(seed=seed, accounts=accounts, months=months, end=end)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp_dirs(out.parent, f".{out.name}{_TMP_PREFIX}")
    tmp = make_owned_temp(out.parent, f".{out.name}{_TMP_PREFIX}")
    try:
        written, digests = {}, {}
        for name, df in frames.items():
            if df.height == 0:  # a tiny sample may have no row of an optional table: no file
                continue
            path = tmp / f"{name}.csv"
            df.write_csv(path, float_precision=3, date_format="%Y-%m-%d")
            written[name] = out / path.name
            digests[path.name] = _sha256(path)
        manifest = {"generator": "cs-metrics sample", "files": digests}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        (tmp / OWNER).unlink(missing_ok=True)
        if foreign or _holds_cwd(out):  # the folder itself stays (a shell may be in it)
            _merge_into(tmp, out)
        elif out.is_dir() and not any(out.iterdir()):
            publish_new_dir(tmp, out)
        else:  # new, or only our own unchanged files: one atomic swap
            replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written
