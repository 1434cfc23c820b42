"""Slack notification of the risk list: one message per CSM through an incoming webhook.

The webhook URL comes only from the environment variable ``CS_METRICS_SLACK_WEBHOOK_URL`` — never
from a parameter, the configuration, a report or a log line. Data in messages is escaped for
Slack (``&``, ``<``, ``>``), so an account name cannot become a link or a mention.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import polars as pl

ENV_VAR = "CS_METRICS_SLACK_WEBHOOK_URL"


class NotifyError(RuntimeError):
    """Sending failed (the message never contains the webhook URL)."""


def slack_escape(text: Any) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack requires for text from data."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_url() -> str:
    url = os.environ.get(ENV_VAR, "").strip()
    if not url:
        raise NotifyError(
            f"environment variable {ENV_VAR} is not set: export the Slack incoming-webhook URL "
            "there (it is never read from parameters or config files), or use --dry-run"
        )
    return url


def build_messages(
    risk_list: pl.DataFrame,
    as_of: str,
    members: dict[str, str],
    max_accounts: int = 15,
    unit_fmt: Callable[[float], str] | None = None,
) -> list[dict[str, Any]]:
    """One Slack payload per CSM from :func:`cs_metrics.metrics.risk.risk_list` rows.

    Returns
    -------
    list of dict
        ``{"csm": name, "payload": {"text": ...}}``; the CSM is mentioned as ``<@ID>`` when the
        ``[slack.members]`` map has them, else named (escaped).
    """
    fmt = unit_fmt or (lambda v: f"¥{v:,.0f}")
    out = []
    for (csm,), rows in risk_list.group_by("csm", maintain_order=True):
        rows = rows.sort("mrr", descending=True)
        who = f"<@{members[csm]}>" if csm in members else slack_escape(csm)
        total = float(rows["mrr"].sum())
        lines = [
            f"{who} {slack_escape(as_of)} の解約リスク: {rows.height}社 / MRR {slack_escape(fmt(total))}"
        ]
        for r in rows.head(max_accounts).iter_rows(named=True):
            rules = ", ".join(slack_escape(x) for x in r["rules"])
            ev = " / ".join(slack_escape(x) for x in r["evidence"])
            lines.append(
                f"• {slack_escape(r['account_name'] or r['account_id'])} "
                f"({slack_escape(r['segment'] or '-')}, MRR {slack_escape(fmt(r['mrr']))}): {rules} — {ev}"
            )
        if rows.height > max_accounts:
            lines.append(f"…ほか{rows.height - max_accounts}社")
        out.append({"csm": csm, "payload": {"text": "\n".join(lines)}})
    return out


def post(
    url: str,
    payload: dict[str, Any],
    timeout: float = 10.0,
    max_retries: int = 4,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST a JSON payload, retrying on 429 (honouring Retry-After) and 5xx with back-off.

    Returns the final HTTP status. Raises :class:`NotifyError` (without the URL) on failure.
    """
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    delay = 1.0
    for attempt in range(max_retries + 1):
        req = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json; charset=utf-8"}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (https URL from env)
                return resp.status
        except urllib.error.HTTPError as e:
            status = e.code
            retry_after = e.headers.get("Retry-After") if e.headers else None
            if status == 429 or 500 <= status < 600:
                if attempt == max_retries:
                    raise NotifyError(
                        f"Slack answered {status} after {attempt + 1} attempts"
                    ) from None
                wait = float(retry_after) if retry_after and retry_after.isdigit() else delay
                sleep(min(wait, 60.0))
                delay *= 2
                continue
            raise NotifyError(f"Slack answered {status}: the message was not accepted") from None
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            if attempt == max_retries:
                reason = getattr(e, "reason", e)
                raise NotifyError(f"could not reach Slack: {type(reason).__name__}") from None
            sleep(delay)
            delay *= 2
    raise NotifyError("unreachable")


def send_all(messages: list[dict[str, Any]], cfg: dict[str, Any]) -> list[tuple[str, int]]:
    """Send every message; returns (csm, status) pairs."""
    url = webhook_url()
    s = cfg["slack"]
    return [
        (m["csm"], post(url, m["payload"], float(s["timeout_seconds"]), int(s["max_retries"])))
        for m in messages
    ]
