"""Fuzzing valid exports (issue 13): encodings, dates, amounts, IDs, missing columns and tables,
duplicated and reordered rows, separators, truncation. Whatever the mutation, every command
exits 0 or 2, never shows a traceback or an internal error, never writes NaN or Infinity into
JSON, and never writes anything into the data folder.

Bounded for CI: a fixed number of examples, derandomised (the same examples on every run), no
deadline (one in-process CLI call is about a second, most of it the validation gate). A longer,
random hunt: ``CS_METRICS_FUZZ_EXAMPLES=500 pytest tests/adversarial/test_fuzz.py``.
"""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from corpus import base
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_corpus import snapshot

TABLES = [
    "accounts",
    "subscriptions",
    "cancellations",
    "usage_weekly",
    "touchpoints",
    "nps_responses",
    "onboarding_sessions",
]
NASTY = {
    "date": [
        "24/9/5",
        "2025-13-01",
        "0024-01-01",
        "9999-12-31",
        "2025/2/30",
        "",
        " ",
        "2025-06-15T10:00",
        "2025/6/1 0:00",
        "1899-12-31",
        "2025-07-02",
        "２０２５／６／１",
        "June 1",
        "2025-6",
    ],
    "amount": [
        "80000,50",
        "1e40",
        "-5",
        "¥1,000",
        "nan",
        "inf",
        "1,20,000",
        "１０００",
        "0",
        "1e308",
        "-0",
        "1.5",
        "",
        "12345678901234567890",
        "3,000,000円",
    ],
    "id": ["A\u200b1", "Ａ１", "", '=HYPERLINK("x")', " A1 ", "😀", "a" * 300, "a1", "A1\u202e"],
    "text": ['"', "\n", ",", ";", "\x00", "<script>", "{lang}", "%s%n"],
}
COLUMN_KIND = {
    "start_date": "date", "end_date": "date", "week_start": "date", "occurred_on": "date",
    "responded_on": "date", "cancelled_on": "date", "held_on": "date",
    "mrr": "amount", "logins": "amount", "deliveries": "amount", "outcome_rate": "amount",
    "score": "amount", "session_no": "amount",
    "account_id": "id", "subscription_id": "id", "response_id": "id", "user_id": "id",
}  # fmt: skip
ENCODINGS = ["utf-8", "utf-8-sig", "cp932", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1"]


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _text(rows: list[list[str]], sep: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def apply(files: dict[str, str | bytes], m: tuple) -> None:
    """One mutation of the tables' text (or bytes) in place."""
    op, table = m[0], m[1]
    if table not in files or isinstance(files[table], bytes):
        return
    rows = _rows(files[table])
    if op == "cell" and len(rows) > 1 and rows[0]:
        _, _, r, c, pick = m
        row = rows[1 + r % (len(rows) - 1)]
        if not row:
            return
        col = c % min(len(row), len(rows[0]))
        pool = NASTY[COLUMN_KIND.get(rows[0][col], "text")]
        row[col] = pool[pick % len(pool)]
    elif op == "drop_column" and rows and rows[0]:
        col = m[2] % len(rows[0])
        rows = [row[:col] + row[col + 1 :] for row in rows]
    elif op == "drop_table":
        del files[table]
        return
    elif op == "duplicate_row" and len(rows) > 1:
        rows.append(list(rows[1 + m[2] % (len(rows) - 1)]))
    elif op == "reverse_rows":
        rows = rows[:1] + rows[1:][::-1]
    elif op == "reverse_columns":
        rows = [row[::-1] for row in rows]
    elif op == "header_case" and rows:
        rows[0] = [h.upper() if m[2] % 2 else f" {h} " for h in rows[0]]
    elif op == "separator":
        files[table] = _text(rows, m[2])
        return
    elif op == "encode":
        files[table] = files[table].encode(ENCODINGS[m[2] % len(ENCODINGS)], errors="replace")
        return
    elif op == "truncate":
        raw = files[table].encode("utf-8")
        files[table] = raw[: m[2] % (len(raw) + 1)]
        return
    files[table] = _text(rows)


table = st.sampled_from(TABLES)
small = st.integers(0, 10_000)
mutation = st.one_of(
    st.tuples(st.just("cell"), table, small, small, small),
    st.tuples(st.just("drop_column"), table, small),
    st.tuples(st.just("drop_table"), table),
    st.tuples(st.just("duplicate_row"), table, small),
    st.tuples(st.just("reverse_rows"), table),
    st.tuples(st.just("reverse_columns"), table),
    st.tuples(st.just("header_case"), table, small),
    st.tuples(st.just("separator"), table, st.sampled_from([";", "\t", "|"])),
    st.tuples(st.just("encode"), table, small),
    st.tuples(st.just("truncate"), table, small),
)
LONG_RUN = os.environ.get("CS_METRICS_FUZZ_EXAMPLES")
COMMANDS = [
    "validate", "kpis", "health", "risk", "nps", "onboarding", "notify", "ltv", "scenario",
]  # fmt: skip
EXTRA = {
    "notify": ["--dry-run"],
    "scenario": ["--save-reason-pct", "0.3", "--graduation-target", "0.9"],
}


@pytest.mark.filterwarnings("ignore")
@settings(
    max_examples=int(LONG_RUN or 40),
    deadline=None,
    derandomize=not LONG_RUN,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    mutations=st.lists(mutation, min_size=1, max_size=4),
    command=st.sampled_from(COMMANDS),
    as_of=st.sampled_from([None, "2025-06", "2025-02", "2024-12", "2025-09"]),
)
def test_mutated_exports_exit_0_or_2_and_never_break(
    tmp_path_factory, capsys, monkeypatch, mutations, command, as_of
):
    from cs_metrics.cli.main import main

    tmp = tmp_path_factory.mktemp("fuzz")
    folder = base(tmp)
    files: dict[str, str | bytes] = {p.stem: p.read_text("utf-8") for p in folder.glob("*.csv")}
    for m in mutations:
        apply(files, m)
    for p in folder.glob("*.csv"):
        p.unlink()
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (folder / f"{name}.csv").write_bytes(data)
    logs = tmp / "logs"
    monkeypatch.setenv("CS_METRICS_LOG_DIR", str(logs))
    monkeypatch.delenv("CS_METRICS_SLACK_WEBHOOK_URL", raising=False)
    if command == "validate":
        argv = ["validate", str(folder), "--format", "json"]
    else:
        argv = [command, "--data", str(folder), "--format", "json"]
        argv += ["--as-of", as_of] if as_of else []
        argv += EXTRA.get(command, [])
    before = snapshot(tmp)
    capsys.readouterr()
    rc = main(argv)
    out = capsys.readouterr()
    shown = out.out + out.err
    assert rc in (0, 2), f"{mutations} {argv}: exit {rc}\n{out.err[-3000:]}"
    assert "Traceback" not in shown and "内部エラー" not in shown and "internal error" not in shown
    assert not logs.exists()
    assert snapshot(tmp) == before  # nothing written, published or left behind
    if rc == 0 or command == "validate":

        def no_nan(token: str):
            raise AssertionError(f"{token} in the JSON of {argv}")

        json.loads(out.out, parse_constant=no_nan)
