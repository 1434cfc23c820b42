"""Formatting for people: money in the configured display unit, percentages, KPI labels (ja/en).

Shared by the command-line tables and the reports, so a number reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import Any

UNIT_DIVISORS = {"円": 1, "千円": 1_000, "万円": 10_000}

KPI_LABELS: dict[str, dict[str, str]] = {
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
}


# Risk and opportunity rules in words a CS lead uses ({...} filled from the [risk] config).
RULE_LABELS: dict[str, dict[str, str]] = {
    "no_login": {
        "ja": "{no_login_days}日超ログインなし",
        "en": "no login for over {no_login_days} days",
    },
    "cancellation_notice": {"ja": "解約予定の連絡あり", "en": "cancellation notice received"},
    "renewal_due": {
        "ja": "{renewal_due_months}か月以内に契約終了",
        "en": "contract ends within {renewal_due_months} months",
    },
    "renewal_unconfirmed": {"ja": "更新未確認", "en": "renewal unconfirmed"},
    "usage_drop": {
        "ja": "ログインが平常時から{drop_pct}%超減少",
        "en": "logins down over {drop_pct}% on own baseline",
    },
    "nps_detractor": {
        "ja": "直近{nps_recent_days}日にNPS批判者（0〜6点）",
        "en": "NPS detractor (0-6) in the last {nps_recent_days} days",
    },
    "health_red": {"ja": "ヘルススコア赤", "en": "health score red"},
    "onboarding_stalled": {"ja": "オンボーディング停滞", "en": "onboarding stalled"},
    "no_touchpoint": {
        "ja": "定期接点の間隔超過（セグメント別日数）",
        "en": "no touchpoint within the segment's rhythm",
    },
    "expansion_candidate": {
        "ja": "拡大候補（ヘルス緑・ログイン{rise_pct}%以上増）",
        "en": "expansion candidate (green, logins up {rise_pct}%+)",
    },
}


def rule_label(rule: str, risk_cfg: dict[str, Any], lang: str = "ja") -> str:
    """A rule code in words (``no_login`` -> ``60日超ログインなし``); unknown codes as they are."""
    text = RULE_LABELS.get(rule, {}).get(lang)
    if text is None:
        return rule
    params = {
        "no_login_days": risk_cfg.get("no_login_days"),
        "renewal_due_months": risk_cfg.get("renewal_due_months"),
        "drop_pct": round(100 * float(risk_cfg.get("usage_drop", 0))),
        "rise_pct": round(100 * float(risk_cfg.get("usage_rise", 0))),
        "nps_recent_days": risk_cfg.get("nps_recent_days"),
    }
    return text.format(**params)


def label(key: str, lang: str = "ja", **kw: Any) -> str:
    """The ja/en label of a KPI key (the key itself when unknown)."""
    text = KPI_LABELS.get(key, {}).get(lang) or KPI_LABELS.get(key, {}).get("en") or key
    return text.format(**kw) if kw else text


def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def fmt_money(v: Any, unit: str = "円", lang: str = "ja", decimals: int | None = None) -> str:
    """``1234567`` -> ``¥1,234,567`` (円), ``¥1,235千`` (千円), ``¥123.5万`` (万円)."""
    if is_missing(v):
        return "—"
    div = UNIT_DIVISORS.get(unit, 1)
    x = float(v) / div
    if decimals is None:
        decimals = 0 if div == 1 or abs(x) >= 100 else 1
    sign = "-" if x < 0 else ""
    body = f"{abs(x):,.{decimals}f}"
    suffix = "" if div == 1 else unit[0]
    return f"{sign}¥{body}{suffix}"


def fmt_pct(v: Any, decimals: int = 1, signed: bool = False) -> str:
    """``0.1234`` -> ``12.3%``; ``signed`` adds ``+`` (for changes, in percentage points)."""
    if is_missing(v):
        return "—"
    x = float(v) * 100
    return f"{x:+.{decimals}f}%" if signed else f"{x:.{decimals}f}%"


def fmt_pp(v: Any, decimals: int = 1) -> str:
    """A change of a rate in percentage points: ``0.012`` -> ``+1.2pt``."""
    if is_missing(v):
        return "—"
    return f"{float(v) * 100:+.{decimals}f}pt"


def fmt_int(v: Any) -> str:
    if is_missing(v):
        return "—"
    return f"{int(v):,}"


def fmt_rate_ci(v: Any, ci: Any, lang: str = "ja", decimals: int = 1) -> str:
    """``21.3%（95%: 13.0%〜30.2%）`` (ja) or ``21.3% (95%: 13.0% to 30.2%)``; ``—`` when missing."""
    if is_missing(v):
        return "—"
    text = fmt_pct(v, decimals)
    if not ci or any(is_missing(x) for x in ci):
        return text
    lo, hi = fmt_pct(ci[0], decimals), fmt_pct(ci[1], decimals)
    return f"{text}（95%: {lo}〜{hi}）" if lang == "ja" else f"{text} (95%: {lo} to {hi})"


def fmt_money_ci(v: Any, ci: Any, unit: str = "円", lang: str = "ja") -> str:
    """``¥8,023,697（95%: ¥6,472,417〜¥10,104,138）`` (ja); ``—`` when missing."""
    if is_missing(v):
        return "—"
    text = fmt_money(v, unit, lang)
    if not ci or any(is_missing(x) for x in ci):
        return text
    lo, hi = fmt_money(ci[0], unit, lang), fmt_money(ci[1], unit, lang)
    return f"{text}（95%: {lo}〜{hi}）" if lang == "ja" else f"{text} (95%: {lo} to {hi})"


def render_table(rows: list[tuple[str, str]], title: str | None = None) -> str:
    """Two-column text table aligned for terminals (East Asian wide characters count double)."""
    import unicodedata

    def width(s: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)

    w = max((width(k) for k, _ in rows), default=0)
    lines = [title] if title else []
    for k, v in rows:
        lines.append(f"{k}{' ' * (w - width(k))}  {v}")
    return "\n".join(lines)
