"""Report sections: each lays out figures of the report context (cs_metrics.metrics), draws
with cs_metrics.charts and returns escaped HTML.

The notebooks only call these, with the :class:`~cs_metrics.reporting.context.Report` of
:func:`~cs_metrics.reporting.context.prepare`. No arithmetic happens here: changes, period views
and target status come from :mod:`cs_metrics.metrics.summary`.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from cs_metrics import charts
from cs_metrics.format import (
    cohort_label,
    fmt_count,
    fmt_int,
    fmt_money,
    fmt_pct,
    fmt_pp,
    label,
    money_axis,
)
from cs_metrics.metrics.revenue import UNSET
from cs_metrics.metrics.summary import period_bridge, target_gap, target_status
from cs_metrics.periods import Month
from cs_metrics.reporting.backtest_section import backtest_section
from cs_metrics.reporting.context import Report, SectionUnavailable, guarded, need
from cs_metrics.reporting.html import esc, figure, notice, table, tiles

__all__ = [
    "Report",
    "backtest_section",
    "bridge_section",
    "churn_target",
    "cohort_section",
    "concentration",
    "data_quality",
    "header",
    "headline_tiles",
    "health_section",
    "ltv_section",
    "nrr_target",
    "onboarding_section",
    "period_views",
    "reasons_section",
    "risk_section",
    "scenarios_section",
    "trends",
]


def _row(r: Report, month: Month) -> dict[str, Any] | None:
    x = r.rates.filter(pl.col("month_idx") == month.index)
    return x.row(0, named=True) if x.height else None


def _svg(chart: Any, caption: str | None = None) -> str:
    return figure(charts.to_svg(chart), caption)


# ---- monthly KPI report -------------------------------------------------------------------


def _pts(x: float, lang: str) -> str:
    """A size of a gap in points, without a sign: ``10.5pt`` / ``10.5 pts``."""
    return f"{abs(x) * 100:.1f}pt" if lang == "ja" else f"{abs(x) * 100:.1f} pts"


def _gap_text(r: Report, value: float | None, target: float, higher_is_better: bool) -> str:
    """``目標10%まで あと10.5pt`` / ``10.5 pts above the 10% target``; met: ``目標10%を達成``."""
    gap = target_gap(value, target)
    t = fmt_pct(target, 0)
    if gap is None:
        return ""
    short = gap < 0 if higher_is_better else gap > 0
    if not short:
        return r.t(f"目標{t}を達成", f"meets the {t} target")
    side = "below" if higher_is_better else "above"
    return r.t(f"目標{t}まで あと{_pts(gap, 'ja')}", f"{_pts(gap, 'en')} {side} the {t} target")


def _spark(values: list[float | None], key: str) -> str:
    if sum(v is not None for v in values) < 3:
        return ""
    return charts.to_svg(charts.sparkline(values, charts.PALETTE.get(key, charts.PALETTE["total"])))


def _summary_tiles(r: Report, trend: pl.DataFrame, risk: dict[str, Any]) -> list[dict[str, Any]]:
    from cs_metrics.metrics.summary import mrr_drivers, series

    tg, h, ch = r.cfg["targets"], r.horizon, r.changes
    mom, yoy = label("word.mom", r.lang), label("word.yoy", r.lang)
    km = r.churn_within["km_rate"]
    kms = trend["km_rate"].to_list()
    km_prev = kms[-2] if len(kms) >= 2 else None
    km_year = kms[0] if len(kms) >= 13 else None
    nrr = ch["nrr_trailing_12m"]
    mrr = ch["mrr_end"]
    row = _row(r, r.as_of) or {}
    drivers = r.t("、", ", ").join(
        f"{label(f'movement.{k}', r.lang)} {fmt_money(v, r.unit, r.lang, signed=True)}"
        for k, v in mrr_drivers(row, 2)
    )
    delta = (mrr["value"] or 0) - (mrr["prev_month"] or 0) if mrr["prev_month"] else None
    return [
        {
            "label": r.t(f"{h}か月以内解約率（KM推定）", f"Churn within {h} months (KM)"),
            "value": fmt_pct(km),
            "sub": [
                _gap_text(r, km, tg["churn_within_horizon_max"], False),
                f"{mom} {fmt_pp(None if km is None or km_prev is None else km - km_prev, lang=r.lang)}",
                f"{yoy} {fmt_pp(None if km is None or km_year is None else km - km_year, lang=r.lang)}",
            ],
            "status": target_status(km, tg["churn_within_horizon_max"], False),
            "spark": _spark(kms, "churn_share"),
        },
        {
            "label": label("kpi.nrr_trailing_12m", r.lang),
            "value": fmt_pct(nrr["value"]),
            "sub": [
                _gap_text(r, nrr["value"], tg["nrr_trailing_12m_min"], True),
                f"{mom} {fmt_pp(nrr['mom'], lang=r.lang)}",
                f"{yoy} {fmt_pp(nrr['yoy'], lang=r.lang)}",
            ],
            "status": target_status(nrr["value"], tg["nrr_trailing_12m_min"], True),
            "spark": _spark(
                series(r.rates, r.as_of, "nrr_trailing_12m", 13)["value"].to_list(), "nrr"
            ),
        },
        {
            "label": label("kpi.mrr_end", r.lang),
            "value": r.money(mrr["value"]),
            "sub": [
                f"{mom} {fmt_pct(mrr['mom'], signed=True, lang=r.lang)}"
                + (
                    f"（{fmt_money(delta, r.unit, r.lang, signed=True)}）"
                    if delta is not None
                    else ""
                ),
                f"{yoy} {fmt_pct(mrr['yoy'], signed=True, lang=r.lang)}",
                (r.t("主な要因: ", "Main drivers: ") + drivers) if drivers else "",
            ],
            "spark": _spark(series(r.rates, r.as_of, "mrr_end", 13)["value"].to_list(), "mrr"),
        },
        {
            "label": r.t("リスク顧客", "Accounts at risk"),
            "value": f"{fmt_count(risk['accounts'], r.lang)} / {r.money(risk['mrr'])}",
            "sub": [
                f"{mom} {risk['accounts'] - risk['accounts_prev']:+d}"
                + r.t("社", "")
                + _paren(r, fmt_money(risk["mrr"] - risk["mrr_prev"], r.unit, r.lang, signed=True)),
                r.t(
                    f"今月新たに {risk['new_accounts']}社（{r.money(risk['new_mrr'])}）",
                    f"new this month: {risk['new_accounts']} ({r.money(risk['new_mrr'])})",
                ),
                r.t(
                    f"有効顧客の{fmt_pct(_share(risk['accounts'], risk['active_accounts']), 0)}",
                    f"{fmt_pct(_share(risk['accounts'], risk['active_accounts']), 0)} of active accounts",
                ),
            ],
        },
    ]


def _paren(r: Report, text: str) -> str:
    return r.t(f"（{text}）", f" ({text})")


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _summary_points(r: Report, trend: pl.DataFrame, risk: dict[str, Any]) -> list[str]:
    """What changed since last month, in sentences generated from the figures."""
    from cs_metrics.metrics.summary import mrr_drivers

    k, tg, h = r.kpis, r.cfg["targets"], r.horizon
    row = _row(r, r.as_of) or {}
    money = r.money
    change = (k["mrr_end"] or 0) - (k["mrr_start"] or 0)
    drivers = "、".join(
        f"{label(f'movement.{m}', r.lang)} {fmt_money(v, r.unit, r.lang, signed=True)}"
        for m, v in mrr_drivers(row, 3)
    )
    out = [
        r.t(
            f"MRRは{money(k['mrr_start'])}から{money(k['mrr_end'])}へ"
            f"{fmt_money(change, r.unit, 'ja', signed=True)}"
            + (f"（{drivers}）" if drivers else "")
            + f"。新規{k['accounts_new']}社、解約{k['accounts_churned']}社。",
            f"MRR went from {money(k['mrr_start'])} to {money(k['mrr_end'])} "
            f"({fmt_money(change, r.unit, 'en', signed=True)}"
            + (f": {drivers.replace('、', ', ')}" if drivers else "")
            + f"); {k['accounts_new']} new and {k['accounts_churned']} churned accounts.",
        )
    ]
    km = r.churn_within["km_rate"]
    kms = trend["km_rate"].to_list()
    if km is not None:
        year = kms[0] if len(kms) >= 13 else None
        moved = ""
        if year is not None:
            diff = km - year
            moved = r.t(
                f"1年前（{fmt_pct(year)}）から{_pts(diff, 'ja')}{'改善' if diff < 0 else '悪化'}。",
                f" {_pts(diff, 'en')} {'better' if diff < 0 else 'worse'} than a year ago "
                f"({fmt_pct(year)}).",
            )
        out.append(
            r.t(
                f"{h}か月以内解約率（KM推定）は{fmt_pct(km)}: "
                f"{_gap_text(r, km, tg['churn_within_horizon_max'], False)}。{moved}",
                f"Churn within {h} months (KM) is {fmt_pct(km)}: "
                f"{_gap_text(r, km, tg['churn_within_horizon_max'], False)}.{moved}",
            )
        )
    nrr = k["nrr_trailing_12m"]
    if nrr is not None:
        out.append(
            r.t(
                f"NRR（直近12か月）は{fmt_pct(nrr)}: "
                f"{_gap_text(r, nrr, tg['nrr_trailing_12m_min'], True)}。",
                f"NRR (trailing 12 months) is {fmt_pct(nrr)}: "
                f"{_gap_text(r, nrr, tg['nrr_trailing_12m_min'], True)}.",
            )
        )
    rl = r.risk_list
    top = rl.sort("priority", descending=True).head(1)
    first = ""
    if top.height:
        t0 = top.row(0, named=True)
        first = r.t(
            f"最優先は {t0['account_name']}（{t0['csm']}、{t0['rule_labels'][0]}）: "
            f"{t0['next_action']}。",
            f" Top priority: {t0['account_name']} ({t0['csm']}, {t0['rule_labels'][0]}): "
            f"{t0['next_action']}.",
        )
    out.append(
        r.t(
            f"リスク顧客は{risk['accounts']}社（{money(risk['mrr'])}）、前月から"
            f"{risk['accounts'] - risk['accounts_prev']:+d}社。うち今月新たに"
            f"{risk['new_accounts']}社（{money(risk['new_mrr'])}）。{first}",
            f"{risk['accounts']} accounts at risk ({money(risk['mrr'])}), "
            f"{risk['accounts'] - risk['accounts_prev']:+d} on last month; "
            f"{risk['new_accounts']} new this month ({money(risk['new_mrr'])}).{first}",
        )
    )
    return out


@guarded
def summary_section(r: Report) -> str:
    """「今月のサマリー」: the board's two targets (churn within H by Kaplan-Meier, NRR over 12
    months) with their gap, change on last month and last year and a 12-month sparkline; the
    MRR change and its largest drivers; accounts and MRR at risk and their change; then what
    changed since last month in sentences. Targets from ``[targets]``."""
    from cs_metrics.metrics.risk import risk_summary
    from cs_metrics.metrics.summary import churn_within_trend

    trend = churn_within_trend(r.ds, r.as_of, r.horizon, 12)
    risk = risk_summary(r.ds, r.as_of)
    points = "".join(f"<li>{esc(p)}</li>" for p in _summary_points(r, trend, risk))
    head = r.t("先月からの変化", "Since last month")
    return (
        tiles(_summary_tiles(r, trend, risk))
        + f"<h3>{esc(head)}</h3><ul class='summary'>{points}</ul>"
    )


@guarded
def header(r: Report, title: str) -> str:
    return f"<h1>{esc(title)} — {esc(r.as_of.label(r.lang))}</h1>"


def _fmt_change(c: dict[str, Any], lang: str) -> tuple[str, str]:
    """(month-on-month, year-on-year) texts of one entry of :func:`kpi_changes`."""
    if c["kind"] == "money":
        return fmt_pct(c["mom"], signed=True, lang=lang), fmt_pct(c["yoy"], signed=True, lang=lang)
    return fmt_pp(c["mom"], lang=lang), fmt_pp(c["yoy"], lang=lang)


@guarded
def headline_tiles(r: Report) -> str:
    """MRR, churn, GRR/NRR, churn within H vs target, NPS, LTV with MoM and YoY changes."""
    k, ch, t = r.kpis, r.changes, r.cfg["targets"]
    mom, yy = r.t("前月比", "MoM"), r.t("前年同月比", "YoY")
    cw, h = r.churn_within, r.horizon
    mrr_mom, mrr_yoy = _fmt_change(ch["mrr_end"], r.lang)
    churn_mom, _ = _fmt_change(ch["logo_churn_rate"], r.lang)
    nrr12 = k["nrr_trailing_12m"]
    items = [
        {
            "label": label("mrr_end", r.lang),
            "value": r.money(k["mrr_end"]),
            "sub": [f"{mom} {mrr_mom}", f"{yy} {mrr_yoy}"],
        },
        {
            "label": label("logo_churn_rate", r.lang),
            "value": fmt_pct(k["logo_churn_rate"]),
            "sub": [
                f"{mom} {churn_mom}",
                f"{label('accounts_churned', r.lang)} {fmt_int(k['accounts_churned'])}",
            ],
        },
        {"label": label("grr", r.lang), "value": fmt_pct(k["grr"]), "sub": []},
        {"label": label("nrr", r.lang), "value": fmt_pct(k["nrr"]), "sub": []},
        {
            "label": label("nrr_trailing_12m", r.lang),
            "value": fmt_pct(nrr12),
            "sub": [
                f"{r.t('目標', 'target')} ≥ {fmt_pct(t['nrr_trailing_12m_min'])}",
                f"{r.t('目標との差', 'vs target')} "
                f"{fmt_pp(target_gap(nrr12, t['nrr_trailing_12m_min']), lang=r.lang)}",
            ],
            "status": target_status(nrr12, t["nrr_trailing_12m_min"], True),
        },
        {
            "label": label("churn_within", r.lang, h=h),
            "value": fmt_pct(cw["rate"]),
            "sub": [
                f"KM {fmt_pct(cw['km_rate'])} "
                f"({fmt_pct(cw['km_ci_low'])}–{fmt_pct(cw['km_ci_high'])})",
                f"{r.t('目標', 'target')} ≤ {fmt_pct(t['churn_within_horizon_max'])}",
            ],
            "status": target_status(cw["rate"], t["churn_within_horizon_max"], False),
        },
    ]
    if r.nps is not None:
        n = r.nps
        items.append(
            {
                "label": "NPS",
                "value": "—" if n["nps"] is None else f"{n['nps']:+.0f}",
                "sub": [
                    f"n={n['n']}",
                    "" if n["ci_low"] is None else f"95%CI {n['ci_low']:+.0f}…{n['ci_high']:+.0f}",
                ],
            }
        )
    items.append(_ltv_tile(r))
    return tiles(items)


def _ltv_tile(r: Report, with_notes: bool = False) -> dict[str, Any]:
    """The one LTV to quote: the predictive LTV of a new account (the one LTV:CAC uses), its
    definition in a line, its interval (or lower bound, or reason), and the simple LTV as a
    cross-check; ``with_notes`` adds the model's notes (the LTV section)."""
    lc, s = r.ltv_cac, r.simple_ltv
    notes = r.predictive_ltv["groups"]["all"]["notes"] if with_notes else []
    tile = _predictive_tile(r, lc, notes)
    definition = r.t(
        "継続率モデルによる生涯粗利の割引現在価値（拡大込み）",
        "discounted lifetime gross profit from the retention model, expansion included",
    )
    check = r.t(
        f"参考: シンプルLTV {r.money(s.get('ltv'))}",
        f"cross-check: simple LTV {r.money(s.get('ltv'))}",
    )
    return {
        **tile,
        "label": r.t("LTV（新規顧客・予測）", "LTV (new account, predictive)"),
        "sub": [definition, *tile["sub"], check],
    }


