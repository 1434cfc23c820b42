"""``cs-metrics health|risk|nps|onboarding``: account health, risk signals, NPS, onboarding."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cs_metrics.cli.common import (
    add_data_args,
    add_force_arg,
    check_output_path,
    open_validated,
    print_json,
    write_output_frame,
)

__all__ = [
    "health_table",
    "onboarding_table",
    "register",
    "risk_table",
    "run_health",
    "run_nps",
    "run_onboarding",
    "run_risk",
    "unavailable_lines",
]

EXAMPLES = {
    "health": "cs-metrics health --data data/sample --as-of 2026-09 --salesforce-out sf.csv",
    "risk": "cs-metrics risk --data data/sample --format json",
    "nps": "cs-metrics nps --data data/sample --window-months 6 --survey relationship",
    "onboarding": "cs-metrics onboarding --data data/sample",
}


def register(sub: argparse._SubParsersAction) -> None:
    helps = {
        "health": "health score 0-100, band, S/A/B/C segment and why it changed",
        "risk": "risk and opportunity signals per account, the risk list per CSM",
        "nps": "NPS with n, the three counts and a 95%% adjusted-Wald interval",
        "onboarding": "12-session onboarding: completion by session, graduation",
    }
    for name, text in helps.items():
        p = sub.add_parser(
            name,
            help=text,
            description=text.replace("%%", "%"),
            epilog=f"example: {EXAMPLES[name]}",
        )
        add_data_args(p)
        if name == "health":
            p.add_argument(
                "--salesforce-out",
                metavar="FILE",
                help="also write a Salesforce Data Loader CSV (UTF-8 with BOM; a .csv name)",
            )
            add_force_arg(p)
        if name == "nps":
            p.add_argument(
                "--window-months",
                type=int,
                metavar="N",
                help="the N calendar months ending at --as-of (default: nps.window_months, 12)",
            )
            p.add_argument("--survey", help="only this survey (e.g. relationship)")
            p.add_argument(
                "--by",
                metavar="KEY",
                help="also per group: survey, segment, industry, csm (JSON key 'groups')",
            )
        p.set_defaults(func=globals()[f"run_{name}"])


def _round(v: Any) -> Any:
    return round(v, 4) if isinstance(v, float) else v


def run_health(args: argparse.Namespace) -> int:

    from cs_metrics.metrics.health import health_with_change
    from cs_metrics.metrics.segments import segment_frame

    if args.salesforce_out:
        check_output_path(args.salesforce_out, "--salesforce-out", (".csv",), args.data)
    ds, cfg, as_of, _ = open_validated(args)
    h = health_with_change(ds, as_of).join(segment_frame(ds, as_of), on="account_id", how="left")
    if args.salesforce_out:
        from cs_metrics.exports import salesforce_health_frame

        frame = salesforce_health_frame(ds, as_of)
        write_output_frame(
            frame, args.salesforce_out, "--salesforce-out", (".csv",), args.force, args.data
        )
    if args.format == "json":
        from cs_metrics.messages import reason_fields

        out = []
        for r in h.iter_rows(named=True):
            no_score = r["score"] is None
            out.append(
                {
                    "account_id": r["account_id"],
                    "score": r["score"],
                    **(
                        reason_fields("score", "health_no_data", cfg["general"]["lang"])
                        if no_score
                        else {}
                    ),
                    "band": r["band"],
                    "segment": r["segment"],
                    "mrr": r["mrr"],
                    "contributions": {} if no_score else (r["contributions"] or {}),
                    "measures": {
                        m: {"value": _round(v), "points": _round((r["points"] or {}).get(m))}
                        for m, v in (r["values"] or {}).items()
                    },
                    "no_data": r["no_data"],
                    "change": {
                        "previous": r["previous_score"],
                        "delta": r["delta"],
                        "top_movers": r["top_movers"] or [],
                    },
                }
            )
        print_json(out)
        return 0
    print(health_table(h, ds, cfg))
    return 0


def health_table(h: Any, ds: Any, cfg: Any) -> str:
    """Health lowest first: score, band and segment, MRR, change and its top movers, in the
    configured language (bands and measures from the label catalogue), then counts per band."""
    import polars as pl

    from cs_metrics.format import fmt_money, render_table
    from cs_metrics.labels import band_label, label, measure_label

    lang = cfg["general"]["lang"]
    unit = cfg["general"]["display_unit"]
    names = ds.accounts.select("account_id", "account_name").collect()
    h = h.join(names, on="account_id", how="left").sort("score", "account_id", nulls_last=True)
    pad = "　" if lang == "ja" else " "
    width = max(len(band_label(b, lang)) for b in ("green", "yellow", "red", None))
    rows = []
    for r in h.iter_rows(named=True):
        movers = ", ".join(
            f"{measure_label(m['measure'], lang)} {m['change']:+.1f}"
            for m in (r["top_movers"] or [])
        )
        delta = "—" if r["delta"] is None else f"{r['delta']:+.1f}"
        no_data = r["score"] is None or r.get("no_data")
        band = band_label(None if no_data else r["band"], lang)
        score = f"{'—':>5s}" if r["score"] is None else f"{r['score']:5.1f}"
        rows.append(
            (
                f"{r['account_id']} {r['account_name'] or ''}",
                f"{score} {band:{pad}<{width}} {r['segment'] or '-'}  "
                f"{fmt_money(r['mrr'], unit, lang):>10}  {label('word.mom', lang)} {delta} {movers}".rstrip(),
            )
        )
    title = "ヘルススコア（低い順）" if lang == "ja" else "Health (lowest first)"
    counts = dict(h.group_by("band").agg(pl.len()).iter_rows())
    tally = " ".join(
        f"{band_label(b, lang)}={counts[b]}"
        for b in ("green", "yellow", "red", None)
        if b in counts
    )
    return render_table(rows, title) + "\n" + tally


def run_risk(args: argparse.Namespace) -> int:
    from cs_metrics.metrics.risk import risk_list, risk_signals

    ds, cfg, as_of, _ = open_validated(args)
    res = risk_signals(ds, as_of)
    if args.format == "json":
        # one object per account and rule; rules that cannot run are reported on stderr
        print_json(
            [
                {
                    k: _round(r[k])
                    for k in (
                        "account_id",
                        "csm",
                        "rule",
                        "kind",
                        "evidence",
                        "mrr",
                        "value",
                        "segment",
                    )
                }
                for r in res.signals.iter_rows(named=True)
            ]
        )
        for line in unavailable_lines(res, cfg):
            print(line, file=sys.stderr)
        return 0
    print(risk_table(risk_list(ds, as_of), res, cfg))
    return 0


def risk_table(rl: Any, res: Any, cfg: Any) -> str:
    """The risk list per CSM as text: accounts by priority, each with the suggested next action,
    its signals (new ones marked) with their evidence and, for a green account, its health
    note. Unavailable rules are listed at the end."""
    from cs_metrics.format import fmt_count, fmt_money
    from cs_metrics.labels import label

    lang = cfg["general"]["lang"]
    unit = cfg["general"]["display_unit"]
    new_mark = "（今月新規）" if lang == "ja" else " (new this month)"
    lines = []
    for (csm,), rows in rl.group_by("csm", maintain_order=True):
        total = fmt_money(rows["mrr"].sum(), unit, lang)
        count = fmt_count(rows.height, lang)
        lines.append(f"■ {csm}: {count} / {label('kpi.mrr_at_risk', lang)} {total}")
        for r in rows.iter_rows(named=True):
            lines.append(
                f"  {r['rank']}. {r['account_id']} {r['account_name'] or ''} "
                f"[{r['segment'] or '—'}] "
                f"MRR {fmt_money(r['mrr'], unit, lang)} / "
                f"{label('column.priority', lang)} {fmt_money(r['priority'], unit, lang)}"
            )
            lines.append(f"      → {r['next_action']}")
            for rule, text, ev in zip(r["rules"], r["rule_labels"], r["evidence"], strict=True):
                mark = new_mark if rule in (r["new_rules"] or []) else ""
                lines.append(f"      - {text}{mark}: {ev}")
            if r["health_note"]:
                lines.append(f"      ※ {r['health_note']}")
    lines += unavailable_lines(res, cfg)
    return "\n".join(lines)


def unavailable_lines(res: Any, cfg: Any) -> list[str]:
    """One line per rule that cannot run on this data: the rule and why, in words."""
    from cs_metrics.labels import label, rule_label

    lang = cfg["general"]["lang"]
    status = label("status.unavailable", lang)
    return [
        f"({rule_label(rule, cfg['risk'], lang)}: {status} — {why})"
        for rule, why in res.unavailable.items()
    ]


def run_nps(args: argparse.Namespace) -> int:
    from cs_metrics.errors import UsageError
    from cs_metrics.format import render_table
    from cs_metrics.metrics.nps import MAX_WINDOW_MONTHS, check_nps_by, check_nps_survey, nps

    w = args.window_months
    if w is not None and not 1 <= w <= MAX_WINDOW_MONTHS:
        raise UsageError(
            "option_range", option="--window-months", value=w, lo=1, hi=MAX_WINDOW_MONTHS
        )
    ds, cfg, as_of, _ = open_validated(args)
    check_nps_survey(ds, args.survey)
    check_nps_by(ds, args.by)
    hidden = ("se_adjusted", "nps_adjusted")
    r = nps(ds, as_of, cfg, window_months=w, survey=args.survey)[0]
    r = {k: v for k, v in r.items() if k not in hidden}
    groups = None
    if args.by:
        rows = nps(ds, as_of, cfg, w, args.survey, by=args.by)
        groups = [{k: v for k, v in g.items() if k not in hidden} for g in rows]
    if args.format == "json":
        print_json(r if groups is None else {**r, "groups": groups})
        return 0
    ja = cfg["general"]["lang"] == "ja"

    def fmt(v: float | None) -> str:
        return "—" if v is None else f"{v:+.1f}"

    rows = [
        ("期間" if ja else "window", f"{r['window_start']} – {r['window_end']}"),
        ("NPS", f"{fmt(r['nps'])}  (95%CI {fmt(r['ci_low'])} – {fmt(r['ci_high'])})"),
        ("回答数" if ja else "responses", str(r["n"])),
        ("推奨者 (9-10)" if ja else "promoters (9-10)", str(r["promoters"])),
        ("中立者 (7-8)" if ja else "passives (7-8)", str(r["passives"])),
        ("批判者 (0-6)" if ja else "detractors (0-6)", str(r["detractors"])),
    ]
    print(render_table(rows))
    for g in groups or []:
        print(
            f"  {g[args.by]}: NPS {fmt(g['nps'])} (95%CI {fmt(g['ci_low'])} – {fmt(g['ci_high'])}), "
            f"n={g['n']}"
        )
    return 0


def run_onboarding(args: argparse.Namespace) -> int:
    from cs_metrics.metrics.onboarding import onboarding_summary

    ds, cfg, as_of, _ = open_validated(args)
    s = onboarding_summary(ds, as_of)
    if args.format == "json":
        print_json(s)
        return 0
    if not s["available"]:
        print(s["reason"])
        return 0
    print(onboarding_table(s, cfg["general"]["lang"]))
    return 0


def onboarding_table(s: dict[str, Any], lang: str) -> str:
    """Users, graduation and stalled users, then completion by session as bars."""
    from cs_metrics.format import fmt_pct
    from cs_metrics.labels import label

    rate = fmt_pct(s["graduation_rate"])
    if lang == "ja":
        head = (
            f"{label('onboarding.title', lang)}：ユーザー {s['users']}名、"
            f"卒業 {s['graduated_users']}名（{rate}）、停滞 {s['stalled_users']}名"
        )
    else:
        head = (
            f"Onboarding: {s['users']} users, graduated {s['graduated_users']} ({rate}), "
            f"stalled {s['stalled_users']}"
        )
    lines = [head]
    for p in s["per_session"]:
        share = p["share_of_users"] or 0
        no = label("onboarding.session", lang, n=f"{p['session_no']:2d}")
        bar = "█" * round(share * 30)
        lines.append(f"  {no} {bar:30s} {p['users_done']:4d} ({share * 100:.0f}%)")
    return "\n".join(lines)
