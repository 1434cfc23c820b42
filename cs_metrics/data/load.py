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

import datetime as dt
import hashlib
import io
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from cs_metrics.data.issues import DataError, Issue
from cs_metrics.data.schema import NULLABLE_REQUIRED, TABLES, Column, Table

ROW = "_row"
ENCODINGS = ("utf-8", "cp932")
_SF_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


@dataclass
class SourceInfo:
    """Where a table came from."""

    table: str
    file: str
    format: str  # "csv" | "parquet"
    encoding: str | None
    sha256: str
    columns_found: list[str]
    renamed: dict[str, str] = field(default_factory=dict)
    first_row: int = 2  # row number of the first data row as in the file

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "sha256": self.sha256,
        }


@dataclass
class Dataset:
    """A loaded dataset: canonical LazyFrames per table (absent optional tables are missing).

    Every frame has the canonical columns of its table (optional ones filled with nulls when the
    file lacks them) plus ``_row``, the row number as in the file, for error messages.
    """

    path: Path
    frames: dict[str, pl.LazyFrame]
    sources: dict[str, SourceInfo]
    raw: dict[str, pl.LazyFrame]
    config: dict[str, Any]
    warnings: list[Issue] = field(default_factory=list)

    def has(self, name: str) -> bool:
        return name in self.frames

    def table(self, name: str) -> pl.LazyFrame | None:
        """The table's LazyFrame, or None when the optional table is absent."""
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
        return self.frames.get(name)

    def __getitem__(self, name: str) -> pl.LazyFrame:
        frame = self.table(name)
        if frame is None:
            raise KeyError(f"table {name!r} is not in the dataset {self.path}")
        return frame

    @property
    def accounts(self) -> pl.LazyFrame:
        return self["accounts"]

    @property
    def subscriptions(self) -> pl.LazyFrame:
        return self["subscriptions"]

    def encodings(self) -> dict[str, str | None]:
        """Detected encoding per table (None for Parquet)."""
        return {t: s.encoding for t, s in self.sources.items()}

    def checksums(self) -> dict[str, str]:
        """sha256 of every input file, by file name."""
        return {s.file: s.sha256 for s in self.sources.values()}

    def latest_data_date(self) -> dt.date | None:
        """Latest dated row: start dates, usage weeks, touchpoints, responses (not end dates)."""
        dates = []
        for name, t in TABLES.items():
            if name in self.frames:
                for col in t.date_columns_for_as_of:
                    dates.append(self.frames[name].select(pl.col(col).max()))
        if not dates:
            return None
        values = [v for df in pl.collect_all(dates) for v in df.row(0) if v is not None]
        return max(values) if values else None

    def default_as_of(self, today: dt.date | None = None) -> dt.date:
        """SPEC §3: the last complete month before today, no later than the latest data month."""
        from cs_metrics.periods import latest_complete_month

        candidate = latest_complete_month(today)
        latest = self.latest_data_date()
        if latest is not None and latest.replace(day=1) < candidate:
            return latest.replace(day=1)
        return candidate


# ---- encodings ---------------------------------------------------------------------------


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes; returns (text, encoding). UTF-8 BOM, UTF-8, then CP932 are tried.

    Raises UnicodeDecodeError (of the UTF-8 attempt) when none fits.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("cp932"), "cp932"
        except UnicodeDecodeError:
            raise utf8_error from None


# ---- value parsing -------------------------------------------------------------------------


def _nfkc(e: pl.Expr) -> pl.Expr:
    return e.str.normalize("NFKC").str.strip_chars()


def _empty_to_null(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() == 0).then(None).otherwise(e)


def salesforce_id_expr(e: pl.Expr) -> pl.Expr:
    """Reduce valid 18-character Salesforce IDs to their 15-character form (others unchanged).

    The last 3 characters of an 18-character ID encode which of the first 15 are upper case
    (5 bits per character, alphabet A-Z0-5); only IDs whose suffix checks out are reduced.
    """
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


