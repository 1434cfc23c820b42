"""Slack notification of the risk list: one message per CSM through an incoming webhook.

The webhook URL comes only from the environment variable ``CS_METRICS_SLACK_WEBHOOK_URL`` — never
from a parameter, the configuration, a report or a log line, and no message or error of this
module contains it. Data in messages is escaped for Slack (``&``, ``<``, ``>``), so an account
name cannot become a link or a mention; only the configured CSM mention ``<@ID>`` is markup.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
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

__all__ = [
    "ENV_VAR",
    "NotifyError",
    "SendResult",
    "build_messages",
    "post",
    "send_all",
    "slack_escape",
    "webhook_problem",
    "webhook_url",
]

ENV_VAR = "CS_METRICS_SLACK_WEBHOOK_URL"
MAX_WAIT_SECONDS = 60.0


@dataclass
class SendResult:
    """Outcome of one message: ``status`` is the final HTTP status (None when it never got an
    answer); ``error`` says why it failed (None when sent), ``error_code`` its catalogue code."""

    csm: str
    status: int | None
    error: str | None = None
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def slack_escape(text: Any) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack requires for text from data (``&`` first)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def webhook_problem(url: str) -> str | None:
    """Why ``url`` is not an acceptable webhook URL (a catalogue code), or None.

    Accepted: ``https://<host>/...``, or ``http://`` to a loopback address (127.0.0.0/8, ::1,
    localhost: a local test server); ASCII only, no space or control character, no user name or
    password, a valid port. The answer never contains the URL.
    """
    if any(ord(c) <= 32 or ord(c) == 127 for c in url):
        return "webhook_bad_characters"
    if not url.isascii():
        return "webhook_not_ascii"
    try:
        parts = urllib.parse.urlsplit(url)
        host, _port = parts.hostname, parts.port  # .port raises ValueError for a bad port
    except ValueError:
        return "webhook_not_url"
    if parts.scheme not in ("https", "http"):
        return "webhook_not_https"
    if not host:
        return "webhook_no_host"
    if parts.username is not None or parts.password is not None:
        return "webhook_userinfo"
    if parts.scheme == "http" and not _is_loopback(host):
        return "webhook_not_https"
    return None


def webhook_url() -> str:
    """The webhook URL from ``CS_METRICS_SLACK_WEBHOOK_URL`` (outer whitespace trimmed), checked
    by :func:`webhook_problem` when it is read.

    Raises
    ------
    NotifyError
        ``webhook_missing`` when the variable is missing or empty; the code of
        :func:`webhook_problem` when it is not an acceptable URL. The value is never shown.
    """
    url = os.environ.get(ENV_VAR, "").strip()
    if not url:
        raise NotifyError("webhook_missing", var=ENV_VAR)
    problem = webhook_problem(url)
    if problem:
        raise NotifyError(problem, var=ENV_VAR)
    return url


def build_messages(
    risk_list: pl.DataFrame,
    as_of: str,
    members: dict[str, str],
    max_accounts: int,
    unit_fmt: Callable[[float], str] | None,
    lang: str,
) -> list[dict[str, Any]]:
    """One Slack payload per CSM from :func:`cs_metrics.metrics.risk.risk_list` rows.

    CSMs keep the order of ``risk_list`` (MRR at risk, highest first); each message lists the
    CSM's at-risk accounts in the list's priority order (``rank``; by MRR for a frame without
    it), at most ``max_accounts`` (then "... and N more"), with their signals in words
    (``rule_labels`` when present), the evidence and the suggested next action. Every piece of
    data is passed through :func:`slack_escape`. ``members``, ``max_accounts`` and ``lang`` are
    ``slack.members``, ``slack.max_accounts_per_message`` and ``general.lang``; ``unit_fmt``
    formats money (None: whole yen, ``¥400,000``).

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


def retry_after_seconds(value: str | None) -> float | None:
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


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook never redirects: a 3xx answer is final (the payload is not sent elsewhere)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, PLR0913
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post(
    url: str,
    payload: dict[str, Any],
    timeout: float,
    max_retries: int,
    sleep: Callable[[float], None] = time.sleep,
    backoff: float = 1.0,
) -> int:
    """POST a JSON payload; retry on 429 and 5xx and on network errors/timeouts.

    Waits ``Retry-After`` seconds when the answer has that header (capped at
    ``MAX_WAIT_SECONDS``), else ``backoff x 2^attempt`` seconds. Any other status (4xx, a 3xx
    redirect) is final. ``url`` is checked by :func:`webhook_problem` first. ``timeout`` and
    ``max_retries`` are ``slack.timeout_seconds`` and ``slack.max_retries``.

    Returns
    -------
    int
        The final HTTP status (2xx).

    Raises
    ------
    NotifyError
        ``slack_status`` or ``slack_unreachable`` (the kind of network error), or the code of
        :func:`webhook_problem`; never the URL, and without the chained exception (whose text
        may hold it).
    """
    problem = webhook_problem(url)
    if problem:
        raise NotifyError(problem, var=ENV_VAR)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    for attempt in range(max_retries + 1):
        delay = backoff * 2**attempt
        wait: float | None = None
        try:
            req = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json; charset=utf-8"},
            )
            with _OPENER.open(req, timeout=timeout) as resp:  # noqa: S310 (scheme checked)
                return int(resp.status)
        except urllib.error.HTTPError as e:
            status = e.code
            if not (status == 429 or 500 <= status < 600):
                raise NotifyError("slack_status", status=status, attempts=attempt + 1) from None
            if attempt == max_retries:
                raise NotifyError("slack_status", status=status, attempts=attempt + 1) from None
            wait = retry_after_seconds(e.headers.get("Retry-After") if e.headers else None)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            if attempt == max_retries or isinstance(e, http.client.InvalidURL):
                raise NotifyError(
                    "slack_unreachable", attempts=attempt + 1, kind=_kind(e)
                ) from None
        except Exception as e:  # anything else from the HTTP stack: final, and without the URL
            raise NotifyError("slack_unreachable", attempts=attempt + 1, kind=_kind(e)) from None
        sleep(min(delay if wait is None else wait, MAX_WAIT_SECONDS))
    raise NotifyError("slack_unreachable", attempts=max_retries + 1, kind="-")  # pragma: no cover


def _kind(e: BaseException) -> str:
    """The class name of a network error (its text may contain the URL: never used)."""
    reason = getattr(e, "reason", None)
    if isinstance(reason, BaseException):
        return type(reason).__name__
    return type(e).__name__


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
    lang = lang_of(cfg)
    results = []
    for m in messages:
        try:
            status = post(
                url, m["payload"], float(s["timeout_seconds"]), int(s["max_retries"]), sleep
            )
            results.append(SendResult(m["csm"], status))
        except NotifyError as e:
            results.append(SendResult(m["csm"], None, e.message(lang), e.code))
    return results
