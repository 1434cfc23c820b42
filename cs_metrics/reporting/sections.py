"""Report sections: each calls cs_metrics functions, draws with cs_metrics.charts and returns HTML.

The notebooks only call these. Every section goes through :func:`guarded`, the one place that
turns "this table is missing" or "this library part is not installed" into a visible explanation
instead of an error, so a report always renders.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from cs_metrics import charts
from cs_metrics.config import load_config
from cs_metrics.data.dataset import Dataset
from cs_metrics.data.load import load_dataset
from cs_metrics.format import UNIT_DIVISORS, fmt_int, fmt_money, fmt_pct, fmt_pp, label
from cs_metrics.metrics.kpis import kpis
from cs_metrics.metrics.retention import monthly_rates
from cs_metrics.periods import add_months, format_month, month_to_index, parse_month
from cs_metrics.reporting.html import esc, figure, notice, table, tiles


class SectionUnavailable(Exception):
    """Raised by a section that cannot be shown; the message is shown instead."""


@dataclass
class Report:
    """What every section needs, computed once."""

    ds: Dataset
    cfg: dict[str, Any]
    as_of: dt.date
    lang: str
    rates: pl.DataFrame
    kpis: dict[str, Any]
    validation: dict[str, Any] | None = None
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return self.cfg["general"]["display_unit"]

    def money(self, v: Any) -> str:
        return fmt_money(v, self.unit, self.lang)

    def t(self, ja: str, en: str) -> str:
        return ja if self.lang == "ja" else en


def prepare(
    data_dir: str | Path,
    as_of: str | None = None,
    config_path: str | None = None,
    lang: str | None = None,
    validation_path: str | None = None,
) -> Report:
    """Load the data and the headline numbers once for a report."""
    cfg = load_config(config_path or None)
    if lang:
        cfg = cfg.updated({"general": {"lang": lang}})
    validation = None
    if validation_path and Path(validation_path).is_file():
        validation = json.loads(Path(validation_path).read_text("utf-8"))
        ds = load_dataset(data_dir, config=cfg)
    else:
        from cs_metrics.data.validate import validate_dataset
        from cs_metrics.errors import DataError

        rep = validate_dataset(data_dir, config=cfg)
        validation = rep.to_dict()
        if not rep.ok:
            raise DataError(rep.errors, report=rep)
        ds = rep.dataset
    m = parse_month(as_of) if as_of else ds.default_as_of()
    rates = monthly_rates(ds, m)
    return Report(
        ds, cfg, m, cfg["general"]["lang"], rates, kpis(ds, m, cfg, rates=rates), validation
    )


def guarded(fn: Callable[..., str]) -> Callable[..., str]:
    """Show an explanation instead of failing when a table or library part is missing."""

    @functools.wraps(fn)
    def wrapper(r: Report, *args: Any, **kwargs: Any) -> str:
        try:
            return fn(r, *args, **kwargs)
        except SectionUnavailable as e:
            return notice(str(e))
        except ImportError as e:
            return notice(
                r.t(
                    f"この項目はまだ利用できません（{e.name}）。",
                    f"This section is not available yet ({e.name}).",
                )
            )
        except Exception as e:  # a report must render: show what failed, keep going
            detail = traceback.format_exception_only(type(e), e)[-1].strip()
            return notice(
                r.t(
                    f"この項目を表示できませんでした: {detail}",
                    f"This section could not be shown: {detail}",
                )
            )

    return wrapper


def _need(r: Report, table_name: str) -> None:
    if not r.ds.has(table_name):
        raise SectionUnavailable(
            r.t(
                f"{table_name} のデータがないため、この項目は表示できません。",
                f"No {table_name} table in the data: this section is not shown.",
            )
        )


def _row(r: Report, month: dt.date) -> dict[str, Any] | None:
    x = r.rates.filter(pl.col("month_idx") == month_to_index(month))
    return x.row(0, named=True) if x.height else None


def _status(value: float | None, target: float, higher_is_better: bool) -> str:
    """Tile colour against a target: good, bad, or neutral when the value is undefined."""
    if value is None:
        return "neutral"
    ok = value >= target if higher_is_better else value <= target
    return "good" if ok else "bad"


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


def _delta_money(now: float, before: float | None) -> str:
    if before is None or before == 0:
        return "—"
    return f"{(now - before) / before * 100:+.1f}%"


@guarded
def headline_tiles(r: Report) -> str:
    """MRR, churn, GRR/NRR, churn within H vs target, NPS, LTV with MoM and YoY changes."""
    k = r.kpis
    prev = _row(r, add_months(r.as_of, -1))
    yoy = _row(r, add_months(r.as_of, -12))
    t = r.cfg["targets"]
    mom, yy = r.t("前月比", "MoM"), r.t("前年同月比", "YoY")
    h = int(r.cfg["revenue"]["churn_horizon_months"])
    cw = k[f"churn_within_{h}m"]
    items = [
        {
            "label": label("mrr_end", r.lang),
            "value": r.money(k["mrr_end"]),
            "sub": [
                f"{mom} {_delta_money(k['mrr_end'], prev and prev['mrr_end'])}",
                f"{yy} {_delta_money(k['mrr_end'], yoy and yoy['mrr_end'])}",
            ],
        },
        {
            "label": label("logo_churn_rate", r.lang),
            "value": fmt_pct(k["logo_churn_rate"]),
            "sub": [
                f"{mom} {fmt_pp(None if prev is None or prev['logo_churn_rate'] is None or k['logo_churn_rate'] is None else k['logo_churn_rate'] - prev['logo_churn_rate'])}",
                f"{label('accounts_churned', r.lang)} {fmt_int(k['accounts_churned'])}",
            ],
        },
        {"label": label("grr", r.lang), "value": fmt_pct(k["grr"]), "sub": []},
        {"label": label("nrr", r.lang), "value": fmt_pct(k["nrr"]), "sub": []},
        {
            "label": label("nrr_trailing_12m", r.lang),
            "value": fmt_pct(k["nrr_trailing_12m"]),
            "sub": [
                f"{r.t('目標', 'target')} ≥ {fmt_pct(t['nrr_trailing_12m_min'])}",
                f"{r.t('目標との差', 'vs target')} {fmt_pp(None if k['nrr_trailing_12m'] is None else k['nrr_trailing_12m'] - t['nrr_trailing_12m_min'])}",
            ],
            "status": _status(k["nrr_trailing_12m"], t["nrr_trailing_12m_min"], True),
        },
        {
            "label": label("churn_within", r.lang, h=h),
            "value": fmt_pct(cw["rate"]),
            "sub": [
                f"KM {fmt_pct(cw['km_rate'])} ({fmt_pct(cw['km_ci_low'])}–{fmt_pct(cw['km_ci_high'])})",
                f"{r.t('目標', 'target')} ≤ {fmt_pct(t['churn_within_horizon_max'])}",
            ],
            "status": _status(cw["rate"], t["churn_within_horizon_max"], False),
        },
    ]
    try:
        from cs_metrics.metrics.nps import nps

        n = nps(r.ds, r.as_of)[0]
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
    except Exception:  # noqa: BLE001 - a tile is optional
        pass
    try:
        from cs_metrics.metrics.ltv import simple_ltv

        s = simple_ltv(r.ds, r.as_of, r.cfg)
        items.append(
            {
                "label": "LTV",
                "value": r.money(s.get("ltv")),
                "sub": [s.get("ltv_reason") or s.get("reason") or ""],
            }
        )
    except Exception:  # noqa: BLE001
        items.append(
            {"label": "LTV", "value": "—", "sub": [r.t("LTV は未実装", "LTV not available")]}
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
    lo = month_to_index(r.as_of) - months + 1
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


@guarded
def period_views(r: Report) -> str:
    """Month, quarter and fiscal-year (年度) views of the bridge."""
    from cs_metrics.periods import fiscal_year_expr, quarter_label_expr

    fy = int(r.cfg["general"]["fiscal_year_start_month"])
    d = r.rates.with_columns(
        quarter_label_expr(pl.col("month_idx")).alias("quarter"),
        fiscal_year_expr(pl.col("month_idx"), fy).cast(pl.String).alias("fiscal_year"),
    )
    moves = ["new", "reactivation", "upsell", "cross_sell", "contraction", "churn"]

    def agg(key: str) -> pl.DataFrame:
        return (
            d.group_by(key, maintain_order=True)
            .agg(
                pl.col("mrr_start").first(),
                *[pl.col(c).sum() for c in moves],
                pl.col("mrr_end").last(),
                pl.col("accounts_churned").sum(),
                pl.col("accounts_start").first(),
            )
            .with_columns((pl.col("mrr_end") / pl.col("mrr_start") - 1).alias("growth"))
            .tail(8)
        )

    cols = [(c, label(f"mrr_{c}", r.lang), r.money) for c in moves]
    out = []
    for key, title in (
        ("quarter", r.t("四半期", "Quarter")),
        ("fiscal_year", r.t("年度", "Fiscal year")),
    ):
        out.append(
            table(
                agg(key),
                [
                    (key, title, None),
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
    _need(r, "cancellations")
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


@guarded
def ltv_section(r: Report) -> str:
    from cs_metrics.metrics.ltv import cohort_ltv, ltv_cac, revenue_by_source, simple_ltv

    s = simple_ltv(r.ds, r.as_of, r.cfg)
    lc = ltv_cac(r.ds, r.as_of, r.cfg)[0]
    d = revenue_by_source(r.ds, r.as_of)
    now = d.filter(pl.col("month_idx") == month_to_index(r.as_of))
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
            {
                "label": r.t("予測LTV（新規・sBG）", "Predictive LTV (new, sBG)"),
                "value": r.money(lc["ltv_new"]),
                "sub": [],
            },
            {
                "label": "LTV:CAC",
                "value": "—" if lc["ltv_cac"] is None else f"{lc['ltv_cac']:.1f}",
                "sub": [
                    ""
                    if lc["cac_payback_months"] is None
                    else r.t(
                        f"CAC回収 {lc['cac_payback_months']:.1f}か月",
                        f"CAC payback {lc['cac_payback_months']:.1f} months",
                    )
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
            ],
        )
    )


@guarded
def health_section(r: Report) -> str:
    from cs_metrics.metrics.segments import segments, segments_by_csm

    seg = segments(r.ds, r.as_of)
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
    from cs_metrics.metrics.risk import risk_list, risk_signals

    rl = risk_list(r.ds, r.as_of)
    res = risk_signals(r.ds, r.as_of)
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
    _need(r, "onboarding_sessions")
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
    cw = churn_within(r.ds, r.as_of, h)[0]
    t = tiles(
        [
            {
                "label": r.t(f"{h}か月以内解約率（実績）", f"Churn within {h}m (observed)"),
                "value": fmt_pct(cw["rate"]),
                "sub": [f"{cw['churned']} / {cw['eligible']}", cw.get("rate_reason", "")],
                "status": _status(cw["rate"], target, False),
            },
            {
                "label": r.t("カプラン・マイヤー推定", "Kaplan-Meier"),
                "value": fmt_pct(cw["km_rate"]),
                "sub": [
                    f"95%CI {fmt_pct(cw['km_ci_low'])}–{fmt_pct(cw['km_ci_high'])}",
                    cw.get("km_reason", ""),
                ],
                "status": _status(cw["km_rate"], target, False),
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
def scenarios_section(r: Report, save_pct: float, graduation_target: float | None) -> str:
    from cs_metrics.metrics.scenarios import what_if

    w = what_if(r.ds, r.as_of, save_pct, graduation_target=graduation_target)
    rows = pl.DataFrame(
        [
            {
                "metric": r.t(f"{w['horizon']}か月以内解約率（実績）", "Churn within H (observed)"),
                "baseline": w["baseline"]["rate"],
                "projected": w["projected"]["rate"],
            },
            {
                "metric": r.t("同（KM推定）", "Churn within H (KM)"),
                "baseline": w["baseline"]["km_rate"],
                "projected": w["projected"]["km_rate"],
            },
            {
                "metric": "NRR（直近12か月）" if r.lang == "ja" else "NRR (trailing 12m)",
                "baseline": w["baseline"]["nrr_trailing_12m"],
                "projected": w["projected"]["nrr_trailing_12m"],
            },
        ]
    )
    lever = r.t(
        f"施策終了・中止による解約の {save_pct:.0%} を防止",
        f"Save {save_pct:.0%} of 施策終了・中止 churn",
    )
    if graduation_target is not None:
        lever += r.t(
            f"、オンボーディング卒業率 {graduation_target:.0%}",
            f", onboarding graduation {graduation_target:.0%}",
        )
    return (
        f"<p>{esc(lever)}</p>"
        + table(
            rows,
            [
                ("metric", r.t("指標", "Metric"), None),
                ("baseline", r.t("現状", "Now"), fmt_pct),
                ("projected", r.t("シナリオ", "Scenario"), fmt_pct),
            ],
        )
        + "".join(notice(n) for n in w["notes"])
    )


@guarded
def nrr_target(r: Report) -> str:
    from cs_metrics.metrics.retention import trailing_retention

    tr = trailing_retention(r.ds, r.as_of, 12).filter(
        pl.col("month_idx") == month_to_index(r.as_of)
    )
    if tr.height == 0:
        raise SectionUnavailable(
            r.t("12か月前に有効な顧客がいません。", "No accounts were active 12 months ago.")
        )
    x = tr.row(0, named=True)
    target = r.cfg["targets"]["nrr_trailing_12m_min"]
    lo = month_to_index(r.as_of) - 11
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
                "status": _status(x["nrr_trailing_12m"], target, True),
            }
        ]
    ) + table(
        rows,
        [
            ("item", r.t("直近12か月のMRR増減", "MRR movements, last 12 months"), None),
            ("value", r.t("金額", "Amount"), r.money),
        ],
    )


def month_label(r: Report) -> str:
    return format_month(r.as_of)