def parse_expr(col: Column | str, kind: str | None = None, source_dtype: pl.DataType | None = None) -> pl.Expr:
    """Expression that parses raw column ``col`` of ``kind`` into its canonical dtype."""
    name = col.name if isinstance(col, Column) else col
    kind = kind or (col.kind if isinstance(col, Column) else "text")
    e = pl.col(name)
    src = source_dtype or pl.String()
    if src != pl.String():
        # Parquet (typed) input: cast to the canonical type
        if kind == "date":
            return e.cast(pl.Date, strict=False).alias(name)
        if kind in ("money", "number"):
            return e.cast(pl.Float64, strict=False).alias(name)
        if kind == "int":
            f = e.cast(pl.Float64, strict=False)
            return pl.when(f == f.round(0)).then(f).otherwise(None).cast(pl.Int64).alias(name)
        e = e.cast(pl.String)
    if kind == "text":
        return _empty_to_null(e.str.strip_chars()).alias(name)
    if kind == "code":
        return _empty_to_null(_nfkc(e)).alias(name)
    if kind == "id":
        return salesforce_id_expr(_empty_to_null(_nfkc(e))).alias(name)
    if kind == "date":
        s = _nfkc(e).str.split(" ").list.first().str.replace_all("/", "-").str.replace_all(r"\.", "-")
        return s.str.strptime(pl.Date, "%Y-%m-%d", strict=False).alias(name)
    if kind in ("money", "number", "int"):
        s = _nfkc(e).str.replace_all(r"[¥\\,\s円]", "").str.replace(r"^JPY", "")
        f = _empty_to_null(s).cast(pl.Float64, strict=False)
        if kind == "int":
            return pl.when(f == f.round(0)).then(f).otherwise(None).cast(pl.Int64).alias(name)
        return f.alias(name)
    raise ValueError(f"unknown column kind {kind!r}")


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


