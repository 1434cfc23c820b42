"""The loader: encodings, Parquet, Japanese export formats, column mapping, Salesforce IDs."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_metrics.cli.main import main
from cs_metrics.data.load import decode_bytes, load_dataset, salesforce_id_expr
from cs_metrics.data.validate import validate_dataset
from cs_metrics.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "tiny"
SF = FIXTURES / "salesforce_export"

ACCOUNTS = (
    "account_id,account_name,industry,csm\n"
    "A001,株式会社あおば,金融,佐藤\n"
    "A002,みどり医療法人,医療,鈴木\n"
)
SUBSCRIPTIONS = (
    "subscription_id,account_id,product,start_date,end_date,mrr\n"
    "S001,A001,ベーシック,2024/1/1,,100000\n"
    "S002,A002,ベーシック,2024-02-01,2025/1/31,80000\n"
)
CANCELLATIONS = "account_id,cancelled_on,reason\nA002,2025/1/15,施策終了のため解約\n"


def sf18(id15: str) -> str:
    """Independent reference: the 18-character form of a 15-character Salesforce ID."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for k in range(3):
        bits = sum(1 << i for i in range(5) if "A" <= id15[5 * k + i] <= "Z")
        suffix += alphabet[bits]
    return id15 + suffix


def write(folder: Path, files: dict[str, str], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode(encoding))
    return folder


def collected(ds) -> dict[str, pl.DataFrame]:
    return {name: lf.collect() for name, lf in ds.frames.items()}


# ---- encodings -------------------------------------------------------------------------------


def test_cp932_utf8_and_bom_load_to_identical_frames(tmp_path):
    files = {
        "accounts.csv": ACCOUNTS,
        "subscriptions.csv": SUBSCRIPTIONS,
        "cancellations.csv": CANCELLATIONS,
    }
    dss = {
        enc: load_dataset(write(tmp_path / enc, files, enc))
        for enc in ("utf-8", "utf-8-sig", "cp932")
    }
    frames = {enc: collected(ds) for enc, ds in dss.items()}
    for enc in ("utf-8-sig", "cp932"):
        assert frames[enc].keys() == frames["utf-8"].keys()
        for name in frames["utf-8"]:
            assert frames[enc][name].equals(frames["utf-8"][name]), (enc, name)
    assert dss["cp932"].sources["accounts"].encoding == "cp932"
    assert dss["utf-8-sig"].sources["accounts"].encoding == "utf-8-sig"
    assert dss["utf-8"].encodings() == {
        "accounts": "utf-8",
        "subscriptions": "utf-8",
        "cancellations": "utf-8",
    }
    assert frames["cp932"]["accounts"]["account_name"].to_list() == [
        "株式会社あおば",
        "みどり医療法人",
    ]


