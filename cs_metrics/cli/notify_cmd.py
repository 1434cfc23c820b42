"""``cs-metrics notify``: post the risk list to Slack, one message per CSM."""

from __future__ import annotations

import argparse
import sys

from cs_metrics.cli.common import add_data_args, open_validated


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "notify",
        help="post each CSM's risk list to Slack (webhook URL from CS_METRICS_SLACK_WEBHOOK_URL)",
        description="One Slack message per CSM with their at-risk accounts, ordered by MRR. "
        "The incoming-webhook URL is read only from the environment variable "
        "CS_METRICS_SLACK_WEBHOOK_URL.",
        epilog="example: cs-metrics notify --data data/sample --dry-run",
    )
    add_data_args(p, fmt=False)
    p.add_argument("--dry-run", action="store_true", help="print the messages, send nothing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cs_metrics.format import fmt_money
    from cs_metrics.metrics.risk import risk_list
    from cs_metrics.notify import NotifyError, build_messages, send_all

    ds, cfg, as_of, _ = open_validated(args)
    unit = cfg["general"]["display_unit"]
    msgs = build_messages(
        risk_list(ds, as_of),
        as_of.strftime("%Y-%m"),
        dict(cfg["slack"]["members"]),
        int(cfg["slack"]["max_accounts_per_message"]),
        lambda v: fmt_money(v, unit),
    )
    if args.dry_run:
        for m in msgs:
            print(f"--- {m['csm']} ---\n{m['payload']['text']}\n")
        print(f"{len(msgs)} message(s), not sent (--dry-run)")
        return 0
    try:
        sent = send_all(msgs, cfg)
    except NotifyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for csm, status in sent:
        print(f"{csm}: {status}")
    return 0
