"""The loader's Salesforce-ID reduction (checked on bytes with numpy) equals the plain expression.

``cs_metrics.data.load.salesforce_id_expr`` reduces valid 18-character IDs to 15 characters by
checking the bytes of the 18-byte values only; the reference below is the per-character polars
expression it replaced. Every tricky value must agree.
"""

from __future__ import annotations

import random
import string

import polars as pl

from cs_metrics.data.load import _SF_ALPHABET, salesforce_id_expr


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


def test_salesforce_reduction_equals_the_reference():
    rng = random.Random(7)
    values = [_sfid(rng) for _ in range(3000)] + TEXTS + ["x" * 18, "ab" * 9, "Ａ" * 6]
    df = pl.DataFrame({"v": values}, schema={"v": pl.String})
    got = df.select(salesforce_id_expr(pl.col("v"))).to_series()
    want = df.select(ref_salesforce(pl.col("v"))).to_series()
    assert got.to_list() == want.to_list()
    assert (got != df["v"]).sum() > 1000  # many valid 18-character IDs were reduced