def test_detected_encoding_is_shown_by_validate(tmp_path, capsys):
    folder = write(tmp_path / "mixed", {"accounts.csv": ACCOUNTS}, "cp932")
    write(folder, {"subscriptions.csv": SUBSCRIPTIONS}, "utf-8-sig")
    rc = main(["validate", str(folder)])
    out = capsys.readouterr().out
    assert rc == 0, out
    acc = next(line for line in out.splitlines() if "accounts.csv" in line)
    sub = next(line for line in out.splitlines() if "subscriptions.csv" in line)
    assert "cp932" in acc and "utf-8-sig" in sub
    rc = main(["validate", str(folder), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert report["encodings"] == {"accounts": "cp932", "subscriptions": "utf-8-sig"}


def test_decode_bytes():
    assert decode_bytes("取引先".encode("cp932")) == ("取引先", "cp932")
    assert decode_bytes("取引先".encode()) == ("取引先", "utf-8")
    assert decode_bytes(b"\xef\xbb\xbfa,b") == ("a,b", "utf-8-sig")
    # 0xFF "decodes" as a CP932 private-use character: not a real export
    with pytest.raises(UnicodeDecodeError) as e:
        decode_bytes(b"a,b\n1,\xff\n")
    assert e.value.start == 6
    # mostly CP932 with one broken byte pair: the error points at the broken pair
    data = "取引先,金額\n".encode("cp932") + b"\x81\x20,1\n"
    with pytest.raises(UnicodeDecodeError) as e:
        decode_bytes(data)
    assert e.value.encoding == "cp932" and data[e.value.start] == 0x81


def test_undecodable_cp932_file_names_row_and_column(tmp_path, capsys):
    text = "account_id,account_name\nA001,株式会社あおば\n".encode("cp932")
    folder = write(tmp_path / "bad", {"subscriptions.csv": SUBSCRIPTIONS})
    (folder / "accounts.csv").write_bytes(text + b"A002,\x81\x20\x82\n")
    rc = main(["validate", str(folder), "--lang", "en"])
    out = capsys.readouterr().out
    assert rc == 2
    assert "accounts.csv: bytes in row 3 (column account_name)" in out and "CP932" in out


# ---- Parquet ---------------------------------------------------------------------------------


def test_parquet_loads_like_csv(tmp_path):
    csv_ds = load_dataset(
        write(tmp_path / "csv", {"accounts.csv": ACCOUNTS, "subscriptions.csv": SUBSCRIPTIONS})
    )
    pq = tmp_path / "pq"
    pq.mkdir()
    pl.read_csv(ACCOUNTS.encode(), infer_schema=False).write_parquet(pq / "accounts.parquet")
    pl.DataFrame(
        {
            "subscription_id": ["S001", "S002"],
            "account_id": ["A001", "A002"],
            "product": ["ベーシック", "ベーシック"],
            "start_date": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)],
            "end_date": [None, dt.date(2025, 1, 31)],
            "mrr": [100000, 80000],  # integers in Parquet: cast to Float64
        }
    ).write_parquet(pq / "subscriptions.parquet")
    pq_ds = load_dataset(pq)
    assert pq_ds.sources["subscriptions"].format == "parquet"
    assert pq_ds.sources["subscriptions"].encoding is None
    for name in ("accounts", "subscriptions"):
        a = csv_ds[name].collect()
        b = pq_ds[name].collect()
        assert b.drop("_row").equals(a.drop("_row")), name
        assert b["_row"].to_list() == [1, 2] and a["_row"].to_list() == [2, 3]


# ---- Japanese export formats -------------------------------------------------------------------


def test_japanese_export_values(tmp_path):
    id15 = "0015g00000AbCdE"
    accounts = f"account_id,account_name\n{sf18(id15)},株式会社ＡＢＣ\nＡ００２,ｶﾅ商事\n"
    subs = (
        "subscription_id,account_id,product,start_date,end_date,mrr\n"
        f'S001,{id15},ｺｱ,2024/4/1,2025/3/31,"¥1,200,000"\n'
        'S002,A002,コア,2024/04/01,,"￥30,000"\n'
        'S003,a002,コア,2024-4-1 0:00:00,,"1,000円"\n'
    )
    folder = write(tmp_path / "jp", {"accounts.csv": accounts, "subscriptions.csv": subs})
    ds = load_dataset(folder)
    acc = ds.accounts.collect()
    sub = ds.subscriptions.collect()
    # 18-character ID reduced to 15, full-width ID normalised (NFKC); names keep their text
    assert acc["account_id"].to_list() == [id15, "A002"]
    assert acc["account_name"].to_list() == ["株式会社ＡＢＣ", "ｶﾅ商事"]
    assert sub["account_id"].to_list() == [id15, "A002", "a002"]  # IDs stay case-sensitive
    assert sub["product"].to_list() == ["コア", "コア", "コア"]  # codes: NFKC (half-width kana)
    assert sub["start_date"].to_list() == [dt.date(2024, 4, 1)] * 3
    assert sub["end_date"].to_list() == [dt.date(2025, 3, 31), None, None]
    assert sub["mrr"].to_list() == [1_200_000.0, 30_000.0, 1_000.0]
    joined = sub.join(acc, on="account_id", how="inner")
    assert joined.height == 2  # the 15- and 18-character forms match; "a002" is another ID


