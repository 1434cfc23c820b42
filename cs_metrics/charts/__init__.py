"""Altair chart builders over already computed frames, rendered to static SVG.

No metric logic lives here: every function takes the output of a ``cs_metrics.metrics`` function
and only draws it. :func:`to_svg` renders a chart offline through vl-convert (Japanese text stays
as ``<text>`` and is drawn by the reader's CJK font), so a report needs no CDN.

Rules every chart follows (tests/test_charts.py checks them):

- every chart has a title; target lines carry their label ("目標 110%");
- amounts start from zero (the bridge draws the month's movements as bars from zero, not a
  waterfall on an axis that starts near the total); rates that live on different scales
  (GRR/NRR near 100%, logo churn near 1%) get charts of their own;
- counts have whole-number axes; legends and axis labels are never truncated;
- one colour per concept across charts (:data:`PALETTE`);
- data is aggregated before drawing: a chart with more than :data:`MAX_MARKS` data rows is
  refused (``ValueError``) instead of drawn.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

# jsonschema (imported by altair) compiles the rfc3987_syntax grammar at import when that optional
# package is installed (seconds on this machine); it only checks "iri" string formats, which no
# chart uses. Without it jsonschema skips those formats: altair imports in a fraction of the time.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import altair as alt  # noqa: E402
import polars as pl  # noqa: E402

from cs_metrics.format import cohort_label, fmt_money, fmt_pct, money_axis  # noqa: E402
from cs_metrics.labels import band_label, label  # noqa: E402

__all__ = [
    "SVG_CACHE_ENTRIES",
    "BAND_COLORS",
    "MAX_MARKS",
    "PALETTE",
    "SEGMENT_COLORS",
    "bridge_waterfall",
    "cohort_heatmap",
    "funnel",
    "km_chart",
    "reasons_bar",
    "sparkline",
    "stacked_bars",
    "theme",
    "to_png",
    "to_svg",
    "trend_lines",
    "warm_up",
]

FONT = "Noto Sans CJK JP, Hiragino Sans, Yu Gothic, Meiryo, sans-serif"
# The font of text marks that are short numbers placed in the middle of their cell (the cohort
# heatmap's percentages): vl-convert measures every text for the layout, and a measurement in
# the CJK font costs about 2 ms (the font collection is read from disk each time) against a
# tenth of that in its built-in Latin font, which this unknown family falls back to. The
# measured width decides nothing there; :func:`to_svg` writes :data:`FONT` in the SVG instead,
# so readers see the same font as everywhere else.
CELL_FONT = "cs-metrics-cell-numbers"
MAX_MARKS = 5000

# One colour per concept, in every chart (and the report's tiles).
PALETTE: dict[str, str] = {
    # MRR movements: growth greens/blues, losses orange/red
    "new": "#2e7d32",
    "reactivation": "#66bb6a",
    "upsell": "#1565c0",
    "cross_sell": "#42a5f5",
    "contraction": "#ef6c00",
    "churn": "#c62828",
    "total": "#546e7a",
    # series
    "mrr": "#37474f",
    "nrr": "#1565c0",
    "grr": "#00897b",
    "nrr_trailing_12m": "#1565c0",
    "grr_trailing_12m": "#00897b",
    "logo_churn_rate": "#c62828",
    "churn_share": "#c62828",
    "retention": "#1565c0",
    "users": "#1565c0",
    # revenue sources
    "base": "#546e7a",
    # references
    "target": "#6a1b9a",
    "horizon": "#78909c",
    "muted": "#b0bec5",
}
COLORS = PALETTE  # the name sections used before
BAND_COLORS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
SEGMENT_COLORS = {"S": "#6a1b9a", "A": "#1565c0", "B": "#00897b", "C": "#9e9e9e"}

_WORDS = {
    "ja": {
        "age": "経過月数（0 = 獲得月）",
        "cohort": "獲得コホート（顧客数）",
        "reason": "解約理由",
        "events": "件数",
        "csm": "担当CSM",
        "accounts": "顧客数",
        "segment": "セグメント",
        "band": "ヘルス",
        "session": "セッション",
        "users": "完了ユーザー数",
        "months": "獲得からの月数",
        "churn_share": "累積解約率",
        "value": "金額",
        "mrr": "MRR",
        "amount": "増減額",
        "horizon": "{h}か月",
        "logo_retention": "ロゴ継続率",
        "revenue_retention": "売上継続率",
        "source": "区分",
    },
    "en": {
        "age": "Months since acquisition (0 = first month)",
        "cohort": "Acquisition cohort (accounts)",
        "reason": "Reason",
        "events": "Churn events",
        "csm": "CSM",
        "accounts": "Accounts",
        "segment": "Segment",
        "band": "Health",
        "session": "Session",
        "users": "Users who completed it",
        "months": "Months since acquisition",
        "churn_share": "Cumulative churn",
        "value": "Amount",
        "mrr": "MRR",
        "amount": "Change",
        "horizon": "{h} months",
        "logo_retention": "Logo retention",
        "revenue_retention": "Revenue retention",
        "source": "Source",
    },
}
LABELS = _WORDS  # the name sections used before


def _w(lang: str, key: str, **kw: Any) -> str:
    text = _WORDS.get(lang, _WORDS["en"]).get(key, key)
    return text.format(**kw) if kw else text


def theme(chart: alt.TopLevelMixin, width: int = 640, height: int = 260) -> alt.TopLevelMixin:
    """The shared look: CJK font stack, quiet axes, legends below and never truncated."""
    return (
        chart.properties(width=width, height=height)
        .configure(font=FONT)
        .configure_axis(
            labelFont=FONT,
            titleFont=FONT,
            labelFontSize=11,
            titleFontSize=12,
            labelLimit=0,
            titlePadding=10,
        )
        .configure_legend(
            labelFont=FONT, titleFont=FONT, labelLimit=0, titleLimit=0, orient="bottom"
        )
        .configure_title(font=FONT, fontSize=14, anchor="start", subtitleFontSize=11)
        .configure_view(strokeWidth=0)
    )


def _data(rows: list[dict[str, Any]]) -> alt.Data:
    """Inline data for a chart, refused above :data:`MAX_MARKS` rows (aggregate first)."""
    if len(rows) > MAX_MARKS:
        raise ValueError(
            f"{len(rows)} data rows for one chart (at most {MAX_MARKS}): aggregate before drawing"
        )
    # Not validated row by row at construction (altair's debug mode checks every value against
    # the Vega-Lite schema: a quarter of a second for a heatmap's 300 cells); see to_svg.
    with alt.utils.schemapi.debug_mode(False):
        return alt.Data(values=rows)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """Render a chart to an SVG string offline (vl-convert).

    The spec is not validated against the Vega-Lite JSON schema here (about 40 ms per chart):
    every builder's spec is validated by the tests (``chart.to_dict()`` in tests/test_charts.py),
    and the data rows only vary in their values.
    """
    import vl_convert as vlc

    spec = chart.to_json(validate=False)
    key = hashlib.sha256(
        "\0".join((spec, vlc.__version__, FONT, CELL_FONT)).encode("utf-8")
    ).hexdigest()
    cached = _cached_svg(key)
    if cached is not None:
        return cached
    svg = vlc.vegalite_to_svg(spec)
    svg = svg.replace(f'font-family="{CELL_FONT}"', f'font-family="{FONT}"')
    _store_svg(key, svg)
    return svg


SVG_CACHE_ENTRIES = 512  # oldest rendered charts beyond this are removed when one is stored


def _svg_dir() -> Path:
    from cs_metrics.data.cache import cache_dir

    return cache_dir() / "charts"


def _cached_svg(key: str) -> str | None:
    """A chart rendered before from the same spec (content-addressed: the spec, vl-convert's
    version and the fonts make the key, so a changed chart is never read from the cache)."""
    try:
        return (_svg_dir() / f"{key}.svg").read_text("utf-8")
    except (OSError, UnicodeError):
        return None


def _store_svg(key: str, svg: str) -> None:
    """Store a rendered chart atomically; a cache that cannot be written is not used."""
    folder = _svg_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".svg", dir=folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(svg)
            os.replace(tmp, folder / f"{key}.svg")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        entries = sorted(folder.glob("*.svg"), key=lambda p: p.stat().st_mtime)
        for p in entries[:-SVG_CACHE_ENTRIES]:
            p.unlink(missing_ok=True)
    except OSError:
        return


_WARM_UP: list[threading.Thread] = []


def warm_up() -> None:
    """Start vl-convert in the background so that the first chart does not wait for it.

    vl-convert's first conversion in a process starts its JavaScript engine and reads the
    system's fonts (about 0.8 s here); it releases the GIL meanwhile, so a report's kernel
    loads its data at the same time. Idempotent; errors are left to the first real chart.
    """
    if not _WARM_UP:
        _WARM_UP.append(threading.Thread(target=_warm, name="vl-convert-warm-up", daemon=True))
        _WARM_UP[0].start()


def _warm() -> None:
    import json

    import vl_convert as vlc

    spec = {
        "data": {"values": [{"x": "月", "y": 1}]},
        "mark": "bar",
        "encoding": {
            "x": {"field": "x", "type": "nominal"},
            "y": {"field": "y", "type": "quantitative"},
        },
        "title": "月次",
        "config": {"font": FONT},
    }
    try:
        vlc.vegalite_to_svg(json.dumps(spec))
    except Exception:  # noqa: BLE001 - the first real chart reports any problem
        pass


def to_png(chart: alt.TopLevelMixin, scale: float = 1.0) -> bytes:
    """Render a chart to PNG bytes offline (for looking at a chart, screenshots and tests)."""
    import vl_convert as vlc

    return vlc.svg_to_png(to_svg(chart), scale=scale)


def _records(df: pl.DataFrame) -> list[dict[str, Any]]:
    out = df.with_columns(
        [pl.col(c).dt.strftime("%Y-%m") for c, t in df.schema.items() if t == pl.Date]
    )
    return out.to_dicts()


def _title(text: str, subtitle: str | None = None) -> alt.TitleParams:
    return alt.TitleParams(text=text, subtitle=subtitle or alt.Undefined)


def _target_layers(
    value: float, text: str, axis: str = "y", color: str | None = None
) -> list[alt.Chart]:
    """A dashed reference line with its label at the line (``目標 110%``)."""
    color = color or PALETTE["target"]
    ref = alt.Chart(_data([{"v": value, "t": text}]))
    if axis == "y":
        rule = ref.mark_rule(strokeDash=[5, 4], color=color, strokeWidth=1.5).encode(y="v:Q")
        txt = ref.mark_text(align="right", baseline="bottom", dx=-2, dy=-3, color=color).encode(
            y="v:Q", x=alt.value("width"), text="t:N"
        )
    else:
        rule = ref.mark_rule(strokeDash=[2, 3], color=color).encode(x="v:Q")
        txt = ref.mark_text(align="left", baseline="top", dx=3, dy=2, color=color).encode(
            x="v:Q", y=alt.value(0), text="t:N"
        )
    return [rule, txt]


def bridge_waterfall(
    row: dict[str, Any],
    lang: str = "ja",
    unit_divisor: float | None = None,
    unit: str = "円",
    title: str | None = None,
) -> alt.TopLevelMixin:
    """The month's MRR movements as bars **from zero** (growth up, losses down), one colour per
    movement, each labelled with its amount; MRR at start and end are in the title, not bars
    (a bar of ¥20M beside movements of ¥0.3M would need a cut axis). ``row`` is one row of
    ``monthly_rates``."""
    div, unit_text = money_axis(unit, lang)
    moves = [
        ("new", 1),
        ("reactivation", 1),
        ("upsell", 1),
        ("cross_sell", 1),
        ("contraction", -1),
        ("churn", -1),
    ]
    data = [
        {
            "order": i,
            "step": label(f"movement.{k}", lang),
            "kind": k,
            "v": sign * float(row[k] or 0) / div,
            "text": fmt_money(sign * float(row[k] or 0), unit, lang, signed=True),
        }
        for i, (k, sign) in enumerate(moves)
    ]
    change = float(row["mrr_end"]) - float(row["mrr_start"])
    sub = (
        f"{label('movement.start', lang)} {fmt_money(row['mrr_start'], unit, lang)} → "
        f"{label('movement.end', lang)} {fmt_money(row['mrr_end'], unit, lang)}"
        f"（{fmt_money(change, unit, lang, signed=True)}）"
        if lang == "ja"
        else f"Start {fmt_money(row['mrr_start'], unit, lang)} → end "
        f"{fmt_money(row['mrr_end'], unit, lang)} ({fmt_money(change, unit, lang, signed=True)})"
    )
    base = alt.Chart(_data(data))
    order = [d["step"] for d in data]
    x = alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=0))
    lo = min(0.0, *(d["v"] for d in data))
    hi = max(0.0, *(d["v"] for d in data))
    pad = 0.18 * ((hi - lo) or 1.0)  # room for the labels above and below the bars
    bars = base.mark_bar().encode(
        x=x,
        y=alt.Y(
            "v:Q",
            title=f"{_w(lang, 'amount')}（{unit_text}）"
            if lang == "ja"
            else f"{_w(lang, 'amount')} ({unit_text})",
            scale=alt.Scale(zero=True, domain=[lo - pad if lo < 0 else 0, hi + pad]),
        ),
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=[k for k, _ in moves], range=[PALETTE[k] for k, _ in moves]),
            legend=None,
        ),
    )
    up = base.transform_filter("datum.v >= 0").mark_text(dy=-6, fontSize=11)
    down = base.transform_filter("datum.v < 0").mark_text(dy=12, fontSize=11)
    texts = [m.encode(x=x, y="v:Q", text="text:N") for m in (up, down)]
    zero = alt.Chart(_data([{"z": 0}])).mark_rule(color="#455a64").encode(y="z:Q")
    default = "今月のMRR増減" if lang == "ja" else "MRR movements this month"
    return theme(alt.layer(bars, zero, *texts).properties(title=_title(title or default, sub)))


def trend_lines(
    df: pl.DataFrame,
    columns: list[str],
    lang: str = "ja",
    percent: bool = False,
    target: float | None = None,
    title: str = "",
    target_label: str | None = None,
    zero: bool | None = None,
    decimals: int = 0,
) -> alt.TopLevelMixin:
    """Monthly trend of ``columns`` (long format built here), each series in its concept's
    colour, the legend below and untruncated; an optional target line with its label.
    Rates keep their own scale (``zero=False`` by default for percentages: put series of the
    same scale together, e.g. GRR and NRR, and logo churn in a chart of its own)."""
    names = {c: label(f"kpi.{c}", lang) if c != "mrr" else "MRR" for c in columns}
    long = df.select("month", *columns).unpivot(index="month", variable_name="series")
    long = long.with_columns(
        pl.col("series").replace_strict(names, return_dtype=pl.String),
    )
    fmt = f".{decimals}%" if percent else ",.0f"
    chart = (
        alt.Chart(_data(_records(long)))
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title=None, axis=alt.Axis(labelAngle=-45)),
            y=alt.Y(
                "value:Q",
                title=None,
                axis=alt.Axis(format=fmt),
                scale=alt.Scale(zero=bool(zero) if zero is not None else not percent),
            ),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(
                    domain=[names[c] for c in columns],
                    range=[PALETTE.get(c, PALETTE["total"]) for c in columns],
                ),
                legend=alt.Legend(labelLimit=0) if len(columns) > 1 else None,
            ),
        )
    )
    layers: list[Any] = [chart]
    if target is not None:
        text = target_label or f"{label('word.target', lang)} {fmt_pct(target, 0)}"
        layers += _target_layers(target, text)
    return theme(alt.layer(*layers).properties(title=_title(title or ", ".join(names.values()))))


def sparkline(values: list[float | None], color: str = PALETTE["total"]) -> alt.TopLevelMixin:
    """A tiny line (120 x 28) of a tile's last months: no axes, no title (the tile is its
    title); the last point marked."""
    rows = [{"i": i, "v": v} for i, v in enumerate(values) if v is not None]
    base = alt.Chart(_data(rows)).encode(
        x=alt.X("i:Q", axis=None), y=alt.Y("v:Q", axis=None, scale=alt.Scale(zero=False))
    )
    last = base.transform_filter(f"datum.i == {len(values) - 1}").mark_point(
        filled=True, size=18, color=color
    )
    return (
        alt.layer(base.mark_line(color=color, strokeWidth=1.5), last)
        .properties(width=120, height=28)
        .configure_view(strokeWidth=0)
    )


def reasons_bar(
    df: pl.DataFrame, lang: str = "ja", highlight: str = "施策終了・中止", title: str | None = None
) -> alt.TopLevelMixin:
    """Churn events by reason category (from ``churn_reasons``), one reason highlighted, counts
    on a whole-number axis, each bar labelled with its count and share."""
    d = df.with_columns(
        (pl.col("reason_category") == highlight).alias("hl"),
        pl.format(
            "{}（{}）" if lang == "ja" else "{} ({})",
            pl.col("events"),
            (pl.col("share_events") * 100).round(0).cast(pl.Int64).cast(pl.String) + "%",
        ).alias("text"),
    )
    base = alt.Chart(_data(_records(d)))
    order = d.sort(["events", "reason_category"], descending=[True, False])["reason_category"]
    y = alt.Y("reason_category:N", sort=order.to_list(), title=None)
    bars = base.mark_bar().encode(
        y=y,
        x=alt.X(
            "events:Q",
            title=_w(lang, "events"),
            axis=alt.Axis(tickMinStep=1, format="d"),
            scale=alt.Scale(nice=True),
        ),
        color=alt.Color(
            "hl:N",
            scale=alt.Scale(domain=[True, False], range=[PALETTE["churn"], PALETTE["muted"]]),
            legend=None,
        ),
    )
    text = base.mark_text(align="left", dx=4, fontSize=11).encode(y=y, x="events:Q", text="text:N")
    default = "解約理由（直近12か月、件数）" if lang == "ja" else "Churn reasons (last 12 months)"
    return theme(
        alt.layer(bars, text).properties(title=_title(title or default)),
        height=max(80, 26 * df.height),
    )


def cohort_heatmap(
    df: pl.DataFrame,
    value: str = "logo_retention",
    lang: str = "ja",
    max_age: int = 24,
    title: str | None = None,
) -> alt.TopLevelMixin:
    """Cohort retention heatmap (from ``cohort_retention``), titled by what it shows
    (ロゴ継続率 = accounts still active, 売上継続率 = their MRR against the cohort's first month),
    each cell labelled with its value and each cohort row with its size (n)."""
    sizes = df.group_by("cohort").agg(pl.col("cohort_accounts").first())
    d = (
        df.filter(pl.col("age") <= max_age)
        .join(sizes, on="cohort", how="left", suffix="_n")
        .select(
            pl.format(
                "{} (n={})",
                pl.col("cohort").map_elements(
                    lambda c: cohort_label(c, lang), return_dtype=pl.String
                ),
                pl.col("cohort_accounts_n"),
            ).alias("row"),
            "cohort",
            "age",
            pl.col(value).alias("v"),
            (pl.col(value) * 100).round(0).cast(pl.Int64).cast(pl.String).alias("text"),
        )
    )
    name = _w(lang, value)
    vmax = d["v"].max()
    top = max(1.0, float(vmax) if isinstance(vmax, int | float) else 1.0)  # expansion over 100%
    y = alt.Y("row:O", title=_w(lang, "cohort"), sort=alt.SortField("cohort"))
    x = alt.X("age:O", title=_w(lang, "age"), axis=alt.Axis(labelAngle=0))
    base = alt.Chart(_data(_records(d)))
    rect = base.mark_rect().encode(
        x=x,
        y=y,
        color=alt.Color(
            "v:Q",
            title=f"{name}",
            scale=alt.Scale(scheme="blues", domain=[0, top], clamp=True),
            legend=alt.Legend(format=".0%", orient="right"),
        ),
    )
    text = base.mark_text(fontSize=8, font=CELL_FONT).encode(
        x=x,
        y=y,
        text="text:N",
        color=alt.condition(f"datum.v > {0.6 * top}", alt.value("white"), alt.value("#263238")),
    )
    sub = (
        "セルの数字は%（獲得コホート＝初回契約の四半期）"
        if lang == "ja"
        else "Cell values in % (cohort = quarter of the first contract)"
    )
    return theme(
        alt.layer(rect, text).properties(title=_title(title or name, sub)),
        width=max(360, 26 * (max_age + 1)),
        height=max(120, 16 * d["cohort"].n_unique()),
    )


def km_chart(
    curve: pl.DataFrame, horizon: int, target: float, lang: str = "ja", title: str | None = None
) -> alt.TopLevelMixin:
    """Cumulative churn (1 - KM survival) with its 95% band, the horizon and the target, both
    labelled."""
    d = curve.filter(pl.col("t") <= max(horizon, 1) + 6).select(
        "t", "churn", (1 - pl.col("ci_high")).alias("lo"), (1 - pl.col("ci_low")).alias("hi")
    )
    base = alt.Chart(_data(_records(d)))
    x = alt.X("t:Q", title=_w(lang, "months"), axis=alt.Axis(tickMinStep=1, format="d"))
    band = base.mark_area(opacity=0.2, interpolate="step-after", color=PALETTE["churn"]).encode(
        x=x, y="lo:Q", y2="hi:Q"
    )
    line = base.mark_line(interpolate="step-after", color=PALETTE["churn"]).encode(
        x=x, y=alt.Y("churn:Q", title=_w(lang, "churn_share"), axis=alt.Axis(format=".0%"))
    )
    tgt = f"{label('word.target', lang)} {fmt_pct(target, 0)}"
    default = (
        f"{horizon}か月以内解約率（カプラン・マイヤー推定、95%区間）"
        if lang == "ja"
        else f"Churn within {horizon} months (Kaplan-Meier, 95% band)"
    )
    return theme(
        alt.layer(
            band,
            line,
            *_target_layers(target, tgt),
            *_target_layers(horizon, _w(lang, "horizon", h=horizon), "x", PALETTE["horizon"]),
        ).properties(title=_title(title or default))
    )


def stacked_bars(
    df: pl.DataFrame,
    x: str,
    color: str,
    value: str,
    lang: str = "ja",
    colors: dict[str, str] | None = None,
    horizontal: bool = True,
    title: str | None = None,
    count: bool | None = None,
    names: dict[str, str] | None = None,
    sort: list[str] | None = None,
) -> alt.TopLevelMixin:
    """Stacked bars (e.g. health bands per CSM, LTV by source per cohort). ``count`` gives a
    whole-number axis (default: when ``value`` is ``accounts``); ``names`` relabels the colour
    values (e.g. band codes to 良好/注意/危険) while keeping their colours."""
    count = value == "accounts" if count is None else count
    d = df
    domain, rng = None, None
    if colors:
        shown = names or {}
        domain = [shown.get(k, k) for k in colors]
        rng = list(colors.values())
    if names:
        d = d.with_columns(pl.col(color).cast(pl.String).replace(names))
    enc_color = alt.Color(
        f"{color}:N",
        title=_w(lang, color),
        scale=alt.Scale(domain=domain, range=rng) if domain else alt.Undefined,
        legend=alt.Legend(labelLimit=0),
    )
    axis = alt.Axis(tickMinStep=1, format="d") if count else alt.Axis(format=",.0f")
    c = alt.Chart(_data(_records(d))).mark_bar()
    if horizontal:
        c = c.encode(
            y=alt.Y(f"{x}:N", title=_w(lang, x)),
            x=alt.X(f"sum({value}):Q", title=_w(lang, value), axis=axis),
            color=enc_color,
        )
    else:
        c = c.encode(
            x=alt.X(f"{x}:O", title=_w(lang, x), sort=sort or "ascending"),
            y=alt.Y(f"sum({value}):Q", title=_w(lang, value), axis=axis),
            color=enc_color,
        )
    default = f"{_w(lang, x)} × {_w(lang, color)}"
    return theme(
        c.properties(title=_title(title or default)),
        height=max(100, 28 * df[x].n_unique()) if horizontal else 260,
    )


def funnel(df: pl.DataFrame, lang: str = "ja", title: str | None = None) -> alt.TopLevelMixin:
    """Onboarding funnel: users who completed each session (from ``onboarding_funnel``)."""
    default = (
        "オンボーディング：各回を完了したユーザー数"
        if lang == "ja"
        else "Onboarding: users who completed each session"
    )
    return theme(
        alt.Chart(_data(_records(df)))
        .mark_bar(color=PALETTE["users"])
        .encode(
            x=alt.X("session_no:O", title=_w(lang, "session"), axis=alt.Axis(labelAngle=0)),
            y=alt.Y(
                "users_done:Q", title=_w(lang, "users"), axis=alt.Axis(tickMinStep=1, format="d")
            ),
        )
        .properties(title=_title(title or default)),
        height=200,
    )


def band_names(lang: str) -> dict[str, str]:
    """Band codes to their words (for :func:`stacked_bars` ``names``)."""
    return {b: band_label(b, lang) for b in BAND_COLORS}
