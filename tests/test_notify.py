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
    build_messages,
    post,
    retry_after_seconds,
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
    msgs = build_messages(RISK, "2026-09", {"鈴木": "U123"}, 15, None, "ja")
    text = msgs[0]["payload"]["text"]
    assert text.startswith("<@U123> 2026-09 の解約リスク: 2社 / MRR ¥400,000")
    assert "&lt;b&gt;Acme &amp; Co&lt;/b&gt;" in text and "<b>" not in text
    assert "&lt;@U999&gt;" in text and "<@U999>" not in text  # a name cannot become a mention
    assert text.index("Acme") < text.index("U999")  # by MRR
    assert msgs[1]["csm"] == "津田" and msgs[1]["payload"]["text"].startswith("津田 ")
    assert "&lt;2026-10-31&gt;" in msgs[1]["payload"]["text"]
    assert slack_escape("a<b>&c &amp;") == "a&lt;b&gt;&amp;c &amp;amp;"


def test_long_lists_are_cut_and_english_messages():
    msgs = build_messages(RISK, "2026-09", {}, max_accounts=1, unit_fmt=None, lang="en")
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
    assert retry_after_seconds("3") == 3.0 and retry_after_seconds("1.5") == 1.5
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_seconds(future) <= 31


def test_gives_up_without_leaking_the_url(server):
    s = server([500] * 5)
    with pytest.raises(NotifyError) as e:
        post(s.url, {"text": "hi"}, timeout=5, max_retries=2, sleep=lambda _: None)
    assert SECRET not in str(e.value) and "500" in str(e.value) and len(s.bodies) == 3
    s4 = server([400])
    with pytest.raises(NotifyError) as e:
        post(s4.url, {"text": "hi"}, timeout=5, max_retries=4, sleep=lambda _: None)
    assert SECRET not in str(e.value) and len(s4.bodies) == 1  # 4xx is final


def test_timeout_is_retried_then_reported_without_the_url(server):
    s = server(delay=1.0)
    with pytest.raises(NotifyError) as e:
        post(s.url, {"text": "hi"}, timeout=0.2, max_retries=1, sleep=lambda _: None)
    assert "could not reach Slack after 2 attempt" in str(e.value)
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


# ---- issue 13: the webhook URL is validated when read and never appears in any output ---------

TOKEN = "XyZsecretTOKEN42"


def _outputs(capsys, log_dir) -> str:
    """Everything the run showed or wrote: stdout, stderr (never a raw traceback) and every
    internal-error log."""
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    logs = "".join(p.read_text("utf-8", errors="replace") for p in log_dir.glob("*"))
    return out.out + out.err + logs


def _assert_secret_absent(text: str, url: str) -> None:
    import urllib.parse

    for form in (url, url.strip(), TOKEN, urllib.parse.quote(url.strip(), safe=":/")):
        assert form not in text


BAD_URLS = [
    f"https://hooks.slack.com/services/T0/B0/{TOKEN} extra",  # a space inside
    f"https://hooks.slack.com/services/T0/B0/{TOKEN}\nX-Injected: 1",  # a control character
    f"https://hooks.slack.com/services/T0/B0/{TOKEN}\x7f",
    f"https://hooks.slack.com/services/T0/B0/\x1b[2J{TOKEN}",
    f"https://hooks.slack.com/services/T0/B0/\t{TOKEN}",
    f"https://hooks.slack.com/services/T0/B0/{TOKEN}秘密",  # non-ASCII
    f"https://hooks.slаck.com/services/T0/B0/{TOKEN}",  # a Cyrillic а in the host
    f"https:///services/T0/B0/{TOKEN}",  # no host
    f"https://hooks.slack.com:99999/services/{TOKEN}",  # a port out of range
    f"https://hooks.slack.com:abc/services/{TOKEN}",
    f"http://hooks.slack.com/services/T0/B0/{TOKEN}",  # plain http to a remote host
    f"https://user:{TOKEN}@hooks.slack.com/services/T0/B0/x",  # credentials in the URL
    f"file:///etc/{TOKEN}",
    f"javascript:alert('{TOKEN}')",
    f"hooks.slack.com/services/T0/B0/{TOKEN}",  # no scheme
    f"https://[::1/services/{TOKEN}",  # an unclosed IPv6 bracket
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_webhook_url_is_refused_when_read_with_a_message_that_never_shows_it(
    url, monkeypatch, capsys, tmp_path
):
    from cs_metrics.cli.main import main

    data = write_cli_dataset(tmp_path / "ds")
    monkeypatch.setenv(ENV_VAR, url)
    monkeypatch.setenv("CS_METRICS_LOG_DIR", str(tmp_path / "logs"))
    with pytest.raises(NotifyError) as e:
        webhook_url()
    assert e.value.code.startswith("webhook_") and ENV_VAR in str(e.value)
    for lang in ("ja", "en"):
        assert main(["notify", "--data", str(data), "--lang", lang]) == 2
    text = _outputs(capsys, tmp_path / "logs")
    assert ENV_VAR in text
    _assert_secret_absent(text, url)
    assert not (tmp_path / "logs").exists()  # an expected problem: no internal-error log


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x", "http://localhost/x", "http://[::1]:8080/x", "https://h.example/x"],
)
def test_https_or_http_to_a_loopback_address_is_accepted(url):
    from cs_metrics.notify import webhook_problem

    assert webhook_problem(url) is None