def test_salesforce_15_and_18_character_ids_match_across_tables(tmp_path, capsys):
    ids = ["0015g00000AbCdE", "001ABCDEFGHIJKL", "001abcdefghijkl"]
    accounts = "account_id,account_name\n" + "".join(f"{sf18(i)},n{k}\n" for k, i in enumerate(ids))
    subs = "subscription_id,account_id,product,start_date,end_date,mrr\n" + "".join(
        f"S{k},{i},core,2024-01-01,,1000\n" for k, i in enumerate(ids)
    )
    folder = write(tmp_path / "sf", {"accounts.csv": accounts, "subscriptions.csv": subs})
    assert main(["validate", str(folder)]) == 0, capsys.readouterr().out
    ds = load_dataset(folder)
    assert ds.accounts.collect()["account_id"].to_list() == ids


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        min_size=15,
        max_size=15,
    )
)
def test_salesforce_id_expr_reduces_valid_18_character_ids(id15):
    df = pl.DataFrame({"id": [id15, sf18(id15)]})
    out = df.select(salesforce_id_expr(pl.col("id")))["id"].to_list()
    assert out == [id15, id15]


def test_salesforce_id_with_wrong_checksum_is_kept():
    wrong = sf18("0015g00000AbCdE")[:15] + "ZZZ"
    df = pl.DataFrame({"id": [wrong, "SHORT", None]})
    assert df.select(salesforce_id_expr(pl.col("id")))["id"].to_list() == [wrong, "SHORT", None]


def test_reasons_mapped_to_configured_categories(tmp_path):
    cancellations = (
        "account_id,cancelled_on,reason\n"
        "A001,2025-01-10,施策終了のため\n"
        "A001,2025-01-11,キャンペーン終了\n"
        "A002,2025-01-12,予算が取れなかった\n"
        "A002,2025-01-13,ＩＴ部門の方針\n"
    )
    files = {
        "accounts.csv": ACCOUNTS,
        "subscriptions.csv": SUBSCRIPTIONS,
        "cancellations.csv": cancellations,
    }
    ds = load_dataset(write(tmp_path / "r", files))
    assert ds["cancellations"].collect()["reason_category"].to_list() == [
        "施策終了・中止",
        "施策終了・中止",
        "予算削減",
        "IT部門の方針",  # unmapped: keeps its text (NFKC)
    ]
    custom = {"reasons": {"categories": {"方針変更": ["方針"]}}}
    from cs_metrics.config import load_config

    ds = load_dataset(tmp_path / "r", config=load_config(custom))
    assert ds["cancellations"].collect()["reason_category"].to_list()[-1] == "方針変更"


# ---- headers and mapping ---------------------------------------------------------------------


def test_headers_are_normalised(tmp_path):
    accounts = "\ufeffＡｃｃｏｕｎｔ ＩＤ, Account Name \nA001,x\n"
    folder = write(
        tmp_path / "h",
        {"accounts.csv": accounts, "subscriptions.csv": SUBSCRIPTIONS.replace("A002", "A001")},
    )
    ds = load_dataset(folder)
    assert ds.accounts.collect()["account_id"].to_list() == ["A001"]
    assert ds.sources["accounts"].renamed == {
        "Ａｃｃｏｕｎｔ ＩＤ": "account_id",
        " Account Name ": "account_name",
    }


