"""Slack notification against a local HTTP server: retries, escaping, the URL never printed."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import polars as pl
import pytest

from cs_metrics.notify import ENV_VAR, NotifyError, build_messages, post, slack_escape


class _Server:
    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.bodies: list[dict] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(n)))
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/services/T000/B000/secret-token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def server():
    servers = []

    def make(statuses=()):
        s = _Server(statuses)
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
    assert text.startswith("<@U123>")
    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in text and "<b>" not in text
    assert "&lt;@U999&gt;" in text  # a name cannot become a mention
    assert "&lt;2026-10-31&gt;" in msgs[1]["payload"]["text"] and msgs[1]["csm"] == "津田"
    assert slack_escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_retries_on_429_and_5xx_then_succeeds(server):
    s = server([429, 503, 200])
    sleeps = []
    assert post(s.url, {"text": "hi"}, timeout=5, max_retries=4, sleep=sleeps.append) == 200
    assert len(s.bodies) == 3 and len(sleeps) == 2


def test_gives_up_without_leaking_the_url(server):
    s = server([500] * 5)
    with pytest.raises(NotifyError) as e:
        post(s.url, {"text": "hi"}, timeout=5, max_retries=2, sleep=lambda _: None)
    assert "secret-token" not in str(e.value) and "500" in str(e.value)
    s4 = server([400])
    with pytest.raises(NotifyError) as e:
        post(s4.url, {"text": "hi"}, sleep=lambda _: None)
    assert "secret-token" not in str(e.value)


def test_cli_sends_per_csm_and_never_prints_the_url(server, monkeypatch, capsys):
    from conftest import SAMPLE

    from cs_metrics.cli.main import main

    s = server()
    monkeypatch.setenv(ENV_VAR, s.url)
    assert main(["notify", "--data", str(SAMPLE), "--as-of", "2026-09"]) == 0
    out = capsys.readouterr()
    assert "secret-token" not in out.out + out.err
    assert len(s.bodies) == 5  # one per CSM
    assert all("text" in b for b in s.bodies)


def test_cli_missing_variable_is_a_clear_error(monkeypatch, capsys):
    from conftest import SAMPLE

    from cs_metrics.cli.main import main

    monkeypatch.delenv(ENV_VAR, raising=False)
    assert main(["notify", "--data", str(SAMPLE), "--as-of", "2026-09"]) == 2
    assert ENV_VAR in capsys.readouterr().err
    assert main(["notify", "--data", str(SAMPLE), "--as-of", "2026-09", "--dry-run"]) == 0