def _ltv_why(r: Report) -> str:
    """One sentence on why the simple and the predictive LTV differ."""
    return r.t(
        "シンプルLTV（ARPA×粗利率÷直近12か月の月次解約率）は割引をせず、現在の解約率が永久に続くと"
        "仮定するため、割引と顧客ごとの解約しやすさの違いを織り込む予測LTVより大きくなります。"
        "LTV:CAC には予測LTVを使います。",
        "The simple LTV (ARPA x gross margin / monthly churn of the last 12 months) does not "
        "discount and assumes today's churn rate forever, so it is higher than the predictive "
        "LTV, which discounts and lets accounts differ in how likely they are to churn. "
        "LTV:CAC uses the predictive LTV.",
    )


def bridge_note(r: Report) -> str:
    """How to read the bridge, in the report's language."""
    return (
        "<p>"
        + esc(
            r.t(
                "期首MRRに新規・復活・アップセル・クロスセルを足し、縮小・解約を引くと期末MRRになります。",
                "MRR at start plus new, reactivation, upsell and cross-sell, minus contraction and "
                "churn, is MRR at end.",
            )
        )
        + "</p>"
    )


@guarded
def bridge_section(r: Report) -> str:
    row = _row(r, r.as_of)
    if row is None:
        raise SectionUnavailable(r.t("対象月のデータがありません。", "No data for this month."))
    chart = charts.bridge_waterfall(
        row,
        r.lang,
        unit=r.unit,
        title=r.t(f"{r.as_of.label('ja')}のMRR増減", f"MRR movements, {r.as_of.label('en')}"),
    )
    parts = [_svg(chart)]
    if row["new"] == 0:
        parts.append(
            notice(r.t("今月は新規獲得がありませんでした。", "No new accounts this month."))
        )
    if row["churn"] == 0:
        parts.append(notice(r.t("今月は解約がありませんでした。", "No churn this month.")))
    return "".join(parts)


