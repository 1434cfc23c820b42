"""The one ja/en message catalogue: every message, error and ``*_reason`` text, keyed by code.

- Validation rules: every :class:`~cs_metrics.data.issues.Issue` has a stable ``rule`` id (the
  contract of ``cs-metrics validate --format json``) whose message is written from the template of
  that code (``docs/mapping.md`` lists them).
- Errors: every :class:`~cs_metrics.errors.CsMetricsError` carries a ``code`` of this catalogue and
  the parameters of its template; the text is rendered in the reader's language when shown.
- Reasons: a value that cannot be computed is ``null`` with ``<key>_reason`` (the text) and
  ``<key>_reason_code`` (the code) beside it, both from :func:`reason_fields`.

Templates use ``str.format`` with named fields. ``tests/test_messages.py`` checks that every code
has both languages and that ja and en name the same fields.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MESSAGES",
    "VALIDATION_RULES",
    "Text",
    "lang_of",
    "message",
    "reason_fields",
    "table_text",
    "text",
]


class Text:
    """A catalogue text not yet rendered: a ``code`` and its fields. As a field of another
    message it is rendered in that message's language (a configuration error's detail, a type
    name), so one message never mixes two languages. ``str()`` gives the English text."""

    __slots__ = ("code", "fields")

    def __init__(self, code: str, /, **fields: Any) -> None:
        if code not in MESSAGES:
            raise KeyError(f"message code {code!r} is not in cs_metrics.messages")
        self.code, self.fields = code, fields

    def render(self, lang: str = "ja") -> str:
        """The text in ``lang``."""
        return message(self.code, lang, **self.fields)

    def __str__(self) -> str:
        return self.render("en")

    def __repr__(self) -> str:
        return f"Text({self.code!r}, **{self.fields!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and (self.code, self.fields) == (other.code, other.fields)

    def __hash__(self) -> int:
        return hash(self.code)


# rule -> lang -> template (str.format with named fields)
MESSAGES: dict[str, dict[str, str]] = {
    # ---- file level (loader) ----
    "folder_missing": {
        "ja": "データフォルダが見つかりません: {path}",
        "en": "data folder not found: {path}",
    },
    "not_a_folder": {
        "ja": "フォルダではありません: {path}（CSV/Parquet を入れたフォルダを指定してください）",
        "en": "not a folder: {path} (give the folder that holds the CSV/Parquet files)",
    },
    "file_missing": {
        "ja": "必須テーブル '{table}' がありません: {folder} に {table}.csv または "
        "{table}.parquet を置くか、マッピングの [{table}] に file を指定してください{extra}",
        "en": "required table '{table}' not found: expected {table}.csv or {table}.parquet in "
        "{folder} (or a 'file' for [{table}] in the mapping){extra}",
    },
    "mapped_file_missing": {
        "ja": "マッピングで指定されたファイルがありません: {path}",
        "en": "mapped file not found: {path}",
    },
    "duplicate_table": {
        "ja": "テーブル '{table}' が2つのファイルにあります（{names}）: 1テーブル1ファイルにしてください",
        "en": "table '{table}' is given twice ({names}): keep one file per table",
    },
    "empty_file": {
        "ja": "{file} は空です（見出し行もデータもありません）",
        "en": "{file} is empty (no header, no data)",
    },
    "no_rows": {
        "ja": "{file} は見出し行だけでデータ行がありません",
        "en": "{file} has a header but no data rows",
    },
    "undecodable": {
        "ja": "{file}: {row} 行目{col_text}の文字が UTF-8・UTF-16・CP932（Shift_JIS）のどれでも"
        "読めません（{guess} と推定）。Excel で「CSV UTF-8」または「CSV」で保存し直してください",
        "en": "{file}: bytes in row {row}{col_text} are not UTF-8, UTF-16 or CP932 (Shift_JIS) "
        "text (looks like {guess}); save the file again as CSV UTF-8 or CSV from Excel",
    },
    "not_csv": {
        "ja": "{file} は Excel ブック（xlsx/xls）で CSV ではありません。Excel で「CSV UTF-8」"
        "または「CSV」として保存してください",
        "en": "{file} is an Excel workbook (xlsx/xls), not CSV: save it as CSV UTF-8 or CSV "
        "from Excel",
    },
    "malformed_csv": {
        "ja": "{file} は CSV として読めません: {detail}",
        "en": "{file} is not a readable CSV: {detail}",
    },
    "unreadable": {
        "ja": "{file} を読めません（壊れた Parquet、または読み取り権限がない）: {detail}",
        "en": "{file} cannot be read (a broken Parquet file, or no permission): {detail}",
    },
    "column_type": {
        "ja": "{file}: 列の型を値として読めません（リスト・構造体・バイナリ・期間）: {columns}",
        "en": "{file}: columns of a type that cannot be read as values (list, struct, binary, "
        "duration): {columns}",
    },
    "duplicate_column": {
        "ja": "{file}: 列名の変換（マッピング）後に同じ列が2回あります: {columns}",
        "en": "{file}: columns appear twice after mapping: {columns}",
    },
    "missing_column": {
        "ja": "{file}: 必須列 {missing} がありません。見つかった列: {found}。"
        "ファイルに列を追加するか、マッピングファイルで列名を対応づけてください"
        "（例 [{table}.columns] {example}; docs/mapping.md 参照）",
        "en": "{file}: required column(s) {missing} not found; columns found: {found}; add them "
        "to the file, or map your column names with a mapping file "
        "(e.g. [{table}.columns] {example}; see docs/mapping.md)",
    },
    "path_outside": {
        "ja": "{path} は {folder} の外を指しています（フォルダ内のファイルだけを指定できます）",
        "en": "{path} points outside {folder} (only files inside the folder can be named)",
    },
    "mapping_missing": {
        "ja": "マッピングファイルがありません: {path}",
        "en": "mapping file not found: {path}",
    },
    "mapping_invalid": {
        "ja": "マッピングファイルが不正です（{path}）: {detail}",
        "en": "invalid mapping file ({path}): {detail}",
    },
    "column_ignored": {
        "ja": "{file}: スキーマにない列は使いません: {columns}",
        "en": "{file}: columns not in the schema are ignored: {columns}",
    },
    # ---- values ----
    "unparseable": {
        "ja": "{file} の列 {column}: {what_ja}が {n} 行あります",
        "en": "{file}: column {column}: {n} row(s) with {what_en}",
    },
    "required_value": {
        "ja": "{file} の列 {column}: 必須の値が空の行が {n} 行あります",
        "en": "{file}: column {column}: {n} row(s) with an empty required value",
    },
    "negative_value": {
        "ja": "{file} の列 {column}: 負の値が {n} 行あります（0 以上にしてください）",
        "en": "{file}: column {column}: {n} row(s) with a negative value (must be >= 0)",
    },
    "out_of_range": {
        "ja": "{file} の列 {column}: {range} の範囲外の値が {n} 行あります",
        "en": "{file}: column {column}: {n} row(s) outside {range}",
    },
    "not_in_set": {
        "ja": "{file} の列 {column}: 使えない値が {n} 行あります（使える値: {allowed}）",
        "en": "{file}: column {column}: {n} row(s) with a value not in {allowed}",
    },
    "duplicate_key": {
        "ja": "{file} のキー {column}: 同じ値が複数行にあります（{n} 行）。キーは1行に1つにしてください",
        "en": "{file}: key {column}: {n} row(s) share their value with another row; "
        "the key must be unique",
    },
    "unknown_account": {
        "ja": "{file} の列 account_id: {accounts_file} にない取引先が {n} 行あります",
        "en": "{file}: column account_id: {n} row(s) with an account_id not in {accounts_file}",
    },
    "end_before_start": {
        "ja": "{file}: end_date が start_date より前の行が {n} 行あります",
        "en": "{file}: {n} row(s) with end_date before start_date",
    },
    # ---- warnings ----
    "currency_mismatch": {
        "ja": "{file} の列 currency: 設定の通貨 {currency} と異なる行が {n} 行あります"
        "（金額は換算されません）",
        "en": "{file}: column currency: {n} row(s) in another currency than the configured "
        "{currency} (amounts are not converted)",
    },
    "month_not_first_day": {
        "ja": "{file} の列 {column}: 月の初日でない日付が {n} 行あります（その月として扱います）",
        "en": "{file}: column {column}: {n} row(s) not on the first day of a month "
        "(taken as that month)",
    },
    "date_implausible": {
        "ja": "{file} の列 {column}: {lo}〜{hi} 年の範囲外の日付が {n} 行あります（入力ミスと"
        "みなします。範囲は設定 validation.min_year / validation.max_year）",
        "en": "{file}: column {column}: {n} row(s) dated outside the years {lo}-{hi}, taken as "
        "typos (the window is validation.min_year / validation.max_year)",
    },
    "amount_implausible": {
        "ja": "{file} の列 {column}: 上限 {limit} を超える金額が {n} 行あります（入力ミスとみなします。"
        "上限は設定 validation.{key}）",
        "en": "{file}: column {column}: {n} row(s) with an amount above {limit}, taken as typos "
        "(the ceiling is validation.{key})",
    },
    "value_implausible": {
        "ja": "{file} の列 {column}: 上限 {limit} を超える値が {n} 行あります（入力ミスとみなします。"
        "上限は設定 validation.max_measure）",
        "en": "{file}: column {column}: {n} row(s) with a value above {limit}, taken as typos "
        "(the ceiling is validation.max_measure)",
    },
    "invisible_characters": {
        "ja": "{file} の列 {column}: 見えない文字（ゼロ幅スペース U+200B など）を含む値が {n} 行"
        "あります。取り除いて読みました（例の値は取り除く前）",
        "en": "{file}: column {column}: {n} row(s) hold invisible characters (a zero-width space "
        "U+200B or the like); they were removed when reading (examples show the value before)",
    },
    "overlapping_lines": {
        "ja": "{file}: 同じ取引先・同じ商品の契約行が期間の重なる行と一緒に {n} 行あります"
        "（重なる月の MRR は合算されます。更新行の開始日・前の行の終了日を確認してください）",
        "en": "{file}: {n} row(s) overlap another line of the same account and product (their "
        "MRR is added up in the months they share: check the renewal's start date and the "
        "previous line's end date)",
    },
}

# Codes that are validation-gate rules (Issue.rule); docs/mapping.md lists each one.
VALIDATION_RULES = frozenset([*MESSAGES, "no_active_month"])

# ---- errors (CsMetricsError codes) -------------------------------------------------------
MESSAGES.update(
    {
        "internal_error": {
            "ja": "内部エラーが発生しました（入力ではなくプログラムの不具合です）。詳細は {log} にあります",
            "en": "internal error (a bug in the program, not in your input); details in {log}",
        },
        "data_invalid": {
            "ja": "データに問題があります: {summary}",
            "en": "the data cannot be used: {summary}",
        },
        "month_invalid": {
            "ja": "月の指定 {value} を読めません（YYYY-MM 形式、例 2026-09）",
            "en": "not a month: {value} (expected YYYY-MM, e.g. 2026-09)",
        },
        "month_out_of_range": {
            "ja": "{month} はデータの範囲外です（集計できる月: {first}〜{last}）",
            "en": "{month} is outside the data (months that can be reported: {first} to {last})",
        },
        "month_range_reversed": {
            "ja": "期間の指定が逆です: 開始 {start} が終了 {end} より後です",
            "en": "the range is reversed: start {start} is after end {end}",
        },
        "no_active_month": {
            "ja": "有効な契約（MRR > 0）のある月がデータにありません",
            "en": "no month of the data has an active subscription (MRR > 0)",
        },
        "config_not_found": {
            "ja": "設定ファイルがありません: {path}",
            "en": "configuration file not found: {path}",
        },
        "config_not_toml": {
            "ja": "{path}: TOML として読めません: {detail}",
            "en": "{path}: not valid TOML: {detail}",
        },
        "config_unknown_key": {
            "ja": "{source}: 設定キー '{key}' はありません（ここで使えるキー: {known}）",
            "en": "{source}: unknown configuration key '{key}' (known here: {known})",
        },
        "config_type": {
            "ja": "{source}: 設定 '{key}' は {expected} である必要があります（指定値 {value}）",
            "en": "{source}: '{key}' must be a {expected}, got {value}",
        },
        "config_invalid": {
            "ja": "{source}: 設定 '{key}' が不正です: {detail}",
            "en": "{source}: '{key}': {detail}",
        },
        "option_invalid": {
            "ja": "オプション {option} の値 {value} は使えません: {detail}",
            "en": "option {option}: {value} is not allowed: {detail}",
        },
        "option_required": {
            "ja": "{option} を指定してください",
            "en": "{option} is required",
        },
        "option_range": {
            "ja": "オプション {option} の値 {value} は使えません（{lo}〜{hi} の整数にしてください）",
            "en": "option {option}: {value} is not allowed (a whole number {lo}..{hi})",
        },
        "survey_unknown": {
            "ja": "アンケート {survey} の回答がデータにありません（あるもの: {known}）",
            "en": "no response has the survey {survey} (surveys in the data: {known})",
        },
        "by_unknown": {
            "ja": "{by} では分けられません（使える項目: {known}）",
            "en": "cannot break down by {by}; known: {known}",
        },
        "table_needed": {
            "ja": "この集計には{table}のデータ（表）が必要ですが、データにありません",
            "en": "this needs the {table} table, which the data does not have",
        },
        "output_not_empty": {
            "ja": "{path} にはこのプログラムが作っていないファイルがあります（{names}）。上書きも削除も"
            "しません: 空のフォルダを指定するか、--force で書き込んでください（ほかのファイルは残し、"
            "同じ名前のファイルは <名前>.orig として残します）",
            "en": "{path} holds files this program did not write ({names}); nothing is "
            "overwritten or deleted: name an empty folder, or write into it with --force (other "
            "files stay; a file of the same name is kept as <name>.orig)",
        },
        "output_exists": {
            "ja": "{path} は既にあり、同じ種類の以前の出力ではありません。上書きしません: "
            "別の名前にするか、--force で上書きしてください",
            "en": "{path} already exists and is not an earlier export of the same kind; it is "
            "not overwritten: choose another name, or use --force to replace it",
        },
        "output_suffix": {
            "ja": "{option} の出力ファイル {path} の拡張子は {allowed} のどれかにしてください"
            "（書かれる形式と名前を一致させるため）",
            "en": "{option}: {path} must end in {allowed} (the file is written in the format "
            "its name says)",
        },
        "file_error": {
            "ja": "ファイルを読み書きできません: {path}（{detail}）",
            "en": "cannot read or write {path}: {detail}",
        },
        "output_in_data": {
            "ja": "{option} の出力 {path} はデータフォルダ内のテーブル名です（次の読み込みでテーブルと"
            "して読まれてしまいます）。別の場所か名前にしてください",
            "en": "{option}: {path} would be read as a table of the data folder next time; write "
            "it elsewhere or under another name",
        },
        "engine_unavailable": {
            "ja": "--engine spark を使えません: {detail}（docs/scale.md 参照）",
            "en": "--engine spark is not available: {detail} (see docs/scale.md)",
        },
        "spark_money_bound": {
            "ja": "ある取引先の MRR 合計が {value} です: Spark エンジンが正確に合計できるのは"
            "取引先あたり {bound} までです",
            "en": "an account's lines add up to {value} per month: the Spark engine sums money "
            "exactly up to {bound} per account",
        },
        "report_index_foreign": {
            "ja": "{path} は cs-metrics が作ったファイルではないため上書きしません: 別の --out を指定してください",
            "en": "{path} was not written by cs-metrics and is not overwritten: choose another --out",
        },
        "report_folder_foreign": {
            "ja": "{path} には cs-metrics のレポートではないファイルがあります。上書きしません: 別の "
            "--out を指定するか、--force でそれらのファイルの隣に書いてください（何も削除しません）",
            "en": "{path} holds files that are not a cs-metrics report and is not overwritten: "
            "choose another --out, or write beside them with --force (nothing is deleted)",
        },
        "output_folder_not_empty": {
            "ja": "{path} は空のフォルダではありません: 新しいフォルダを指定してください",
            "en": "{path} exists and is not an empty folder: choose a new one",
        },
        "output_unwritable": {
            "ja": "書き込めません: {path}（{detail}）",
            "en": "cannot write {path}: {detail}",
        },
        "report_failed": {
            "ja": "レポートの作成に失敗しました（{section}）。何も公開していません。詳細は {log} にあります",
            "en": "the report failed ({section}); nothing was published; details in {log}",
        },
        "report_unknown_kind": {
            "ja": "レポートの種類 {kind} はありません（{known}）",
            "en": "unknown report {kind} (known: {known})",
        },
        "report_unknown_parameter": {
            "ja": "{kind} レポートにパラメータ {names} はありません（使えるもの: {known}）",
            "en": "unknown parameter(s) {names} for the {kind} report (known: {known})",
        },
        "notebooks_missing": {
            "ja": "notebooks/ フォルダが cs_metrics パッケージの隣にありません",
            "en": "notebooks/ folder not found next to the cs_metrics package",
        },
        "chromium_missing": {
            "ja": "--pdf には chromium が必要です（sudo bash scripts/install-system-deps.sh）",
            "en": "--pdf needs chromium (sudo bash scripts/install-system-deps.sh)",
        },
        "pdf_failed": {
            "ja": "PDF を作成できませんでした（chromium: {detail}）",
            "en": "the PDF could not be printed (chromium: {detail})",
        },
        "report_parameter_reserved": {
            "ja": "パラメータ {name} はコマンドが設定します（-p では変更できません）。{option} を使ってください",
            "en": "parameter {name} is set by the command and cannot be given with -p; use {option}",
        },
        "report_parameter_type": {
            "ja": "パラメータ {name} は {expected} で指定してください（指定値 {value}）",
            "en": "parameter {name} must be {expected}, got {value}",
        },
        "report_parameter_range": {
            "ja": "パラメータ {name} は {lo}〜{hi} の範囲で指定してください（指定値 {value}）",
            "en": "parameter {name} must be within {lo}..{hi}, got {value}",
        },
    }
)

MESSAGES.update(
    {
        "notify_failed": {
            "ja": "Slack への送信に失敗しました: {detail}",
            "en": "sending to Slack failed: {detail}",
        },
        "webhook_missing": {
            "ja": "環境変数 {var} が設定されていません。Slack の Incoming Webhook URL をそこに設定して"
            "ください（パラメータや設定ファイルからは読みません）。送信せずに確認するには --dry-run",
            "en": "environment variable {var} is not set: export the Slack incoming-webhook URL "
            "there (it is never read from parameters or config files), or use --dry-run",
        },
        "webhook_invalid": {
            "ja": "環境変数 {var} の値が Webhook URL として不正です: {detail}（値は表示しません）",
            "en": "environment variable {var} does not hold a valid webhook URL: {detail} "
            "(its value is not shown)",
        },
        "webhook_bad_characters": {
            "ja": "環境変数 {var} の値に空白または制御文字があり、Webhook URL として使えません"
            "（値は表示しません）",
            "en": "environment variable {var} holds a space or a control character: not a usable "
            "webhook URL (its value is not shown)",
        },
        "webhook_not_ascii": {
            "ja": "環境変数 {var} の値に ASCII 以外の文字があり、Webhook URL として使えません"
            "（値は表示しません）",
            "en": "environment variable {var} holds non-ASCII characters: not a usable webhook "
            "URL (its value is not shown)",
        },
        "webhook_not_url": {
            "ja": "環境変数 {var} の値は URL として読めません（値は表示しません）",
            "en": "environment variable {var} is not a URL (its value is not shown)",
        },
        "webhook_not_https": {
            "ja": "環境変数 {var} の値は https:// で始まる URL にしてください（http:// はローカルの"
            "テスト用に 127.0.0.1 / localhost だけ使えます。値は表示しません）",
            "en": "environment variable {var} must hold an https:// URL (http:// only to a "
            "loopback address such as 127.0.0.1 for local tests; its value is not shown)",
        },
        "webhook_no_host": {
            "ja": "環境変数 {var} の URL にホスト名がありません（値は表示しません）",
            "en": "environment variable {var} holds a URL without a host (its value is not shown)",
        },
        "webhook_userinfo": {
            "ja": "環境変数 {var} の URL にユーザー名・パスワードを含めないでください（値は表示しません）",
            "en": "environment variable {var} holds a URL with a user name or password, which a "
            "webhook never has (its value is not shown)",
        },
        "slack_status": {
            "ja": "Slack が {status} を返しました（{attempts} 回試行）",
            "en": "Slack answered {status} ({attempts} attempt(s))",
        },
        "slack_unreachable": {
            "ja": "Slack に接続できませんでした（{attempts} 回試行, {kind}）",
            "en": "could not reach Slack after {attempts} attempt(s) ({kind})",
        },
        "model_unfit": {
            "ja": "モデルを当てはめられません: {detail}",
            "en": "the model cannot be fitted: {detail}",
        },
    }
)

# ---- configuration values (cs_metrics.config validators: the detail of config_invalid) ------
MESSAGES.update(
    {
        "cfg_range": {
            "ja": "{lo}〜{hi} の範囲で指定してください（指定値 {value}）",
            "en": "must be between {lo} and {hi}, got {value}",
        },
        "cfg_above": {
            "ja": "{lo} より大きい値にしてください（指定値 {value}）",
            "en": "must be > {lo}, got {value}",
        },
        "cfg_at_least": {
            "ja": "{lo} 以上にしてください（指定値 {value}）",
            "en": "must be >= {lo}, got {value}",
        },
        "cfg_at_most": {
            "ja": "{hi} 以下にしてください（指定値 {value}）",
            "en": "must be at most {hi}, got {value}",
        },
        "cfg_finite": {
            "ja": "有限の数値にしてください（指定値 {value}）",
            "en": "must be a finite number, got {value}",
        },
        "cfg_one_of": {
            "ja": "{allowed} のどれかにしてください（指定値 {value}）",
            "en": "must be one of {allowed}; got {value}",
        },
        "cfg_discount_rate": {
            "ja": "0.01 以上 10 未満の割合にしてください（0.1 = 10%、指定値 {value}）",
            "en": "must be >= 0.01 and < 10 (a fraction: 0.1 = 10%), got {value}",
        },
        "cfg_recency": {
            "ja": "1 以上にしてください（1 で無効、指定値 {value}）",
            "en": "must be >= 1 (1 = off), got {value}",
        },
        "cfg_spark_master": {
            "ja": "接続先の指定（例 local[*]、spark://host:7077）にしてください（指定値 {value}）",
            "en": "must be a Spark master URL such as 'local[*]' or 'spark://host:7077', got {value}",
        },
        "cfg_not_empty": {"ja": "空にはできません", "en": "must not be empty"},
        "cfg_str_list": {
            "ja": "文字列のリストにしてください（指定値 {value}）",
            "en": "must be a list of strings, got {value}",
        },
        "cfg_category_list": {
            "ja": "理由カテゴリ {name} はキーワード（文字列）のリストにしてください",
            "en": "category {name} must be a list of strings",
        },
        "cfg_too_long": {
            "ja": "{name} は {limit} 文字以内にしてください",
            "en": "{name} must be at most {limit} characters",
        },
        "cfg_unknown_rules": {
            "ja": "ルール {bad} はありません（使えるもの: {known}）",
            "en": "unknown rule(s) {bad}; known: {known}",
        },
        "cfg_segment_bands": {
            "ja": "帯 green・yellow・red をちょうど1つずつ指定してください（指定: {got}）",
            "en": "needs exactly the bands green, yellow, red; got {got}",
        },
        "cfg_segment_letters": {
            "ja": "セグメントは S・A・B・C のどれかにしてください（指定: {bad}）",
            "en": "segments must be S, A, B or C; got {bad}",
        },
        "cfg_edges": {
            "ja": "増加する2つの MRR の境界にしてください（指定値 {value}）",
            "en": "must be two increasing MRR edges, got {value}",
        },
        "cfg_entry_days": {
            "ja": "{name} は 1 以上の日数（整数）にしてください（指定値 {value}）",
            "en": "{name} must be a whole number of days > 0, got {value}",
        },
        "cfg_entry_range": {
            "ja": "{name} は {lo}〜{hi} の範囲で指定してください（指定値 {value}）",
            "en": "{name} must be between {lo} and {hi}, got {value}",
        },
        "cfg_slack_member": {
            "ja": "{name} は Slack のメンバーID（例 U0123ABCD）にしてください（指定値 {value}）",
            "en": '{name} must map to a Slack member ID such as "U0123ABCD", got {value}',
        },
        "cfg_not_exceed": {
            "ja": "'{other}' 以下にしてください",
            "en": "must not exceed '{other}'",
        },
        "cfg_measures_empty": {
            "ja": "指標が1つ以上必要です",
            "en": "at least one measure is needed",
        },
        "cfg_measures_no_weight": {
            "ja": "重み（weight）が 0 より大きい指標が1つ以上必要です",
            "en": "at least one measure needs a weight > 0",
        },
        "cfg_measure_unknown_keys": {
            "ja": "指標 {name}: 使えないキー {keys}（使えるもの: {known}）",
            "en": "measure {name}: unknown key(s) {keys}; known: {known}",
        },
        "cfg_measure_missing_keys": {
            "ja": "指標 {name}: キー {keys} がありません",
            "en": "measure {name}: missing key(s) {keys}",
        },
        "cfg_measure_source": {
            "ja": "指標 {name}: 元データ（source）は touchpoints か usage_weekly.<列名> にしてください"
            "（指定値 {value}）",
            "en": "measure {name}: source must be 'touchpoints' or 'usage_weekly.<column>', "
            "got {value}",
        },
        "cfg_measure_weight": {
            "ja": "指標 {name}: 重み（weight）は 0〜1e6 の数値にしてください（0 で無効、指定値 {value}）",
            "en": "measure {name}: weight must be a number 0..1e6 (0 switches it off), got {value}",
        },
        "cfg_measure_one_of": {
            "ja": "指標 {name}: {field} は {allowed} のどれかにしてください（指定値 {value}）",
            "en": "measure {name}: {field} must be {allowed}, got {value}",
        },
        "cfg_measure_thresholds_type": {
            "ja": "指標 {name}: しきい値（thresholds）は数値のリストにしてください",
            "en": "measure {name}: thresholds must be a list of numbers",
        },
        "cfg_measure_thresholds_finite": {
            "ja": "指標 {name}: しきい値（thresholds）は有限の数値にしてください（指定値 {value}）",
            "en": "measure {name}: thresholds must be finite numbers, got {value}",
        },
        "cfg_measure_thresholds_order": {
            "ja": "指標 {name}: しきい値（thresholds）は空でない、厳密に増加するリストにしてください"
            "（指定値 {value}）",
            "en": "measure {name}: thresholds must be a non-empty, strictly increasing list, "
            "got {value}",
        },
        "cfg_type_boolean": {"ja": "真偽値（true / false）", "en": "boolean"},
        "cfg_type_integer": {"ja": "整数", "en": "integer"},
        "cfg_type_number": {"ja": "数値", "en": "number"},
        "cfg_type_string": {"ja": "文字列", "en": "string"},
        "cfg_type_list": {"ja": "リスト", "en": "list"},
        "cfg_type_table": {"ja": "テーブル（[見出し] の表）", "en": "table"},
        "cfg_type_other": {"ja": "その他の値", "en": "other value"},
        "cfg_typed_value": {"ja": "{kind} {value}", "en": "{kind} {value}"},
        "cfg_source_defaults": {"ja": "既定の設定", "en": "defaults"},
        "cfg_source_given": {"ja": "指定の設定", "en": "configuration"},
        "cfg_none": {"ja": "なし", "en": "(none)"},
        "cfg_toml_at": {
            "ja": "{line} 行目 {column} 列目付近の書き方が正しくありません",
            "en": "invalid syntax near line {line}, column {column}",
        },
        "cfg_toml_syntax": {
            "ja": "書き方が正しくありません",
            "en": "invalid syntax",
        },
        "cfg_toml_encoding": {
            "ja": "UTF-8 の文字として読めません",
            "en": "not UTF-8 text",
        },
        "cfg_unreadable": {
            "ja": "ファイルを読み取れません（読み取り権限を確認してください）",
            "en": "the file cannot be read (check its read permission)",
        },
    }
)

# ---- data tables in words, and why a rule or a health measure cannot be evaluated -----------
MESSAGES.update(
    {
        "table_accounts": {"ja": "顧客", "en": "accounts"},
        "table_subscriptions": {"ja": "契約", "en": "subscriptions"},
        "table_cancellations": {"ja": "解約連絡", "en": "cancellations"},
        "table_usage_weekly": {"ja": "週次利用", "en": "weekly usage"},
        "table_touchpoints": {"ja": "接点記録", "en": "touchpoints"},
        "table_nps_responses": {"ja": "NPS回答", "en": "NPS responses"},
        "table_onboarding_sessions": {"ja": "オンボーディング記録", "en": "onboarding sessions"},
        "table_cs_costs": {"ja": "CSコスト", "en": "CS costs"},
        "rule_no_table": {
            "ja": "{table}のデータ（表）がありません",
            "en": "no {table} table",
        },
        "rule_no_health": {"ja": "ヘルススコアのデータがありません", "en": "no health data"},
        "measure_no_table": {
            "ja": "{table}のデータ（表）がありません",
            "en": "no {table} table",
        },
        "measure_no_column": {
            "ja": "{table}のデータに列 {column} がありません",
            "en": "the {table} table has no column {column}",
        },
        "measure_no_values": {
            "ja": "{table}のデータの列 {column} に値がありません",
            "en": "column {column} of the {table} table has no values",
        },
        "measure_no_values_yet": {
            "ja": "{table}のデータの列 {column} にはこの月までの値がありません",
            "en": "column {column} of the {table} table has no values yet",
        },
        "ltv_window_short": {
            "ja": "直近{window}か月のうち、履歴があるのは{months}か月だけです",
            "en": "only {months} of {window} months of history",
        },
    }
)

# ---- usage errors of the command line (cs_metrics.cli.usage; values shown redacted) --------
MESSAGES.update(
    {
        "usage_unrecognized": {
            "ja": "使えない引数があります: {args}",
            "en": "unrecognized arguments: {args}",
        },
        "usage_required": {
            "ja": "次の指定が必要です: {names}",
            "en": "the following arguments are required: {names}",
        },
        "usage_one_of_required": {
            "ja": "次のどれかを指定してください: {names}",
            "en": "one of the arguments {names} is required",
        },
        "usage_ambiguous": {
            "ja": "{option} は複数のオプションに当てはまります（{matches}）: 名前を最後まで書いてください",
            "en": "ambiguous option: {option} could match {matches}",
        },
        "usage_invalid_choice": {
            "ja": "{option} に {value} は指定できません（指定できる値: {choices}）",
            "en": "argument {option}: invalid choice {value} (choose from {choices})",
        },
        "usage_invalid_type": {
            "ja": "{option} の値 {value} は{kind}として読めません",
            "en": "argument {option}: {value} is not {kind}",
        },
        "usage_type_int": {"ja": "整数", "en": "a whole number"},
        "usage_type_float": {"ja": "数値", "en": "a number"},
        "usage_type_value": {"ja": "値", "en": "a valid value"},
        "usage_word_command": {"ja": "コマンド", "en": "command"},
        "usage_expected_value": {
            "ja": "{option} には値を指定してください",
            "en": "argument {option}: expected a value",
        },
        "usage_not_allowed_with": {
            "ja": "{option} は {other} と一緒には指定できません",
            "en": "argument {option}: not allowed with argument {other}",
        },
        "usage_ignored_value": {
            "ja": "{option} には値を付けられません（{value}）",
            "en": "argument {option}: takes no value (got {value})",
        },
        "usage_other": {
            "ja": "コマンドラインの指定が正しくありません（{detail}）",
            "en": "{detail}",
        },
        "usage_line": {"ja": "使い方: {usage}", "en": "usage: {usage}"},
        "option_not_number": {
            "ja": "{option} の値 {value} は数値として読めません",
            "en": "argument {option}: {value} is not a number",
        },
        "option_fraction": {
            "ja": "{option} は 0〜1 の割合で指定してください（0.3 = 30%）: {value}",
            "en": "argument {option}: must be a fraction between 0 and 1 (0.3 = 30%), got {value}",
        },
    }
)

# ---- reasons (a value is null because ...) --------------------------------------------------
MESSAGES.update(
    {
        "no_accounts_prev_month": {
            "ja": "前月末に有効な顧客がいません",
            "en": "no active accounts at the end of the previous month",
        },
        "mrr_prev_month_zero": {
            "ja": "前月のMRRが0です",
            "en": "MRR of the previous month is 0",
        },
        "no_accounts_12m_before": {
            "ja": "12か月前に有効な顧客がいません",
            "en": "no account was active 12 months before",
        },
        "no_accounts_at_all": {
            "ja": "有効な顧客がいません",
            "en": "no active account in the data",
        },
        "no_accounts_acquired_h_before": {
            "ja": "{h}か月以上前に獲得した顧客がいません",
            "en": "no account acquired {h}+ months before the month reported",
        },
        "no_account_observed_h": {
            "ja": "{h}か月観測できた顧客がまだいません",
            "en": "no account observed for {h} months yet",
        },
        "km_no_churn_ci": {
            "ja": "{h}か月以内の解約がないため区間は算出できません",
            "en": "no churn within {h} months: the interval is undefined",
        },
        "km_zero_survival_ci": {
            "ja": "{h}か月時点の継続率が0のため区間は算出できません",
            "en": "survival is 0 at {h} months: the log-log interval is undefined",
        },
        "no_active_accounts_as_of": {
            "ja": "対象月に有効な顧客がいません",
            "en": "no active accounts at as_of",
        },
        "no_churn_in_window": {
            "ja": "直近{months}か月に解約がないため算出できません（解約率0では寿命が無限になります）",
            "en": "no churn in the last {months} months: with a churn rate of 0 the lifetime "
            "is unbounded",
        },
        "payback_not_covered": {
            "ja": "粗利（ARPA×粗利率）が顧客あたりのサービス提供コストを下回るため回収できません",
            "en": "ARPA x margin does not cover the cost to serve",
        },
        "health_no_data": {
            "ja": "ヘルススコアの指標にこの顧客のデータがありません（テーブルがない、または該当期間の行がない）。"
            "データがないことは悪い状態ではないため、スコアも帯も付けません",
            "en": "no health measure has data for this account (its tables are absent or hold no "
            "rows for the window); missing data is not bad health, so there is no score or band",
        },
        "nps_no_responses": {
            "ja": "期間内に回答がありません",
            "en": "no responses in the window",
        },
        "nps_no_table": {
            "ja": "NPS回答のデータ（表）がありません",
            "en": "no NPS responses in the data (the table is missing)",
        },
        "nps_period_without_responses": {
            "ja": "回答のない期間があります",
            "en": "a period without responses",
        },
        "onboarding_no_table": {
            "ja": "オンボーディング記録のデータ（表）がありません",
            "en": "no onboarding sessions in the data (the table is missing)",
        },
        "no_acquisition_cost": {
            "ja": "顧客データに獲得コストの列がありません",
            "en": "the account data has no acquisition cost column",
        },
    }
)


# ---- signal backtest (cs_metrics.metrics.backtest) ----------------------------------------
MESSAGES.update(
    {
        "backtest_horizon": {
            "ja": "--horizon は1以上の月数で指定してください: {h}",
            "en": "--horizon must be >= 1 month, got {h}",
        },
        "backtest_too_short": {
            "ja": "データ（{first}〜{last}）は {h}か月先の結果を見るには短すぎます",
            "en": "the data ({first} to {last}) is too short to see {h} months ahead",
        },
        "backtest_to_out_of_range": {
            "ja": "--to {to}: データは {first}〜{last}。{h}か月先まで見るため --to は "
            "{first}〜{latest} で指定してください",
            "en": "--to {to}: the data covers {first} to {last}; to see {h} months ahead --to "
            "must be within {first} to {latest}",
        },
        "backtest_from_out_of_range": {
            "ja": "--from {start}: {first}〜--to（{to}）の範囲で指定してください"
            "（データは {first}〜{last}）",
            "en": "--from {start} must lie within {first} and --to ({to}) "
            "(the data covers {first} to {last})",
        },
        # reasons of null values in the backtest JSON
        "backtest_unavailable": {"ja": "判定不可: {why}", "en": "unavailable: {why}"},
        "backtest_disabled": {
            "ja": "無効化されたルール（risk.disabled_rules）",
            "en": "disabled (risk.disabled_rules)",
        },
        "backtest_nothing_flagged": {"ja": "該当なし（フラグ0件）", "en": "nothing flagged"},
        "backtest_no_outcome": {"ja": "期間内に{target}なし", "en": "no {target} in the range"},
        "backtest_no_units": {"ja": "対象の顧客・月なし", "en": "no account-months in the range"},
        "backtest_no_hits": {
            "ja": "的中0件: 対数尺度の区間は作れないため上限のみ（精度の95%上限 ÷ 基準率）",
            "en": "no hits: no log-scale interval; upper bound only (Wilson upper / base rate)",
        },
        "backtest_one_account": {
            "ja": "顧客が1社のみのため区間を推定できません",
            "en": "one account only: no interval",
        },
        "backtest_everyone": {
            "ja": "全員が同じ結果のため算出できません",
            "en": "every account-month had the same outcome",
        },
        "backtest_perfect": {
            "ja": "完全に分離（AUC 0 または 1）のため区間なし",
            "en": "perfect separation (AUC 0 or 1): no interval",
        },
        "backtest_no_variance": {"ja": "分散0のため区間なし", "en": "zero variance: no interval"},
        "backtest_measure_unavailable": {
            "ja": "この指標のデータなし",
            "en": "no data for this measure",
        },
        "backtest_weights_undefined": {
            "ja": "使える指標がないか、全員が同じ結果のため推定できません",
            "en": "no measure, or every account-month had the same outcome",
        },
    }
)


# ---- predictive LTV, the sBG model and what-if scenarios (issue 14) ------------------------
MESSAGES.update(
    {
        "sbg_geometric": {
            "ja": "顧客間のばらつきは検出されず、一定の{unit}解約率 {x} で表せます（尤度比検定 p {p}）。",
            "en": "No variation between customers was detected: a constant {unit} churn rate of {x} "
            "describes the data (likelihood-ratio test p {p}).",
        },
        "sbg_heterogeneous": {
            "ja": "顧客間で解約しやすさにばらつきがあり、継続率の混合モデル（シフト・ベータ幾何分布）を"
            "使います（尤度比検定 p {p}）。",
            "en": "Customers differ in how likely they are to churn: the sBG model is used "
            "(likelihood-ratio test p {p}).",
        },
        "sbg_no_churn": {
            "ja": "解約が一度も観測されていません（{e} 期間分）。LTV は下限値（解約率の95%上限 {x} "
            "で計算）です。",
            "en": "No churn has been observed ({e} periods at risk): LTV is a lower bound (computed "
            "at the 95% upper bound of the churn rate, {x}).",
        },
        "sbg_all_churned_first": {
            "ja": "全顧客が最初の期間で解約しています。",
            "en": "Every customer churned in the first period.",
        },
        "sbg_one_period": {
            "ja": "観測は1期間のみのため、顧客間のばらつきは推定できません。",
            "en": "Only one period is observed: variation between customers cannot be estimated.",
        },
        "sbg_no_customers": {
            "ja": "顧客のいるコホートがありません。",
            "en": "No cohort has customers.",
        },
        "sbg_no_period": {
            "ja": "まだ1期間も観測されていません（最初の期間が終わっていません）。",
            "en": "Not a single period has been observed yet (the first period has not ended).",
        },
        "sbg_alpha_beta_unbounded": {
            "ja": "幾何モデル（φ = 0）では α, β は無限大です",
            "en": "alpha and beta are unbounded in the geometric model (phi = 0)",
        },
        "sbg_not_converged": {
            "ja": "最尤推定が収束しませんでした（最良の値を使用）。",
            "en": "The maximum-likelihood fit did not converge (the best value found is used).",
        },
        "ltv_no_new_accounts": {
            "ja": "新規顧客がいないため、新規顧客のARPAがありません",
            "en": "no new accounts: the ARPA of new accounts is unknown",
        },
        "ltv_lower_bound": {
            "ja": "解約が観測されていないため下限値です",
            "en": "no churn observed: this is a lower bound",
        },
        "ltv_lower_bound_no_interval": {
            "ja": "解約が観測されていないため下限値のみで、区間は示せません",
            "en": "no churn observed: only a lower bound, no interval",
        },
        "ltv_interval_at_bound": {
            "ja": "推定値がパラメータの境界（例: 全顧客が最初の期間で解約）にあるため、区間は示せません",
            "en": "the estimate lies on a parameter bound (e.g. everyone churned in the first "
            "period): no interval",
        },
        "ltv_pooled_thin_group": {
            "ja": "このグループは顧客 {min_acc} 社・観測 {min_per} 期間に満たないため、全体のモデルを使用",
            "en": "fewer than {min_acc} accounts or {min_per} periods in this group: the pooled fit "
            "is used",
        },
        "ltv_period_1": {"ja": "1期間 = 1か月", "en": "one period = one month"},
        "ltv_period_12": {
            "ja": "年間契約が中心のため 1期間 = 1年",
            "en": "annual contracts dominate: one period = one year",
        },
        "ltv_cac_zero": {
            "ja": "獲得コストの平均が0のため、LTV:CAC は定義できません",
            "en": "the mean acquisition cost is 0: LTV:CAC is undefined",
        },
        "ltv_payback_beyond_lifetime": {
            "ja": "CAC回収に {months}か月かかりますが、新規顧客の期待継続期間（割引後）は約 {life}か月です",
            "en": "paying back CAC takes {months} months, but a new account is expected to stay "
            "about {life} months (discounted)",
        },
        "ltv_cohort_cac_unknown": {
            "ja": "このコホートには獲得コストの入力がありません",
            "en": "no acquisition cost is known for this cohort",
        },
        "ltv_cohort_not_paid_back": {"ja": "未回収", "en": "not paid back yet"},
        "ltv_by_product": {
            "ja": "予測LTVは product ではグループ化できません（1社が複数の製品を持つため）。"
            "顧客属性の primary_product を使ってください。利用可能: {known}",
            "en": "predictive LTV cannot be grouped by product (an account holds several product "
            "lines); use the account attribute primary_product. Available: {known}",
        },
        "ltv_by_segment": {
            "ja": "予測LTVは segment ではグループ化できません（S/A/B/C は対象月時点の区分で、解約済みの"
            "顧客にはないため、生存顧客だけの推定になります）。利用可能: {known}",
            "en": "predictive LTV cannot be grouped by segment (S/A/B/C is measured at as_of and "
            "churned accounts have none, so the fit would see only survivors). Available: {known}",
        },
        "scenario_status_applied": {"ja": "適用", "en": "applied"},
        "scenario_status_insufficient_data": {
            "ja": "データ不足のため不適用",
            "en": "not applied: insufficient data",
        },
        "scenario_status_unavailable": {"ja": "計算不可", "en": "unavailable"},
        "scenario_lever_save_reason": {"ja": "理由別の解約防止", "en": "save churn of a reason"},
        "scenario_lever_graduation": {
            "ja": "オンボーディング卒業率",
            "en": "onboarding graduation",
        },
        "scenario_group_graduated": {"ja": "卒業", "en": "graduated"},
        "scenario_group_not_graduated": {"ja": "未卒業", "en": "not graduated"},
        "scenario_group_no_onboarding_records": {"ja": "記録なし", "en": "no onboarding records"},
        "scenario_counts_save": {
            "ja": "{h}か月の観測が終わった {n}社のうち「{reason}」の解約 {c}社",
            "en": "{c} churned with '{reason}' of {n} accounts observed for {h} months",
        },
        "scenario_counts_group": {
            "ja": "{label} {n}社・うち解約 {c}社",
            "en": "{label}: {n} eligible, {c} churned",
        },
        "scenario_figure_rate": {
            "ja": "{h}か月以内解約率（実績）",
            "en": "Churn within {h} months (observed)",
        },
        "scenario_figure_km_rate": {
            "ja": "{h}か月以内解約率（カプラン・マイヤー推定）",
            "en": "Churn within {h} months (Kaplan-Meier)",
        },
        "scenario_figure_nrr_trailing_12m": {
            "ja": "NRR（直近12か月）",
            "en": "NRR (trailing 12 months)",
        },
        "scenario_reason_without_save": {
            "ja": "--reason は --save-reason-pct（防ぐ割合）と一緒に指定してください",
            "en": "--reason needs --save-reason-pct (the share of that churn saved)",
        },
        "scenario_out_of_range": {
            "ja": "{name} は 0〜1 の割合で指定してください（0.3 = 30%）: {value}",
            "en": "{name} must be a fraction between 0 and 1 (0.3 = 30%): {value}",
        },
        "scenario_reason_unknown": {
            "ja": "解約理由 '{reason}' はありません。指定できる理由: {known}",
            "en": "no churn reason '{reason}'. Known reasons: {known}",
        },
        "scenario_no_cancellations": {
            "ja": "解約連絡（解約理由）の表がないため、理由別の施策は計算できません",
            "en": "no cancellations table: churn reasons are unknown",
        },
        "scenario_no_onboarding": {
            "ja": "オンボーディング記録の表がないため、卒業率の施策は計算できません",
            "en": "no onboarding sessions table: graduation is unknown",
        },
        "scenario_thin_save": {
            "ja": "{h}か月の観測が終わった顧客が {n} 社しかなく（{min} 社以上が必要）、解約理由の割合を"
            "信頼できないため適用しません",
            "en": "only {n} accounts have been observed for {h} months ({min} needed): the share of "
            "churn by reason is not reliable, so the lever is not applied",
        },
        "scenario_thin_graduation": {
            "ja": "卒業・未卒業の各グループに {min} 社以上が必要です（{group}は {sn} 社）。{sn} 社中 "
            "{sc} 社の解約のような少数の実績は将来の見通しに使えないため、この施策は適用していません",
            "en": "the graduated and the not-graduated group each need {min} accounts ({group} has "
            "{sn}); a rate such as {sc} churned of {sn} is not a projection, so the lever is not "
            "applied",
        },
        "scenario_ci_undefined": {
            "ja": "ブートストラップの多くの回で値が定義できず、区間を示せません",
            "en": "the value is undefined in most bootstrap replicates: no interval",
        },
        "scenario_note_method": {
            "ja": "95%区間は顧客単位のブートストラップ（{b}回、乱数シード {seed}）によります。",
            "en": "95% intervals: bootstrap over accounts ({b} replicates, seed {seed}).",
        },
        "scenario_note_save": {
            "ja": "施策: 解約理由「{reason}」の解約の {x} を防止（{h}か月の観測が終わった {n} 社のうち、この"
            "理由の解約 {c} 社）。",
            "en": "Lever: save {x} of the churn with reason '{reason}' ({c} such churns among the {n} "
            "accounts observed for {h} months).",
        },
        "scenario_note_graduation": {
            "ja": "施策: オンボーディング卒業率を {y} に（現状 {y0}、記録のある顧客について。記録のない顧客は"
            "今の解約率のまま）。NRR には影響させません。",
            "en": "Lever: onboarding graduation at {y} (now {y0}, among accounts with onboarding "
            "records; accounts without records keep their rate). NRR is not moved by it.",
        },
        "scenario_note_none_applied": {
            "ja": "適用できる施策がないため、シナリオは現状と同じです。",
            "en": "No lever could be applied: the projection equals the baseline.",
        },
        "scenario_note_caveat": {
            "ja": "これは過去の実績から機械的に計算した試算で、施策の効果を約束するものではありません。"
            "区間は顧客の入れ替わりによるばらつきだけを表し、施策がどれだけ効くかの不確かさは含みません。",
            "en": "This is arithmetic on past outcomes, not a promise of what a programme will achieve. "
            "The intervals show sampling variation only, not uncertainty about the levers' effect.",
        },
    }
)


# ---- publishing: nothing overwritten or deleted that cs-metrics did not write (reports, Data
# Docs) and no option silently ignored (report) ----
MESSAGES.update(
    {
        "report_file_changed": {
            "ja": "{path} の {names} は cs-metrics が書いた後に変更されたか、cs-metrics が書いたもの"
            "ではありません。上書きしないため、レポートは作成していません: そのファイルを別の名前か"
            "場所に移してから再実行するか、--force で再実行してください（あなたのファイルは "
            "<名前>.orig.<拡張子>（例: risk_list.orig.csv）として新しいレポートの隣に残します）",
            "en": "{names} in {path} changed since cs-metrics wrote it, or was not written by "
            "cs-metrics: it is not overwritten and nothing was rendered. Move or rename it and run "
            "again, or run again with --force (your file is then kept beside the new report as "
            "<name>.orig.<ext>, e.g. risk_list.orig.csv)",
        },
        "report_target_not_folder": {
            "ja": "{path} はファイルかシンボリックリンクで、cs-metrics が作ったレポートのフォルダでは"
            "ありません。置き換えません: 移動するか、別の --out を指定してください",
            "en": "{path} is a file or a symbolic link, not a report folder cs-metrics made: it is "
            "not replaced; move it or choose another --out",
        },
        "report_option_backfill_only": {
            "ja": "{option} は report backfill のオプションで、report {kind} では使えません（複数の月"
            "は cs-metrics report backfill --report {kind} --from YYYY-MM --to YYYY-MM）",
            "en": "{option} is an option of report backfill, not of report {kind} (several months: "
            "cs-metrics report backfill --report {kind} --from YYYY-MM --to YYYY-MM)",
        },
        "report_option_not_for_backfill": {
            "ja": "{option} は report backfill では使えません（月は --from YYYY-MM --to YYYY-MM で"
            "指定します。1か月だけなら --from と --to に同じ月を指定してください）",
            "en": "{option} is not an option of report backfill (its months are --from YYYY-MM "
            "--to YYYY-MM; for one month give the same month to both)",
        },
        "data_docs_foreign": {
            "ja": "{path} には cs-metrics の --data-docs が書いたものではない（または書いた後に変更"
            "された）ものがあります（{names}）。上書きしないため Data Docs は書いていません: 新しい"
            "フォルダか空のフォルダ、または以前の --data-docs の出力先を指定してください",
            "en": "{path} holds entries that an earlier --data-docs run did not write, or that "
            "changed since ({names}): nothing is overwritten and no Data Docs were written. Name a "
            "new or empty folder, or one an earlier --data-docs run wrote",
        },
    }
)


# ---- held-out metric fixes: LTV lower bounds, boundary-safe intervals (heldout-metrics) -------
MESSAGES.update(
    {
        "ltv_residual_lower_bound": {
            "ja": "解約が観測されていないため、既存顧客の残存価値合計は下限値です"
            "（解約率の95%上限で計算）",
            "en": "no churn observed: the residual value of current accounts is a lower bound "
            "(valued at the 95% upper bound of churn)",
        },
    }
)


UNPARSEABLE_WHAT = {
    "date": (
        "日付として読めない値（年は4桁: YYYY-MM-DD または YYYY/M/D。24/9/5 のような2桁の年は不可）",
        "dates that are not YYYY-MM-DD or YYYY/MM/DD (YYYY/M/D) with a four-digit year "
        "(24/9/5 is refused)",
    ),
    "money": (
        "金額として読めない値（例 1200000, ¥1,200,000, 1,200,000円。桁区切りは3桁ごとのカンマ、"
        "小数点はピリオド: 80000,50 は不可）",
        "amounts that are not numbers (accepted: 1200000, ¥1,200,000, 1,200,000円; commas only "
        "as thousands separators in groups of three, a point for decimals: 80000,50 is refused)",
    ),
    "number": (
        "数値として読めない値（小数点はピリオド、桁区切りは3桁ごとのカンマ）",
        "values that are not numbers (a point for decimals, commas only in groups of three)",
    ),
    "int": ("整数として読めない値", "values that are not whole numbers"),
}


def message(code: str, lang: str = "ja", **fields: Any) -> str:
    """The text of ``code`` in ``lang`` ("ja" or "en") with ``fields`` filled in.

    An unknown code is a programming error (KeyError), caught by the catalogue test.
    """
    templates = MESSAGES[code]
    template = templates.get(lang) or templates["en"]
    fields = {k: v.render(lang) if isinstance(v, Text) else v for k, v in fields.items()}
    if code == "unparseable":
        ja, en = UNPARSEABLE_WHAT[fields.get("kind", "number")]
        fields = {"what_ja": ja, "what_en": en, **fields}
    return template.format(**fields)


text = message


def table_text(table: str) -> Text | str:
    """A data table in words (``nps_responses`` -> ``NPS回答`` / ``NPS responses``), as a field
    of another message; a table the catalogue does not know keeps its name."""
    code = f"table_{table}"
    return Text(code) if code in MESSAGES else table


def reason_fields(key: str, code: str, lang: str = "ja", **fields: Any) -> dict[str, str]:
    """``{"<key>_reason": text, "<key>_reason_code": code}`` for a value that is ``null``.

    ``key`` is the output key the reason explains (``"nrr"`` gives ``nrr_reason``); an empty key
    gives plain ``reason`` and ``reason_code``.
    """
    prefix = f"{key}_" if key else ""
    return {f"{prefix}reason": message(code, lang, **fields), f"{prefix}reason_code": code}


def lang_of(config: Any) -> str:
    """The configured language ("ja" unless the configuration says "en")."""
    try:
        lang = config["general"]["lang"]
    except (KeyError, TypeError):
        return "ja"
    return lang if lang in ("ja", "en") else "ja"


# ---- heldout-data: loader, gate and the data's months (one block) ------------------------
MESSAGES.update(
    {
        "ambiguous_amount": {
            "ja": "{file} の列 {column}: ピリオドが桁区切りか小数点か分からない値が {n} 行あります"
            "（80.000 は 80 円にも 80,000 円にも読めます）。桁区切りはカンマ（80,000）か"
            "区切りなし（80000）にしてください",
            "en": "{file}: column {column}: {n} row(s) where a point may group thousands or mark "
            "decimals (80.000 could be 80 or 80,000); write thousands with commas (80,000) or "
            "without separators (80000)",
        },
        "currency_mismatch": {  # an error since heldout-data: not added to the reporting currency
            "ja": "{file} の列 currency: 設定の通貨 {currency} と異なる行が {n} 行あります。"
            "換算の設定がないため {currency} の金額と合算できません（{currency} に換算した金額に"
            "するか、その行を除いてください）",
            "en": "{file}: column currency: {n} row(s) in another currency than the configured "
            "{currency}; with no conversion configured they cannot be added to {currency} amounts "
            "(convert them to {currency} or remove those lines)",
        },
        "duplicate_rows": {
            "ja": "{file}: 前の行と全列同じ行が同じ順に繰り返されています（{n} 行。同じデータを"
            "2回貼り付けた可能性があります）。このままでは二重に数えられます",
            "en": "{file}: {n} row(s) repeat earlier rows in every column and in the same order "
            "(the same data pasted twice?); as they are, they are counted twice",
        },
        "stray_rows": {
            "ja": "{file} の列 {column}: 他のデータが {end} で終わってから {gap} 日以上あとの日付の行が"
            " {n} 行あります（年の入力ミスや後からの追加とみなし、データの最終日・既定の月には"
            "使いません）",
            "en": "{file}: column {column}: {n} row(s) dated more than {gap} days after the rest "
            "of the data ends ({end}); taken as typos or a late import, they do not set the "
            "data's last day or the default month",
        },
        "usage_ended_early": {
            "ja": "{file}: 週次利用データが {last} で終わっていて、他のデータ（{export} まで）より"
            " {days} 日早く終わっています。利用のない週は利用なしとして数えるため、それ以降の月は"
            "全顧客がログインなしの扱いになります（利用データを出し直すか、{last} までの月を"
            "指定してください）",
            "en": "{file}: the weekly usage export ends on {last}, {days} days before the rest "
            "of the data ({export}); a missing week counts as no usage, so the months after it "
            "score every account as not logging in (export usage again, or report a month up "
            "to {last})",
        },
        "file_not_read": {
            "ja": "{file} は読み込みません（{table} は {table}.csv または {table}.parquet から"
            "読みます。{used}）。使うファイルならその名前で CSV か Parquet として保存してください",
            "en": "{file} is not read ({table} is read from {table}.csv or {table}.parquet; "
            "{used}); if it holds the data, save it under that name as CSV or Parquet",
        },
    }
)
VALIDATION_RULES = VALIDATION_RULES | {
    "file_not_read",
    "ambiguous_amount",
    "duplicate_rows",
    "stray_rows",
    "usage_ended_early",
}
