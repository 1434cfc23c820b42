"""``cs-metrics ltv``: simple, cohort and predictive (sBG) LTV, LTV:CAC, revenue by source."""

from __future__ import annotations

import argparse
from typing import Any

from cs_metrics.cli.common import (
    add_data_args,
    add_force_arg,
    check_output_path,
    open_validated,
    print_json,
    write_output_frame,
)

__all__ = ["register", "render_ltv_table", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ltv",
        help="LTV: simple, predictive (sBG), LTV:CAC, revenue by base/upsell/cross-sell",
        description="Customer LTV with upsell and cross-sell (definitions in docs/metrics.md §6).",
        epilog="examples:\n  cs-metrics ltv --data data/sample\n"
        "  cs-metrics ltv --data data/sample --by csm --format json\n"
        "  cs-metrics ltv --data data/sample --format json --accounts-out ltv_accounts.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_args(p)
    p.add_argument(
        "--by",
        help="group the predictive fit and LTV:CAC by an account attribute "
        "(industry, csm, primary_product or another accounts column)",
    )
    p.add_argument(
        "--accounts-out", metavar="FILE", help="per-account residual value (.csv or .parquet)"
    )
    add_force_arg(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cs_metrics.metrics.ltv import check_ltv_by, ltv_summary, predictive_ltv

    out_formats = (".csv", ".parquet")
    if args.accounts_out:
        check_output_path(args.accounts_out, "--accounts-out", out_formats, args.data)
    ds, cfg, as_of, _ = open_validated(args)
    check_ltv_by(ds, args.by)  # product, segment, unknown: a message, exit 2
    pred = predictive_ltv(ds, as_of, cfg, by=args.by)
    s = ltv_summary(ds, as_of, cfg, by=args.by, pred=pred)
    if args.accounts_out:
        acc, out = pred["accounts"], args.accounts_out
        write_output_frame(acc, out, "--accounts-out", out_formats, args.force, args.data)
    if args.format == "json":
        print_json(s)
        return 0
    print(render_ltv_table(s, cfg))
    return 0


def render_ltv_table(s: dict[str, Any], cfg: dict[str, Any]) -> str:
    """The people's table of ``cs-metrics ltv`` (never prints nan or inf: missing is "—")."""
    from cs_metrics.format import fmt_money as _money
    from cs_metrics.format import fmt_money_ci, fmt_pct, render_table
    from cs_metrics.labels import label
    from cs_metrics.messages import lang_of

    def fmt_money(v: Any, unit: str) -> str:
        return _money(v, unit, lang)

    lang = lang_of(cfg)
    ja = lang == "ja"
    unit = cfg["general"]["display_unit"]
    sl = s["simple_ltv"]
    rows = [
        ("対象月" if ja else "Month", s["as_of"]),
        (
            "シンプルLTV" if ja else "Simple LTV",
            fmt_money(sl["ltv"], unit) if sl["ltv"] is not None else f"— ({sl.get('ltv_reason')})",
        ),
        ("  ARPA", fmt_money(sl["arpa"], unit)),
        (
            "  月次チャーン（直近）" if ja else "  monthly churn",
            f"{fmt_pct(sl['monthly_churn'], 2)} ({sl['months_used']}{'か月' if ja else ' months'})",
        ),
    ]
    pred = s["predictive"]
    if pred.get("pooled_fit_reason"):
        rows.append(("予測LTV" if ja else "Predictive LTV", f"— ({pred['pooled_fit_reason']})"))
    for name, g in pred["groups"].items():
        rows.extend(_group_rows(name, g, unit, lang))
    for r in s["ltv_cac"]:
        ratio = "—" if r["ltv_cac"] is None else f"{r['ltv_cac']:.1f}"
        if r["ltv_cac"] is not None and r.get("ltv_new_is_lower_bound"):
            ratio += "（下限）" if ja else " (lower bound)"
        if r["ltv_cac"] is None and r.get("ltv_cac_reason"):
            ratio += f" ({r['ltv_cac_reason']})"
        group = label("model." + str(r["group"]), lang)
        rows.append((f"LTV:CAC ({group})", ratio))
        pb = r["cac_payback_months"]
        rows.append(
            (
                "  CAC回収月数" if ja else "  CAC payback months",
                f"{pb:.1f}" if pb is not None else f"— ({r.get('cac_payback_months_reason', '')})",
            )
        )
    rbs = s["revenue_by_source"]
    for k in ("base", "upsell", "cross_sell"):
        share = fmt_pct(rbs[k] / rbs["mrr"] if rbs["mrr"] else None)
        rows.append((f"MRR {label(f'source.{k}', lang)}", f"{fmt_money(rbs[k], unit)} ({share})"))
    total = pred["residual_value_total"]
    value = (
        fmt_money_ci(total, pred.get("residual_value_total_ci"), unit, lang)
        if total is not None
        else f"— ({pred.get('residual_value_total_reason', '')})"
    )
    if total is not None and pred.get("residual_value_total_is_lower_bound"):
        value += "（下限値: 解約未観測）" if ja else " (lower bound: no churn observed)"
    rows.append(("既存顧客の残存価値合計" if ja else "Residual value of current accounts", value))
    return render_table(rows)


def _group_rows(name: str, g: dict[str, Any], unit: str, lang: str) -> list[tuple[str, str]]:
    """Rows of one group: LTV with its interval (or the lower bound, or the reason), the model."""
    from cs_metrics.format import fmt_money_ci

    ja = lang == "ja"
    from cs_metrics.labels import label

    group = label(f"model.{name}", lang)  # "all" and fit sources in words; a user's group as is
    title = f"予測LTV（新規, {group}）" if ja else f"Predictive LTV (new, {group})"
    if g["ltv_new"] is None:
        return [(title, f"— ({g.get('ltv_new_reason', '')})")]
    value = fmt_money_ci(g["ltv_new"], g.get("ltv_new_ci"), unit, lang)
    if g.get("ltv_new_is_lower_bound"):
        value += "（下限値: 解約未観測）" if ja else " (lower bound: no churn observed)"
    rows = [(title, value)]
    rows.append(
        (
            "  拡大なし" if ja else "  no expansion",
            fmt_money_ci(g["ltv_new_no_expansion"], g.get("ltv_new_no_expansion_ci"), unit, lang),
        )
    )
    source = label(f"model.{g['fit_source']}", lang)
    if g.get("fit_source_reason"):
        source += f": {g['fit_source_reason']}"
    model = (g["fit"] or {}).get("model")
    rows.append(
        (
            "  モデル" if ja else "  model",
            f"{label(f'model.{model}', lang) if model else '—'} ({source})",
        )
    )
    for note in g.get("notes", []):
        rows.append(("", note))
    return rows
