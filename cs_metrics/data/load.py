"""Load a dataset folder into canonical polars LazyFrames (SPEC §2).

One folder, one file per table: ``<table>.csv`` or ``<table>.parquet`` (or the file named in a
mapping). CSV may be UTF-8, UTF-8 with BOM or CP932/Shift_JIS (detected and recorded). A mapping
TOML renames an export's columns to the canonical ones without editing the export::

    [accounts]
    file = "取引先.csv"            # optional
    [accounts.columns]
    "取引先ID" = "account_id"
    "取引先名" = "account_name"

Values are parsed by their column kind (see :mod:`cs_metrics.data.schema`). Problems that make a
table unusable (no folder, missing required file, empty file, header only, undecodable bytes, the
same table as both CSV and Parquet, a missing required column) raise :class:`DataError`; value
problems (an unparseable date, say) are found by :func:`parse_issues`, which the validation gate
runs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from cs_metrics.config import load_config
from cs_metrics.data.dataset import Dataset, SourceInfo
from cs_metrics.data.issues import Issue
from cs_metrics.data.schema import NULLABLE_REQUIRED, TABLES, Column, Table
from cs_metrics.errors import DataError, MappingError
from cs_metrics.messages import lang_of, message

__all__ = [
    "AMBIGUOUS_AMOUNT_RE",
    "AMBIGUOUS_KINDS",
    "COMMON_HEADERS",
    "CURRENCY_ALIASES",
    "ENCODINGS",
    "INVISIBLE_CHARS",
    "ISO2022_CODECS",
    "ROW",
    "ambiguous_amount_expr",
    "amount_text_expr",
    "decode_bytes",
    "detect_separator",
    "empty_required_rows",
    "inside_folder",
    "load_dataset",
    "load_mapping",
    "other_currency_expr",
    "parse_expr",
    "parse_issues",
    "reason_category_expr",
    "salesforce_id_expr",
    "strip_invisible",
    "table_of_name",
    "unread_file_issues",
]

ROW = "_row"
ENCODINGS = ("utf-8", "cp932")
_SF_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


# ---- encodings ---------------------------------------------------------------------------


def _cp932_private_use(text: str) -> int | None:
    """Index of the first private-use character (U+E000..U+F8FF), or None.

    Python's cp932 maps the stray bytes 0xA0, 0xFD-0xFF and the user-defined area to private-use
    characters, so almost any byte string "decodes"; no real export contains them.
    """
    for i, ch in enumerate(text):
        if "\ue000" <= ch <= "\uf8ff":
            return i
    return None


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes; returns (text, encoding). UTF-8 BOM, UTF-16 BOM, UTF-16 without a BOM
    (NUL bytes: no UTF-8 or CP932 text has them), ISO-2022-JP (7-bit bytes with its escape
    sequences: valid UTF-8 too, but read as UTF-8 its names would be escape codes), UTF-8,
    CP932, then EUC-JP (only when CP932 cannot read the bytes).

    Raises UnicodeDecodeError when none fits: the error of the encoding that read furthest
    (so its ``start`` points at the bad bytes of a file that is mostly CP932, or mostly UTF-8).
    CP932 text with private-use characters (stray bytes such as 0xFF) does not fit; bytes with
    NULs that are not UTF-16 text (UTF-32, a binary file) do not fit either.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" (tab-separated)
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data:
        return _decode_utf16_without_bom(data)
    if _ISO2022_ESCAPE.search(data) and max(data) < 0x80:
        return _decode_iso2022(data)
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("cp932")
        except UnicodeDecodeError as cp932_error:
            try:  # EUC-JP (older Unix exports): only when CP932 cannot read it
                return data.decode("euc_jp"), "euc-jp"
            except UnicodeDecodeError:
                pass
            raise (cp932_error if cp932_error.start > utf8_error.start else utf8_error) from None
        bad = _cp932_private_use(text)
        if bad is None:
            return text, "cp932"
        start = len(text[:bad].encode("cp932"))
        if start > utf8_error.start:
            raise UnicodeDecodeError(
                "cp932", data, start, start + 1, "not a character of CP932 text"
            ) from None
        raise utf8_error from None


# The escape sequences that switch ISO-2022-JP (JIS, 7-bit mail encoding) to a Japanese set:
# JIS X 0208 (ESC $ @, ESC $ B), JIS X 0212/0213 (ESC $ ( D/O/P/Q), JIS X 0201 (ESC ( I/J).
_ISO2022_ESCAPE = re.compile(rb"\x1b(?:\$[@B]|\$\([DOPQ]|\([IJ])")
ISO2022_CODECS = ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2004", "iso2022_jp_2")


def _decode_iso2022(data: bytes) -> tuple[str, str]:
    """7-bit text with ISO-2022-JP escape sequences: decoded as ISO-2022-JP (also its JIS X 0212
    / 0213 and half-width kana variants); UnicodeDecodeError naming ISO-2022-JP otherwise, never
    read as UTF-8 with the escape sequences in the names."""
    error: UnicodeDecodeError | None = None
    for codec in ISO2022_CODECS:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError as e:
            error = e if error is None or e.start > error.start else error
            continue
        if "\x1b" not in text:
            return text, "iso-2022-jp"
    start = error.start if error is not None else data.find(b"\x1b")
    raise UnicodeDecodeError("iso2022_jp", data, start, start + 1, "not ISO-2022-JP text")


def _decode_utf16_without_bom(data: bytes) -> tuple[str, str]:
    """UTF-16 text without a byte-order mark: little-endian when the NUL bytes of ASCII
    characters sit at odd offsets, else big-endian. Text that still holds a NUL character after
    decoding is not UTF-16 (UTF-32, or not text at all): UnicodeDecodeError."""
    odd, even = data[1::2].count(0), data[0::2].count(0)
    encoding = "utf-16-le" if odd >= even else "utf-16-be"
    text = data.decode(encoding)  # raises UnicodeDecodeError for an odd length or a lone half
    nul = text.find("\x00")
    if nul >= 0:
        raise UnicodeDecodeError(
            encoding, data, 2 * nul, 2 * nul + 2, "NUL character: not a text file"
        )
    return text, encoding


# ---- value parsing -------------------------------------------------------------------------


# Characters that do not show (zero-width space U+200B, joiners, word joiner, BOM, soft hyphen,
# bidi marks: Unicode category Cf; the Hangul fillers that render as blanks; variation selectors). An ID or code
# that differs from another only by them looks identical, so they are removed from IDs, codes and
# headers (and reported by the gate's ``invisible_characters`` warning).
INVISIBLE_CHARS = r"[\p{Cf}\u034F\u115F\u1160\u3164\uFFA0\uFE00-\uFE0F\U000E0100-\U000E01EF]"
_FILLERS = frozenset("\u034f\u115f\u1160\u3164\uffa0") | {
    chr(c) for c in [*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]
}

# Amounts: digits with thousands separators only in groups of three ("1,200,000"), or none
# ("1200000"); an optional decimal part with a point and an exponent. "80000,50" (a decimal
# comma) or "1,20,000" are not amounts: refused, never read as 8,000,050 or 120,000.
_AMOUNT_RE = r"^[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$"
# Amounts whose dot may be a thousands separator (as in German or Indonesian exports): one to
# three digits, not starting with 0, then groups of exactly three after each dot ("80.000",
# "1.234.567"). Read as a decimal they would be 1,000 times too small, silently: refused with
# the rule ``ambiguous_amount`` (money and integers; "80000.5", "0.500", "1200.000" stay
# ordinary decimals).
AMBIGUOUS_AMOUNT_RE = r"^[+-]?[1-9][0-9]{0,2}(?:\.[0-9]{3})+$"
AMBIGUOUS_KINDS = ("money", "int")
# Dates: a four-digit year first (2026-09-05, 2026/9/5, 2026.9.5, 2026年9月5日), optionally a
# time after a space or "T". "24/9/5" or "5/9/2024" are refused, never read as the year 0024.
_DATE_RE = r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$"


def strip_invisible(text: str) -> str:
    """``text`` without the characters that do not show (see :data:`INVISIBLE_CHARS`)."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf" and ch not in _FILLERS)


