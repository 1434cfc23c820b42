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
from cs_metrics.format import UNIT_DIVISORS, fmt_int, fmt_pct, fmt_pp, label
from cs_metrics.metrics.summary import period_bridge, target_gap, target_status
from cs_metrics.periods import Month
from cs_metrics.reporting.context import Report, SectionUnavailable, guarded, need
from cs_metrics.reporting.html import esc, figure, notice, table, tiles

__all__ = [
    "Report",
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


@guarded
def header(r: Report, title: str) -> str:
    k = r.kpis
    src = ", ".join(f"{esc(s.file)} ({esc(s.encoding or s.format)})" for s in r.ds.sources.values())
    return (
        f"<h1>{esc(title)} — {esc(k['as_of'])}</h1>"
        f"<p class='note'>{esc(r.t('データ', 'Data'))}: {esc(r.ds.path.name)} · {src}</p>"
    )


def _fmt_change(c: dict[str, Any]) -> tuple[str, str]:
    """(month-on-month, year-on-year) texts of one entry of :func:`kpi_changes`."""
    if c["kind"] == "money":
        return tuple(fmt_pct(c[k], signed=True) for k in ("mom", "yoy"))  # type: ignore[return-value]
    return fmt_pp(c["mom"]), fmt_pp(c["yoy"])


@guarded
def headline_tiles(r: Report) -> str:
    """MRR, churn, GRR/NRR, churn within H vs target, NPS, LTV with MoM and YoY changes."""
    k, ch, t = r.kpis, r.changes, r.cfg["targets"]
    mom, yy = r.t("前月比", "MoM"), r.t("前年同月比", "YoY")
    cw, h = r.churn_within, r.horizon
    mrr_mom, mrr_yoy = _fmt_change(ch["mrr_end"])
    churn_mom, _ = _fmt_change(ch["logo_churn_rate"])
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
                f"{fmt_pp(target_gap(nrr12, t['nrr_trailing_12m_min']))}",
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
    s = r.simple_ltv
    items.append(
        {"label": "LTV", "value": r.money(s.get("ltv")), "sub": [s.get("ltv_reason") or ""]}
    )
    return tiles(items)


@guarded
def bridge_section(r: Report) -> str:
    row = _row(r, r.as_of)
    if row is None:
        raise SectionUnavailable(r.t("対象月のデータがありません。", "No data for this month."))
    div = UNIT_DIVISORS.get(r.unit, 1)
    chart = charts.bridge_waterfall(row, r.lang, div, r.unit)
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
    lo = r.as_of.index - months + 1
    d = r.rates.filter(pl.col("month_idx") >= lo)
    div = UNIT_DIVISORS.get(r.unit, 1)
    mrr = charts.trend_lines(
        d.with_columns(pl.col("mrr_end") / div).rename({"mrr_end": "mrr"}),
        ["mrr"],
        r.lang,
        title=f"MRR ({r.unit})",
    )
    rates = charts.trend_lines(
        d,
        ["logo_churn_rate", "grr", "nrr"],
        r.lang,
        percent=True,
        title=r.t("月次の率", "Monthly rates"),
    )
    nrr = charts.trend_lines(
        d,
        ["nrr_trailing_12m"],
        r.lang,
        percent=True,
        target=r.cfg["targets"]["nrr_trailing_12m_min"],
        title=r.t("NRR（直近12か月）と目標", "NRR trailing 12m vs target"),
    )
    return _svg(mrr) + _svg(rates) + _svg(nrr)


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
        charts.cohort_heatmap(d, "revenue_retention", r.lang)
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


@guarded
def ltv_section(r: Report) -> str:
    from cs_metrics.metrics.ltv import cohort_ltv

    s, lc, d = r.simple_ltv, r.ltv_cac, r.revenue_by_source
    now = d.filter(pl.col("month_idx") == r.as_of.index)
    long = (
        now.select("base", "upsell", "cross_sell")
        .sum()
        .unpivot(variable_name="source", value_name="mrr")
    )
    names = {
        "base": r.t("基本", "Base"),
        "upsell": r.t("アップセル", "Upsell"),
        "cross_sell": r.t("クロスセル", "Cross-sell"),
    }
    long = long.with_columns(pl.col("source").replace_strict(names, return_dtype=pl.String))
    t = tiles(
        [
            {
                "label": r.t("シンプルLTV", "Simple LTV"),
                "value": r.money(s["ltv"]),
                "sub": [
                    s.get("ltv_reason", ""),
                    f"ARPA {r.money(s['arpa'])} · churn {fmt_pct(s['monthly_churn'], 2)}",
                ],
            },
            _predictive_tile(r, lc, r.predictive_ltv["groups"]["all"]["notes"]),
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
    c = cohort_ltv(r.ds, r.as_of, r.cfg, cohort="quarter")
    latest_age = c.group_by("cohort").agg(pl.all().last()).sort("cohort")
    div = UNIT_DIVISORS.get(r.unit, 1)
    src = latest_age.select(
        "cohort",
        *[(pl.col(f"gp_{k}") / div).alias(names[k]) for k in ("base", "upsell", "cross_sell")],
    ).unpivot(index="cohort", variable_name="source", value_name="value")
    return (
        t
        + table(
            long,
            [
                ("source", r.t("区分", "Source"), None),
                ("mrr", r.t("今月のMRR", "MRR this month"), r.money),
            ],
        )
        + _svg(
            charts.stacked_bars(src, "cohort", "source", "value", r.lang, horizontal=False),
            r.t(
                f"獲得コホート別・顧客あたり累積粗利（{r.unit}）",
                f"Cumulative gross profit per acquired account by cohort ({r.unit})",
            ),
        )
        + table(
            latest_age,
            [
                ("cohort", r.t("コホート", "Cohort"), None),
                ("age", r.t("経過月", "Age"), fmt_int),
                ("gross_profit", r.t("累積粗利", "Gross profit"), r.money),
                ("cac", "CAC", r.money),
                ("cost_to_serve", r.t("対応コスト", "Cost to serve"), r.money),
                ("net", r.t("累積利益額", "Net"), r.money),
                ("payback_age", r.t("回収月", "Payback"), fmt_int),
                ("payback_reason", r.t("備考", "Note"), None),
            ],
        )
    )


@guarded
def health_section(r: Report) -> str:
    from cs_metrics.metrics.segments import segments_by_csm

    seg = r.segments
    by = segments_by_csm(r.ds, r.as_of)
    bands = (
        seg.group_by("csm", "band")
        .agg(pl.len().alias("accounts"))
        .with_columns(pl.col("csm").fill_null("(未設定)"))
    )
    return (
        _svg(charts.stacked_bars(bands, "csm", "band", "accounts", r.lang, charts.BAND_COLORS))
        + _svg(charts.stacked_bars(by, "csm", "segment", "accounts", r.lang, charts.SEGMENT_COLORS))
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


@guarded
def risk_section(r: Report, max_rows: int = 60) -> str:
    rl, res = r.risk_list, r.risk
    out = [
        table(
            rl.with_columns(pl.col("rules").list.join(", "), pl.col("evidence").list.join(" / ")),
            [
                ("csm", r.t("担当CSM", "CSM"), None),
                ("account_name", r.t("顧客", "Account"), None),
                ("segment", r.t("セグメント", "Segment"), None),
                ("mrr", "MRR", r.money),
                ("rules", r.t("シグナル", "Signals"), None),
                ("evidence", r.t("根拠", "Evidence"), None),
            ],
            max_rows=max_rows,
        )
    ]
    for rule, why in res.unavailable.items():
        out.append(notice(f"{rule}: {r.t('判定不可', 'unavailable')} — {why}"))
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
    fyc = pl.DataFrame(
        churn_within(
            r.ds,
            r.as_of,
            h,
            cohort="fiscal_year",
            fiscal_year_start_month=r.cfg["general"]["fiscal_year_start_month"],
        )
    )
    qc = pl.DataFrame(churn_within(r.ds, r.as_of, h, cohort="quarter"))
    cols = [
        ("cohort", r.t("獲得コホート", "Cohort"), None),
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
