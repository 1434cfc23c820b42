"""``cs-metrics kpis``: the month's headline revenue KPIs as a table (ja/en) or JSON."""

from __future__ import annotations

import argparse
from typing import Any

from cs_metrics.cli.common import add_data_args, open_validated, print_json

__all__ = ["kpi_table", "register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kpis",
        help="MRR bridge, logo churn, GRR/NRR (month and trailing 12m), churn within 24 months",
        description="Headline KPIs of one month. JSON keys are documented in docs/metrics.md.",
        epilog="examples:\n  cs-metrics kpis --data data/sample --as-of 2026-09\n"
        "  cs-metrics kpis --data data/sample --format json\n"
        "  cs-metrics kpis --data lake/canonical --engine spark --format json   # docs/scale.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_args(p)
    p.add_argument(
        "--engine",
        choices=["polars", "spark"],
        default="polars",
        help="where the revenue core runs: polars (this process, default) or Apache Spark "
        "(needs cs-metrics[spark] and Java; the same JSON; see docs/scale.md)",
    )
    p.set_defaults(func=run)


def _reason(values: dict[str, Any], key: str, lang: str, h: int) -> str:
    """Why ``values[key]`` is empty: the catalogue text of ``<key>_reason_code`` in the table's
    language ("" when there is no reason)."""
    from cs_metrics.messages import message

    code = values.get(f"{key}_reason_code")
    return message(code, lang, h=h) if code else ""


def kpi_table(k: dict[str, Any], cfg: dict[str, Any]) -> str:
    """The KPI summary as a people-readable table."""
    from cs_metrics.format import fmt_int, fmt_money, fmt_pct, label, render_table
    from cs_metrics.metrics.kpis import ACCOUNT_MOVEMENT_KEYS, MRR_MOVEMENT_KEYS, RATE_KEYS

    lang = cfg["general"]["lang"]
    unit = cfg["general"]["display_unit"]
    rows: list[tuple[str, str]] = [(label("as_of", lang), k["as_of"])]
    for key in ("mrr_start", *MRR_MOVEMENT_KEYS, "mrr_end"):
        v = k[key]
        sign = "-" if key in ("mrr_contraction", "mrr_churn") and v else ""
        rows.append((label(key, lang), sign + fmt_money(v, unit, lang)))
    for key in ("accounts_start", *ACCOUNT_MOVEMENT_KEYS, "accounts_end"):
        rows.append((label(key, lang), fmt_int(k[key])))
    cw_key = next(x for x in k if x.startswith("churn_within_"))
    h = int(cw_key.removeprefix("churn_within_").removesuffix("m"))
    cw = k[cw_key]
    for key in RATE_KEYS:
        reason = _reason(k, key, lang, h)
        value = fmt_pct(k[key]) + (f"  ({reason})" if k[key] is None and reason else "")
        rows.append((label(key, lang), value))
    title = label("churn_within", lang, h=h)
    rows.append(
        (
            f"{title}（{label('observed', lang)}）"
            if lang == "ja"
            else f"{title} ({label('observed', lang)})",
            f"{fmt_pct(cw['rate'])}  ({label('churned', lang)} {cw['churned']} / "
            f"{label('eligible', lang)} {cw['eligible']})"
            + (f"  {_reason(cw, 'rate', lang, h)}" if cw.get("rate_reason_code") else ""),
        )
    )
    ci = (
        f"{label('ci95', lang)} {fmt_pct(cw['km_ci_low'])}–{fmt_pct(cw['km_ci_high'])}"
        if cw["km_ci_low"] is not None
        else ""
    )
    rows.append(
        (
            f"{title}（{label('kaplan_meier', lang)}）"
            if lang == "ja"
            else f"{title} (Kaplan-Meier)",
            f"{fmt_pct(cw['km_rate'])}  {ci or _reason(cw, 'km', lang, h) or _reason(cw, 'km_ci', lang, h)}".rstrip(),
        )
    )
    target = cfg["targets"]
    rows.append(
        (
            "目標" if lang == "ja" else "Targets",
            f"{title} ≤ {fmt_pct(target['churn_within_horizon_max'])}, "
            f"{label('nrr_trailing_12m', lang)} ≥ {fmt_pct(target['nrr_trailing_12m_min'])}",
        )
    )
    return render_table(rows)


def _spark_kpis(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """KPIs on Spark: canonical Parquet is read by Spark itself, anything else via the gate."""
    import os
    import time

    from cs_metrics.cli.common import config_from_args
    from cs_metrics.engine import spark as se
    from cs_metrics.errors import DataError, UsageError

    cfg = config_from_args(args)
    reason = se.spark_unavailable()
    if reason:
        raise UsageError("engine_unavailable", detail=reason)
    t0 = time.perf_counter()
    if se.is_canonical_parquet(args.data) and not getattr(args, "mapping", None):
        tables = se.read_canonical(args.data, cfg)
        issues, skipped = se.validate_canonical(tables, cfg["general"]["lang"])
        for s in skipped:
            se.note(f"not checked at this scale: {s}")
        if issues:
            raise DataError(issues)
        as_of = se.resolve_month(tables, args.as_of, cfg)
        subs, source = tables["subscriptions"], "canonical Parquet read by Spark"
    else:
        ds, cfg, as_of, _ = open_validated(args)
        subs, source = se.subscriptions_to_spark(ds, cfg), "validated by the gate, sent via Arrow"
    k = se.spark_kpis(subs, as_of, cfg)
    session = se.get_session(cfg)
    master = "Spark Connect" if os.environ.get("SPARK_REMOTE") else session.sparkContext.master
    se.note(f"{master}, Spark {session.version}; input: {source}; {time.perf_counter() - t0:.1f} s")
    return k, cfg


def run(args: argparse.Namespace) -> int:
    from cs_metrics.metrics.kpis import kpis

    if getattr(args, "engine", "polars") == "spark":
        k, cfg = _spark_kpis(args)
    else:
        ds, cfg, as_of, _ = open_validated(args)
        k = kpis(ds, as_of, cfg)
    if args.format == "json":
        print_json(k)
    else:
        print(kpi_table(k, cfg))
    return 0