def _nfkc(e: pl.Expr) -> pl.Expr:
    return e.str.normalize("NFKC").str.strip_chars()


def _nfkc_visible(e: pl.Expr) -> pl.Expr:
    return e.str.normalize("NFKC").str.replace_all(INVISIBLE_CHARS, "").str.strip_chars()


def _whole(f: pl.Expr) -> pl.Expr:
    """A whole number that fits an Int64 exactly (a larger one is not an integer to count with)."""
    return (f == f.round(0)) & (f.abs() < 2.0**53)


def _empty_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() == 0).then(None).otherwise(e)


def _sf15_series(s: pl.Series) -> pl.Series:
    """Valid 18-character Salesforce IDs reduced to 15 characters, checked on the bytes.

    Only values of 18 bytes can qualify; their bytes are checked with numpy (alphanumeric, and
    the suffix encodes the upper-case positions), so a column without such IDs costs one length
    check (the per-character string expressions took seconds per million rows).
    """
    import numpy as np

    is18 = (s.str.len_bytes() == 18).fill_null(False)
    if not is18.any():
        return s
    cand = s.filter(is18)
    b = np.frombuffer(cand.str.join("").item().encode("utf-8"), dtype=np.uint8).reshape(-1, 18)
    upper = (b >= 65) & (b <= 90)
    lower = (b >= 97) & (b <= 122)
    alnum = (upper | lower | ((b >= 48) & (b <= 57))).all(axis=1)
    bits = upper[:, :15].reshape(-1, 3, 5).astype(np.int64) @ (1 << np.arange(5))
    checksum = np.frombuffer(_SF_ALPHABET.encode(), dtype=np.uint8)[bits]
    suffix = np.where(lower[:, 15:], b[:, 15:] - 32, b[:, 15:])
    valid = pl.Series(alnum & (checksum == suffix).all(axis=1))
    if not valid.any():
        return s
    return s.clone().scatter(is18.arg_true().filter(valid), cand.filter(valid).str.slice(0, 15))


def salesforce_id_expr(e: pl.Expr) -> pl.Expr:
    """Reduce valid 18-character Salesforce IDs to their 15-character form (others unchanged).

    The last 3 characters of an 18-character ID encode which of the first 15 are upper case
    (5 bits per character, alphabet A-Z0-5); only IDs whose suffix checks out are reduced.
    """
    return e.map_batches(_sf15_series, return_dtype=pl.String, is_elementwise=True)