def test_salesforce_export_with_mapping_loads_to_canonical_frames(capsys):
    ds = load_dataset(SF, mapping=SF / "mapping.toml")
    assert ds.encodings() == {"accounts": "cp932", "subscriptions": "cp932"}
    acc = ds.accounts.collect().drop("_row")
    expected_acc = pl.DataFrame(
        {
            "account_id": ["0015g00000AbCdE", "0015g00000XyZaB", "0015g00000QrStU"],
            "account_name": ["株式会社あおば銀行", "医療法人みどり会", "さくら商事株式会社"],
            "industry": ["金融", "医療", "小売"],
            "csm": ["佐藤 花子", "鈴木 一郎", "佐藤 花子"],
            "acquisition_cost": [None, None, None],
        },
        schema=acc.schema,
    )
    assert acc.equals(expected_acc)
    sub = ds.subscriptions.collect().drop("_row")
    expected_sub = pl.DataFrame(
        {
            "subscription_id": [
                "8005g00000Kk1Aa",
                "8005g00000Kk2Bb",
                "8005g00000Kk3Cc",
                "8005g00000Kk4Dd",
            ],
            "account_id": [
                "0015g00000AbCdE",
                "0015g00000AbCdE",
                "0015g00000XyZaB",
                "0015g00000QrStU",
            ],
            "product": ["ベーシック", "分析オプション", "ベーシック", "ベーシック"],
            "start_date": [
                dt.date(2024, 1, 1),
                dt.date(2024, 6, 1),
                dt.date(2024, 2, 1),
                dt.date(2024, 3, 1),
            ],
            "end_date": [None, None, dt.date(2025, 1, 31), None],
            "mrr": [100000.0, 30000.0, 80000.0, 50000.0],
            "plan": [None] * 4,
            "currency": ["JPY"] * 4,
            "billing_interval_months": [None] * 4,
        },
        schema=sub.schema,
    )
    assert sub.equals(expected_sub)
    # the gate passes; the unmapped 作成日 column is a warning
    rc = main(["validate", str(SF), "--mapping", str(SF / "mapping.toml"), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert rc == 0 and [w["rule"] for w in report["warnings"]] == ["column_ignored"]
    assert report["sources"][0]["renamed"]["取引先ID"] == "account_id"


def test_salesforce_export_without_mapping_hints_at_it(capsys, tmp_path):
    folder = tmp_path / "sf"
    shutil.copytree(SF, folder)
    (folder / "取引先.csv").rename(folder / "accounts.csv")
    rc = main(["validate", str(folder), "--lang", "en"])
    out = capsys.readouterr().out
    assert rc == 2
    assert "accounts.csv: required column(s) account_id, account_name not found" in out
    assert "columns found: 取引先ID, 取引先名, 業種, 担当CS, 作成日" in out
    assert '[accounts.columns] "取引先ID" = "account_id"' in out
    assert "required table 'subscriptions' not found" in out


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ("[contracts]\n", "unknown table [contracts]"),
        (
            '[accounts.columns]\n"取引先ID" = "acount_id"\n',
            "'acount_id' is not a column of accounts",
        ),
        ("[accounts]\nsheet = 1\n", "unknown key(s) sheet"),
        ("[accounts\n", "not valid TOML"),
    ],
)
def test_invalid_mapping_is_reported(tmp_path, capsys, toml, words):
    mapping = tmp_path / "m.toml"
    mapping.write_text(toml, "utf-8")
    rc = main(["validate", str(TINY), "--mapping", str(mapping), "--lang", "en"])
    out = capsys.readouterr()
    assert rc == 2 and words in out.out + out.err and "Traceback" not in out.out + out.err


def test_missing_mapping_file(capsys, tmp_path):
    rc = main(["validate", str(TINY), "--mapping", str(tmp_path / "none.toml")])
    out = capsys.readouterr()
    assert rc == 2 and "マッピングファイルがありません" in out.out + out.err


def test_duplicate_header_is_an_error(tmp_path):
    folder = write(
        tmp_path / "d",
        {
            "accounts.csv": "account_id,account_name,account_name\nA1,x,y\n",
            "subscriptions.csv": SUBSCRIPTIONS,
        },
    )
    with pytest.raises(DataError) as e:
        load_dataset(folder)
    assert [(i.rule, i.file, i.column) for i in e.value.issues] == [
        ("duplicate_column", "accounts.csv", "account_name")
    ]


def test_blank_rows_are_ignored_and_rows_keep_their_file_numbers(tmp_path):
    accounts = "account_id,account_name\nA001,x\n,\n\nA002,y\n,\n"
    folder = write(tmp_path / "b", {"accounts.csv": accounts, "subscriptions.csv": SUBSCRIPTIONS})
    acc = load_dataset(folder).accounts.collect()
    assert acc["account_id"].to_list() == ["A001", "A002"]
    assert acc["_row"].to_list() == [2, 5]


