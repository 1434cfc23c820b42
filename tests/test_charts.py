"""Charts that tell the truth and explain themselves (checked on their Vega-Lite specs)."""

from __future__ import annotations

import json

import polars as pl
import pytest
from conftest import SAMPLE

from cs_metrics import charts
from cs_metrics.data.load import load_dataset


@pytest.fixture(scope="module")
def built():
    from cs_metrics.metrics.churn import churn_reasons, km_curve
    from cs_metrics.metrics.onboarding import onboarding_funnel
    from cs_metrics.metrics.retention import cohort_retention, monthly_rates

    ds = load_dataset(SAMPLE)
    rates = monthly_rates(ds, "2026-09")
    row = rates.tail(1).row(0, named=True)
    coh = cohort_retention(ds, "2026-09", cohort="quarter")
    return {
        "bridge": charts.bridge_waterfall(row, "ja", unit="万円"),
        "rates": charts.trend_lines(rates.tail(24), ["grr", "nrr"], "ja", percent=True),
        "nrr": charts.trend_lines(rates.tail(24), ["nrr_trailing_12m"], "ja", True, 1.10),
        "reasons": charts.reasons_bar(churn_reasons(ds, "2026-09", months=12), "ja"),
        "logo": charts.cohort_heatmap(coh, "logo_retention", "ja"),
        "revenue": charts.cohort_heatmap(coh, "revenue_retention", "en"),
        "km": charts.km_chart(km_curve(ds, "2026-09"), 24, 0.10, "ja"),
        "funnel": charts.funnel(onboarding_funnel(ds, "2026-09"), "ja"),
        "bars": charts.stacked_bars(
            pl.DataFrame({"csm": ["a", "a"], "band": ["green", "red"], "accounts": [3, 1]}),
            "csm",
            "band",
            "accounts",
            "ja",
            charts.BAND_COLORS,
            names=charts.band_names("ja"),
        ),
    }


def _spec(chart) -> str:
    return json.dumps(chart.to_dict(), ensure_ascii=False)


def test_every_chart_has_a_title_and_untruncated_legends(built):
    for name, chart in built.items():
        d = chart.to_dict()
        assert d.get("title"), name
        assert d["config"]["legend"]["labelLimit"] == 0, name


def test_bridge_starts_at_zero_with_the_totals_in_words(built):
    d = built["bridge"].to_dict()
    spec = _spec(built["bridge"])
    assert d["title"]["subtitle"] == "期首 2,005万円 → 期末 2,011万円（+6万円）"
    bars = d["layer"][0]["encoding"]["y"]["scale"]
    assert bars["zero"] is True and bars["domain"][0] < 0 < bars["domain"][1]
    assert "▲30万円" in spec and "+24万円" in spec and "¥" not in spec  # labels in the display unit


def test_target_lines_are_labelled(built):
    assert "目標 110%" in _spec(built["nrr"])
    assert "目標 10%" in _spec(built["km"]) and "24か月" in _spec(built["km"])


def test_heatmaps_are_titled_with_values_and_cohort_sizes(built):
    logo, revenue = _spec(built["logo"]), _spec(built["revenue"])
    assert built["logo"].to_dict()["title"]["text"] == "ロゴ継続率"
    assert built["revenue"].to_dict()["title"]["text"] == "Revenue retention"
    assert '"mark": {"type": "text"' in logo and "(n=" in logo and "(n=" in revenue


def test_count_axes_are_whole_numbers(built):
    for name in ("reasons", "funnel", "bars"):
        spec = _spec(built[name])
        assert '"tickMinStep": 1' in spec and '"format": "d"' in spec, name


def test_rates_on_their_own_scale_and_bands_in_words(built):
    y = built["rates"].to_dict()["layer"][0]["encoding"]["y"]
    assert y["scale"]["zero"] is False
    assert "良好" in _spec(built["bars"]) and '"green"' not in _spec(built["bars"])


def test_one_colour_per_concept():
    assert charts.PALETTE["churn"] == charts.PALETTE["logo_churn_rate"]
    assert charts.PALETTE["nrr"] == charts.PALETTE["nrr_trailing_12m"]
    assert len({charts.PALETTE[k] for k in ("new", "upsell", "cross_sell", "churn")}) == 4


def test_charts_refuse_unaggregated_data():
    big = pl.DataFrame({"reason_category": [str(i) for i in range(6000)], "events": [1] * 6000})
    big = big.with_columns(pl.lit(0.1).alias("share_events"))
    with pytest.raises(ValueError, match="aggregate"):
        charts.reasons_bar(big)


def test_png_rendering_offline(built):
    png = charts.to_png(built["bridge"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000


def test_rendered_charts_are_cached_by_their_spec(built, tmp_path, monkeypatch):
    """A chart drawn again from the same spec is read from the cache (identical SVG); a chart
    that differs in anything is a different entry; an unwritable cache is simply not used."""
    monkeypatch.setenv("CS_METRICS_CACHE_DIR", str(tmp_path / "cache"))
    first = charts.to_svg(built["km"])
    stored = list((tmp_path / "cache" / "charts").glob("*.svg"))
    assert len(stored) == 1 and stored[0].read_text("utf-8") == first
    assert charts.to_svg(built["km"]) == first
    other = charts.to_svg(built["km"].properties(title="別の題"))
    assert other != first and "別の題" in other
    assert len(list((tmp_path / "cache" / "charts").glob("*.svg"))) == 2
    (tmp_path / "ro").write_text("a file where the cache folder would be")
    monkeypatch.setenv("CS_METRICS_CACHE_DIR", str(tmp_path / "ro"))
    assert charts.to_svg(built["bars"]).startswith("<svg")