def parse_expr(
    col: Column | str, kind: str | None = None, source_dtype: pl.DataType | None = None
) -> pl.Expr:
    """Expression that parses raw column ``col`` of ``kind`` into its canonical dtype."""
    name = col.name if isinstance(col, Column) else col
    kind = kind or (col.kind if isinstance(col, Column) else "text")
    e = pl.col(name)
    src = source_dtype or pl.String()
    if src != pl.String():
        # Parquet (typed) input: a date from a date or timestamp, a number from a number; any
        # other type (a duration, a time of day, a boolean) is no value: null, so the gate
        # reports it as unparseable instead of a cast failing or guessing
        if kind == "date":
            if src == pl.Date:
                return e.alias(name)
            if isinstance(src, pl.Datetime):
                return e.dt.date().alias(name)
            return pl.lit(None, pl.Date).alias(name)
        if kind in ("money", "number", "int"):
            if not src.is_numeric():
                return pl.lit(None, pl.Int64 if kind == "int" else pl.Float64).alias(name)
            f = e.cast(pl.Float64, strict=False)
            if kind == "int":
                return pl.when(_whole(f)).then(f).otherwise(None).cast(pl.Int64).alias(name)
            return pl.when(f.is_finite()).then(f).otherwise(None).alias(name)
        e = e.cast(pl.String, strict=False)
    if kind == "text":
        return _empty_to_null(e.str.strip_chars()).alias(name)
    if kind == "code":
        return _empty_to_null(_nfkc_visible(e)).alias(name)
    if kind == "id":
        # load_dataset applies salesforce_id_expr in a second step: nesting
        # the normalisation inside it would evaluate it once per checksum character
        return _empty_to_null(_nfkc_visible(e)).alias(name)
    if kind == "date":
        s = (
            _nfkc(e)
            .str.replace(r"^([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日", "${1}-${2}-${3}")
            .str.split(" ")
            .list.first()
            .str.split("T")
            .list.first()
            .str.replace_all("/", "-")
            .str.replace_all(r"\.", "-")
        )
        s = pl.when(s.str.contains(_DATE_RE)).then(s)
        return s.str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias(name)
    if kind in ("money", "number", "int"):
        s = amount_text_expr(e)
        ok = s.str.contains(_AMOUNT_RE)
        if kind in AMBIGUOUS_KINDS:
            ok = ok & ~s.str.contains(AMBIGUOUS_AMOUNT_RE)
        s = pl.when(ok).then(s.str.replace_all(",", ""))
        f = _empty_to_null(s).cast(pl.Float64, strict=False)
        f = pl.when(f.is_finite()).then(f).otherwise(None)  # "nan", "inf" are not amounts
        if kind == "int":
            return pl.when(_whole(f)).then(f).otherwise(None).cast(pl.Int64).alias(name)
        return f.alias(name)
    raise ValueError(f"unknown column kind {kind!r}")


def amount_text_expr(e: pl.Expr) -> pl.Expr:
    """The text of an amount without its currency marks (NFKC, ``JPY``, ``¥``, ``\\``, ``円``)."""
    return _nfkc(e).str.replace(r"^JPY", "").str.replace_all(r"[¥\\円]", "").str.strip_chars()


def ambiguous_amount_expr(raw: pl.Expr) -> pl.Expr:
    """True where the raw text of an amount or integer has dots that may group thousands
    (:data:`AMBIGUOUS_AMOUNT_RE`): such a value is not read (rule ``ambiguous_amount``)."""
    return amount_text_expr(raw.cast(pl.String)).str.contains(AMBIGUOUS_AMOUNT_RE).fill_null(False)


# Other ways exports write the reporting currency in a currency column (compared after NFKC
# and upper-casing): a line in 円 is a JPY line.
CURRENCY_ALIASES: dict[str, tuple[str, ...]] = {"JPY": ("円", "¥", "YEN", "日本円", "\\")}


def other_currency_expr(currency: pl.Expr, reporting: str) -> pl.Expr:
    """True where a line's ``currency`` is given and is not the reporting currency (or one of
    its :data:`CURRENCY_ALIASES`): such amounts cannot be added to the others (error
    ``currency_mismatch``; nothing is converted)."""
    cur = reporting.strip().upper()
    same = [cur, *(a.upper() for a in CURRENCY_ALIASES.get(cur, ()))]
    text = currency.str.normalize("NFKC").str.strip_chars().str.to_uppercase()
    return currency.is_not_null() & (text.str.len_chars() > 0) & ~text.is_in(same)


def reason_category_expr(reason: pl.Expr, categories: Mapping[str, list[str]]) -> pl.Expr:
    """Map free-text reasons to configured categories (first matching category wins)."""
    text = reason.str.normalize("NFKC")
    out = text.str.strip_chars()
    for category, patterns in reversed(list(categories.items())):
        pats = [unicodedata.normalize("NFKC", p) for p in patterns] + [
            unicodedata.normalize("NFKC", category)
        ]
        hit = pl.any_horizontal([text.str.contains(p, literal=True) for p in pats])
        out = pl.when(hit).then(pl.lit(category)).otherwise(out)
    return out


# ---- mapping -----------------------------------------------------------------------------

# Column names of typical Japanese exports (Salesforce, Excel), used only to *suggest* a mapping
# line when a required column is missing; the loader never renames by guesswork.
COMMON_HEADERS: dict[str, str] = {
    "取引先ID": "account_id",
    "取引先 ID": "account_id",
    "顧客ID": "account_id",
    "取引先名": "account_name",
    "顧客名": "account_name",
    "会社名": "account_name",
    "業種": "industry",
    "担当CS": "csm",
    "CS担当": "csm",
    "担当者": "csm",
    "獲得コスト": "acquisition_cost",
    "契約ID": "subscription_id",
    "契約番号": "subscription_id",
    "商品": "product",
    "商品名": "product",
    "製品": "product",
    "プラン": "plan",
    "契約開始日": "start_date",
    "開始日": "start_date",
    "契約終了日": "end_date",
    "終了日": "end_date",
    "月額": "mrr",
    "月額料金": "mrr",
    "MRR": "mrr",
    "通貨": "currency",
    "請求間隔": "billing_interval_months",
    "解約日": "cancelled_on",
    "解約理由": "reason",
    "備考": "note",
    "週": "week_start",
    "週開始日": "week_start",
    "ログイン数": "logins",
    "配信数": "deliveries",
    "成果率": "outcome_rate",
    "実施日": "occurred_on",
    "種別": "kind",
    "回答ID": "response_id",
    "回答日": "responded_on",
    "スコア": "score",
    "ユーザーID": "user_id",
    "回": "session_no",
    "ステータス": "status",
    "月": "month",
    "金額": "amount",
}