def test_case_insensitive_file_names_and_other_formats_hint(tmp_path):
    folder = write(tmp_path / "c", {"Accounts.CSV": ACCOUNTS, "subscriptions.xlsx": "x"})
    with pytest.raises(DataError) as e:
        load_dataset(folder, config={"general": {"lang": "en"}, "reasons": {"categories": {}}})
    [issue] = e.value.issues
    assert issue.rule == "file_missing" and issue.table == "subscriptions"
    assert "subscriptions.xlsx is not a supported format" in issue.message


def test_excel_variants_tab_utf16_trailing_empty_columns(tmp_path):
    tsv = ACCOUNTS.replace(",", "\t")
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "accounts.csv").write_bytes(tsv.encode("utf-16"))  # Excel "Unicode text"
    subs = "\n".join(line + ",," for line in SUBSCRIPTIONS.strip().split("\n")) + "\n"
    (folder / "subscriptions.csv").write_bytes(subs.encode("cp932"))
    ds = load_dataset(folder)
    assert ds.encodings() == {"accounts": "utf-16", "subscriptions": "cp932"}
    assert ds.accounts.collect()["account_name"].to_list() == ["株式会社あおば", "みどり医療法人"]
    assert ds.subscriptions.collect()["mrr"].to_list() == [100000.0, 80000.0]
    assert ds.warnings == ()


def test_excel_workbook_saved_as_csv_is_named(tmp_path):
    folder = write(tmp_path / "xl", {"subscriptions.csv": SUBSCRIPTIONS})
    (folder / "accounts.csv").write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(64))
    with pytest.raises(DataError) as e:
        load_dataset(folder)
    [issue] = e.value.issues
    assert issue.rule == "not_csv" and "Excel" in issue.message


def test_only_empty_rows_is_no_rows_and_nested_parquet_is_named(tmp_path):
    folder = tmp_path / "e"
    shutil.copytree(TINY, folder)
    (folder / "cs_costs.csv").write_text("month,amount\n,\n , \n", "utf-8")
    (folder / "nps_responses.csv").unlink()
    pl.DataFrame(
        {
            "response_id": ["R1"],
            "account_id": ["A001"],
            "responded_on": ["2024-01-01"],
            "score": [[1, 2]],
        }
    ).write_parquet(folder / "nps_responses.parquet")
    with pytest.raises(DataError) as e:
        load_dataset(folder)
    assert sorted((i.rule, i.file, i.column) for i in e.value.issues) == [
        ("column_type", "nps_responses.parquet", "score"),
        ("no_rows", "cs_costs.csv", None),
    ]


def test_broken_parquet_is_unreadable(tmp_path):
    folder = tmp_path / "p"
    shutil.copytree(TINY, folder)
    (folder / "touchpoints.csv").unlink()
    (folder / "touchpoints.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError) as e:
        load_dataset(folder)
    assert [(i.rule, i.file) for i in e.value.issues] == [("unreadable", "touchpoints.parquet")]


@settings(max_examples=80, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**12),
    st.sampled_from(["{n}", "{n:,}", "¥{n:,}", "￥{n:,}", "{n:,}円", "\\{n:,}", " {n:,} "]),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.sampled_from(
        ["{d:%Y-%m-%d}", "{d:%Y/%m/%d}", "{d.year}/{d.month}/{d.day}", "{d:%Y/%m/%d} 0:00"]
    ),
)
def test_amount_and_date_formats_parse(n, amount_fmt, d, date_fmt):
    from cs_metrics.data.load import parse_expr

    df = pl.DataFrame({"m": [amount_fmt.format(n=n)], "d": [date_fmt.format(d=d)]})
    out = df.select(parse_expr("m", "money"), parse_expr("d", "date"))
    assert out.row(0) == (float(n), d)


