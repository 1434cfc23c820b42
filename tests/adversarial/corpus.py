"""The adversarial corpus: hostile or careless inputs, one generator per case, each with the exit
status it must give, the message code it must name and what it must not do (docs/reliability.md).

A case builds its own files under a temporary folder and returns the command line. The runner
(``test_corpus.py``) calls the CLI in-process and checks, for every case: the exit status; the
code (a ``CsMetricsError`` code, or a validation rule); no raw traceback and no "internal error"
in what was printed; no internal-error log; no secret in any output; and, on exit 2, that the
whole temporary folder is byte-for-byte unchanged (nothing published, no stray temp file).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SECRET = "zQ7secretWebhookToken9"


@dataclass
class Case:
    """One hostile input. ``build(tmp)`` writes the files and returns the argv."""

    name: str
    kind: str  # data_loss | secret | traceback | silent_wrong | misleading
    build: Callable[[Path], list[str]]
    rc: int | tuple[int, ...] = 2
    code: str | None = None  # expected error code or validation rule (errors, or warnings)
    check: Callable[[str, str, Path], None] | None = None  # (stdout, stderr, tmp) on success
    env: dict[str, str] = field(default_factory=dict)
    xfail: str | None = None  # reason, while another branch owns the fix


# ---- a valid base dataset (as of 2025-06) ---------------------------------------------------


def base(tmp: Path, name: str = "data", drop: tuple[str, ...] = ()) -> Path:
    """A fresh copy of the valid base dataset (the CLI test dataset of
    ``tests/health_fixtures.py``: 4 accounts, every table, as of 2025-06)."""
    from health_fixtures import write_cli_dataset

    folder = write_cli_dataset(tmp / name)
    for table in drop:
        (folder / f"{table}.csv").unlink()
    return folder


def edit(folder: Path, table: str, old: str, new: str) -> None:
    path = folder / f"{table}.csv"
    text = path.read_text("utf-8")
    assert old in text, (table, old)
    path.write_text(text.replace(old, new, 1), "utf-8")


def data_case(
    edit_fn: Callable[[Path], None], command: str = "kpis", *extra: str, drop: tuple = ()
) -> Callable[[Path], list[str]]:
    def build(tmp: Path) -> list[str]:
        d = base(tmp, drop=drop)
        edit_fn(d)
        if command == "validate":
            return ["validate", str(d), "--format", "json", *extra]
        return [command, "--data", str(d), "--as-of", "2025-06", *extra]

    return build


def args_case(*argv: str) -> Callable[[Path], list[str]]:
    """``{data}`` in an argument is the base dataset's folder, ``{tmp}`` the temporary folder."""

    def build(tmp: Path) -> list[str]:
        d = base(tmp)
        return [a.replace("{data}", str(d)).replace("{tmp}", str(tmp)) for a in argv]

    return build


def write_file(rel: str, content: str | bytes, then: Callable[[Path], list[str]]):
    def build(tmp: Path) -> list[str]:
        argv = then(tmp)
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        return argv

    return build


# ---- checks on successful runs ---------------------------------------------------------------


def json_out(stdout: str):
    def no_nan(token: str):
        raise AssertionError(f"{token} in JSON output")

    return json.loads(stdout, parse_constant=no_nan)


def check_default_month(expected: str):
    def check(out: str, err: str, tmp: Path) -> None:
        assert json_out(out)["as_of"] == expected

    return check


def check_no_red_health(out: str, err: str, tmp: Path) -> None:
    rows = json_out(out)
    assert rows and all(r["score"] is None and r["band"] is None for r in rows)


def check_no_health_red_rule(out: str, err: str, tmp: Path) -> None:
    assert all(r["rule"] != "health_red" for r in json_out(out))


def check_interval_holds_estimate(out: str, err: str, tmp: Path) -> None:
    r = json_out(out)
    assert r["n"] == 1 and r["ci_low"] <= r["nps"] <= r["ci_high"]


def check_warning(rule: str, not_rules: tuple[str, ...] = ()):
    def check(out: str, err: str, tmp: Path) -> None:
        report = json_out(out)
        rules = {i["rule"] for i in report["warnings"] + report["errors"]}
        assert rule in rules and not rules & set(not_rules), rules

    return check


