"""The loader's fast parsing paths give exactly what the plain expression formulation gives.

``cs_metrics.data.load`` parses the common case cheaply (ASCII text, plain numbers, ISO dates,
IDs that are not 18 characters) and normalises only the other values. The references below are
the straightforward polars expressions the loader used before; every tricky value must agree.
"""

from __future__ import annotations

import random
import string

import polars as pl
import pytest

from cs_metrics.data.load import _SF_ALPHABET, parse_expr, salesforce_id_expr

# ---- references: the plain expression formulation -------------------------------------------


def ref_nfkc(e: pl.Expr) -> pl.Expr:
    return e.str.normalize("NFKC").str.strip_chars()


def ref_empty_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() == 0).then(None).otherwise(e)


def ref_salesforce(e: pl.Expr) -> pl.Expr:
    chunks = []
    for k in range(3):
        bits = pl.lit(0, dtype=pl.Int32)
        for i in range(5):
            upper = e.str.slice(5 * k + i, 1).str.contains("^[A-Z]$").cast(pl.Int32)
            bits = bits + upper * (1 << i)
        chunks.append(pl.lit(_SF_ALPHABET).str.slice(bits, 1))
    checksum = pl.concat_str(chunks)
    is_sf18 = e.str.contains(r"^[A-Za-z0-9]{18}$") & (
        e.str.slice(15, 3).str.to_uppercase() == checksum
    )
    return pl.when(is_sf18.fill_null(False)).then(e.str.slice(0, 15)).otherwise(e)


def ref_parse(kind: str) -> pl.Expr:
    e = pl.col("v")
    if kind in ("code", "id"):
        return ref_empty_to_null(ref_nfkc(e))
    if kind == "date":
        s = (
            ref_nfkc(e)
            .str.split(" ")
            .list.first()
            .str.replace_all("/", "-")
            .str.replace_all(r"\.", "-")
        )
        return s.str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    s = ref_nfkc(e).str.replace_all(r"[¥\\,\s円]", "").str.replace(r"^JPY", "")
    f = ref_empty_to_null(s).cast(pl.Float64, strict=False)
    f = pl.when(f.is_finite()).then(f).otherwise(None)
    if kind == "int":
        return pl.when(f == f.round(0)).then(f).otherwise(None).cast(pl.Int64)
    return f


def _sfid(rng: random.Random) -> str:
    base = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(15))
    suffix = "".join(
        _SF_ALPHABET[sum(1 << i for i in range(5) if base[5 * k + i].isupper())] for k in range(3)
    )
    r = rng.random()
    return base + (suffix.lower() if r < 0.2 else "AAA" if r < 0.3 else suffix)


TEXTS = [
    None,
    "",
    " ",
    "  A001 ",
    "A001",
    "Ａ００１",
    "ａｂｃ",
    "配信基本プラン",
    "ｶﾀｶﾅ",
    "\u3000x\u3000",
    "x\t",
    "é",
    "e\u0301",
    "①",
    "㍿",
    "ﬁ",
    "A" * 18,
    "Ａ" * 18,
    "0011000000AbCdEFGH",
]
DATES = [
    None,
    "",
    " ",
    "2024-01-01",
    "2024/1/5",
    "2024.03.04",
    "２０２４－０１－０１",
    "2024-13-01",
    "2024-02-30",
    "2024-01-01 10:00",
    "2024/01/01 0:00:00",
    "20240101",
    "2024-1-5",
    " 2024-01-01",
    "2024-01-01 ",
    "0224-04-01",
    "x",
    "2024-01-01x",
    "2024-01",
]
NUMBERS = [
    None,
    "",
    " ",
    "0",
    "-0",
    "12",
    "12.5",
    "-80000",
    "¥1,200,000",
    "￥1,200,000",
    "1,200,000円",
    "１２",
    "１，０００円",
    "JPY 5000",
    "JPY5000",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e3",
    "1E-2",
    "+5",
    ".5",
    "5.",
    " 12 ",
    "1 000",
    "12a",
    "三万円",
    "1" * 400,
    "3.0",
    "3.5",
    "0x10",
    "1_000",
]


@pytest.mark.parametrize(
    "kind, values",
    [
        ("code", TEXTS),
        ("id", TEXTS),
        ("date", DATES),
        ("money", NUMBERS),
        ("number", NUMBERS),
        ("int", NUMBERS),
    ],
)
def test_fast_parse_equals_the_reference(kind, values):
    df = pl.DataFrame({"v": values}, schema={"v": pl.String})
    got = df.select(parse_expr("v", kind)).to_series()
    want = df.select(ref_parse(kind).alias("v")).to_series()
    assert got.to_list() == want.to_list(), list(zip(values, got, want, strict=True))


def test_salesforce_reduction_equals_the_reference():
    rng = random.Random(7)
    values = [_sfid(rng) for _ in range(3000)] + TEXTS + ["x" * 18, "ab" * 9, "Ａ" * 6]
    df = pl.DataFrame({"v": values}, schema={"v": pl.String})
    got = df.select(salesforce_id_expr(pl.col("v"))).to_series()
    want = df.select(ref_salesforce(pl.col("v"))).to_series()
    assert got.to_list() == want.to_list()
    assert (got != df["v"]).sum() > 1000  # many valid 18-character IDs were reduced


def test_fast_parse_on_a_random_mix():
    rng = random.Random(3)
    pool = TEXTS[1:] + DATES[1:] + NUMBERS[1:]
    values = [rng.choice(pool) if rng.random() < 0.9 else None for _ in range(5000)]
    df = pl.DataFrame({"v": values}, schema={"v": pl.String})
    for kind in ("code", "date", "money", "int"):
        got = df.select(parse_expr("v", kind)).to_series()
        want = df.select(ref_parse(kind).alias("v")).to_series()
        assert got.to_list() == want.to_list(), kind
