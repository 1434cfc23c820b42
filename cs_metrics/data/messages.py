"""Message templates of the validation gate, one per rule and language (ja default, en).

Every :class:`~cs_metrics.data.issues.Issue` has a stable ``rule`` id (the contract of
``cs-metrics validate --format json``) and a ``message`` written from the template of that rule in
the configured language. ``docs/mapping.md`` lists every rule with its message.
"""

from __future__ import annotations

from typing import Any

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
        "ja": "{file}: {row} 行目{col_text}の文字が UTF-8 でも CP932（Shift_JIS）でも読めません"
        "（{guess} と推定）。Excel で「CSV UTF-8」または「CSV」で保存し直してください",
        "en": "{file}: bytes in row {row}{col_text} are neither UTF-8 nor CP932 (Shift_JIS) "
        "(looks like {guess}); save the file again as CSV UTF-8 or CSV from Excel",
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
        "ja": "{file}: 列の型を値として読めません（リスト・構造体・バイナリ）: {columns}",
        "en": "{file}: columns of a type that cannot be read as values (list, struct, binary): "
        "{columns}",
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
        "ja": "{file} の列 {column}: {lo}〜{hi} 年の範囲外の日付が {n} 行あります（入力ミスの可能性）",
        "en": "{file}: column {column}: {n} row(s) dated outside the years {lo}-{hi} (a typo?)",
    },
}

UNPARSEABLE_WHAT = {
    "date": (
        "日付として読めない値（YYYY-MM-DD または YYYY/M/D）",
        "dates that are not YYYY-MM-DD or YYYY/MM/DD (YYYY/M/D)",
    ),
    "money": (
        "金額として読めない値（例 1200000, ¥1,200,000, 1,200,000円）",
        "amounts that are not numbers (accepted: 1200000, ¥1,200,000, 1,200,000円)",
    ),
    "number": ("数値として読めない値", "values that are not numbers"),
    "int": ("整数として読めない値", "values that are not whole numbers"),
}


def message(rule: str, lang: str = "ja", **fields: Any) -> str:
    """The message of ``rule`` in ``lang`` ("ja" or "en") with ``fields`` filled in."""
    templates = MESSAGES[rule]
    template = templates.get(lang) or templates["en"]
    if rule == "unparseable":
        ja, en = UNPARSEABLE_WHAT[fields.get("kind", "number")]
        fields = {"what_ja": ja, "what_en": en, **fields}
    return template.format(**fields)


def lang_of(config: Any) -> str:
    """The configured language ("ja" unless the configuration says "en")."""
    try:
        lang = config["general"]["lang"]
    except (KeyError, TypeError):
        return "ja"
    return lang if lang in ("ja", "en") else "ja"