@guarded
def trends(r: Report, months: int = 24) -> str:
    """MRR, GRR/NRR (month), logo churn (month) and NRR (12 months) against its target: each
    on its own scale, rates near 100% apart from churn near 1%."""
    lo = r.as_of.index - months + 1
    d = r.rates.filter(pl.col("month_idx") >= lo)
    div, unit_text = money_axis(r.unit, r.lang)
    span = r.t(f"直近{months}か月", f"last {months} months")
    mrr = charts.trend_lines(
        d.with_columns((pl.col("mrr_end") / div).alias("mrr")),
        ["mrr"],
        r.lang,
        zero=True,
        title=r.t(f"MRR（{unit_text}、{span}）", f"MRR ({unit_text}, {span})"),
    )
    rates = charts.trend_lines(
        d,
        ["grr", "nrr"],
        r.lang,
        percent=True,
        title=r.t(f"GRR・NRR（月次、{span}）", f"GRR and NRR (month, {span})"),
    )
    churn = charts.trend_lines(
        d,
        ["logo_churn_rate"],
        r.lang,
        percent=True,
        zero=True,
        decimals=1,
        title=r.t(f"ロゴチャーン率（月次、{span}）", f"Logo churn (month, {span})"),
    )
    nrr = charts.trend_lines(
        d,
        ["nrr_trailing_12m"],
        r.lang,
        percent=True,
        target=r.cfg["targets"]["nrr_trailing_12m_min"],
        title=r.t("NRR（直近12か月）と目標", "NRR (trailing 12 months) vs target"),
    )
    return _svg(mrr) + _svg(rates) + _svg(churn) + _svg(nrr)


