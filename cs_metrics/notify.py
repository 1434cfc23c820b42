"""Slack notification of the risk list: one message per CSM through an incoming webhook.

The webhook URL comes only from the environment variable ``CS_METRICS_SLACK_WEBHOOK_URL`` — never
from a parameter, the configuration, a report or a log line, and no message or error of this
module contains it. Data in messages is escaped for Slack (``&``, ``<``, ``>``), so an account
name cannot become a link or a mention; only the configured CSM mention ``<@ID>`` is markup.
"""

from __future__ import annotations

import email.utils
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from cs_metrics.errors import NotifyError
from cs_metrics.messages import lang_of

ENV_VAR = "CS_METRICS_SLACK_WEBHOOK_URL"
MAX_WAIT_SECONDS = 60.0


# Sending failed: the error family's NotifyError (its message, in the reader's language, never
# contains the webhook URL).


@dataclass
class SendResult:
    """Outcome of one message: ``status`` is the final HTTP status (None when it never got an
    answer); ``error`` says why it failed (None when sent)."""

    csm: str
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def slack_escape(text: Any) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack requires for text from data (``&`` first)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_url() -> str:
    """The webhook URL from ``CS_METRICS_SLACK_WEBHOOK_URL``.

    Raises
    ------
    NotifyError
        When the variable is missing or empty, or is not an http(s) URL (the value is never
        shown).
    """
    url = os.environ.get(ENV_VAR, "").strip()
    if not url:
        raise NotifyError("webhook_missing", var=ENV_VAR)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise NotifyError("webhook_invalid", var=ENV_VAR, detail="https://")
    return url


def build_messages(
    risk_list: pl.DataFrame,
    as_of: str,
    members: dict[str, str],
    max_accounts: int = 15,
    unit_fmt: Callable[[float], str] | None = None,
    lang: str = "ja",
) -> list[dict[str, Any]]:
    """One Slack payload per CSM from :func:`cs_metrics.metrics.risk.risk_list` rows.

    CSMs keep the order of ``risk_list`` (MRR at risk, highest first); each message lists the
    CSM's at-risk accounts in the list's priority order (``rank``; by MRR for a frame without
    it), at most ``max_accounts`` (then "... and N more"), with their signals in words
    (``rule_labels`` when present), the evidence and the suggested next action. Every piece of
    data is passed through :func:`slack_escape`.

    Returns
    -------
    list of dict
        ``{"csm": name, "payload": {"text": ...}}``; the CSM is mentioned as ``<@ID>`` when the
        ``[slack.members]`` map has them, else named (escaped).
    """
    fmt = unit_fmt or (lambda v: f"¥{v:,.0f}")
    ja = lang == "ja"
    out = []
    words = "rule_labels" if "rule_labels" in risk_list.columns else "rules"
    for (csm,), rows in risk_list.group_by("csm", maintain_order=True):  # one message per CSM
        if "rank" in rows.columns:
            rows = rows.sort("rank")
        else:
            rows = rows.sort(["mrr", "account_id"], descending=[True, False])
        who = f"<@{members[csm]}>" if csm in members else slack_escape(csm)
        total = slack_escape(fmt(float(rows["mrr"].sum())))
        head = (
            f"{who} {slack_escape(as_of)} の解約リスク: {rows.height}社 / MRR {total}"
            if ja
            else f"{who} churn risk {slack_escape(as_of)}: {rows.height} account(s) / MRR {total}"
        )
        lines = [head]
        for r in rows.head(max_accounts).iter_rows(named=True):
            rules = ", ".join(slack_escape(x) for x in r[words])
            ev = " / ".join(slack_escape(x) for x in r["evidence"])
            name = slack_escape(r["account_name"] or r["account_id"])
            seg = slack_escape(r["segment"] or "-")
            line = f"• {name} ({seg}, MRR {slack_escape(fmt(r['mrr']))}): {rules} — {ev}"
            if r.get("next_action"):
                line += f" → {slack_escape(r['next_action'])}"
            lines.append(line)
        if rows.height > max_accounts:
            more = rows.height - max_accounts
            lines.append(f"…ほか{more}社" if ja else f"… and {more} more")
        out.append({"csm": csm, "payload": {"text": "\n".join(lines)}})
    return out


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def post(
    url: str,
    payload: dict[str, Any],
    timeout: float = 10.0,
    max_retries: int = 4,
    sleep: Callable[[float], None] = time.sleep,
    backoff: float = 1.0,
) -> int:
    """POST a JSON payload; retry on 429 and 5xx and on network errors/timeouts.

    Waits ``Retry-After`` seconds when the answer has that header (capped at
    ``MAX_WAIT_SECONDS``), else ``backoff x 2^attempt`` seconds. Any other 4xx is final.

    Returns
    -------
    int
        The final HTTP status (2xx).

    Raises
    ------
    NotifyError
        On failure, with the status or the kind of network error, never the URL.
    """
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    for attempt in range(max_retries + 1):
        delay = backoff * 2**attempt
        req = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked)
                return int(resp.status)
        except urllib.error.HTTPError as e:
            status = e.code
            retryable = status == 429 or 500 <= status < 600
            if not retryable:
                raise NotifyError("slack_status", status=status, attempts=attempt + 1) from None
            if attempt == max_retries:
                raise NotifyError("slack_status", status=status, attempts=attempt + 1) from None
            wait = _retry_after(e.headers.get("Retry-After") if e.headers else None)
            sleep(min(delay if wait is None else wait, MAX_WAIT_SECONDS))
        except (urllib.error.URLError, TimeoutError, OSError) as e:
            if attempt == max_retries:
                reason = getattr(e, "reason", e)
                kind = type(reason).__name__ if not isinstance(reason, str) else "URLError"
                raise NotifyError("slack_unreachable", attempts=attempt + 1, kind=kind) from None
            sleep(min(delay, MAX_WAIT_SECONDS))
    raise NotifyError("slack_unreachable", attempts=max_retries + 1, kind="-")  # pragma: no cover


def send_all(
    messages: list[dict[str, Any]],
    cfg: dict[str, Any],
    sleep: Callable[[float], None] = time.sleep,
) -> list[SendResult]:
    """Send every message (a failed one does not stop the others).

    Returns
    -------
    list of SendResult
        One per message, in order.

    Raises
    ------
    NotifyError
        When the environment variable is missing or invalid (before anything is sent).
    """
    url = webhook_url()
    s = cfg["slack"]
    results = []
    for m in messages:
        try:
            status = post(
                url, m["payload"], float(s["timeout_seconds"]), int(s["max_retries"]), sleep
            )
            results.append(SendResult(m["csm"], status))
        except NotifyError as e:
            results.append(SendResult(m["csm"], None, e.message(lang_of(cfg))))
    return results
