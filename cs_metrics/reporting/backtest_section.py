"""Report section: how well each risk signal and the health score predicted churn (SPEC §10).

In words a CS lead uses: "60日超ログインなしの顧客は3か月以内に 38.0% が解約（全体平均の 6.2 倍）".
A rule that flagged fewer than ``backtest.min_flagged`` account-months says so instead of a
rate; an unavailable or disabled rule says why. Every value from data is escaped.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cs_metrics.format import fmt_int, fmt_pct, rule_label
from cs_metrics.labels import band_label, measure_label
from cs_metrics.reporting.context import Report, SectionUnavailable, guarded
from cs_metrics.reporting.html import esc, notice, table

__all__ = ["backtest_section", "signal_sentence"]


def _x(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def _verdict(sig: dict[str, Any], lang: str) -> str:
    ci = sig.get("lift_ci")
    if not ci or sig.get("lift") is None:
        return ""
    if ci[0] > 1:
        return "予測力あり" if lang == "ja" else "predictive"
    if ci[1] < 1:
        return "該当するとむしろ少ない" if lang == "ja" else "less likely when flagged"
    return "偶然と区別できない" if lang == "ja" else "not distinguishable from chance"


def signal_sentence(
    sig: dict[str, Any], horizon: int, risk_cfg: dict[str, Any], min_flagged: int, lang: str
) -> str:
    """One signal of :func:`cs_metrics.metrics.backtest.backtest` as a sentence (plain text)."""
    ja = lang == "ja"
    name = rule_label(sig["signal"], risk_cfg, lang)
    if sig["flagged"] is None:
        return f"{name}: {sig['flagged_reason']}"
    if sig["flagged"] < min_flagged:
        return (
            f"{name}: 該当 {sig['flagged']} 件のみ（{min_flagged} 件未満）のため判断できません"
            if ja
            else f"{name}: only {sig['flagged']} flagged (fewer than {min_flagged}): too few to judge"
        )
    what = {"churn": ("解約", "churned"), "expansion": ("アップセル・クロスセル", "expanded")}
    word = what[sig["target"]][0 if ja else 1]
    lift = sig["lift"]
    ci = sig["lift_ci"]
    rel = (
        f"全体平均の {_x(lift)} 倍" + (f"、95%: {_x(ci[0])}〜{_x(ci[1])} 倍" if ci else "")
        if ja
        else f"{_x(lift)}x the average" + (f", 95%: {_x(ci[0])}-{_x(ci[1])}x" if ci else "")
    )
    if ja:
        return (
            f"{name}の顧客は{horizon}か月以内に {fmt_pct(sig['precision'])} が{word}"
            f"（{rel}; 該当 {fmt_int(sig['flagged'])} 件）"
        )
    return (
        f"Accounts flagged '{name}' {word} within {horizon} months in "
        f"{fmt_pct(sig['precision'])} of cases ({rel}; {fmt_int(sig['flagged'])} flagged)"
    )


def _signal_rows(s: dict[str, Any], r: Report, min_flagged: int) -> pl.DataFrame:
    rows = []
    for sig in s["signals"]:
        ok = sig["flagged"] is not None and sig["flagged"] >= min_flagged
        rows.append(
            {
                "signal": rule_label(sig["signal"], r.cfg["risk"], r.lang),
                "flagged": sig["flagged"],
                "rate": fmt_pct(sig["precision"]) if ok else "—",
                "lift": (
                    _x(sig["lift"])
                    + (
                        f" ({_x(sig['lift_ci'][0])}–{_x(sig['lift_ci'][1])})"
                        if sig["lift_ci"]
                        else ""
                    )
                    if ok
                    else "—"
                ),
                "recall": fmt_pct(sig["recall"]) if ok else "—",
                "verdict": _verdict(sig, r.lang) if ok else r.t("判断保留", "too few / n/a"),
                "lift_sort": sig["lift"] if ok and sig["lift"] is not None else -1.0,
            }
        )
    return pl.DataFrame(rows).sort("lift_sort", descending=True, maintain_order=True)


def _health_html(hs: dict[str, Any], r: Report, horizon: int) -> str:
    def num(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f}"

    ci = hs["auc_ci"]
    auc = num(hs["auc"]) + (f"（95%: {num(ci[0])}〜{num(ci[1])}）" if ci else "")
    text = r.t(
        f"ヘルススコアの解約予測力 AUC {auc}。0.5 は偶然と同じ、1.0 は完全な予測です。",
        f"Health score vs churn: AUC {auc}; 0.5 is chance, 1.0 perfect.",
    )
    bands = pl.DataFrame(
        [
            {
                "band": band_label(None if b["band"] == "no_score" else b["band"], r.lang),
                "n": b["n"],
                "churned": b["churned"],
                "rate": fmt_pct(b["rate"])
                + (
                    f" ({fmt_pct(b['rate_ci'][0])}–{fmt_pct(b['rate_ci'][1])})"
                    if b["rate_ci"]
                    else ""
                ),
            }
            for b in hs["bands"]
            if b["n"] or b["band"] != "no_score"
        ]
    )
    measures = ", ".join(
        f"{measure_label(m['measure'], r.lang)} {num(m['auc'])}" for m in hs["measures"]
    )
    return (
        f"<p>{esc(text)}</p>"
        + table(
            bands,
            [
                ("band", r.t("ヘルス帯", "Band"), None),
                ("n", r.t("顧客・月", "Account-months"), fmt_int),
                ("churned", r.t(f"{horizon}か月以内に解約", f"Churned within {horizon}m"), fmt_int),
                ("rate", r.t("解約率 (95%)", "Rate (95%)"), None),
            ],
        )
        + f"<p class='note'>{esc(r.t('指標ごとの AUC: ', 'AUC per measure: ') + measures)}</p>"
    )


@guarded
def backtest_section(r: Report, lookback_months: int | None = None) -> str:
    """How well each signal and the health score predicted churn, as of the report's month.

    The backtest's last month is the report's month minus H (so every outcome is already
    known at the report's month); its first is ``lookback_months`` earlier (default
    ``backtest.lookback_months``).
    """
    from cs_metrics.metrics.backtest import BacktestRangeError, backtest, resolve_range
    from cs_metrics.periods import Month

    cfg = r.cfg["backtest"]
    h = int(cfg["horizon_months"])
    stop = r.as_of - h
    try:
        first, last, _ = resolve_range(r.ds, None, stop, h)
        if lookback_months is not None:
            first = max(first, last - lookback_months)
        s = backtest(r.ds, Month(first), stop, h).summary
    except BacktestRangeError as e:
        raise SectionUnavailable(e.message(r.lang)) from None
    min_flagged = int(cfg["min_flagged"])
    intro = r.t(
        f"{s['from']}〜{s['to']} の各月末に契約中だった顧客（のべ {s['account_months']:,} 顧客・月）"
        f"について、その月に出ていたシグナルと、その後{h}か月以内に解約したかを照合しました。"
        f"全体の解約率は {fmt_pct(s['base_rate'])} です。",
        f"Each month from {s['from']} to {s['to']}, the signals of every active account "
        f"({s['account_months']:,} account-months) against whether it churned within {h} "
        f"months. Overall: {fmt_pct(s['base_rate'])}.",
    )
    sentences = [
        signal_sentence(sig, h, r.cfg["risk"], min_flagged, r.lang) for sig in s["signals"]
    ]
    caveat = r.t(
        "各月のシグナルはその月末までのデータだけで計算しています（後から分かった情報は使いません）。"
        "同じ顧客の複数の月は独立ではないため、区間は顧客単位のばらつきを考慮しています。",
        "Each month's signals use only the data known at its end. Months of one account are not "
        "independent: the intervals allow for that.",
    )
    return (
        f"<p>{esc(intro)}</p><ul>"
        + "".join(f"<li>{esc(x)}</li>" for x in sentences)
        + "</ul>"
        + table(
            _signal_rows(s, r, min_flagged),
            [
                ("signal", r.t("シグナル", "Signal"), None),
                ("flagged", r.t("該当", "Flagged"), fmt_int),
                ("rate", r.t(f"{h}か月以内の結果", f"Outcome within {h}m"), None),
                ("lift", r.t("全体比 (95%)", "Lift (95%)"), None),
                ("recall", r.t("解約の捕捉率", "Recall"), None),
                ("verdict", r.t("判定", "Verdict"), None),
            ],
        )
        + _health_html(s["health"], r, h)
        + notice(caveat)
    )