def test_row_numbers_count_records_like_excel(tmp_path):
    accounts = 'account_id,account_name\nA001,"two\nlines"\nA002,\n'
    folder = write(tmp_path / "n", {"accounts.csv": accounts, "subscriptions.csv": SUBSCRIPTIONS})
    report = validate_dataset(folder)
    [err] = report.errors
    assert (err.rule, err.column, err.examples) == ("required_value", "account_name", [(3, None)])


# ---- issue 13: misleading readings become right readings or clear errors ---------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read_as_utf16_not_reported_as_mojibake(tmp_path, encoding):
    folder = tmp_path / encoding
    write(folder, {"subscriptions.csv": SUBSCRIPTIONS})
    (folder / "accounts.csv").write_bytes(ACCOUNTS.encode(encoding))  # no BOM
    ds = load_dataset(folder)
    assert ds.encodings()["accounts"] == encoding
    assert ds.accounts.collect()["account_name"].to_list() == ["株式会社あおば", "みどり医療法人"]


def test_nul_bytes_that_are_not_utf16_are_undecodable_without_echoing_them(tmp_path):
    folder = write(tmp_path / "u32", {"subscriptions.csv": SUBSCRIPTIONS})
    (folder / "accounts.csv").write_bytes(ACCOUNTS.encode("utf-32-le"))
    with pytest.raises(DataError) as e:
        load_dataset(folder)
    [issue] = e.value.issues
    assert issue.rule == "undecodable" and "UTF-32" in issue.message and not issue.examples


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_or_tab_separated_file_is_read_not_reported_as_missing_columns(tmp_path, sep):
    folder = write(
        tmp_path / "sep",
        {"accounts.csv": ACCOUNTS.replace(",", sep), "subscriptions.csv": SUBSCRIPTIONS},
    )
    ds = load_dataset(folder)
    assert ds.accounts.collect()["account_id"].to_list() == ["A001", "A002"]


def test_separator_is_the_most_frequent_outside_quotes():
    from cs_metrics.data.load import detect_separator

    assert detect_separator('a;b;"c,d,e"\n1;2;3\n') == ";"
    assert detect_separator("a,b;c\n") == ","  # a tie goes to the comma
    assert detect_separator("single\n") == ","


def test_zero_width_characters_in_ids_are_removed_and_warned_about(tmp_path):
    subs = SUBSCRIPTIONS.replace("S001,A001", "S001,A0\u200b01").replace(
        "S002,A002", "S002,\ufeffA002\u2060"
    )
    folder = write(tmp_path / "zw", {"accounts.csv": ACCOUNTS, "subscriptions.csv": subs})
    report = validate_dataset(folder)
    assert report.ok, report.format("en")  # the same accounts: no unknown_account
    assert report.dataset.subscriptions.collect()["account_id"].to_list() == ["A001", "A002"]
    [warning] = [i for i in report.warnings if i.rule == "invisible_characters"]
    assert (warning.column, warning.n_rows, [r for r, _ in warning.examples]) == (
        "account_id",
        2,
        [2, 3],
    )


def test_zero_width_characters_in_headers_do_not_hide_a_column(tmp_path):
    accounts = ACCOUNTS.replace("account_id,", "account_id\u200b,", 1)
    folder = write(tmp_path / "zwh", {"accounts.csv": accounts, "subscriptions.csv": SUBSCRIPTIONS})
    assert load_dataset(folder).accounts.collect()["account_id"].to_list() == ["A001", "A002"]


@pytest.mark.parametrize(
    "value", ["24/9/5", "5/9/2024", "24-09-05", "2024/9", "20240905x", "２４/９/５"]
)
def test_dates_without_a_four_digit_year_are_refused_not_read_as_year_24(value):
    from cs_metrics.data.load import parse_expr

    out = pl.DataFrame({"d": [value]}).select(parse_expr("d", "date"))
    assert out.item() is None


@pytest.mark.parametrize(
    "value", ["80000,50", "1,20,000", "12,3456", "1,2", ",100", "100,", "1 200 000", "1.200.000"]
)
def test_amounts_with_a_decimal_comma_or_bad_grouping_are_refused(value):
    from cs_metrics.data.load import parse_expr

    df = pl.DataFrame({"m": [value]})
    assert df.select(parse_expr("m", "money")).item() is None
    assert df.select(parse_expr("m", "number")).item() is None


