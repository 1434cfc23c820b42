"""The one ja/en catalogue of visible words: every label a person reads in a report, a CLI table,
a CSV header or ``index.html`` comes from here (messages and ``*_reason`` texts are in
:mod:`cs_metrics.messages`).

Keys are ``"<domain>.<code>"``: ``kpi.mrr_end``, ``rule.no_login``, ``band.green``,
``measure.logins``, ``movement.churn``, ``source.upsell``, ``phase.renewal_due``,
``column.account_id``, ``word.more`` ... A code the catalogue does not know (a health measure the
user named, a reason category of their own) is shown as it is: it is the user's word.

:func:`purity_problems` is the checker behind the language tests: it finds identifiers
(``no_login``, ``cross_sell``) and words of the other language in a visible text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "CATALOGUE",
    "KPI_LABELS",
    "RULE_LABELS",
    "band_label",
    "column_label",
    "label",
    "measure_label",
    "purity_problems",
    "rule_label",
    "rule_params",
]

Entry = dict[str, str]

KPI_LABELS: dict[str, Entry] = {
    "as_of": {"ja": "対象月", "en": "Month"},
    "mrr_start": {"ja": "期首MRR", "en": "MRR at start"},
    "mrr_end": {"ja": "期末MRR", "en": "MRR at end"},
    "mrr_new": {"ja": "新規MRR", "en": "New MRR"},
    "mrr_reactivation": {"ja": "復活MRR", "en": "Reactivation MRR"},
    "mrr_upsell": {"ja": "アップセルMRR", "en": "Upsell MRR"},
    "mrr_cross_sell": {"ja": "クロスセルMRR", "en": "Cross-sell MRR"},
    "mrr_contraction": {"ja": "縮小MRR", "en": "Contraction MRR"},
    "mrr_churn": {"ja": "解約MRR", "en": "Churned MRR"},
    "accounts_start": {"ja": "期首顧客数", "en": "Accounts at start"},
    "accounts_end": {"ja": "期末顧客数", "en": "Accounts at end"},
    "accounts_new": {"ja": "新規顧客数", "en": "New accounts"},
    "accounts_reactivated": {"ja": "復活顧客数", "en": "Reactivated accounts"},
    "accounts_churned": {"ja": "解約顧客数", "en": "Churned accounts"},
    "logo_churn_rate": {"ja": "ロゴチャーン率（月次）", "en": "Logo churn (month)"},
    "grr": {"ja": "GRR（月次）", "en": "GRR (month)"},
    "nrr": {"ja": "NRR（月次）", "en": "NRR (month)"},
    "nrr_trailing_12m": {"ja": "NRR（直近12か月）", "en": "NRR (trailing 12 months)"},
    "grr_trailing_12m": {"ja": "GRR（直近12か月）", "en": "GRR (trailing 12 months)"},
    "churn_within": {"ja": "{h}か月以内解約率", "en": "Churn within {h} months"},
    "observed": {"ja": "実績", "en": "observed"},
    "kaplan_meier": {"ja": "カプラン・マイヤー推定", "en": "Kaplan-Meier"},
    "eligible": {"ja": "対象顧客数", "en": "eligible accounts"},
    "churned": {"ja": "解約数", "en": "churned"},
    "ci95": {"ja": "95%信頼区間", "en": "95% CI"},
    "undefined": {"ja": "算出不可", "en": "undefined"},
    "nps": {"ja": "NPS", "en": "NPS"},
    "ltv": {"ja": "LTV", "en": "LTV"},
    "simple_ltv": {"ja": "シンプルLTV", "en": "Simple LTV"},
    "predictive_ltv": {"ja": "予測LTV（新規顧客）", "en": "Predictive LTV (new account)"},
    "ltv_cac": {"ja": "LTV:CAC", "en": "LTV:CAC"},
    "cac_payback_months": {"ja": "CAC回収月数", "en": "CAC payback (months)"},
    "arpa": {"ja": "ARPA（顧客あたり月額）", "en": "ARPA (per account, monthly)"},
    "accounts_at_risk": {"ja": "リスク顧客数", "en": "Accounts at risk"},
    "mrr_at_risk": {"ja": "リスクMRR", "en": "MRR at risk"},
}

# Risk and opportunity rules in the words a CS lead uses; {...} is filled from [risk]
# (:func:`rule_params`). ``short`` heads the columns of the CSM x signal table.
RULE_LABELS: dict[str, dict[str, Entry]] = {
    "cancellation_notice": {
        "long": {"ja": "解約予定の連絡あり", "en": "cancellation notice received"},
        "short": {"ja": "解約予定", "en": "Notice"},
    },
    "renewal_unconfirmed": {
        "long": {
            "ja": "契約終了・更新未確認",
            "en": "contract ended, renewal unconfirmed",
        },
        "short": {"ja": "更新未確認", "en": "Unrenewed"},
    },
    "no_login": {
        "long": {
            "ja": "{no_login_days}日超ログインなし",
            "en": "no login for over {no_login_days} days",
        },
        "short": {"ja": "ログインなし", "en": "No login"},
    },
    "health_red": {
        "long": {"ja": "ヘルススコア危険", "en": "health score at risk"},
        "short": {"ja": "ヘルス危険", "en": "Health"},
    },
    "usage_drop": {
        "long": {
            "ja": "ログインが平常時から{drop_pct}%超減少",
            "en": "logins down over {drop_pct}% on own baseline",
        },
        "short": {"ja": "利用減少", "en": "Usage drop"},
    },
    "nps_detractor": {
        "long": {
            "ja": "直近{nps_recent_days}日にNPS批判者（0〜6点）",
            "en": "NPS detractor (0-6) in the last {nps_recent_days} days",
        },
        "short": {"ja": "NPS批判", "en": "Detractor"},
    },
    "onboarding_stalled": {
        "long": {"ja": "オンボーディング停滞", "en": "onboarding stalled"},
        "short": {"ja": "導入停滞", "en": "Onboarding"},
    },
    "renewal_due": {
        "long": {
            "ja": "{renewal_due_months}か月以内に契約更新",
            "en": "renewal within {renewal_due_months} months",
        },
        "short": {"ja": "更新間近", "en": "Renewal"},
    },
    "no_touchpoint": {
        "long": {
            "ja": "定期接点の間隔超過（セグメント別日数）",
            "en": "no touchpoint within the segment's rhythm",
        },
        "short": {"ja": "接点不足", "en": "No touch"},
    },
    "expansion_candidate": {
        "long": {
            "ja": "拡大候補（ヘルス良好・ログイン{rise_pct}%以上増）",
            "en": "expansion candidate (healthy, logins up {rise_pct}%+)",
        },
        "short": {"ja": "拡大候補", "en": "Expansion"},
    },
}

CATALOGUE: dict[str, dict[str, Entry]] = {
    "kpi": KPI_LABELS,
    "band": {
        "green": {"ja": "良好", "en": "Healthy"},
        "yellow": {"ja": "注意", "en": "Caution"},
        "red": {"ja": "危険", "en": "At risk"},
        "none": {"ja": "データなし", "en": "No data"},
    },
    "measure": {
        "deliveries": {"ja": "配信数", "en": "Deliveries"},
        "logins": {"ja": "ログイン数", "en": "Logins"},
        "touchpoints": {"ja": "接点数", "en": "Touchpoints"},
        "outcome_rate": {"ja": "成果率", "en": "Outcome rate"},
    },
    "movement": {
        "start": {"ja": "期首", "en": "Start"},
        "end": {"ja": "期末", "en": "End"},
        "new": {"ja": "新規", "en": "New"},
        "reactivation": {"ja": "復活", "en": "Reactivation"},
        "upsell": {"ja": "アップセル", "en": "Upsell"},
        "cross_sell": {"ja": "クロスセル", "en": "Cross-sell"},
        "contraction": {"ja": "縮小", "en": "Contraction"},
        "churn": {"ja": "解約", "en": "Churn"},
    },
    "source": {
        "base": {"ja": "基本契約", "en": "Base"},
        "upsell": {"ja": "アップセル", "en": "Upsell"},
        "cross_sell": {"ja": "クロスセル", "en": "Cross-sell"},
    },
    "phase": {
        "onboarding": {"ja": "導入期", "en": "Onboarding"},
        "adoption": {"ja": "定着期", "en": "Adoption"},
        "mature": {"ja": "成熟期", "en": "Mature"},
        "renewal_due": {"ja": "更新前", "en": "Renewal due"},
    },
    "tier": {
        "high": {"ja": "高", "en": "High"},
        "mid": {"ja": "中", "en": "Mid"},
        "low": {"ja": "低", "en": "Low"},
    },
    "kind": {
        "risk": {"ja": "リスク", "en": "Risk"},
        "opportunity": {"ja": "機会", "en": "Opportunity"},
    },
    "status": {
        "ok": {"ja": "判定済み", "en": "evaluated"},
        "unavailable": {"ja": "判定不可", "en": "unavailable"},
        "disabled": {"ja": "無効", "en": "disabled"},
    },
    "model": {
        "sbg": {"ja": "継続率の混合モデル", "en": "sBG model"},
        "geometric": {"ja": "一定解約率モデル", "en": "constant-churn model"},
        "all": {"ja": "全体", "en": "All accounts"},
        "pooled": {"ja": "全体で推定", "en": "pooled fit"},
        "segment": {"ja": "グループ別に推定", "en": "per-group fit"},
    },
    "onboarding": {
        "title": {"ja": "オンボーディング", "en": "Onboarding"},
        "users": {"ja": "ユーザー", "en": "users"},
        "graduated": {"ja": "卒業", "en": "graduated"},
        "stalled": {"ja": "停滞", "en": "stalled"},
        "session": {"ja": "第{n}回", "en": "#{n}"},
    },
    "word": {
        "more": {"ja": "… ほか{n}件", "en": "… {n} more"},
        "generated": {"ja": "作成 {when}", "en": "generated {when}"},
        "unset": {"ja": "（未設定）", "en": "(not set)"},
        "unknown": {"ja": "不明", "en": "unknown"},
        "churned": {"ja": "解約済み", "en": "churned"},
        "target": {"ja": "目標", "en": "Target"},
        "vs_target": {"ja": "目標との差", "en": "vs target"},
        "mom": {"ja": "前月比", "en": "vs last month"},
        "yoy": {"ja": "前年同月比", "en": "vs last year"},
        "accounts_n": {"ja": "{n}社", "en": "{n} account(s)"},
        "none": {"ja": "なし", "en": "none"},
        "all": {"ja": "全体", "en": "All"},
        "health_note": {
            "ja": "ヘルス{band}（{score}点）の内訳: {parts}",
            "en": "health {band} ({score}) from: {parts}",
        },
    },
    # progress lines of `cs-metrics report` (stderr)
    "progress": {
        "validating": {"ja": "データを検証しています", "en": "validating"},
        "executing": {"ja": "{name} を実行しています", "en": "executing {name}"},
        "exporting": {"ja": "HTML を書き出しています", "en": "exporting HTML"},
        "printing": {"ja": "PDF を作成しています", "en": "printing the PDF"},
        "backfill": {"ja": "{title}", "en": "{title}"},
        "unit": {"ja": "か月", "en": "month"},
    },
    # CSV and table headers
    "column": {
        "account_id": {"ja": "顧客ID", "en": "Account ID"},
        "account_name": {"ja": "顧客名", "en": "Account"},
        "industry": {"ja": "業種", "en": "Industry"},
        "csm": {"ja": "担当CSM", "en": "CSM"},
        "segment": {"ja": "セグメント", "en": "Segment"},
        "mrr": {"ja": "MRR", "en": "MRR"},
        "month": {"ja": "月", "en": "Month"},
        "rules": {"ja": "シグナル", "en": "Signals"},
        "rule": {"ja": "シグナル", "en": "Signal"},
        "kind": {"ja": "種別", "en": "Kind"},
        "evidence": {"ja": "根拠", "en": "Evidence"},
        "value": {"ja": "値", "en": "Value"},
        "unit": {"ja": "単位", "en": "Unit"},
        "key": {"ja": "項目コード", "en": "Key"},
        "label": {"ja": "項目", "en": "Item"},
        "severity": {"ja": "重大度", "en": "Severity"},
        "priority": {"ja": "優先度", "en": "Priority"},
        "rank": {"ja": "順位", "en": "Rank"},
        "new_signals": {"ja": "今月の新規シグナル", "en": "New this month"},
        "next_action": {"ja": "推奨アクション", "en": "Suggested next action"},
        "score": {"ja": "ヘルススコア", "en": "Health score"},
        "band": {"ja": "ヘルス", "en": "Health"},
        "health_note": {"ja": "ヘルスとの関係", "en": "Health vs risk"},
        "csm_mrr_at_risk": {"ja": "担当のリスクMRR合計", "en": "CSM's MRR at risk"},
        "churn_date": {"ja": "解約日（最終利用月末）", "en": "Churn date (last active day)"},
        "churn_month": {"ja": "解約月", "en": "Churn month"},
        "first_month": {"ja": "初回契約月", "en": "First month"},
        "lifetime_months": {"ja": "継続月数", "en": "Months active"},
        "lost_mrr": {"ja": "失ったMRR", "en": "Lost MRR"},
        "reason": {"ja": "解約理由（原文）", "en": "Reason (as given)"},
        "reason_category": {"ja": "解約理由", "en": "Reason"},
        "cancelled_on": {"ja": "解約連絡日", "en": "Notice date"},
        "accounts_at_risk": {"ja": "リスク顧客数", "en": "Accounts at risk"},
        "mrr_at_risk": {"ja": "リスクMRR", "en": "MRR at risk"},
        "accounts_upsell": {"ja": "アップセル顧客数", "en": "Upsell accounts"},
        "accounts_cross_sell": {"ja": "クロスセル顧客数", "en": "Cross-sell accounts"},
        "accounts_contraction": {"ja": "縮小顧客数", "en": "Contraction accounts"},
    },
}


def _lookup(key: str) -> Entry | None:
    domain, _, code = key.partition(".")
    if not code:
        return KPI_LABELS.get(key)
    if domain == "rule":
        return RULE_LABELS.get(code, {}).get("long")
    return CATALOGUE.get(domain, {}).get(code)


def label(key: str, lang: str = "ja", **params: Any) -> str:
    """The visible word for ``key`` in ``lang``; the code itself when the catalogue does not know
    it (a user's own measure or category name).

    >>> label("band.red"), label("band.red", "en"), label("kpi.mrr_end"), label("measure.mine")
    ('危険', 'At risk', '期末MRR', 'mine')
    """
    entry = _lookup(key)
    if entry is None:
        return key.partition(".")[2] or key
    text = entry.get(lang) or entry["en"]
    return text.format(**params) if params else text


def rule_params(risk_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers a rule's label quotes, from the ``[risk]`` configuration."""
    return {
        "no_login_days": risk_cfg["no_login_days"],
        "renewal_due_months": risk_cfg["renewal_due_months"],
        "drop_pct": round(100 * float(risk_cfg["usage_drop"])),
        "rise_pct": round(100 * float(risk_cfg["usage_rise"])),
        "nps_recent_days": risk_cfg["nps_recent_days"],
    }


def rule_label(
    rule: str, risk_cfg: Mapping[str, Any], lang: str = "ja", short: bool = False
) -> str:
    """A rule code in words (``no_login`` -> ``60日超ログインなし``, short ``ログインなし``);
    unknown codes as they are."""
    entry = RULE_LABELS.get(rule, {}).get("short" if short else "long")
    if entry is None:
        return rule
    text = entry.get(lang) or entry["en"]
    return text.format(**rule_params(risk_cfg)) if "{" in text else text


def band_label(band: str | None, lang: str = "ja") -> str:
    """``green`` -> ``良好`` / ``Healthy``; no band (no data) -> ``データなし``."""
    return label(f"band.{band or 'none'}", lang)


def measure_label(measure: str, lang: str = "ja") -> str:
    """A health measure's name (a measure the user added keeps its own name)."""
    return label(f"measure.{measure}", lang)


def column_label(column: str, lang: str = "ja") -> str:
    """A table or CSV header; KPI keys and movement names are understood too."""
    for key in (f"column.{column}", column, f"movement.{column}", f"source.{column}"):
        entry = _lookup(key)
        if entry is not None:
            return entry.get(lang) or entry["en"]
    return column


# ---- language purity ----------------------------------------------------------------------

# Latin words allowed in Japanese text: acronyms a Japanese business reader uses as they are,
# units and the segment letters. Anything else in Latin letters is English or an identifier.
JA_LATIN_ALLOWED = frozenset(
    """MRR ARR NRR GRR LTV CAC NPS KPI CSM CS ARPA ID CSV PDF HTML JSON KM CI S A B C QBR API
    SaaS pt n p Q FY vs x OK AUC""".split()
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f々〆〇]+")
_LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*")
_OPTION = re.compile(r"(?<![\w-])--?[a-z][a-z0-9-]*")
_IDENTIFIER = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


def purity_problems(text: str, lang: str, allowed: Iterable[str] = ()) -> list[str]:
    """Words in ``text`` that do not belong in ``lang`` output, each once, in order.

    - Everywhere: identifiers (``no_login``, ``cross_sell``: lower-case words joined by ``_``).
    - ``ja``: Latin-letter words other than the acronyms of :data:`JA_LATIN_ALLOWED`
      (``green``, ``churn``, ``source``, ``more``, ``generated``).
    - ``en``: Japanese characters (kana, kanji).

    Command-line options (``--dry-run``) are names, not words, and are skipped.

    ``allowed`` are values from the data or the user's configuration (account and CSM names,
    products, reason categories, measure names): they are the user's words and are removed
    from the text before checking.
    """
    for value in sorted({str(a) for a in allowed if a}, key=len, reverse=True):
        text = text.replace(value, " ")
    text = _OPTION.sub(" ", text)  # command-line options (--dry-run) are names, not words
    found = [m.group(0) for m in _IDENTIFIER.finditer(text)]
    if lang == "ja":
        found += [
            w for w in (m.group(0) for m in _LATIN.finditer(text)) if w not in JA_LATIN_ALLOWED
        ]
    else:
        found += [m.group(0) for m in _CJK.finditer(text)]
    return list(dict.fromkeys(found))
