"""``cs-metrics ltv``: simple, cohort and predictive (sBG) LTV, LTV:CAC, revenue by source."""

from __future__ import annotations

import argparse
from pathlib import Path

from cs_metrics.cli.common import add_data_args, open_validated, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ltv",
        help="LTV: simple, predictive (sBG), LTV:CAC, revenue by base/upsell/cross-sell",
        description="Customer LTV with upsell and cross-sell (definitions in docs/metrics.md §6).",
        epilog="examples:\n  cs-metrics ltv --data data/sample\n"
        "  cs-metrics ltv --data data/sample --format json --accounts-out ltv_accounts.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_args(p)
    p.add_argument(
        "--by", help="group the predictive fit and LTV:CAC by an account attribute (e.g. industry)"
    )
    p.add_argument(
        "--accounts-out", metavar="FILE", help="per-account residual value (.csv or .parquet)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import polars as pl

    from cs_metrics.format import fmt_money, fmt_pct, render_table
    from cs_metrics.metrics.ltv import ltv_summary, predictive_ltv

    ds, cfg, as_of, _ = open_validated(args)
    s = ltv_summary(ds, as_of, cfg, by=args.by)
    if args.accounts_out:
        acc = predictive_ltv(ds, as_of, cfg, by=args.by)["accounts"]
        out = Path(args.accounts_out)
        if out.suffix.lower() == ".parquet":
            acc.write_parquet(out)
        else:
            from cs_metrics.exports import write_excel_csv

            write_excel_csv(acc, out)
    if args.format == "json":
        print_json(s)
        return 0
    ja = cfg["general"]["lang"] == "ja"
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
            f"{fmt_pct(sl['monthly_churn'], 2)} ({sl['months_used']}か月)",
        ),
    ]
    for name, g in s["predictive"]["groups"].items():
        rows.append(
            (
                f"予測LTV（新規, {name}）" if ja else f"Predictive LTV (new, {name})",
                f"{fmt_money(g['ltv_new'], unit)}  ({'拡大なし' if ja else 'no expansion'} {fmt_money(g['ltv_new_no_expansion'], unit)}; {g['fit_source']})",
            )
        )
    for r in s["ltv_cac"]:
        rows.append(
            (f"LTV:CAC ({r['group']})", "—" if r["ltv_cac"] is None else f"{r['ltv_cac']:.1f}")
        )
        rows.append(
            (
                "CAC回収月数" if ja else "CAC payback months",
                "—" if r["cac_payback_months"] is None else f"{r['cac_payback_months']:.1f}",
            )
        )
    rbs = s["revenue_by_source"]
    for k, lab in (("base", "基本"), ("upsell", "アップセル"), ("cross_sell", "クロスセル")):
        rows.append(
            (
                f"MRR {lab if ja else k}",
                f"{fmt_money(rbs[k], unit)} ({fmt_pct(rbs[k] / rbs['mrr'] if rbs['mrr'] else None)})",
            )
        )
    rows.append(
        (
            "既存顧客の残存価値合計" if ja else "Residual value of current accounts",
            fmt_money(s["predictive"]["residual_value_total"], unit),
        )
    )
    print(render_table(rows))
    _ = pl
    return 0