def load_mapping(mapping: str | Path | Mapping | None) -> dict[str, dict[str, Any]]:
    """Read a column-mapping TOML (or dict) into ``{table: {"file": ..., "columns": {...}}}``."""
    if mapping is None:
        return {}
    if isinstance(mapping, Mapping):
        raw = dict(mapping)
        where = "mapping"
    else:
        p = Path(mapping)
        if not p.is_file():
            raise DataError(
                [Issue("mapping", str(p), "mapping_missing", f"mapping file not found: {p}")]
            )
        try:
            raw = tomllib.loads(p.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise DataError(
                [Issue("mapping", str(p), "mapping_invalid", f"mapping file is not valid TOML: {e}")]
            ) from None
        where = str(p)
    out: dict[str, dict[str, Any]] = {}
    for tname, spec in raw.items():
        if tname not in TABLES:
            raise DataError(
                [
                    Issue(
                        "mapping",
                        where,
                        "mapping_invalid",
                        f"mapping names unknown table [{tname}]; known: {', '.join(TABLES)}",
                    )
                ]
            )
        if not isinstance(spec, Mapping):
            raise DataError(
                [Issue("mapping", where, "mapping_invalid", f"[{tname}] must be a table")]
            )
        cols = {
            unicodedata.normalize("NFKC", str(k)).strip(): str(v)
            for k, v in dict(spec.get("columns", {})).items()
        }
        out[tname] = {"file": spec.get("file"), "columns": cols}
    return out


# ---- loading -----------------------------------------------------------------------------


def _find_file(folder: Path, t: Table, mapping: dict[str, Any]) -> tuple[Path | None, Issue | None]:
    if mapping.get("file"):
        p = folder / mapping["file"]
        return (p, None) if p.is_file() else (
            None,
            Issue(t.name, str(p.name), "file_missing", f"mapped file not found: {p}"),
        )
    found = {
        f.suffix.lower(): f
        for f in folder.iterdir()
        if f.is_file() and f.stem == t.name and f.suffix.lower() in (".csv", ".parquet")
    }
    if len(found) > 1:
        names = ", ".join(sorted(f.name for f in found.values()))
        return None, Issue(
            t.name,
            names,
            "duplicate_table",
            f"table '{t.name}' is given twice ({names}): keep one file per table",
        )
    return (next(iter(found.values())) if found else None), None


def _read_csv(path: Path, t: Table) -> tuple[pl.DataFrame | None, str | None, Issue | None]:
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        return None, None, Issue(t.name, path.name, "empty_file", f"{path.name} is empty")
    try:
        text, encoding = decode_bytes(data)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return None, None, Issue(
            t.name,
            path.name,
            "undecodable",
            f"{path.name}: bytes at line {line} are neither UTF-8 nor CP932 (Shift_JIS); "
            "save the file as UTF-8 or CSV (Shift_JIS) from Excel",
            n_rows=1,
            examples=[(line, data[e.start : e.start + 8].hex(" "))],
        )
    try:
        df = pl.read_csv(
            text.encode("utf-8"),
            infer_schema=False,
            has_header=True,
        )
    except Exception as e:  # polars raises several error types for malformed CSV
        return None, encoding, Issue(
            t.name, path.name, "malformed_csv", f"{path.name} is not a readable CSV: {e}".split("\n")[0]
        )
    return df, encoding, None


def _read_parquet(path: Path, t: Table) -> tuple[pl.LazyFrame | None, Issue | None]:
    try:
        lf = pl.scan_parquet(path)
        lf.collect_schema()
    except Exception as e:
        return None, Issue(t.name, path.name, "unreadable", f"{path.name}: not a readable Parquet file: {e}")
    return lf, None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rename(columns: list[str], t: Table, colmap: dict[str, str]) -> tuple[dict[str, str], Issue | None]:
    """Map found header names to canonical names (NFKC + trimmed; mapping first)."""
    renames: dict[str, str] = {}
    for c in columns:
        norm = unicodedata.normalize("NFKC", c).strip().lstrip("\ufeff")
        target = colmap.get(norm) or colmap.get(c) or norm
        renames[c] = target
    targets = list(renames.values())
    dup = sorted({x for x in targets if targets.count(x) > 1})
    if dup:
        return renames, Issue(
            t.name, "", "duplicate_column", f"columns appear twice after mapping: {', '.join(dup)}"
        )
    return renames, None


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
        Configuration (dict or TOML path); used for the reason categories.

    Returns
    -------
    Dataset
        ``frames`` holds a LazyFrame per table present, with canonical columns and ``_row``;
        cancellations gain ``reason_category``.

    Raises
    ------
    DataError
        With every file-level problem found (all tables are inspected before raising).
    """
    from cs_metrics.config import load_config

    cfg = config if isinstance(config, dict) else load_config(config)
    folder = Path(path)
    if not folder.is_dir():
        raise DataError(
            [
                Issue(
                    "dataset",
                    str(folder),
                    "folder_missing",
                    f"data folder not found: {folder}" if not folder.exists()
                    else f"not a folder: {folder}",
                )
            ]
        )
    maps = load_mapping(mapping)
    issues: list[Issue] = []
    frames: dict[str, pl.LazyFrame] = {}
    raws: dict[str, pl.LazyFrame] = {}
    sources: dict[str, SourceInfo] = {}
    for t in TABLES.values():
        tmap = maps.get(t.name, {})
        file, problem = _find_file(folder, t, tmap)
        if problem:
            issues.append(problem)
            continue
        if file is None:
            if t.required:
                issues.append(
                    Issue(
                        t.name,
                        f"{t.name}.csv",
                        "file_missing",
                        f"required table '{t.name}' not found: expected {t.name}.csv or "
                        f"{t.name}.parquet in {folder} (or a 'file' for [{t.name}] in the mapping)",
                    )
                )
            continue
        encoding = None
        if file.suffix.lower() == ".parquet":
            lf, problem = _read_parquet(file, t)
            first_row = 1
            n_rows = None
        else:
            df, encoding, problem = _read_csv(file, t)
            lf = df.lazy() if df is not None else None
            first_row = 2
            n_rows = df.height if df is not None else None
            if df is not None and df.height == 0:
                problem = Issue(
                    t.name, file.name, "no_rows", f"{file.name} has a header but no data rows"
                )
        if problem:
            issues.append(problem)
            continue
        assert lf is not None
        schema = lf.collect_schema()
        found = list(schema.names())
        renames, problem = _rename(found, t, tmap.get("columns", {}))
        if problem:
            problem.file = file.name
            issues.append(problem)
            continue
        lf = lf.rename(renames)
        schema = lf.collect_schema()
        missing = [c for c in t.required_columns if c not in schema]
        if missing:
            hint = (
                "add them to the file, or map your column names with a mapping file "
                f"([{t.name}.columns] \"your name\" = \"{missing[0]}\"; see docs/mapping.md)"
            )
            issues.append(
                Issue(
                    t.name,
                    file.name,
                    "missing_column",
                    f"{file.name}: required column(s) {', '.join(missing)} not found; "
                    f"columns found: {', '.join(found)}; {hint}",
                    column=", ".join(missing),
                )
            )
            continue
        if n_rows is None:
            n_rows = lf.select(pl.len()).collect().item()
            if n_rows == 0:
                issues.append(Issue(t.name, file.name, "no_rows", f"{file.name} has no rows"))
                continue
        lf = lf.with_row_index(ROW, offset=first_row).with_columns(pl.col(ROW).cast(pl.Int64))
        exprs = [parse_expr(c, source_dtype=schema[c.name]) for c in t.columns if c.name in schema]
        exprs += [pl.lit(None, dtype=c.dtype).alias(c.name) for c in t.columns if c.name not in schema]
        known = {c.name for c in t.columns}
        extras = [c for c in schema.names() if c not in known]
        if t.extra_numeric:
            exprs += [parse_expr(c, "number", schema[c]) for c in extras]
        parsed = lf.with_columns(exprs).select(
            [ROW, *[c.name for c in t.columns], *(extras if t.extra_numeric else [])]
        )
        if t.name == "cancellations":
            parsed = parsed.with_columns(
                reason_category_expr(pl.col("reason"), cfg["reasons"]["categories"]).alias(
                    "reason_category"
                )
            )
        frames[t.name] = parsed
        raws[t.name] = lf
        sources[t.name] = SourceInfo(
            t.name, file.name, file.suffix.lower().lstrip("."), encoding, _sha256(file), found,
            {k: v for k, v in renames.items() if k != v}, first_row,
        )
    if issues:
        raise DataError(issues)
    return Dataset(folder, frames, sources, raws, dict(cfg))


def parse_issues(ds: Dataset) -> list[Issue]:
    """Values that are present in the file but do not parse (dates, amounts, integers).

    Also: required values that are empty (except ``subscriptions.end_date``, empty = open-ended).
    """
    max_ex = int(ds.config.get("validation", {}).get("max_examples", 5))
    checks: list[tuple[str, Column, str, pl.LazyFrame]] = []
    for name, raw in ds.raw.items():
        t = TABLES[name]
        schema = raw.collect_schema()
        parsed = ds.frames[name]
        for c in t.columns:
            if c.name not in schema:
                continue
            joined = raw.select(ROW, pl.col(c.name).cast(pl.String).alias("__raw")).join(
                parsed.select(ROW, pl.col(c.name).alias("__parsed")), on=ROW, how="left"
            )
            if c.kind in ("date", "money", "number", "int"):
                bad = joined.filter(
                    pl.col("__raw").str.strip_chars().str.len_chars().gt(0)
                    & pl.col("__parsed").is_null()
                )
                checks.append((name, c, "unparseable", bad))
            if c.required and (name, c.name) not in NULLABLE_REQUIRED:
                empty = raw.select(ROW, pl.col(c.name).cast(pl.String).alias("__raw")).filter(
                    pl.col("__raw").is_null()
                    | (pl.col("__raw").str.strip_chars().str.len_chars() == 0)
                )
                checks.append((name, c, "required_value", empty))
    if not checks:
        return []
    counts = pl.collect_all(
        [lf.select(pl.len().alias("n"), pl.col(ROW).head(max_ex).implode().alias("rows"),
                   pl.col("__raw").head(max_ex).implode().alias("vals")) for *_, lf in checks]
    )
    out: list[Issue] = []
    for (name, c, rule, _), df in zip(checks, counts, strict=True):
        n = df["n"][0]
        if not n:
            continue
        rows = df["rows"][0].to_list()
        vals = df["vals"][0].to_list()
        file = ds.sources[name].file
        if rule == "unparseable":
            what = {
                "date": "dates that are not YYYY-MM-DD or YYYY/MM/DD",
                "money": "amounts that are not numbers (e.g. ¥1,200,000)",
                "number": "values that are not numbers",
                "int": "values that are not whole numbers",
            }[c.kind]
            msg = f"{file}: column {c.name}: {n} row(s) with {what}"
        else:
            msg = f"{file}: column {c.name}: {n} row(s) with an empty required value"
        out.append(Issue(name, file, rule, msg, column=c.name, n_rows=int(n),
                         examples=list(zip(rows, vals, strict=True))))
    return out