def _mapping_error(where: str, detail: str, lang: str) -> MappingError:
    return MappingError(
        [
            Issue(
                "mapping",
                where,
                "mapping_invalid",
                message("mapping_invalid", lang, path=where, detail=detail),
            )
        ]
    )


def load_mapping(
    mapping: str | Path | Mapping | None, lang: str = "ja"
) -> dict[str, dict[str, Any]]:
    """Read a column-mapping TOML (or dict) into ``{table: {"file": ..., "columns": {...}}}``.

    ``columns`` maps the export's header (NFKC-normalised, trimmed) to a canonical column name.
    Raises DataError (rule ``mapping_missing`` or ``mapping_invalid``) naming the problem.
    """
    if mapping is None:
        return {}
    if isinstance(mapping, Mapping):
        raw = dict(mapping)
        where = "mapping"
    else:
        p = Path(mapping)
        if not p.is_file():
            raise MappingError(
                [
                    Issue(
                        "mapping",
                        str(p),
                        "mapping_missing",
                        message("mapping_missing", lang, path=p),
                    )
                ]
            )
        try:
            raw = tomllib.loads(p.read_text("utf-8-sig"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise _mapping_error(str(p), f"not valid TOML (UTF-8): {e}", lang) from None
        except OSError as e:
            raise _mapping_error(str(p), e.strerror or str(e), lang) from None
        where = str(p)
    out: dict[str, dict[str, Any]] = {}
    for tname, spec in raw.items():
        if tname not in TABLES:
            raise _mapping_error(
                where, f"unknown table [{tname}]; known: {', '.join(TABLES)}", lang
            )
        if not isinstance(spec, Mapping):
            raise _mapping_error(where, f"[{tname}] must be a table", lang)
        unknown_keys = sorted(set(spec) - {"file", "columns"})
        if unknown_keys:
            raise _mapping_error(
                where,
                f"[{tname}] has unknown key(s) {', '.join(unknown_keys)} (allowed: file, columns)",
                lang,
            )
        columns = spec.get("columns", {})
        if not isinstance(columns, Mapping):
            raise _mapping_error(where, f"[{tname}.columns] must be a table", lang)
        known = {c.name for c in TABLES[tname].columns}
        cols: dict[str, str] = {}
        for k, v in columns.items():
            if not isinstance(v, str):
                raise _mapping_error(where, f"[{tname}.columns] {k!r} must map to a string", lang)
            if v not in known and not TABLES[tname].extra_numeric:
                raise _mapping_error(
                    where,
                    f"[{tname}.columns] {k!r} = {v!r}: {v!r} is not a column of {tname} "
                    f"(columns: {', '.join(sorted(known))})",
                    lang,
                )
            cols[strip_invisible(unicodedata.normalize("NFKC", str(k))).strip()] = v
        file = spec.get("file")
        if file is not None and not isinstance(file, str):
            raise _mapping_error(where, f"[{tname}] file must be a string", lang)
        out[tname] = {"file": file, "columns": cols}
    return out


# ---- loading -----------------------------------------------------------------------------


def inside_folder(folder: Path, name: str | Path) -> Path | None:
    """``folder / name`` when it resolves (symbolic links and ``..`` followed) to a path inside
    ``folder``; None otherwise (an absolute path elsewhere, ``../../etc/passwd``, a link out).
    Nothing is read."""
    try:
        base = folder.resolve()
        target = (folder / name).resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL in the name
        return None
    if target == base or not target.is_relative_to(base):
        return None
    return folder / name


def _find_file(
    folder: Path, t: Table, mapping: dict[str, Any], lang: str = "ja"
) -> tuple[Path | None, Issue | None]:
    if mapping.get("file"):
        p = inside_folder(folder, mapping["file"])
        if p is None:
            named = str(mapping["file"])
            return None, Issue(
                t.name,
                named,
                "path_outside",
                message("path_outside", lang, path=repr(named), folder=folder),
            )
        if p.is_file():
            return p, None
        return None, Issue(
            t.name, str(p.name), "mapped_file_missing", message("mapped_file_missing", lang, path=p)
        )
    found = sorted(
        f
        for f in folder.iterdir()
        if f.is_file()
        and f.stem.lower() == t.name
        and f.suffix.lower() in (".csv", ".parquet")
        and not f.name.startswith(".")
    )
    if len(found) > 1:
        names = ", ".join(f.name for f in found)
        return None, Issue(
            t.name,
            names,
            "duplicate_table",
            message("duplicate_table", lang, table=t.name, names=names),
        )
    return (found[0] if found else None), None


def _bad_line(data: bytes, line_start: int, err: UnicodeDecodeError) -> str:
    """The line with the bad bytes, undecodable bytes shown as \\xNN."""
    end = data.find(b"\n", err.start)
    line = data[line_start : end if end >= 0 else len(data)].rstrip(b"\r")
    enc = "cp932" if err.encoding.lower().replace("_", "") in ("cp932", "shiftjis") else "utf-8"
    text = line.decode(enc, errors="backslashreplace")
    return text if len(text) <= 80 else text[:77] + "..."


def _guess_name(encoding: str) -> str:
    enc = encoding.lower().replace("_", "").replace("-", "")
    if enc in ("cp932", "shiftjis"):
        return "CP932"
    if enc.startswith("iso2022"):
        return "ISO-2022-JP"
    if enc.startswith("utf16"):
        return "UTF-32 / binary"
    return "UTF-8"


def _undecodable_issue(
    path: Path, t: Table, data: bytes, err: UnicodeDecodeError, lang: str
) -> Issue:
    """Row (line) and, where the header can be read, the column of the first bad bytes."""
    line_start = data.rfind(b"\n", 0, err.start) + 1
    row = data[: err.start].count(b"\n") + 1
    guess = _guess_name(err.encoding)
    col_name = None
    text_like = guess in ("UTF-8", "CP932")
    if not text_like:  # NUL bytes: no line or column to point at, nothing to show
        row = 1
    try:
        enc = "cp932" if guess == "CP932" else "utf-8"
        header_end = data.find(b"\n")
        header = data[: header_end if header_end >= 0 else len(data)].decode(enc, errors="replace")
        names = next(csv.reader([header.lstrip("\ufeff").rstrip("\r")]))
        prefix = data[line_start : err.start].decode(enc, errors="replace")
        idx = len(next(csv.reader([prefix]), [""])) - 1 if prefix else 0
        if 0 <= idx < len(names) and row > 1:
            col_name = unicodedata.normalize("NFKC", names[idx]).strip()
    except Exception:  # best effort only: the row is what matters
        col_name = None
    col_text = ""
    if col_name:
        col_text = f"（列 {col_name}）" if lang == "ja" else f" (column {col_name})"
    return Issue(
        t.name,
        path.name,
        "undecodable",
        message("undecodable", lang, file=path.name, row=row, col_text=col_text, guess=guess),
        column=col_name,
        n_rows=1,
        examples=[(row, _bad_line(data, line_start, err))] if text_like else [],
    )


def _read_csv(
    path: Path, t: Table, lang: str = "ja"
) -> tuple[pl.DataFrame | None, str | None, Issue | None]:
    try:
        data = path.read_bytes()
    except OSError as e:
        detail = e.strerror or str(e)
        issue = Issue(
            t.name,
            path.name,
            "unreadable",
            message("unreadable", lang, file=path.name, detail=detail),
        )
        return None, None, issue
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        return (
            None,
            None,
            Issue(t.name, path.name, "empty_file", message("empty_file", lang, file=path.name)),
        )
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return (
            None,
            None,
            Issue(t.name, path.name, "not_csv", message("not_csv", lang, file=path.name)),
        )
    try:
        text, encoding = decode_bytes(data)
    except UnicodeDecodeError as e:
        return None, None, _undecodable_issue(path, t, data, e, lang)
    if not text.strip(" \t\r\n\ufeff"):
        issue = Issue(t.name, path.name, "empty_file", message("empty_file", lang, file=path.name))
        return None, encoding, issue
    separator = detect_separator(text)
    try:
        df = pl.read_csv(
            text.encode("utf-8"),
            infer_schema=False,
            has_header=True,
            separator=separator,
        )
    except Exception as e:  # polars raises several error types for malformed CSV
        row, detail = _csv_problem(text, lang, separator)
        if row is None:
            detail = str(e).strip().split("\n")[0][:200]
        issue = Issue(
            t.name,
            path.name,
            "malformed_csv",
            message("malformed_csv", lang, file=path.name, detail=detail),
            n_rows=1 if row else 0,
            examples=[(row, _line(text, row))] if row else [],
        )
        return None, encoding, issue
    return _drop_blank_header_columns(df), encoding, None


def detect_separator(text: str) -> str:
    """The field separator of a CSV text, read off its header line: the most frequent of ``,``,
    tab, ``;`` and ``|`` outside quotes (a tie or none: ``,``). Excel writes ``;`` where the
    decimal mark is a comma, and tab for "Unicode text"."""
    first_line = text.lstrip("\r\n\ufeff").split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = {sep: unquoted.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda sep: (counts[sep], sep == ","))
    return best if counts[best] > 0 else ","


def _drop_blank_header_columns(df: pl.DataFrame) -> pl.DataFrame:
    """Drop columns without a header name whose cells are all empty (Excel's trailing ",,")."""
    names = df.columns
    blank = [
        c for c in names if not c.strip() or (re.fullmatch(r"_duplicated_\d+", c) and "" in names)
    ]
    empty = [
        c
        for c in blank
        if df.select((pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")).all()).item()
    ]
    return df.drop(empty) if empty else df


def _line(text: str, row: int) -> str:
    lines = text.splitlines()
    line = lines[row - 1] if 0 < row <= len(lines) else ""
    return line if len(line) <= 80 else line[:77] + "..."


def _csv_problem(text: str, lang: str, separator: str = ",") -> tuple[int | None, str]:
    """The first structural problem of a CSV text: (row as in the file, description)."""
    reader = csv.reader(io.StringIO(text), strict=True, delimiter=separator)
    n_header = None
    row = 0
    try:
        for row, fields in enumerate(reader, 1):
            if n_header is None:
                n_header = len(fields)
            elif fields and len(fields) > n_header:
                if lang == "ja":
                    return row, (
                        f"{row} 行目の項目数が {len(fields)} 個で、見出し行の {n_header} 個より多い"
                    )
                return row, f"row {row} has {len(fields)} fields, the header has {n_header}"
    except csv.Error as e:
        bad = row + 1
        if lang == "ja":
            return bad, f'{bad} 行目が CSV として壊れています（閉じていない引用符 " など: {e}）'
        return bad, f'row {bad} is not valid CSV (e.g. an unclosed quote "): {e}'
    return None, ""


def _read_parquet(
    path: Path, t: Table, lang: str = "ja"
) -> tuple[pl.LazyFrame | None, Issue | None]:
    try:
        lf = pl.scan_parquet(path)
        lf.collect_schema()
    except Exception as e:
        detail = str(e).strip().split("\n")[0][:300]
        return None, Issue(
            t.name,
            path.name,
            "unreadable",
            message("unreadable", lang, file=path.name, detail=detail),
        )
    return lf, None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rename(
    columns: list[str], t: Table, colmap: dict[str, str], lang: str = "ja"
) -> tuple[dict[str, str], Issue | None]:
    """Map found header names to canonical names.

    A header is NFKC-normalised and trimmed; the mapping is applied first; otherwise a header that
    equals a canonical column name up to case, spaces and hyphens (``Account ID``) gets that name.
    """
    canonical = {c.name for c in t.columns}
    renames: dict[str, str] = {}
    for c in columns:
        norm = strip_invisible(unicodedata.normalize("NFKC", c)).strip()
        target = colmap.get(norm) or colmap.get(c)
        if target is None:
            loose = re.sub(r"[\s\-]+", "_", norm.lower())
            target = loose if norm not in canonical and loose in canonical else norm
        renames[c] = target
    targets = list(renames.values())
    dup = sorted({x for x in targets if targets.count(x) > 1})
    for c in columns:
        m = re.fullmatch(r"(.*)_duplicated_\d+", c)
        if m and m.group(1) in columns:
            dup.append(renames.get(m.group(1), m.group(1)))
    dup = sorted(set(dup))
    if dup:
        return renames, Issue(
            t.name,
            "",
            "duplicate_column",
            "",
            column=", ".join(dup),
        )
    return renames, None


def _mapping_example(t: Table, missing: list[str], found: list[str]) -> str:
    """A ready-to-paste mapping line for the first missing column (a found synonym if any)."""
    for col in missing:
        for f in found:
            norm = unicodedata.normalize("NFKC", f).strip()
            if COMMON_HEADERS.get(norm) == col or COMMON_HEADERS.get(f) == col:
                return f'"{norm}" = "{col}"'
    return f'"<your column>" = "{missing[0]}"'


def table_of_name(name: str) -> str | None:
    """The table a file name looks like it holds, read or not: its NFKC, lower-case name starts
    with the table's name followed by nothing alphanumeric (``usage_weekly.tsv``,
    ``usage_weekly (1).csv``, ``Usage_Weekly_2025.xlsx``); None for other names, hidden files
    and mapping files (``.toml``)."""
    norm = unicodedata.normalize("NFKC", name).strip().lower()
    if norm.startswith(".") or norm.endswith(".toml"):
        return None
    for table in sorted(TABLES, key=len, reverse=True):
        if norm.startswith(table):
            rest = norm[len(table) :]
            if not rest or not (rest[0].isalnum()):
                return table
    return None


def _files_like(folder: Path, table: str) -> list[str]:
    return sorted(
        f.name for f in folder.iterdir() if f.is_file() and table_of_name(f.name) == table
    )


def unread_file_issues(
    folder: Path, read: Mapping[str, str], hinted: set[str], lang: str = "ja"
) -> list[Issue]:
    """Warnings ``file_not_read``: a file of the folder named like a table (see
    :func:`table_of_name`) that the loader does not read, naming it and what is read for that
    table (another file, or nothing: the table is then absent). ``read`` maps table -> file read;
    files already named in an error (``hinted``) are left out."""
    out = []
    read_files = set(read.values())
    for f in sorted(folder.iterdir(), key=lambda p: p.name):
        table = table_of_name(f.name)
        if table is None or not f.is_file() or f.name in read_files or f.name in hinted:
            continue
        what = read.get(table)
        if lang == "ja":
            used = f"{what} を読みます" if what else "このテーブルはないものとして扱います"
        else:
            used = f"{what} is read" if what else "the table is treated as absent"
        out.append(
            Issue(
                table,
                f.name,
                "file_not_read",
                message("file_not_read", lang, file=f.name, table=table, used=used),
                severity="warning",
            )
        )
    return out


def _other_files_hint(folder: Path, t: Table, lang: str) -> str:
    others = _files_like(folder, t.name)
    if not others:
        return ""
    names = ", ".join(others)
    if lang == "ja":
        return f"（{names} は読めない形式です: CSV か Parquet で保存してください）"
    return f" ({names} is not a supported format: save it as CSV or Parquet)"


@dataclass
class _Opened:
    """A table's file read (not yet checked against the schema)."""

    file: Path
    frame: pl.LazyFrame
    encoding: str | None  # None: Parquet
    first_row: int  # row number of the first data row as in the file
    n_rows: int | None  # known for CSV (before dropping empty rows)


@dataclass
class _Loaded:
    """A table loaded: its canonical frame, its raw text, where it came from."""

    frame: pl.LazyFrame
    raw: pl.LazyFrame
    source: SourceInfo
    warnings: list[Issue]


def _file_missing_issue(folder: Path, t: Table, lang: str) -> Issue:
    extra = _other_files_hint(folder, t, lang)
    return Issue(
        t.name,
        f"{t.name}.csv",
        "file_missing",
        message("file_missing", lang, table=t.name, folder=folder, extra=extra),
    )


def _open_table(
    folder: Path, t: Table, tmap: dict[str, Any], lang: str
) -> tuple[_Opened | None, Issue | None]:
    """Find and read the table's file: (None, None) for an absent optional table."""
    file, problem = _find_file(folder, t, tmap, lang)
    if problem:
        return None, problem
    if file is None:
        return None, _file_missing_issue(folder, t, lang) if t.required else None
    if file.suffix.lower() == ".parquet":
        lf, problem = _read_parquet(file, t, lang)
        opened = _Opened(file, lf, None, 1, None) if lf is not None else None
        return opened, problem
    df, encoding, problem = _read_csv(file, t, lang)
    if problem:
        return None, problem
    assert df is not None
    if df.height == 0:
        return None, Issue(t.name, file.name, "no_rows", message("no_rows", lang, file=file.name))
    return _Opened(file, df.lazy(), encoding, 2, df.height), None


def _missing_column_issue(
    file: Path, t: Table, missing: list[str], found: list[str], lang: str
) -> Issue:
    shown = [unicodedata.normalize("NFKC", c).lstrip("\ufeff").strip() for c in found]
    text = message(
        "missing_column",
        lang,
        file=file.name,
        table=t.name,
        missing=", ".join(missing),
        found=", ".join(shown) or "-",
        example=_mapping_example(t, missing, found),
    )
    return Issue(t.name, file.name, "missing_column", text, column=", ".join(missing))


def _unreadable_types(schema: pl.Schema, t: Table) -> list[str]:
    """Columns of the schema whose type cannot be read as values (nested, binary, duration)."""
    return [
        f"{c.name} ({schema[c.name]})"
        for c in t.columns
        if c.name in schema
        and (
            schema[c.name].is_nested()
            or schema[c.name] in (pl.Binary, pl.Object)
            or isinstance(schema[c.name], pl.Duration)
        )
    ]


def _canonical_names(
    opened: _Opened, t: Table, tmap: dict[str, Any], lang: str
) -> tuple[pl.LazyFrame, list[str], dict[str, str], Issue | None]:
    """The frame with canonical column names: (frame, headers found, renames, problem):
    duplicate columns after mapping, a missing required column, an unreadable column type."""
    file = opened.file
    found = list(opened.frame.collect_schema().names())
    renames, problem = _rename(found, t, tmap.get("columns", {}), lang)
    if problem:
        problem.file = file.name
        problem.message = message("duplicate_column", lang, file=file.name, columns=problem.column)
        return opened.frame, found, renames, problem
    lf = opened.frame.rename(renames)
    schema = lf.collect_schema()
    missing = [c for c in t.required_columns if c not in schema]
    if missing:
        return lf, found, renames, _missing_column_issue(file, t, missing, found, lang)
    bad = _unreadable_types(schema, t)
    if bad:
        text = message("column_type", lang, file=file.name, columns=", ".join(bad))
        column = ", ".join(b.split(" (")[0] for b in bad)
        return lf, found, renames, Issue(t.name, file.name, "column_type", text, column=column)
    return lf, found, renames, None


def _numbered_rows(
    lf: pl.LazyFrame, opened: _Opened, t: Table, lang: str
) -> tuple[pl.LazyFrame, Issue | None]:
    """Rows numbered as in the file (``_row``); in CSV a row with every cell empty (",,,,")
    carries no data and is dropped; a table left without rows is ``no_rows``."""
    names = lf.collect_schema().names()
    lf = lf.with_row_index(ROW, offset=opened.first_row).with_columns(pl.col(ROW).cast(pl.Int64))
    n_rows = opened.n_rows
    if opened.encoding is not None:
        cells = [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in names]
        lf = lf.filter(~pl.all_horizontal(cells))
        n_rows = None
    if n_rows is None and lf.select(pl.len()).collect().item() == 0:
        name = opened.file.name
        return lf, Issue(t.name, name, "no_rows", message("no_rows", lang, file=name))
    return lf, None


def _parsed_table(
    lf: pl.LazyFrame, schema: pl.Schema, t: Table, extras: list[str], cfg: Any
) -> pl.LazyFrame:
    """The canonical frame: every column parsed by its kind (absent optional columns null),
    Salesforce IDs reduced, kept extra measures, cancellations' reason categories."""
    exprs = [parse_expr(c, source_dtype=schema[c.name]) for c in t.columns if c.name in schema]
    exprs += [pl.lit(None, dtype=c.dtype).alias(c.name) for c in t.columns if c.name not in schema]
    kept = extras if t.extra_numeric else []
    exprs += [parse_expr(c, "number", schema[c]) for c in kept]
    ids = [salesforce_id_expr(pl.col(c.name)).alias(c.name) for c in t.columns if c.kind == "id"]
    parsed = (
        lf.with_columns(exprs).with_columns(ids).select([ROW, *[c.name for c in t.columns], *kept])
    )
    if t.name == "cancellations":
        categories = cfg["reasons"]["categories"]
        category = reason_category_expr(pl.col("reason"), categories).alias("reason_category")
        parsed = parsed.with_columns(category)
    return parsed


def _load_table(
    folder: Path, t: Table, tmap: dict[str, Any], cfg: Any, lang: str
) -> tuple[_Loaded | None, Issue | None]:
    """One table, read, named, numbered and parsed: (None, None) when an optional table is
    absent; (None, issue) for a file-level problem."""
    opened, problem = _open_table(folder, t, tmap, lang)
    if opened is None or problem:
        return None, problem
    lf, found, renames, problem = _canonical_names(opened, t, tmap, lang)
    if problem:
        return None, problem
    schema = lf.collect_schema()
    lf, problem = _numbered_rows(lf, opened, t, lang)
    if problem:
        return None, problem
    file = opened.file
    known = {c.name for c in t.columns}
    extras = [c for c in schema.names() if c not in known]
    warnings = []
    if extras and not t.extra_numeric:
        text = message("column_ignored", lang, file=file.name, columns=", ".join(extras))
        warnings.append(Issue(t.name, file.name, "column_ignored", text, severity="warning"))
    source = SourceInfo(
        t.name,
        file.name,
        file.suffix.lower().lstrip("."),
        opened.encoding,
        _sha256(file),
        tuple(found),
        {k: v for k, v in renames.items() if k != v},
        opened.first_row,
    )
    return _Loaded(_parsed_table(lf, schema, t, extras, cfg), lf, source, warnings), None


def load_dataset(
    path: str | Path,
    mapping: str | Path | Mapping | None = None,
    config: Mapping[str, Any] | str | Path | None = None,
) -> Dataset:
    """Load a dataset folder into canonical LazyFrames.

    Parameters
    ----------
    path
        Folder with one file per table (``accounts.csv``, ``subscriptions.parquet``, ...).
    mapping
        Optional column mapping (TOML path or dict), see the module docstring.
    config
        Configuration (dict or TOML path); used for the reason categories and the message
        language (``general.lang``).

    Returns
    -------
    Dataset
        ``frames`` holds a LazyFrame per table present, with canonical columns and ``_row``;
        cancellations gain ``reason_category``. ``warnings`` lists ignored columns and files
        named like a table that are not read (``file_not_read``).

    Raises
    ------
    DataError
        With every file-level problem found (all tables are inspected before raising).
    """
    cfg = load_config(config)
    lang = lang_of(cfg)
    folder = Path(path)
    if not folder.is_dir():
        rule = "folder_missing" if not folder.exists() else "not_a_folder"
        raise DataError([Issue("dataset", str(folder), rule, message(rule, lang, path=folder))])
    maps = load_mapping(mapping, lang)
    issues: list[Issue] = []
    loaded: dict[str, _Loaded] = {}
    for t in TABLES.values():
        table, problem = _load_table(folder, t, maps.get(t.name, {}), cfg, lang)
        if problem:
            issues.append(problem)
        elif table is not None:
            loaded[t.name] = table
    if issues:
        raise DataError(issues)
    warnings = [w for table in loaded.values() for w in table.warnings]
    read = {name: table.source.file for name, table in loaded.items()}
    warnings += unread_file_issues(folder, read, set(), lang)
    return Dataset(
        folder,
        {name: table.frame for name, table in loaded.items()},
        {name: table.source for name, table in loaded.items()},
        {name: table.raw for name, table in loaded.items()},
        cfg,
        tuple(warnings),
    )


def parse_issues(ds: Dataset, required_values: bool = True) -> list[Issue]:
    """Values that are present in the file but do not parse (dates, amounts, integers).

    With ``required_values``, also required values that are empty (except
    ``subscriptions.end_date``, empty = open-ended); the validation gate leaves those to the Great
    Expectations suites (``required_values=False``).
    """
    lang = lang_of(ds.config)
    max_ex = int(ds.config.get("validation", {}).get("max_examples", 5))
    checks: list[tuple[str, Column, str, pl.LazyFrame]] = []
    for name, raw in ds.raw.items():
        t = TABLES[name]
        schema = raw.collect_schema()
        for c in t.columns:
            if c.name not in schema:
                continue
            if c.kind in ("date", "money", "number", "int"):
                # frames[name] is row-aligned with raw[name] (same rows, same order)
                joined = pl.concat(
                    [
                        raw.select(ROW, pl.col(c.name).cast(pl.String).alias("__raw")),
                        ds.frames[name].select(pl.col(c.name).alias("__parsed")),
                    ],
                    how="horizontal",
                )
                bad = joined.filter(
                    pl.col("__raw").str.strip_chars().str.len_chars().gt(0)
                    & pl.col("__parsed").is_null()
                )
                if c.kind in AMBIGUOUS_KINDS:
                    dots = ambiguous_amount_expr(pl.col("__raw"))
                    checks.append((name, c, "unparseable", bad.filter(~dots)))
                    checks.append((name, c, "ambiguous_amount", bad.filter(dots)))
                else:
                    checks.append((name, c, "unparseable", bad))
            if required_values and c.required and (name, c.name) not in NULLABLE_REQUIRED:
                checks.append((name, c, "required_value", empty_required_rows(raw, c.name)))
    if not checks:
        return []
    counts = pl.collect_all(
        [
            lf.select(
                pl.len().alias("n"),
                pl.col(ROW).head(max_ex).implode().alias("rows"),
                pl.col("__raw").head(max_ex).implode().alias("vals"),
            )
            for *_, lf in checks
        ]
    )
    out: list[Issue] = []
    for (name, c, rule, _), df in zip(checks, counts, strict=True):
        n = df["n"][0]
        if not n:
            continue
        rows = df["rows"][0].to_list()
        vals = df["vals"][0].to_list()
        file = ds.sources[name].file
        msg = message(rule, lang, file=file, column=c.name, n=int(n), kind=c.kind)
        out.append(
            Issue(
                name,
                file,
                rule,
                msg,
                column=c.name,
                n_rows=int(n),
                examples=list(zip(rows, vals, strict=True)),
            )
        )
    return out


def empty_required_rows(raw: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """Rows (``_row``, ``__raw``) of a raw frame whose value in ``column`` is empty."""
    return raw.select(ROW, pl.col(column).cast(pl.String).alias("__raw")).filter(
        pl.col("__raw").is_null() | (pl.col("__raw").str.strip_chars().str.len_chars() == 0)
    )