def _period_name(r: Report, row: dict[str, Any]) -> str:
    """``2026年度 第2四半期`` / ``FY2026 Q2``, marked when the period is not complete."""
    fy, q = row["fiscal_year"], row["quarter"]
    name = r.t(f"{fy}年度", f"FY{fy}") + (r.t(f" 第{q}四半期", f" Q{q}") if q else "")
    if not row["complete"]:
        end = Month.parse(row["last_month"])
        name += r.t(f"（{end.month}月まで）", f" (to {end.label('en')})")
    return name


@guarded
def period_views(r: Report) -> str:
    """Fiscal-quarter and fiscal-year (年度) views of the bridge (partial periods marked)."""
    fy = int(r.cfg["general"]["fiscal_year_start_month"])
    moves = ["new", "reactivation", "upsell", "cross_sell", "contraction", "churn"]
    cols = [(c, label(f"mrr_{c}", r.lang), r.money) for c in moves]
    out = []
    for period, title in (
        ("fiscal_quarter", r.t("四半期（年度基準）", "Fiscal quarter")),
        ("fiscal_year", r.t("年度", "Fiscal year")),
    ):
        d = period_bridge(r.rates, r.as_of, period, fy)
        d = d.with_columns(
            pl.Series("period", [_period_name(r, x) for x in d.iter_rows(named=True)])
        )
        out.append(
            table(
                d,
                [
                    ("period", title, None),
                    ("mrr_start", label("mrr_start", r.lang), r.money),
                    *cols,
                    ("mrr_end", label("mrr_end", r.lang), r.money),
                    ("growth", r.t("増減率", "Growth"), fmt_pct),
                ],
                caption=title,
            )
        )
    return "".join(out)


@guarded
def reasons_section(r: Report) -> str:
    need(r, "cancellations")
    from cs_metrics.metrics.churn import churn_reasons

    d = churn_reasons(r.ds, r.as_of, months=12)
    unknown = r.cfg["reasons"]["unknown_label"]  # no cancellation row matched: in words
    d = d.with_columns(pl.col("reason_category").replace(unknown, label("word.unknown", r.lang)))
    if d.height == 0:
        raise SectionUnavailable(
            r.t("直近12か月に解約はありません。", "No churn in the last 12 months.")
        )
    return _svg(charts.reasons_bar(d, r.lang)) + table(
        d,
        [
            ("reason_category", r.t("解約理由", "Reason"), None),
            ("events", r.t("件数", "Events"), fmt_int),
            ("share_events", r.t("件数比", "Share"), fmt_pct),
            ("lost_mrr", r.t("失ったMRR", "Lost MRR"), r.money),
            ("share_lost_mrr", r.t("MRR比", "MRR share"), fmt_pct),
        ],
    )


@guarded
def cohort_section(r: Report) -> str:
    from cs_metrics.metrics.retention import cohort_retention

    d = cohort_retention(r.ds, r.as_of, cohort="quarter")
    return _svg(charts.cohort_heatmap(d, "logo_retention", r.lang)) + _svg(
        charts.cohort_heatmap(d, "revenue_retention", r.lang, max_age=24)
    )


