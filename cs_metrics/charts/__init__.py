"""Altair chart builders over already computed frames, rendered to static SVG.

No metric logic lives here: every function takes the output of a ``cs_metrics.metrics`` function
and only draws it. :func:`to_svg` renders a chart offline through vl-convert (Japanese text stays
as ``<text>`` and is drawn by the reader's CJK font), so a report needs no CDN.
"""

from __future__ import annotations

import sys
from typing import Any

# jsonschema (imported by altair) compiles the rfc3987_syntax grammar at import when that optional
# package is installed (seconds on this machine); it only checks "iri" string formats, which no
# chart uses. Without it jsonschema skips those formats: altair imports in a fraction of the time.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import altair as alt  # noqa: E402
import polars as pl  # noqa: E402

FONT = "Noto Sans CJK JP, Hiragino Sans, Yu Gothic, Meiryo, sans-serif"
COLORS = {
    "new": "#2e7d32",
    "reactivation": "#66bb6a",
    "upsell": "#1565c0",
    "cross_sell": "#42a5f5",
    "contraction": "#ef6c00",
    "churn": "#c62828",
    "total": "#546e7a",
}
BAND_COLORS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
SEGMENT_COLORS = {"S": "#6a1b9a", "A": "#1565c0", "B": "#00897b", "C": "#9e9e9e"}

LABELS = {
    "ja": {
        "start": "期首",
        "end": "期末",
        "new": "新規",
        "reactivation": "復活",
        "upsell": "アップセル",
        "cross_sell": "クロスセル",
        "contraction": "縮小",
        "churn": "解約",
        "month": "月",
        "mrr": "MRR",
        "rate": "率",
        "logo_churn_rate": "ロゴチャーン率",
        "grr": "GRR",
        "nrr": "NRR",
        "nrr_trailing_12m": "NRR（直近12か月）",
        "age": "経過月数",
        "cohort": "コホート",
        "retention": "継続率",
        "reason": "解約理由",
        "events": "件数",
        "csm": "担当CSM",
        "accounts": "顧客数",
        "segment": "セグメント",
        "band": "ヘルス",
        "session": "セッション",
        "users": "ユーザー数",
        "months": "経過月数",
        "churn_share": "累積解約率",
        "target": "目標",
        "base": "基本",
        "value": "金額",
    },
    "en": {
        "start": "Start",
        "end": "End",
        "new": "New",
        "reactivation": "Reactivation",
        "upsell": "Upsell",
        "cross_sell": "Cross-sell",
        "contraction": "Contraction",
        "churn": "Churn",
        "month": "Month",
        "mrr": "MRR",
        "rate": "Rate",
        "logo_churn_rate": "Logo churn",
        "grr": "GRR",
        "nrr": "NRR",
        "nrr_trailing_12m": "NRR (trailing 12m)",
        "age": "Months since start",
        "cohort": "Cohort",
        "retention": "Retention",
        "reason": "Reason",
        "events": "Events",
        "csm": "CSM",
        "accounts": "Accounts",
        "segment": "Segment",
        "band": "Health",
        "session": "Session",
        "users": "Users",
        "months": "Months",
        "churn_share": "Cumulative churn",
        "target": "Target",
        "base": "Base",
        "value": "Amount",
    },
}


def _l(lang: str) -> dict[str, str]:
    return LABELS.get(lang, LABELS["en"])


