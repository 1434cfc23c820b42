"""Slack notification against a local HTTP server: retries, escaping, the URL never printed."""

from __future__ import annotations

import email.utils
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest
from health_fixtures import write_cli_dataset

from cs_metrics.notify import (
    ENV_VAR,
    NotifyError,
    _retry_after,
    build_messages,
    post,
    slack_escape,
    webhook_url,
)

SECRET = "secret-token-Zx9"


class _Server:
    """Answers POSTs with the given statuses in turn (then 200); records the JSON bodies."""

    def __init__(self, statuses=(), retry_after="0", delay=0.0):
        self.statuses = list(statuses)
        self.bodies: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(n)))
                if delay:
                    time.sleep(delay)
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                if status == 429 and retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/services/T000/B000/{SECRET}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    servers = []

    def make(*a, **kw):
        s = _Server(*a, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


RISK = pl.DataFrame(
    {
        "csm": ["鈴木", "鈴木", "津田"],
        "account_id": ["A", "B", "C"],
        "account_name": ["<b>Acme & Co</b>", "<@U999> 株式会社", "普通"],
        "segment": ["S", "A", "B"],
        "mrr": [300000.0, 100000.0, 50000.0],
        "rules": [["no_login"], ["health_red"], ["renewal_due"]],
        "evidence": [["最終ログインから80日"], ["ヘルススコア 20"], ["契約終了 <2026-10-31>"]],
    }
)


def test_messages_escape_data_and_mention_owner():
    msgs = build_messages(RISK, "2026-09", {"鈴木": "U123"})
    text = msgs[0]["payload"]["text"]
    assert text.startswith("<@U123> 2026-09 の解約リスク: 2社 / MRR ¥400,000")
    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in text and "<b>" not in text
    assert "&lt;@U999&gt;" in text and "<@U999>" not in text  # a name cannot become a mention
    assert text.index("Acme") < text.index("U999")  # by MRR
    assert msgs[1]["csm"] == "津田" and msgs[1]["payload"]["text"].startswith("津田 ")
    assert "&lt;2026-10-31&gt;" in msgs[1]["payload"]["text"]
    assert slack_escape("a<b>&c &amp;") == "a&lt;b&gt;&amp;c &amp;amp;"


def test_long_lists_are_cut_and_english_messages():
    msgs = build_messages(RISK, "2026-09", {}, max_accounts=1, lang="en")
    assert msgs[0]["payload"]["text"].splitlines()[-1] == "… and 1 more"
    assert "churn risk 2026-09: 2 account(s)" in msgs[0]["payload"]["text"]


def test_retries_on_429_and_5xx_then_succeeds(server):
    s = server([429, 503, 500, 200], retry_after="2")
    sleeps: list[float] = []
    assert post(s.url, {"text": "hi"}, timeout=5, max_retries=4, sleep=sleeps.append) == 200
    assert len(s.bodies) == 4 and s.bodies[0] == {"text": "hi"}
    # Retry-After honoured on 429, exponential back-off (1 s, 2 s, ...) on 5xx
    assert sleeps == [2.0, 2.0, 4.0]


def test_retry_after_forms():
    assert _retry_after("3") == 3.0 and _retry_after("1.5") == 1.5
    assert _retry_after(None) is None and _retry_after("soon") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after(future) <= 31


def test_gives_up_without_leaking_the_url(server):
    s = server([500] * 5)
    with pytest.raises(NotifyError) as e:
        post(s.url, {"text": "hi"}, timeout=5, max_retries=2, sleep=lambda _: None)
    assert SECRET not in str(e.value) and "500" in str(e.value) and len(s.bodies) == 3
    s4 = server([400])
    with pytest.raises(NotifyError) as e:
        post(s4.url, {"text": "hi"}, sleep=lambda _: None)
    assert SECRET not in str(e.value) and len(s4.bodies) == 1  # 4xx is final


def test_timeout_is_retried_then_reported_without_the_url(server):
    s = server(delay=1.0)
    with pytest.raises(NotifyError) as e:
        post(s.url, {"text": "hi"}, timeout=0.2, max_retries=1, sleep=lambda _: None)
    assert "could not reach Slack after 2 attempt(s)" in str(e.value)
    assert SECRET not in str(e.value)


def test_webhook_url_only_from_the_environment(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(NotifyError, match=ENV_VAR):
        webhook_url()
    monkeypatch.setenv(ENV_VAR, f"file:///etc/{SECRET}")
    with pytest.raises(NotifyError) as e:
        webhook_url()
    assert SECRET not in str(e.value)


def _config(tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[slack.members]\n"鈴木" = "U0SUZUKI"\n', encoding="utf-8")
    return str(cfg)


def test_cli_sends_one_escaped_message_per_csm_and_never_prints_the_url(
    server, monkeypatch, capsys, tmp_path
):
    from cs_metrics.cli.main import main

    data = write_cli_dataset(tmp_path / "ds")
    s = server()
    monkeypatch.setenv(ENV_VAR, s.url)
    args = ["notify", "--data", str(data), "--as-of", "2025-06", "--config", _config(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err and s.url not in out.out + out.err
    assert len(s.bodies) == 2  # 鈴木 and 津田
    texts = [b["text"] for b in s.bodies]
    assert texts[0].startswith("<@U0SUZUKI> 2025-06") and "&lt;@U999&gt; 株式会社" in texts[0]
    assert "<@U999>" not in texts[0]
    assert texts[1].startswith("津田 2025-06") and "普通商事" in texts[1]
    assert all("<b>" not in t for t in texts)


def test_cli_reports_a_failed_message_and_sends_the_others(server, monkeypatch, capsys, tmp_path):
    from cs_metrics.cli.main import main

    data = write_cli_dataset(tmp_path / "ds")
    s = server([400])
    monkeypatch.setenv(ENV_VAR, s.url)
    assert main(["notify", "--data", str(data), "--as-of", "2025-06"]) == 1
    out = capsys.readouterr()
    assert len(s.bodies) == 2 and "400" in out.err and SECRET not in out.out + out.err


def test_cli_missing_variable_is_a_clear_error_and_dry_run_sends_nothing(
    server, monkeypatch, capsys, tmp_path
):
    from cs_metrics.cli.main import main

    data = write_cli_dataset(tmp_path / "ds")
    monkeypatch.delenv(ENV_VAR, raising=False)
    base = ["notify", "--data", str(data), "--as-of", "2025-06"]
    assert main(base) == 2
    assert ENV_VAR in capsys.readouterr().err
    s = server()
    monkeypatch.setenv(ENV_VAR, s.url)
    assert main([*base, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "--- 鈴木 ---" in out and "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" not in out  # A1 not at risk
    assert SECRET not in out and not s.bodies
    assert main([*base, "--dry-run", "--format", "json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert j["sent"] is False and [m["csm"] for m in j["messages"]] == ["鈴木", "津田"]
