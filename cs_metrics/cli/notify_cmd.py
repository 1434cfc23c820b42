"""``cs-metrics notify``: post the risk list to Slack, one message per CSM."""

from __future__ import annotations

import argparse
import sys

from cs_metrics.cli.common import add_data_args, open_validated, print_json

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "notify",
        help="post each CSM's risk list to Slack (webhook URL from CS_METRICS_SLACK_WEBHOOK_URL)",
        description="One Slack message per CSM with their at-risk accounts, ordered by MRR, "
        "mentioning the CSM through [slack.members]. The incoming-webhook URL is read only from "
        "the environment variable CS_METRICS_SLACK_WEBHOOK_URL and is never printed. Exit "
        "status 1 when a message could not be delivered, 2 for data/configuration problems or a "
        "missing variable.",
        epilog="example: cs-metrics notify --data data/sample --as-of 2026-09 --dry-run",
    )
    add_data_args(p)
    p.add_argument("--dry-run", action="store_true", help="print the messages, send nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cs_metrics.format import fmt_money
    from cs_metrics.metrics.risk import risk_list
    from cs_metrics.notify import build_messages, send_all, webhook_url

    if not args.dry_run:
        webhook_url()  # checked before any work: a missing or bad URL is exit 2 (never shown)
    ds, cfg, as_of, _ = open_validated(args)
    unit = cfg["general"]["display_unit"]
    lang = cfg["general"]["lang"]
    msgs = build_messages(
        risk_list(ds, as_of),
        str(as_of),
        dict(cfg["slack"]["members"]),
        int(cfg["slack"]["max_accounts_per_message"]),
        lambda v: fmt_money(v, unit, lang),
        lang=lang,
    )
    as_json = getattr(args, "format", "table") == "json"
    if args.dry_run:
        if as_json:
            print_json(
                {
                    "as_of": str(as_of),
                    "sent": False,
                    "messages": [{"csm": m["csm"], "text": m["payload"]["text"]} for m in msgs],
                }
            )
            return 0
        for m in msgs:
            print(f"--- {m['csm']} ---\n{m['payload']['text']}\n")
        tail = (
            "件のメッセージ（送信していません: --dry-run）"
            if lang == "ja"
            else " message(s), not sent (--dry-run)"
        )
        print(f"{len(msgs)}{tail}")
        return 0
    results = send_all(msgs, cfg)
    if as_json:
        print_json(
            {
                "as_of": str(as_of),
                "sent": True,
                "results": [
                    {"csm": r.csm, "status": r.status, "error": r.error, "error_code": r.error_code}
                    for r in results
                ],
            }
        )
    else:
        failed_word = "送信失敗" if lang == "ja" else "failed"
        for r in results:
            print(f"{r.csm}: {r.status if r.ok else f'{failed_word} — {r.error}'}")
        if not results:
            print("送信対象なし（リスク顧客なし）" if lang == "ja" else "nothing to send")
    failed = [r for r in results if not r.ok]
    for r in failed:
        head = (
            f"エラー: {r.csm} さんへのメッセージ" if lang == "ja" else f"error: message for {r.csm}"
        )
        tail = "を送れませんでした" if lang == "ja" else " not delivered"
        print(f"{head}{tail}: {r.error}", file=sys.stderr)
    return 1 if failed else 0