def theme(chart: alt.TopLevelMixin, width: int = 640, height: int = 260) -> alt.TopLevelMixin:
    """The shared look: CJK font stack, quiet axes."""
    return (
        chart.properties(width=width, height=height)
        .configure(font=FONT)
        .configure_axis(labelFont=FONT, titleFont=FONT, labelFontSize=11, titleFontSize=12)
        .configure_legend(labelFont=FONT, titleFont=FONT)
        .configure_title(font=FONT, fontSize=14, anchor="start")
        .configure_view(strokeWidth=0)
    )


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render a chart to an SVG string offline (vl-convert)."""
    import vl_convert as vlc

    return vlc.vegalite_to_svg(chart.to_json())


def _records(df: pl.DataFrame) -> list[dict[str, Any]]:
    out = df.with_columns(
        [pl.col(c).dt.strftime("%Y-%m") for c, t in df.schema.items() if t == pl.Date]
    )
    return out.to_dicts()


def bridge_waterfall(
    row: dict[str, Any], lang: str = "ja", unit_divisor: float = 1.0, unit: str = "円"
) -> alt.TopLevelMixin:
    """The month's MRR bridge as a waterfall: start, + new, reactivation, upsell, cross-sell,
    - contraction, churn, = end. ``row`` is one row of ``monthly_rates``."""
    L = _l(lang)
    steps = [("start", row["mrr_start"], "total")]
    for k in ("new", "reactivation", "upsell", "cross_sell"):
        steps.append((k, row[k], k))
    for k in ("contraction", "churn"):
        steps.append((k, -row[k], k))
    levels, level = [], 0.0
    for _k, v, color in steps:
        level = v if color == "total" else level + v
        levels.append(level)
    levels.append(row["mrr_end"])
    # the axis starts near the smallest level so that small movements stay visible
    floor = max(0.0, min(levels) - 0.25 * (max(levels) - min(levels) or max(levels) * 0.2))
    data, level = [], 0.0
    for i, (k, v, color) in enumerate(steps):
        if color == "total":
            lo, hi, level = floor, v, v
        else:
            lo, hi = level, level + v
            level = hi
        data.append(
            {
                "order": i,
                "step": L[k],
                "lo": lo / unit_divisor,
                "hi": hi / unit_divisor,
                "kind": color,
                "amount": v / unit_divisor,
            }
        )
    data.append(
        {
            "order": len(data),
            "step": L["end"],
            "lo": floor / unit_divisor,
            "hi": row["mrr_end"] / unit_divisor,
            "kind": "total",
            "amount": row["mrr_end"] / unit_divisor,
        }
    )
    base = alt.Chart(alt.Data(values=data))
    bars = base.mark_bar().encode(
        x=alt.X("step:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("lo:Q", title=f"MRR ({unit})", scale=alt.Scale(zero=False)),
        y2="hi:Q",
        color=alt.Color(
            "kind:N", scale=alt.Scale(domain=list(COLORS), range=list(COLORS.values())), legend=None
        ),
    )
    text = base.mark_text(dy=-6, fontSize=10).encode(
        x=alt.X("step:N", sort=alt.SortField("order")),
        y=alt.Y("hi:Q"),
        text=alt.Text("amount:Q", format=",.0f"),
    )
    return theme(alt.layer(bars, text))


def trend_lines(
    df: pl.DataFrame,
    columns: list[str],
    lang: str = "ja",
    percent: bool = False,
    target: float | None = None,
    title: str = "",
) -> alt.TopLevelMixin:
    """Monthly trend of ``columns`` (long format built here); optional target rule."""
    L = _l(lang)
    long = df.select("month", *columns).unpivot(index="month", variable_name="series")
    long = long.with_columns(
        pl.col("series").replace_strict({c: L.get(c, c) for c in columns}, return_dtype=pl.String)
    )
    chart = (
        alt.Chart(alt.Data(values=_records(long)))
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y("value:Q", title=None, axis=alt.Axis(format=".0%" if percent else ",.0f")),
            color=alt.Color("series:N", title=None),
        )
    )
    layers = [chart]
    if target is not None:
        layers.append(
            alt.Chart(alt.Data(values=[{"t": target}]))
            .mark_rule(strokeDash=[4, 4], color="#c62828")
            .encode(y="t:Q")
        )
    return theme(alt.layer(*layers).properties(title=title))


def reasons_bar(
    df: pl.DataFrame, lang: str = "ja", highlight: str = "施策終了・中止"
) -> alt.TopLevelMixin:
    """Churn events by reason category (from ``churn_reasons``), one reason highlighted."""
    L = _l(lang)
    recs = _records(df.with_columns((pl.col("reason_category") == highlight).alias("hl")))
    return theme(
        alt.Chart(alt.Data(values=recs))
        .mark_bar()
        .encode(
            y=alt.Y("reason_category:N", sort="-x", title=L["reason"]),
            x=alt.X("events:Q", title=L["events"]),
            color=alt.Color(
                "hl:N",
                scale=alt.Scale(domain=[True, False], range=["#c62828", "#90a4ae"]),
                legend=None,
            ),
            tooltip=["reason_category:N", "events:Q", alt.Tooltip("share_events:Q", format=".0%")],
        ),
        height=max(80, 26 * df.height),
    )


def cohort_heatmap(
    df: pl.DataFrame, value: str = "logo_retention", lang: str = "ja", max_age: int = 24
) -> alt.TopLevelMixin:
    """Cohort retention heatmap (from ``cohort_retention``)."""
    L = _l(lang)
    d = df.filter(pl.col("age") <= max_age).select("cohort", "age", value)
    return theme(
        alt.Chart(alt.Data(values=_records(d)))
        .mark_rect()
        .encode(
            x=alt.X("age:O", title=L["age"]),
            y=alt.Y("cohort:O", title=L["cohort"]),
            color=alt.Color(
                f"{value}:Q",
                title=L["retention"],
                scale=alt.Scale(scheme="blues"),
                legend=alt.Legend(format=".0%"),
            ),
        ),
        height=max(120, 12 * d["cohort"].n_unique()),
    )


def km_chart(
    curve: pl.DataFrame, horizon: int, target: float, lang: str = "ja"
) -> alt.TopLevelMixin:
    """Cumulative churn (1 - KM survival) with its 95% band, the horizon and the target."""
    L = _l(lang)
    d = curve.filter(pl.col("t") <= max(horizon, 1) + 6).select(
        "t", "churn", (1 - pl.col("ci_high")).alias("lo"), (1 - pl.col("ci_low")).alias("hi")
    )
    base = alt.Chart(alt.Data(values=_records(d)))
    band = base.mark_area(opacity=0.2, interpolate="step-after").encode(
        x=alt.X("t:Q", title=L["months"]), y="lo:Q", y2="hi:Q"
    )
    line = base.mark_line(interpolate="step-after").encode(
        x="t:Q", y=alt.Y("churn:Q", title=L["churn_share"], axis=alt.Axis(format=".0%"))
    )
    tgt = alt.Chart(alt.Data(values=[{"y": target, "x": horizon}]))
    return theme(
        alt.layer(
            band,
            line,
            tgt.mark_rule(color="#c62828", strokeDash=[4, 4]).encode(y="y:Q"),
            tgt.mark_rule(color="#546e7a", strokeDash=[2, 2]).encode(x="x:Q"),
        )
    )


def stacked_bars(
    df: pl.DataFrame,
    x: str,
    color: str,
    value: str,
    lang: str = "ja",
    colors: dict[str, str] | None = None,
    horizontal: bool = True,
) -> alt.TopLevelMixin:
    """Stacked bars (e.g. segments per CSM, LTV by source per cohort)."""
    L = _l(lang)
    enc_color = alt.Color(f"{color}:N", title=L.get(color, color))
    if colors:
        enc_color = alt.Color(
            f"{color}:N",
            title=L.get(color, color),
            scale=alt.Scale(domain=list(colors), range=list(colors.values())),
        )
    c = alt.Chart(alt.Data(values=_records(df))).mark_bar()
    if horizontal:
        c = c.encode(
            y=alt.Y(f"{x}:N", title=L.get(x, x)),
            x=alt.X(f"sum({value}):Q", title=L.get(value, value)),
            color=enc_color,
        )
    else:
        c = c.encode(
            x=alt.X(f"{x}:O", title=L.get(x, x)),
            y=alt.Y(f"sum({value}):Q", title=L.get(value, value)),
            color=enc_color,
        )
    return theme(c, height=max(100, 28 * df[x].n_unique()) if horizontal else 260)


def funnel(df: pl.DataFrame, lang: str = "ja") -> alt.TopLevelMixin:
    """Onboarding funnel: users who completed each session (from ``onboarding_funnel``)."""
    L = _l(lang)
    return theme(
        alt.Chart(alt.Data(values=_records(df)))
        .mark_bar(color="#1565c0")
        .encode(
            x=alt.X("session_no:O", title=L["session"]),
            y=alt.Y("users_done:Q", title=L["users"]),
        ),
        height=200,
    )