def test_decimal_comma_amount_is_an_unparseable_error_naming_the_row(tmp_path):
    subs = SUBSCRIPTIONS.replace(",100000", ',"80000,50"')
    folder = write(tmp_path / "dc", {"accounts.csv": ACCOUNTS, "subscriptions.csv": subs})
    report = validate_dataset(folder)
    [err] = report.errors
    assert (err.rule, err.column, err.examples) == ("unparseable", "mrr", [(2, "80000,50")])
    assert "80000,50" in err.message  # the message names the accepted forms


def test_huge_whole_numbers_are_not_integers_instead_of_overflowing(tmp_path):
    from cs_metrics.data.load import parse_expr

    out = pl.DataFrame({"n": ["1e40", "9007199254740993", "7"]}).select(parse_expr("n", "int"))
    assert out["n"].to_list() == [None, None, 7]


@pytest.mark.parametrize("named", ["../../../etc/passwd", "/etc/passwd", "sub/../../outside.csv"])
def test_mapped_file_outside_the_data_folder_is_refused_and_never_read(tmp_path, named, capsys):
    folder = write(tmp_path / "data", {"subscriptions.csv": SUBSCRIPTIONS})
    (tmp_path / "outside.csv").write_text("SECRET-LINE,x\n", "utf-8")
    mapping = tmp_path / "map.toml"
    mapping.write_text(f'[accounts]\nfile = "{named}"\n', "utf-8")
    with pytest.raises(DataError) as e:
        load_dataset(folder, mapping=mapping)
    assert [i.rule for i in e.value.issues] == ["path_outside"]
    assert main(["validate", str(folder), "--mapping", str(mapping)]) == 2
    out = capsys.readouterr()
    assert "path_outside" in out.out + out.err
    assert "root:" not in out.out + out.err and "SECRET-LINE" not in out.out + out.err


def test_mapped_file_through_a_symlink_out_of_the_folder_is_refused(tmp_path):
    folder = write(tmp_path / "data", {"subscriptions.csv": SUBSCRIPTIONS})
    (tmp_path / "real.csv").write_text(ACCOUNTS, "utf-8")
    (folder / "link.csv").symlink_to(tmp_path / "real.csv")
    with pytest.raises(DataError) as e:
        load_dataset(folder, mapping={"accounts": {"file": "link.csv"}})
    assert [i.rule for i in e.value.issues] == ["path_outside"]
    (folder / "sub").mkdir()
    (folder / "sub" / "acc.csv").write_text(ACCOUNTS, "utf-8")
    ds = load_dataset(folder, mapping={"accounts": {"file": "sub/acc.csv"}})  # inside: fine
    assert ds.accounts.collect().height == 2


def test_japanese_written_dates_are_read():
    from cs_metrics.data.load import parse_expr

    out = pl.DataFrame({"d": ["2024年9月5日", "２０２４年１０月１日", "2024年9月5日 9:00"]})
    assert out.select(parse_expr("d", "date"))["d"].to_list() == [
        dt.date(2024, 9, 5),
        dt.date(2024, 10, 1),
        dt.date(2024, 9, 5),
    ]


def test_pipe_separated_file_is_read(tmp_path):
    folder = write(
        tmp_path / "pipe",
        {"accounts.csv": ACCOUNTS.replace(",", "|"), "subscriptions.csv": SUBSCRIPTIONS},
    )
    assert load_dataset(folder).accounts.collect()["account_id"].to_list() == ["A001", "A002"]


def test_variation_selectors_and_tag_characters_are_invisible_too():
    from cs_metrics.data.load import parse_expr

    df = pl.DataFrame({"i": ["A001\ufe0f", "A\U000e0101001", "A\u2062001"]})
    assert df.select(parse_expr("i", "id"))["i"].to_list() == ["A001"] * 3