class _RawServer:
    """A TCP server that answers each connection with ``reply`` bytes (or closes at once)."""

    def __init__(self, reply: bytes | None):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.reply = reply
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/services/T0/B0/{TOKEN}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                conn.recv(65536)
                if self.reply:
                    conn.sendall(self.reply)
            finally:
                conn.close()

    def close(self):
        self.sock.close()


@pytest.mark.parametrize(
    "reply",
    [
        None,  # connection closed without an answer
        b"garbage that is not HTTP\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",  # cut short
        b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    ],
)
def test_every_failed_delivery_is_reported_without_the_url(reply, monkeypatch, capsys, tmp_path):
    from cs_metrics.cli.main import main

    data = write_cli_dataset(tmp_path / "ds")
    server = _RawServer(reply)
    cfg = tmp_path / "cfg.toml"
    cfg.write_text("[slack]\nmax_retries = 1\ntimeout_seconds = 2.0\n", "utf-8")
    monkeypatch.setenv(ENV_VAR, server.url)
    monkeypatch.setenv("CS_METRICS_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setattr("time.sleep", lambda s: None)
    try:
        base = ["notify", "--data", str(data), "--as-of", "2025-06", "--config", str(cfg)]
        rc = main(base)
        rc_json = main([*base, "--format", "json"])
    finally:
        server.close()
    text = _outputs(capsys, tmp_path / "logs")
    assert rc in (0, 1) and rc_json in (0, 1)  # the 200 cut short may count as delivered
    _assert_secret_absent(text, server.url)
    assert not (tmp_path / "logs").exists()


def test_a_closed_port_is_unreachable_without_the_url(capsys, tmp_path):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    url = f"http://127.0.0.1:{port}/services/T0/B0/{TOKEN}"
    with pytest.raises(NotifyError) as e:
        post(url, {"text": "hi"}, timeout=1, max_retries=1, sleep=lambda _: None)
    assert e.value.code == "slack_unreachable" and TOKEN not in str(e.value)
    assert e.value.__cause__ is None and e.value.__suppress_context__


def test_an_internal_error_while_sending_is_logged_redacted(monkeypatch, capsys, tmp_path):
    from cs_metrics.cli.main import main

    data = write_cli_dataset(tmp_path / "ds")
    url = f"https://hooks.slack.com/services/T0/B0/{TOKEN}"
    monkeypatch.setenv(ENV_VAR, url)
    monkeypatch.setenv("CS_METRICS_LOG_DIR", str(tmp_path / "logs"))

    def boom(u, *a, **k):  # a bug that puts the URL into an exception
        raise RuntimeError(f"unexpected failure for {u} ({u.split('/')[-1]})")

    monkeypatch.setattr("cs_metrics.notify.post", boom)
    assert main(["notify", "--data", str(data), "--as-of", "2025-06"]) == 1
    logs = list((tmp_path / "logs").glob("*"))
    assert len(logs) == 1 and "RuntimeError" in logs[0].read_text("utf-8")
    _assert_secret_absent(_outputs(capsys, tmp_path / "logs"), url)