def check_encoding(table: str, encoding: str):
    def check(out: str, err: str, tmp: Path) -> None:
        assert json_out(out)["encodings"][table] == encoding

    return check


# ---- the cases -------------------------------------------------------------------------------

WEBHOOK = f"https://hooks.slack.com/services/T0AAA/B0BBB/{SECRET}"
SUBS_HEAD = "subscription_id,account_id,product,start_date,end_date,mrr\n"


def _export_folder(tmp: Path) -> list[str]:
    export = base(tmp, "export")  # a real export: accounts.csv, subscriptions.csv, ...
    (export / "notes.txt").write_text("my notes", "utf-8")
    return ["sample", "--out", str(export), "--accounts", "3", "--months", "4"]


def _folder_with_subfolder(tmp: Path) -> list[str]:
    (tmp / "out" / "archive").mkdir(parents=True)
    (tmp / "out" / "archive" / "2025.csv").write_text("old", "utf-8")
    return ["sample", "--out", str(tmp / "out"), "--accounts", "3", "--months", "4"]


def _out_is_file(tmp: Path) -> list[str]:
    (tmp / "sample.csv").write_text("mine", "utf-8")
    return ["sample", "--out", str(tmp / "sample.csv"), "--accounts", "3", "--months", "4"]


def _utf16(encoding: str, bom: bool = False):
    def fn(d: Path) -> None:
        text = (d / "accounts.csv").read_text("utf-8")
        data = text.encode(encoding)
        (d / "accounts.csv").write_bytes((b"\xff\xfe" if bom else b"") + data)

    return fn


def _semicolons(d: Path) -> None:
    for t in ("accounts", "subscriptions"):
        p = d / f"{t}.csv"
        p.write_text(p.read_text("utf-8").replace(",", ";"), "utf-8")


def _only_required(tmp: Path, command: str) -> list[str]:
    d = base(tmp, drop=("usage_weekly", "touchpoints", "nps_responses", "cancellations"))
    (d / "onboarding_sessions.csv").unlink()
    return [command, "--data", str(d), "--as-of", "2025-06", "--format", "json"]


def _mapping(tmp: Path, file_value: str) -> list[str]:
    d = base(tmp)
    (d / "accounts.csv").rename(d / "取引先.csv")
    m = tmp / "mapping.toml"
    m.write_text(f'[accounts]\nfile = "{file_value}"\n', "utf-8")
    return ["validate", str(d), "--mapping", str(m), "--format", "json"]


def _config(text: str | bytes, command: str = "kpis"):
    def build(tmp: Path) -> list[str]:
        d = base(tmp)
        c = tmp / "config.toml"
        c.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return [command, "--data", str(d), "--as-of", "2025-06", "--config", str(c)]

    return build


def _nps_one(tmp: Path) -> list[str]:
    d = base(tmp)
    (d / "nps_responses.csv").write_text(
        "response_id,account_id,responded_on,score\nR1,A1,2025-06-01,10\n", "utf-8"
    )
    return ["nps", "--data", str(d), "--as-of", "2025-06", "--format", "json"]


def _stray_row(tmp: Path) -> list[str]:
    d = base(tmp)
    with (d / "touchpoints.csv").open("a", encoding="utf-8") as f:
        f.write("A1,2025-07-02,email\n")  # two days into the next month
    # the data ends in 2025-06 (export date 2025-07-02): the default month is 2025-06
    return ["kpis", "--data", str(d), "--format", "json"]


def _renewal_overlap(d: Path) -> None:
    with (d / "subscriptions.csv").open("a", encoding="utf-8") as f:
        f.write("SA1b,A1,core,2025-05-01,,300000\n")  # overlaps SA1 (open-ended)