def test_an_unreadable_mapping_file_is_a_mapping_error_not_cannot_write(tmp_path, monkeypatch):
    from cs_metrics.data.load import load_mapping

    m = tmp_path / "m.toml"
    m.write_text("[accounts]\n", "utf-8")

    def denied(self, *a, **k):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", denied)
    with pytest.raises(DataError) as e:
        load_mapping(m)
    assert e.value.issues[0].rule == "mapping_invalid" and "Permission denied" in str(e.value)


@pytest.mark.parametrize(
    ("values", "dtype", "rule"),
    [
        ([20250101], pl.Int64, "unparseable"),  # an integer is not a date
        ([dt.timedelta(days=3)], pl.Duration("us"), "column_type"),
        ([dt.time(1, 2)], pl.Time, "unparseable"),
        ([dt.datetime(2025, 1, 1, tzinfo=dt.UTC)], pl.Datetime("us", "UTC"), None),
    ],
)
def test_typed_parquet_dates_of_any_type_are_dates_or_refused(tmp_path, values, dtype, rule):
    folder = tmp_path / "pq"
    folder.mkdir()
    pl.DataFrame({"account_id": ["A1"], "account_name": ["a"]}).write_parquet(
        folder / "accounts.parquet"
    )
    subs = {
        "subscription_id": ["S1"],
        "account_id": ["A1"],
        "product": ["p"],
        "start_date": pl.Series(values, dtype=dtype),
        "end_date": pl.Series([None], dtype=pl.Date),
        "mrr": [1000.0],
    }
    pl.DataFrame(subs).write_parquet(folder / "subscriptions.parquet")
    report = validate_dataset(folder)
    assert [i.rule for i in report.errors] == ([rule] if rule else [])


@pytest.mark.parametrize(
    ("series", "rule"),
    [
        (pl.Series([True]), "unparseable"),  # a boolean is not an amount
        (pl.Series([float("inf")]), "unparseable"),
        (pl.Series([2**64 - 1], dtype=pl.UInt64), "amount_implausible"),
        (pl.Series([1000], dtype=pl.Decimal(10, 2)), None),
    ],
)
def test_typed_parquet_amounts_of_any_type_are_numbers_or_refused(tmp_path, series, rule):
    folder = tmp_path / "pq"
    folder.mkdir()
    pl.DataFrame({"account_id": ["A1"], "account_name": ["a"]}).write_parquet(
        folder / "accounts.parquet"
    )
    pl.DataFrame(
        {
            "subscription_id": ["S1"],
            "account_id": ["A1"],
            "product": ["p"],
            "start_date": [dt.date(2025, 1, 1)],
            "end_date": pl.Series([None], dtype=pl.Date),
            "mrr": series,
        }
    ).write_parquet(folder / "subscriptions.parquet")
    report = validate_dataset(folder)
    assert [i.rule for i in report.errors] == ([rule] if rule else [])


def test_decode_bytes_iso2022_jp_and_euc_jp_are_read_not_mojibake():
    text = "account_id,account_name\nA1,株式会社テスト\nA2,ｶﾌﾞｼｷｶﾞｲｼｬ\n"
    assert decode_bytes(text.encode("iso2022_jp_ext")) == (text, "iso-2022-jp")
    assert decode_bytes("A1,丂".encode("iso2022_jp_1")) == ("A1,丂", "iso-2022-jp")  # JIS X 0212
    euc = "account_id,account_name\nA1,普通商事\nA2,四号\n"
    assert decode_bytes(euc.encode("euc_jp")) == (euc, "euc-jp")
    plain = "a,b\nx\x1b[0m,y\n"  # an ANSI colour code is no ISO-2022-JP escape: UTF-8
    assert decode_bytes(plain.encode()) == (plain, "utf-8")


def test_broken_iso2022_jp_is_refused_naming_it(tmp_path):
    from health_fixtures import write_cli_dataset

    d = write_cli_dataset(tmp_path / "d")
    (d / "accounts.csv").write_bytes(b"account_id,account_name\nA1,\x1b$B3t<\x1b(B\n")
    with pytest.raises(DataError) as e:
        load_dataset(d)
    assert "ISO-2022-JP" in str(e.value.issues[0].message)
