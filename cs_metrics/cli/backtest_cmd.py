"""``cs-metrics backtest``: how well each risk rule and the health score predicted churn."""

from __future__ import annotations

import argparse
import unicodedata
from typing import Any

from cs_metrics.cli.common import add_data_args, open_validated, print_json

__all__ = ["format_backtest", "register", "run_backtest"]

EXAMPLE = "cs-metrics backtest --data data/sample --from 2025-01 --to 2026-06 --horizon 3"
HELP = "backtest every risk rule and the health score against what happened next"
BAND_LABELS = {
    "ja": {"green": "緑", "yellow": "黄", "red": "赤", "no_score": "スコアなし"},
    "en": {"green": "green", "yellow": "yellow", "red": "red", "no_score": "no score"},
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "backtest",
        help=HELP,
        description=HELP + " (each month as it was known then; outcome in the H months after)",
        epilog=f"example: {EXAMPLE}",
    )
    add_data_args(p, as_of=False)
    p.add_argument(
        "--from",
        dest="start",
        metavar="YYYY-MM",
        help="first month of signals (default: backtest.lookback_months before --to)",
    )
    p.add_argument(
        "--to",
        dest="stop",
        metavar="YYYY-MM",
        help="last month of signals (default: the last month with H months of data after it)",
    )
    p.add_argument(
        "--horizon",
        type=int,
        metavar="H",
        help="months after each month in which the outcome counts (default 3)",
    )
    p.add_argument(
        "--suggest-weights",
        action="store_true",
        help="also fit health weights on the history (a suggestion with its cross-validated "
        "AUC beside the configured weights' AUC; never applied). JSON key: weights_suggestion",
    )
    p.set_defaults(func=run_backtest)


def _rounded(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 6)
    if isinstance(v, dict):
        return {k: _rounded(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_rounded(x) for x in v]
    return v


def run_backtest(args: argparse.Namespace) -> int:
    from cs_metrics.metrics.backtest import backtest

    ds, cfg, _, _ = open_validated(args)
    res = backtest(ds, args.start, args.stop, args.horizon)
    out = dict(res.summary)
    if args.suggest_weights:
        from cs_metrics.metrics.health_weights import suggest_health_weights

        out["weights_suggestion"] = suggest_health_weights(res, cfg)
    if args.format == "json":
        print_json(_rounded(out))
        return 0
    print(format_backtest(out, cfg))
    if args.suggest_weights:
        print("\n" + "\n".join(_weights_lines(out["weights_suggestion"], cfg["general"]["lang"])))
    return 0


def _weights_lines(w: dict[str, Any], lang: str) -> list[str]:
    ja = lang == "ja"

    def num(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f}"

    head = (
        "ヘルススコアの重み（過去データから推定した提案。自動では適用しません）"
        if ja
        else "Health weights fitted on the history (a suggestion; never applied)"
    )
    if w["suggested_weights"] is None:
        return [head, f"  {w.get('cv_auc_reason', '')}"]
    rows = [["指標", "現在の重み", "提案"] if ja else ["measure", "configured", "suggested"]]
    for m in w["measures"]:
        rows.append([m, num(w["configured_weights"][m]), num(w["suggested_weights"][m])])
    auc = (
        f"AUC: 現在 {num(w['configured_auc'])} / 提案 {num(w['cv_auc'])}（{w['folds']}分割の交差検証）"
        if ja
        else f"AUC: configured {num(w['configured_auc'])} / suggested {num(w['cv_auc'])} "
        f"({w['folds']}-fold cross-validated by account)"
    )
    return [head, *_grid(rows, {1, 2}), auc]


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _grid(rows: list[list[str]], right: set[int]) -> list[str]:
    """Columns aligned for terminals (wide characters count double)."""
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = []
        for i, c in enumerate(r):
            pad = " " * (widths[i] - _width(c))
            cells.append(pad + c if i in right else c + pad)
        out.append("  ".join(cells).rstrip())
    return out


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _ci(ci: list[float] | None, fmt) -> str:
    return "" if not ci else f" ({fmt(ci[0])}–{fmt(ci[1])})"


def _times(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def format_backtest(s: dict[str, Any], cfg: dict[str, Any]) -> str:
    """The backtest as a text table (ja by default, en with ``general.lang = "en"``)."""
    from cs_metrics.format import rule_label

    lang = cfg["general"]["lang"]
    ja = lang == "ja"
    h = s["horizon_months"]
    lines = [
        (f"シグナルのバックテスト {s['from']}〜{s['to']}（各月末の有効顧客・{h}か月以内の結果）")
        if ja
        else f"Signal backtest {s['from']} to {s['to']} (active accounts each month; "
        f"outcome within {h} months)",
        (
            f"顧客・月 {s['account_months']:,} / {h}か月以内に解約 {s['churned']:,} ({_pct(s['base_rate'])})"
        )
        if ja
        else f"account-months {s['account_months']:,} / churned within {h} months "
        f"{s['churned']:,} ({_pct(s['base_rate'])})",
        "",
    ]
    head = (
        ["シグナル", "結果", "該当", "的中", "精度 (95%)", "再現率", "基準率", "リフト倍率 (95%)"]
        if ja
        else [
            "signal",
            "target",
            "flagged",
            "hits",
            "precision (95%)",
            "recall",
            "base",
            "lift (95%)",
        ]
    )
    rows, notes = [head], []
    for sig in s["signals"]:
        name = rule_label(sig["signal"], cfg["risk"], lang)
        target = {"churn": "解約", "expansion": "拡大"}[sig["target"]] if ja else sig["target"]
        if sig["flagged"] is None:
            notes.append(f"  {name}: {sig['flagged_reason']}")
            continue
        rows.append(
            [
                name,
                target,
                f"{sig['flagged']:,}",
                f"{sig['hits']:,}",
                _pct(sig["precision"]) + _ci(sig["precision_ci"], _pct),
                _pct(sig["recall"]),
                _pct(sig["base_rate"]),
                _times(sig["lift"]) + _ci(sig["lift_ci"], _times),
            ]
        )
    lines += _grid(rows, {2, 3, 5, 6})
    if notes:
        lines += ["", "判定不可のシグナル:" if ja else "signals not evaluated:", *notes]
    lines += ["", *_health_lines(s["health"], lang)]
    return "\n".join(lines)


def _health_lines(hs: dict[str, Any], lang: str) -> list[str]:
    ja = lang == "ja"

    def num(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f}"

    auc = num(hs["auc"]) + _ci(hs["auc_ci"], num)
    if hs["auc"] is None:
        auc += f" ({hs['auc_reason']})"
    out = [
        (f"ヘルススコアの解約予測力 AUC {auc}（0.5 = 偶然、1 = 完全）")
        if ja
        else f"Health score vs churn: AUC {auc} (0.5 = chance, 1 = perfect)"
    ]
    rows = [
        ["帯", "顧客・月", "解約", "解約率 (95%)"] if ja else ["band", "n", "churned", "rate (95%)"]
    ]
    for b in hs["bands"]:
        rows.append(
            [
                BAND_LABELS[lang][b["band"]],
                f"{b['n']:,}",
                f"{b['churned']:,}",
                _pct(b["rate"]) + _ci(b["rate_ci"], _pct),
            ]
        )
    out += _grid(rows, {1, 2})
    parts = [f"{m['measure']} {num(m['auc'])}" for m in hs["measures"]]
    out.append(("指標ごとの AUC: " if ja else "AUC per measure: ") + ", ".join(parts))
    return out