CASES: list[Case] = [
    # ---- data loss ----
    Case("sample_into_a_real_export", "data_loss", _export_folder, 2, "output_not_empty"),
    Case(
        "sample_into_a_folder_with_a_subfolder",
        "data_loss",
        _folder_with_subfolder,
        2,
        "output_not_empty",
    ),
    Case("sample_out_is_a_file", "data_loss", _out_is_file, 2, "output_unwritable"),
    Case(
        "salesforce_out_over_an_input_file",
        "data_loss",
        args_case("health", "--data", "{data}", "--salesforce-out", "{data}/accounts.csv"),
        2,
        "output_in_data",
    ),
    Case(
        "salesforce_out_over_a_user_file",
        "data_loss",
        write_file(
            "mine.csv",
            "my,own\n1,2\n",
            args_case("health", "--data", "{data}", "--salesforce-out", "{tmp}/mine.csv"),
        ),
        2,
        "output_exists",
    ),
    # ---- secrets ----
    *[
        Case(
            f"webhook_{label}",
            "secret",
            args_case("notify", "--data", "{data}"),
            2,
            code,
            env={"CS_METRICS_SLACK_WEBHOOK_URL": url},
        )
        for label, url, code in [
            ("with_a_space", WEBHOOK.replace("/B0BBB/", "/B0 BBB/"), "webhook_bad_characters"),
            ("with_a_newline", WEBHOOK + "\nX: y", "webhook_bad_characters"),
            ("with_non_ascii", WEBHOOK + "秘密", "webhook_not_ascii"),
            ("plain_http_remote", WEBHOOK.replace("https", "http"), "webhook_not_https"),
            (
                "with_credentials",
                WEBHOOK.replace("https://", f"https://u:{SECRET}@"),
                "webhook_userinfo",
            ),
            ("bad_port", WEBHOOK.replace(".com/", ".com:99999/"), "webhook_not_url"),
            ("file_scheme", f"file:///tmp/{SECRET}", "webhook_not_https"),
        ]
    ],
    # ---- tracebacks that must be messages ----
    Case(
        "as_of_year_zero",
        "traceback",
        args_case("kpis", "--data", "{data}", "--as-of", "0000-01"),
        2,
        "month_invalid",
    ),
    Case(
        "as_of_before_the_data",
        "traceback",
        args_case("kpis", "--data", "{data}", "--as-of", "2024-06"),
        2,
        "month_out_of_range",
    ),
    Case(
        "as_of_after_the_data",
        "silent_wrong",
        args_case("health", "--data", "{data}", "--as-of", "2025-09"),
        2,
        "month_out_of_range",
    ),
    Case(
        "as_of_with_shell_text",
        "traceback",
        args_case("risk", "--data", "{data}", "--as-of", "2025-06; rm -rf /"),
        2,
        "month_invalid",
    ),
    Case(
        "nps_window_negative",
        "traceback",
        args_case("nps", "--data", "{data}", "--window-months", "-5"),
        2,
        "option_range",
    ),
    Case(
        "nps_window_zero",
        "misleading",
        args_case("nps", "--data", "{data}", "--window-months", "0"),
        2,
        "option_range",
    ),
    Case(
        "discount_rate_zero",
        "traceback",
        _config("[ltv]\nannual_discount_rate = 0\n", "ltv"),
        2,
        "config_invalid",
    ),
    Case(
        "mrr_1e40",
        "traceback",
        data_case(lambda d: edit(d, "subscriptions", ",300000", ",1e40")),
        2,
        "amount_implausible",
    ),
    Case(
        "mrr_above_the_ceiling_with_grouping",
        "traceback",
        data_case(lambda d: edit(d, "subscriptions", ",300000", ',"¥5,000,000,000"')),
        2,
        "amount_implausible",
    ),
    Case(
        "logins_1e300",
        "traceback",
        data_case(lambda d: edit(d, "usage_weekly", "12.0,2.0", "1e300,2.0"), "health"),
        2,
        "value_implausible",
    ),
    Case(
        "ltv_as_of_the_first_month",
        "traceback",
        args_case("ltv", "--data", "{data}", "--as-of", "2025-01", "--format", "json"),
        (0, 2),
    ),
    *[
        Case(f"ltv_by_{by}", "traceback", args_case("ltv", "--data", "{data}", "--by", by), 2, code)
        for by, code in (
            ("product", "ltv_by_product"),
            ("segment", "ltv_by_segment"),
            ("bogus", "by_unknown"),
        )
    ],
    # ---- silent wrong numbers ----
    Case(
        "one_stray_row_does_not_move_the_default_month",
        "silent_wrong",
        _stray_row,
        0,
        check=check_default_month("2025-06"),
    ),
    Case(
        "two_digit_year",
        "silent_wrong",
        data_case(
            lambda d: edit(d, "subscriptions", "SA2,A2,core,2025-01-01", "SA2,A2,core,25/1/1")
        ),
        2,
        "unparseable",
    ),
    Case(
        "year_0024",
        "silent_wrong",
        data_case(
            lambda d: edit(d, "subscriptions", "SA2,A2,core,2025-01-01", "SA2,A2,core,0025-01-01")
        ),
        2,
        "date_implausible",
    ),
    Case(
        "decimal_comma_amount",
        "silent_wrong",
        data_case(lambda d: edit(d, "subscriptions", ",300000", ',"80000,50"')),
        2,
        "unparseable",
    ),
    Case(
        "bad_thousands_grouping",
        "silent_wrong",
        data_case(lambda d: edit(d, "subscriptions", ",300000", ',"3,00,000"')),
        2,
        "unparseable",
    ),
    Case(
        "only_required_tables_health_is_no_data",
        "silent_wrong",
        lambda tmp: _only_required(tmp, "health"),
        0,
        check=check_no_red_health,
    ),
    Case(
        "only_required_tables_no_health_red",
        "silent_wrong",
        lambda tmp: _only_required(tmp, "risk"),
        0,
        check=check_no_health_red_rule,
    ),
    Case(
        "nps_interval_for_one_response",
        "silent_wrong",
        _nps_one,
        0,
        check=check_interval_holds_estimate,
    ),
    Case(
        "renewal_overlapping_a_month",
        "silent_wrong",
        data_case(_renewal_overlap, "validate"),
        0,
        check=check_warning("overlapping_lines"),
    ),
    # ---- misleading messages, flags that did nothing ----
    Case(
        "utf16_without_bom",
        "misleading",
        data_case(_utf16("utf-16-le"), "validate"),
        0,
        check=check_encoding("accounts", "utf-16-le"),
    ),
    Case(
        "utf16_big_endian_without_bom",
        "misleading",
        data_case(_utf16("utf-16-be"), "validate"),
        0,
        check=check_encoding("accounts", "utf-16-be"),
    ),
    Case("utf32", "misleading", data_case(_utf16("utf-32-le"), "validate"), 2, "undecodable"),
    Case(
        "semicolon_separated",
        "misleading",
        data_case(_semicolons, "validate"),
        0,
        check=check_encoding("accounts", "utf-8"),
    ),
    Case(
        "zero_width_space_in_an_id",
        "misleading",
        data_case(lambda d: edit(d, "subscriptions", "SA2,A2,", "SA2,A\u200b2,"), "validate"),
        0,
        check=check_warning("invisible_characters", ("unknown_account",)),
    ),
    Case(
        "bom_in_an_id",
        "misleading",
        data_case(lambda d: edit(d, "cancellations", "A2,", "\ufeffA2\u2060,"), "validate"),
        0,
        check=check_warning("invisible_characters", ("unknown_account",)),
    ),
    Case(
        "backfill_reversed",
        "misleading",
        args_case(
            "report",
            "backfill",
            "--data",
            "{data}",
            "--from",
            "2025-06",
            "--to",
            "2025-01",
            "--out",
            "{tmp}/reports",
        ),
        2,
        "month_range_reversed",
    ),
    Case("config_with_a_bom", "misleading", _config(b'\xef\xbb\xbf[general]\nlang = "en"\n'), 0),
    Case(
        "config_unknown_key",
        "misleading",
        _config("[ltv]\nannual_discount = 0.1\n"),
        2,
        "config_unknown_key",
    ),
    Case(
        "accounts_out_xlsx",
        "misleading",
        args_case("ltv", "--data", "{data}", "--accounts-out", "{tmp}/x.xlsx"),
        2,
        "output_suffix",
    ),
    Case(
        "salesforce_out_xlsx",
        "misleading",
        args_case("health", "--data", "{data}", "--salesforce-out", "{tmp}/x.xlsx"),
        2,
        "output_suffix",
    ),
    Case(
        "mapping_file_outside_the_folder",
        "misleading",
        lambda tmp: _mapping(tmp, "../../../../../../etc/passwd"),
        2,
        "path_outside",
    ),
    Case(
        "mapping_file_absolute",
        "misleading",
        lambda tmp: _mapping(tmp, "/etc/passwd"),
        2,
        "path_outside",
    ),
    Case(
        "nps_survey_typo",
        "misleading",
        args_case("nps", "--data", "{data}", "--survey", "relationshp"),
        2,
        "survey_unknown",
    ),
    Case(
        "nps_by_product",
        "misleading",
        args_case("nps", "--data", "{data}", "--by", "product"),
        2,
        "by_unknown",
    ),
    Case(
        "sample_zero_accounts",
        "misleading",
        args_case("sample", "--out", "{tmp}/s", "--accounts", "0"),
        2,
        "option_range",
    ),
    Case(
        "sample_negative_seed",
        "traceback",
        args_case("sample", "--out", "{tmp}/s", "--seed", "-1"),
        2,
        "option_range",
    ),
    Case(
        "binary_file_as_csv",
        "misleading",
        data_case(lambda d: (d / "touchpoints.csv").write_bytes(bytes(range(256)) * 4), "validate"),
        2,
        "undecodable",
    ),
    Case(
        "xlsx_saved_as_csv",
        "misleading",
        data_case(
            lambda d: (d / "accounts.csv").write_bytes(b"PK\x03\x04" + b"\x00" * 64), "validate"
        ),
        2,
        "not_csv",
    ),
    Case(
        "mapping_not_toml",
        "misleading",
        write_file(
            "m.toml",
            "[accounts\nfile=",
            args_case("validate", "{data}", "--mapping", "{tmp}/m.toml"),
        ),
        2,
        "mapping_invalid",
    ),
    Case(
        "data_is_a_file",
        "misleading",
        args_case("kpis", "--data", "{data}/accounts.csv"),
        2,
        "not_a_folder",
    ),
    Case(
        "empty_accounts_file",
        "misleading",
        data_case(lambda d: (d / "accounts.csv").write_bytes(b""), "validate"),
        2,
        "empty_file",
    ),
    Case(
        "header_only_subscriptions",
        "misleading",
        data_case(lambda d: (d / "subscriptions.csv").write_text(SUBS_HEAD, "utf-8"), "validate"),
        2,
        "no_rows",
    ),
    Case(
        "no_paid_line",
        "misleading",
        data_case(
            lambda d: (d / "subscriptions.csv").write_text(
                SUBS_HEAD + "S1,A1,core,2025-01-01,,0\n", "utf-8"
            )
        ),
        2,
        "no_active_month",
    ),
    # ---- reports (the lead's pipeline): refused before anything is published ----
    Case(
        "report_param_overrides_as_of",
        "silent_wrong",
        args_case(
            "report",
            "monthly",
            "--data",
            "{data}",
            "--out",
            "{tmp}/reports",
            "-p",
            "as_of",
            "2024-01",
        ),
        2,
        None,
    ),
    Case(
        "report_param_overrides_data_dir",
        "silent_wrong",
        args_case(
            "report",
            "monthly",
            "--data",
            "{data}",
            "--out",
            "{tmp}/reports",
            "-p",
            "data_dir",
            "{tmp}",
        ),
        2,
        None,
    ),
    Case(
        "report_unknown_param",
        "misleading",
        args_case(
            "report",
            "monthly",
            "--data",
            "{data}",
            "--out",
            "{tmp}/reports",
            "-p",
            "no_such_parameter",
            "1",
        ),
        2,
        None,
    ),
    Case(
        "report_month_outside_the_data",
        "silent_wrong",
        args_case(
            "report", "monthly", "--data", "{data}", "--out", "{tmp}/reports", "--as-of", "2023-01"
        ),
        2,
        "month_out_of_range",
    ),
]