def _predictive_tile(r: Report, lc: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Predictive LTV of a new account: "¥X" with "95%: ¥a〜¥b" under it, or the lower bound
    (no churn observed: "¥X以上"), or why it is missing; the model in words."""
    v = lc["ltv_new"]
    sub = []
    if v is None:
        sub.append(lc.get("ltv_new_reason", ""))
    elif lc.get("ltv_new_is_lower_bound"):
        sub.append(r.t("下限値（解約が観測されていないため）", "lower bound (no churn observed)"))
    elif lc.get("ltv_new_ci"):
        lo, hi = (r.money(x) for x in lc["ltv_new_ci"])
        sub.append(r.t(f"95%: {lo}〜{hi}", f"95%: {lo} to {hi}"))
    lower = v is not None and lc.get("ltv_new_is_lower_bound")
    return {
        "label": r.t("予測LTV（新規・sBG）", "Predictive LTV (new, sBG)"),
        "value": r.money(v) + (r.t("以上", "+") if lower else ""),
        "sub": [*sub, *notes],
    }


def _source_names(r: Report) -> dict[str, str]:
    return {
        "base": r.t("基本", "Base"),
        "upsell": r.t("アップセル", "Upsell"),
        "cross_sell": r.t("クロスセル", "Cross-sell"),
    }


@guarded
def ltv_section(r: Report) -> str:
    """LTV tiles (predictive, simple, LTV:CAC), this month's MRR by source, and cohort LTV."""
    now = r.revenue_by_source.filter(pl.col("month_idx") == r.as_of.index)
    long = (
        now.select("base", "upsell", "cross_sell")
        .sum()
        .unpivot(variable_name="source", value_name="mrr")
        .with_columns(pl.col("source").replace_strict(_source_names(r), return_dtype=pl.String))
    )
    return (
        _ltv_tiles(r)
        + f"<p class='note'>{esc(_ltv_why(r))}</p>"
        + table(
            long,
            [
                ("source", r.t("区分", "Source"), None),
                ("mrr", r.t("今月のMRR", "MRR this month"), r.money),
            ],
        )
        + _cohort_ltv_html(r)
    )


def _ltv_tiles(r: Report) -> str:
    s, lc = r.simple_ltv, r.ltv_cac
    return tiles(
        [
            _ltv_tile(r, with_notes=True),
            {
                "label": r.t("シンプルLTV（参考）", "Simple LTV (cross-check)"),
                "value": r.money(s["ltv"]),
                "sub": [
                    s.get("ltv_reason", ""),
                    f"ARPA {r.money(s['arpa'])} · "
                    + r.t("月次解約率", "monthly churn")
                    + f" {fmt_pct(s['monthly_churn'], 2)}",
                ],
            },
            {
                "label": "LTV:CAC",
                "value": "—" if lc["ltv_cac"] is None else f"{lc['ltv_cac']:.1f}",
                "sub": [
                    lc.get("ltv_cac_reason", ""),
                    lc.get("cac_payback_months_reason", "")
                    if lc["cac_payback_months"] is None
                    else r.t(
                        f"CAC回収 {lc['cac_payback_months']:.1f}か月",
                        f"CAC payback {lc['cac_payback_months']:.1f} months",
                    ),
                ],
            },
        ]
    )


def _cohort_ltv_html(r: Report) -> str:
    """Cumulative gross profit per acquired account by quarterly cohort (chart and table)."""
    from cs_metrics.metrics.ltv import cohort_ltv

    names = _source_names(r)
    c = cohort_ltv(r.ds, r.as_of, r.cfg, cohort="quarter")
    latest_age = c.group_by("cohort").agg(pl.all().last()).sort("cohort")
    div, unit_text = money_axis(r.unit, r.lang)
    order = [cohort_label(x, r.lang) for x in latest_age["cohort"]]
    src = latest_age.select(
        pl.col("cohort").map_elements(lambda x: cohort_label(x, r.lang), return_dtype=pl.String),
        *[(pl.col(f"gp_{k}") / div).alias(names[k]) for k in ("base", "upsell", "cross_sell")],
    ).unpivot(index="cohort", variable_name="source", value_name="value")
    return _svg(
        charts.stacked_bars(
            src,
            "cohort",
            "source",
            "value",
            r.lang,
            {names[k]: charts.PALETTE[k] for k in ("base", "upsell", "cross_sell")},
            horizontal=False,
            sort=order,
            title=r.t(
                f"獲得コホート別・顧客あたり累積粗利（{unit_text}）",
                f"Cumulative gross profit per acquired account by cohort ({unit_text})",
            ),
        )
    ) + table(
        latest_age,
        [
            ("cohort", r.t("コホート", "Cohort"), lambda x: cohort_label(x, r.lang)),
            ("age", r.t("経過月", "Age"), fmt_int),
            ("gross_profit", r.t("累積粗利", "Gross profit"), r.money),
            ("cac", "CAC", r.money),
            ("cost_to_serve", r.t("対応コスト", "Cost to serve"), r.money),
            ("net", r.t("累積利益額", "Net"), r.money),
            ("payback_age", r.t("回収月", "Payback"), fmt_int),
            ("payback_reason", r.t("備考", "Note"), None),
        ],
    )


@guarded
def health_section(r: Report) -> str:
    from cs_metrics.metrics.segments import segments_by_csm

    seg = r.segments
    by = segments_by_csm(r.ds, r.as_of)
    bands = (
        seg.group_by("csm", "band")
        .agg(pl.len().alias("accounts"))
        .with_columns(pl.col("csm").fill_null(UNSET))
    )
    return (
        _svg(
            charts.stacked_bars(
                bands,
                "csm",
                "band",
                "accounts",
                r.lang,
                charts.BAND_COLORS,
                title=r.t("担当CSM別のヘルス（顧客数）", "Health by CSM (accounts)"),
                names=charts.band_names(r.lang),
            )
        )
        + _svg(
            charts.stacked_bars(
                by,
                "csm",
                "segment",
                "accounts",
                r.lang,
                charts.SEGMENT_COLORS,
                title=r.t("担当CSM別のセグメント（顧客数）", "Segments by CSM (accounts)"),
            )
        )
        + table(
            by,
            [
                ("csm", r.t("担当CSM", "CSM"), None),
                ("segment", r.t("セグメント", "Segment"), None),
                ("accounts", r.t("顧客数", "Accounts"), fmt_int),
                ("mrr", "MRR", r.money),
            ],
        )
    )


def _risk_matrix_table(r: Report, mx: pl.DataFrame, anchors: dict[str, str]) -> str:
    """One row per CSM (linked to their accounts), one column per signal: accounts and MRR."""
    from cs_metrics.labels import rule_label

    rules = list(dict.fromkeys(mx["rule"].to_list()))
    short = "万円" if r.unit in ("円", "千円") else r.unit  # a compact amount under each count

    def compact(v: float) -> str:
        return fmt_money(v, short, r.lang)

    totals = {
        row["csm"]: row
        for row in r.risk_list.group_by("csm")
        .agg(pl.len().alias("n"), pl.col("mrr").sum().alias("mrr"))
        .iter_rows(named=True)
    }
    head = "".join(
        f"<th>{esc(rule_label(x, r.cfg['risk'], r.lang, short=True))}</th>" for x in rules
    )
    head = f"<th>{esc(label('column.csm', r.lang))}</th>{head}" + (
        f"<th>{esc(r.t('リスク顧客（MRR）', 'At risk (MRR)'))}</th>"
    )
    body = []
    for (csm,), rows in mx.group_by("csm", maintain_order=True):
        cells = "".join(
            f'<td class="num">{x["accounts"]}'
            + (f"<br><span class='note'>{esc(compact(x['mrr']))}</span>" if x["accounts"] else "")
            + "</td>"
            for x in rows.iter_rows(named=True)
        )
        t = totals.get(csm)
        total = f"{fmt_count(t['n'], r.lang)}<br>{esc(r.money(t['mrr']))}" if t else "0"
        link = f'<a href="#{anchors[csm]}">{esc(csm)}</a>'
        body.append(f"<tr><td>{link}</td>{cells}<td class='num'>{total}</td></tr>")
    cap = r.t("担当CSM × シグナル（顧客数・MRR）", "CSM × signal (accounts, MRR)")
    return (
        f'<table class="cs-table risk-matrix"><caption>{esc(cap)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


@guarded
def risk_section(r: Report, top: int | None = None) -> str:
    """The CSM × signal table, then each CSM's top accounts by priority (every CSM present,
    with an anchor), each with its signals, evidence, next action and health; the full list is
    ``risk_list.csv`` beside the report."""
    from cs_metrics.labels import band_label
    from cs_metrics.metrics.risk import risk_matrix

    top = int(top if top is not None else r.cfg["risk"]["report_top_accounts"])
    rl, res = r.risk_list, r.risk
    mx = risk_matrix(r.ds, r.as_of)
    csms = list(dict.fromkeys(mx["csm"].to_list()))
    anchors = {c: f"risk-csm-{i + 1}" for i, c in enumerate(csms)}
    out = [_risk_matrix_table(r, mx, anchors)]
    sep = r.t("・", "; ")
    for csm in csms:
        rows = rl.filter(pl.col("csm") == csm)
        head = f"{csm} — {fmt_count(rows.height, r.lang)} / {r.money(rows['mrr'].sum())}"
        out.append(f'<h3 id="{anchors[csm]}">{esc(head)}</h3>')
        if rows.height == 0:
            out.append(f"<p>{esc(r.t('リスク顧客はいません。', 'No account at risk.'))}</p>")
            continue
        shown = rows.head(top).with_columns(
            pl.col("rule_labels").list.join(sep).alias("signals"),
            pl.col("evidence").list.join(" / ").alias("why"),
            pl.struct("band", "score", "health_note")
            .map_elements(
                lambda x: " ".join(
                    p
                    for p in (
                        f"{band_label(x['band'], r.lang)} {x['score']:.0f}"
                        if x["score"] is not None
                        else band_label(None, r.lang),
                        x["health_note"] or "",
                    )
                    if p
                ),
                return_dtype=pl.String,
            )
            .alias("health"),
        )
        out.append(
            table(
                shown,
                [
                    ("rank", label("column.rank", r.lang), None),
                    ("account_name", label("column.account_name", r.lang), None),
                    ("segment", label("column.segment", r.lang), None),
                    ("mrr", "MRR", r.money),
                    ("signals", label("column.rules", r.lang), None),
                    ("why", label("column.evidence", r.lang), None),
                    ("next_action", label("column.next_action", r.lang), None),
                    ("health", label("column.band", r.lang), None),
                ],
                nowrap=("account_name", "segment"),
            )
        )
        if rows.height > top:
            more = label("word.more", r.lang, n=rows.height - top)
            out.append(
                f"<p class='note'>{esc(more)} → <a href='risk_list.csv'>risk_list.csv</a></p>"
            )
    for rule, why in res.unavailable.items():
        from cs_metrics.labels import rule_label

        status = label("status.unavailable", r.lang)
        out.append(notice(f"{rule_label(rule, r.cfg['risk'], r.lang)}: {status} — {why}"))
    return "".join(out)


@guarded
def onboarding_section(r: Report) -> str:
    need(r, "onboarding_sessions")
    from cs_metrics.metrics.onboarding import onboarding_funnel, onboarding_summary

    s = onboarding_summary(r.ds, r.as_of)
    f = onboarding_funnel(r.ds, r.as_of)
    return (
        f"<p>{esc(r.t('ユーザー', 'Users'))} {s['users']} · {esc(r.t('卒業', 'graduated'))} "
        f"{s['graduated_users']} ({esc(fmt_pct(s['graduation_rate']))}) · "
        f"{esc(r.t('停滞', 'stalled'))} {s['stalled_users']}</p>" + _svg(charts.funnel(f, r.lang))
    )


@guarded
def data_quality(r: Report) -> str:
    v = r.validation or {}
    warns = v.get("warnings", [])
    rows = [
        {"file": s.file, "format": s.format, "encoding": s.encoding or "-"}
        for s in r.ds.sources.values()
    ]
    out = table(
        pl.DataFrame(rows),
        [
            ("file", r.t("ファイル", "File"), None),
            ("format", r.t("形式", "Format"), None),
            ("encoding", r.t("文字コード", "Encoding"), None),
        ],
    )
    if not warns:
        return (
            out
            + f"<p>{esc(r.t('検証で問題は見つかりませんでした。', 'The validation gate found no problems.'))}</p>"
        )
    return out + "".join(notice(w.get("message", "")) for w in warns)


# ---- churn-target review ------------------------------------------------------------------


@guarded
def review_intro(r: Report) -> str:
    """The review opens like the monthly report (the summary), then the path to the churn
    target: the gap in points, the change over the last year and, at that pace, how long the
    rest would take. Every figure from the data and ``[targets]`` (no fixed "21%")."""
    from cs_metrics.metrics.summary import churn_within_trend

    tg, h = r.cfg["targets"], r.horizon
    target = tg["churn_within_horizon_max"]
    trend = churn_within_trend(r.ds, r.as_of, h, 12)
    km = r.churn_within["km_rate"]
    kms = trend["km_rate"].to_list()
    year = kms[0] if len(kms) >= 13 else None
    lines = [
        r.t(
            f"{h}か月以内解約率を{fmt_pct(target, 0)}以下に、NRR（直近12か月）を"
            f"{fmt_pct(tg['nrr_trailing_12m_min'], 0)}以上にする目標に対して、いまどこにいるか・"
            "何が差を埋めるかを見ます。",
            f"Where we stand against the targets (churn within {h} months at most "
            f"{fmt_pct(target, 0)}, NRR over 12 months at least "
            f"{fmt_pct(tg['nrr_trailing_12m_min'], 0)}) and what closes the gap.",
        )
    ]
    if km is not None:
        gap = km - target
        path = _gap_text(r, km, target, False)
        if gap > 0 and year is not None and year - km > 0:
            years = gap / (year - km)
            path += r.t(
                f"。この1年の改善（{_pts(year - km, 'ja')}）のペースなら、あと約{years:.1f}年かかります",
                f"; at the last year's pace ({_pts(year - km, 'en')} a year) that takes about "
                f"{years:.1f} more years",
            )
        elif gap > 0 and year is not None:
            path += r.t("。この1年では改善していません", "; it has not improved over the last year")
        lines.append(
            r.t(
                f"目標への道のり: {h}か月以内解約率（KM推定）{fmt_pct(km)}、{path}。",
                f"Path to the target: churn within {h} months (KM) {fmt_pct(km)}, {path}.",
            )
        )
    intro = "".join(f"<p>{esc(x)}</p>" for x in lines)
    return intro + summary_section(r)


@guarded
def churn_target(r: Report) -> str:
    from cs_metrics.metrics.churn import churn_within, km_curve

    h = int(r.cfg["revenue"]["churn_horizon_months"])
    target = r.cfg["targets"]["churn_within_horizon_max"]
    cw = r.churn_within
    t = tiles(
        [
            {
                "label": r.t(f"{h}か月以内解約率（実績）", f"Churn within {h}m (observed)"),
                "value": fmt_pct(cw["rate"]),
                "sub": [f"{cw['churned']} / {cw['eligible']}", cw.get("rate_reason", "")],
                "status": target_status(cw["rate"], target, False),
            },
            {
                "label": r.t("カプラン・マイヤー推定", "Kaplan-Meier"),
                "value": fmt_pct(cw["km_rate"]),
                "sub": [
                    f"95%CI {fmt_pct(cw['km_ci_low'])}–{fmt_pct(cw['km_ci_high'])}",
                    cw.get("km_reason", ""),
                ],
                "status": target_status(cw["km_rate"], target, False),
            },
            {"label": r.t("目標", "Target"), "value": f"≤ {fmt_pct(target)}", "sub": []},
        ]
    )
    curve = km_curve(r.ds, r.as_of)
    fyc = pl.DataFrame(churn_within(r.ds, r.as_of, h, cohort="fiscal_year"))
    qc = pl.DataFrame(churn_within(r.ds, r.as_of, h, cohort="quarter"))
    cols = [
        ("cohort", r.t("獲得コホート", "Cohort"), lambda x: cohort_label(x, r.lang)),
        ("accounts", r.t("顧客数", "Accounts"), fmt_int),
        ("eligible", r.t("対象", "Eligible"), fmt_int),
        ("churned", r.t("解約", "Churned"), fmt_int),
        ("rate", r.t("実績", "Observed"), fmt_pct),
        ("km_rate", "KM", fmt_pct),
        ("km_ci_low", "CI−", fmt_pct),
        ("km_ci_high", "CI+", fmt_pct),
    ]
    return (
        t
        + _svg(charts.km_chart(curve, h, target, r.lang))
        + table(fyc, cols, caption=r.t("年度コホート別", "By fiscal-year cohort"))
        + table(qc, cols, caption=r.t("四半期コホート別", "By quarter cohort"))
    )


@guarded
def concentration(r: Report) -> str:
    """Where churn concentrates: churn within H by industry, CSM, product, segment, onboarding."""
    from cs_metrics.metrics.churn import churn_within

    h = int(r.cfg["revenue"]["churn_horizon_months"])
    out = []
    bys: list[tuple[Any, str]] = [
        ("industry", r.t("業種", "Industry")),
        ("csm", r.t("担当CSM", "CSM")),
        ("primary_product", r.t("主製品", "Main product")),
    ]
    try:
        from cs_metrics.metrics.segments import segment_frame

        seg = (
            r.ds.accounts.select("account_id")
            .collect()
            .join(segment_frame(r.ds, r.as_of), on="account_id", how="left")
            .with_columns(pl.col("segment").fill_null(r.t("解約済み", "churned")))
        )
        bys.append((seg, r.t("セグメント（現在）", "Segment (current)")))
    except Exception:  # noqa: BLE001
        pass
    if r.ds.has("onboarding_sessions"):
        from cs_metrics.metrics.onboarding import onboarding_accounts

        acc = onboarding_accounts(r.ds, r.as_of)
        if acc is not None:
            g = acc.select(
                "account_id",
                pl.when(pl.col("graduated"))
                .then(pl.lit(r.t("卒業", "graduated")))
                .otherwise(pl.lit(r.t("未卒業", "not graduated")))
                .alias("onboarding"),
            )
            bys.append((g, r.t("オンボーディング", "Onboarding")))
    for by, title in bys:
        rows = pl.DataFrame(churn_within(r.ds, r.as_of, h, by=by))
        key = by if isinstance(by, str) else [c for c in by.columns if c != "account_id"][0]
        if rows.height and rows.schema[key] == pl.String:  # "not set" in the report's language
            from cs_metrics.metrics.revenue import UNSET

            rows = rows.with_columns(pl.col(key).replace(UNSET, label("word.unset", r.lang)))
        out.append(
            table(
                rows.sort("accounts", descending=True),
                [
                    (key, title, None),
                    ("accounts", r.t("顧客数", "Accounts"), fmt_int),
                    ("eligible", r.t("対象", "Eligible"), fmt_int),
                    ("churned", r.t("解約", "Churned"), fmt_int),
                    ("rate", r.t("実績", "Observed"), fmt_pct),
                    ("km_rate", "KM", fmt_pct),
                ],
                caption=title,
            )
        )
    return "".join(out)


@guarded
def scenarios_section(r: Report, save_pct: float | None, graduation_target: float | None) -> str:
    """What-if (SPEC §9): baseline and projected churn within H and NRR with 95% intervals, each
    lever's status with the counts behind it (a thin lever says why it is not applied), and a
    plain caveat. ``save_pct`` saves that share of 施策終了・中止 churn (the configured
    ``scenario.default_reason``); ``None`` leaves a lever out."""
    from cs_metrics.format import fmt_rate_ci
    from cs_metrics.metrics.scenarios import FIGURES, figure_label, lever_summary, what_if

    w = what_if(r.ds, r.as_of, save_pct, graduation_target=graduation_target)
    rows = pl.DataFrame(
        [
            {
                "metric": figure_label(key, r.lang, w["horizon"]),
                "baseline": fmt_rate_ci(w["baseline"][key], w["baseline"][ci], r.lang),
                "projected": fmt_rate_ci(w["projected"][key], w["projected"][ci], r.lang),
                "note": w["baseline"].get(f"{key}_reason", ""),
            }
            for key, ci in FIGURES
        ]
    )
    levers = "".join(
        f"<li>{esc(lever_summary(lv, r.lang, w['horizon']))}</li>" for lv in w["levers"]
    )
    *method, caveat = w["notes"]
    return (
        table(
            rows,
            [
                ("metric", r.t("指標", "Metric"), None),
                ("baseline", r.t("現状（95%区間）", "Now (95% interval)"), None),
                ("projected", r.t("シナリオ（95%区間）", "Scenario (95% interval)"), None),
                ("note", r.t("備考", "Note"), None),
            ],
        )
        + (f"<ul class='levers'>{levers}</ul>" if levers else "")
        + "".join(f"<p class='note'>{esc(n)}</p>" for n in method)
        + notice(caveat)
    )


@guarded
def nrr_target(r: Report) -> str:
    from cs_metrics.metrics.retention import trailing_retention

    tr = trailing_retention(r.ds, r.as_of, 12).filter(pl.col("month_idx") == r.as_of.index)
    if tr.height == 0:
        raise SectionUnavailable(
            r.t("12か月前に有効な顧客がいません。", "No accounts were active 12 months ago.")
        )
    x = tr.row(0, named=True)
    target = r.cfg["targets"]["nrr_trailing_12m_min"]
    lo = r.as_of.index - 11
    moves = (
        r.rates.filter(pl.col("month_idx") >= lo)
        .select("new", "reactivation", "upsell", "cross_sell", "contraction", "churn")
        .sum()
        .row(0, named=True)
    )
    rows = pl.DataFrame([{"item": label(f"mrr_{k}", r.lang), "value": v} for k, v in moves.items()])
    return tiles(
        [
            {
                "label": label("nrr_trailing_12m", r.lang),
                "value": fmt_pct(x["nrr_trailing_12m"]),
                "sub": [
                    f"{r.t('目標', 'target')} ≥ {fmt_pct(target)}",
                    f"{r.t('コホート', 'cohort')} {x['cohort_accounts']} · {r.money(x['cohort_mrr_start'])} → {r.money(x['cohort_mrr_end'])}",
                ],
                "status": target_status(x["nrr_trailing_12m"], target, True),
            }
        ]
    ) + table(
        rows,
        [
            ("item", r.t("直近12か月のMRR増減", "MRR movements, last 12 months"), None),
            ("value", r.t("金額", "Amount"), r.money),
        ],
    )
