"""The immutable :class:`Dataset`: canonical tables, where they came from, the configuration, and
the one memo of intermediate results.

A dataset never changes after loading: its tables, sources and configuration are read-only
mappings. An analyst who wants a filtered view derives a new dataset::

    small = ds.with_tables(subscriptions=ds["subscriptions"].filter(pl.col("account_id") != "A1"))

and the new dataset starts with an empty memo, so nothing computed on the old tables is reused.
Metric functions memoise shared intermediates with explicit keys through :meth:`Dataset.memo`
(``ds.memo(("account_segments", month), build)``); nothing else is stored on a dataset.

The data's months (SPEC §3) are answered here too: the export date, the default month and the
range of months that can be reported.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import polars as pl

from cs_metrics.config import Config, load_config
from cs_metrics.data.issues import Issue
from cs_metrics.data.schema import TABLES
from cs_metrics.errors import DataError, PeriodError
from cs_metrics.periods import Month, MonthLike, last_active_index_expr, month_index_expr

__all__ = ["Activity", "Dataset", "SourceInfo", "activity_date_exprs", "memoised"]

T = TypeVar("T")

# Weekly data may stop a few days short of a month's end (SPEC §3).
MONTH_END_SLACK_DAYS = 6
# Stray rows (SPEC §3: one stray row does not move the default month): activity dated after a
# gap of more than STRAY_GAP_DAYS without any activity in any table, on at most
# max(1, STRAY_MAX_SHARE x the distinct activity dates) distinct dates: a typo'd year or a late
# import, not the data's end. They are left out of the export date (and reported by the gate).
STRAY_GAP_DAYS = 31
STRAY_MAX_SHARE = 0.01


@dataclass(frozen=True)
class SourceInfo:
    """Where a table came from."""

    table: str
    file: str
    format: str  # "csv" | "parquet"
    encoding: str | None
    sha256: str
    columns_found: tuple[str, ...]
    renamed: Mapping[str, str] = field(default_factory=dict)
    first_row: int = 2  # row number of the first data row as in the file

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded dataset: a canonical LazyFrame per table present (absent optional tables are
    missing), read-only.

    Every frame has the canonical columns of its table (optional ones filled with nulls when the
    file lacks them) plus ``_row``, the row number as in the file, for error messages. ``raw``
    holds the unparsed text of each table (row-aligned with ``frames``) for the validation gate.
    """

    path: Path
    frames: Mapping[str, pl.LazyFrame]
    sources: Mapping[str, SourceInfo] = field(default_factory=dict)
    raw: Mapping[str, pl.LazyFrame] = field(default_factory=dict)
    config: Config = field(default_factory=load_config)
    warnings: tuple[Issue, ...] = ()
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.frames) - set(TABLES))
        if unknown:
            raise KeyError(f"unknown table(s) {unknown}; known: {', '.join(TABLES)}")
        set_ = object.__setattr__
        set_(self, "path", Path(self.path))
        set_(self, "frames", MappingProxyType(dict(self.frames)))
        set_(self, "sources", MappingProxyType(dict(self.sources)))
        set_(self, "raw", MappingProxyType(dict(self.raw)))
        set_(self, "config", load_config(self.config))
        set_(self, "warnings", tuple(self.warnings))

    # ---- tables ------------------------------------------------------------------------------

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

    def with_tables(self, **frames: pl.LazyFrame | pl.DataFrame | None) -> Dataset:
        """A new dataset with these tables replaced (``None`` removes an optional table).

        The new dataset has its own empty memo. A replaced table loses its ``raw`` text and
        source (they describe the file, not the derived table).
        """
        for name in frames:
            if name not in TABLES:
                raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
        new = dict(self.frames)
        for name, frame in frames.items():
            if frame is None:
                new.pop(name, None)
            else:
                new[name] = frame.lazy()
        keep = {k: v for k, v in self.raw.items() if k not in frames}
        sources = {k: v for k, v in self.sources.items() if k not in frames}
        return Dataset(self.path, new, sources, keep, self.config, self.warnings)

    def with_config(self, config: Config | Mapping[str, Any]) -> Dataset:
        """The same tables under another configuration (a new, empty memo)."""
        return Dataset(self.path, self.frames, self.sources, self.raw, config, self.warnings)

    def collected(self) -> Dataset:
        """The same dataset with every table computed once (same sources and raw text)."""
        names = list(self.frames)
        done = pl.collect_all(list(self.frames.values()))
        frames = {n: df.lazy() for n, df in zip(names, done, strict=True)}
        return Dataset(self.path, frames, self.sources, self.raw, self.config, self.warnings)

    # ---- the memo ----------------------------------------------------------------------------

    def memo(self, key: tuple[Any, ...], build: Callable[[], T]) -> T:
        """The value stored under ``key``, built by ``build()`` on first use.

        Keys name the function and its arguments (``("account_segments", month)``). The memo
        belongs to this dataset object only; :meth:`with_tables` starts a new one.
        """
        try:
            return self._memo[key]
        except KeyError:
            value = build()
            self._memo[key] = value
            return value

    # ---- provenance --------------------------------------------------------------------------

    def encodings(self) -> dict[str, str | None]:
        """Detected encoding per table (None for Parquet)."""
        return {t: s.encoding for t, s in self.sources.items()}

    def checksums(self) -> dict[str, str]:
        """sha256 of every input file, by file name."""
        return {s.file: s.sha256 for s in self.sources.values()}

    # ---- months (SPEC §3) --------------------------------------------------------------------

    def export_date(self, today: dt.date | None = None) -> dt.date:
        """The latest date of observed activity, never after ``today``.

        The last day of a usage week, a touchpoint, an NPS response, an onboarding session
        marked done; never a contract's start or end. Without any of those tables: ``today``.
        Stray rows (a few dates after more than a month without any activity) are left out.
        """
        return self.activity(today).export_date

    def activity(self, today: dt.date | None = None) -> Activity:
        """The data's observed activity (SPEC §3): per activity table its first and last date
        (stray rows left out), the export date and where stray rows begin."""
        today = today or dt.date.today()
        return self.memo(("activity", today), lambda: _activity(self, today))

    def first_active_month(self) -> Month | None:
        """The first month with an active account (a paid line active on its last day)."""
        return self.memo(("first_active_month",), lambda: _first_active_month(self))

    def default_as_of(self, today: dt.date | None = None) -> Month:
        """The last month that ended before ``today`` and that the data covers to its end.

        Covered = its last day is at most 6 days after :meth:`export_date` (weekly data may stop
        a few days short). One stray row a few days into a month never makes it the default.
        """
        today = today or dt.date.today()
        export = self.export_date(today)
        m = Month.parse(today) - 1
        while m.last_day > export + dt.timedelta(days=MONTH_END_SLACK_DAYS):
            m = m - 1
        first = self.first_active_month()
        if first is None:
            raise DataError([_no_active_issue(self)])
        return m if m >= first else first

    def month_range(self, today: dt.date | None = None) -> tuple[Month, Month]:
        """(first, last) month that can be reported: first active month .. default month."""
        last = self.default_as_of(today)
        first = self.first_active_month()
        assert first is not None  # default_as_of raised otherwise
        return first, last

    def resolve_month(self, as_of: MonthLike | None, today: dt.date | None = None) -> Month:
        """The month a command reports: ``as_of`` checked against :meth:`month_range`, or the
        default month when ``as_of`` is None.

        Raises
        ------
        PeriodError
            ``month_invalid`` for text that is not a month; ``month_out_of_range`` (naming the
            data's range) for a month before the first active month or after the default month.
        """
        if as_of is None or (isinstance(as_of, str) and not as_of.strip()):
            return self.default_as_of(today)
        m = Month.parse(as_of)
        first, last = self.month_range(today)
        if not first <= m <= last:
            raise PeriodError("month_out_of_range", month=str(m), first=str(first), last=str(last))
        return m


def memoised(fn: Callable[..., T]) -> Callable[..., T]:
    """Memoise ``fn(ds, as_of, *args, **kwargs)`` in ``ds``'s memo.

    The key is the function's qualified name, the month and the other arguments; a call with an
    unhashable argument (a ``by`` frame) is computed without the memo. Use it for functions whose
    result several sections, rules or commands share (segments, health scores).
    """

    @functools.wraps(fn)
    def wrapper(ds: Dataset, as_of: MonthLike, *args: Any, **kwargs: Any) -> T:
        extra = (*args, *sorted(kwargs.items()))
        if not all(isinstance(x, Hashable) for x in _flat(extra)):
            return fn(ds, as_of, *args, **kwargs)
        key = (fn.__module__, fn.__qualname__, Month.parse(as_of), extra)
        return ds.memo(key, lambda: fn(ds, as_of, *args, **kwargs))

    return wrapper


def _flat(items: tuple[Any, ...]) -> list[Any]:
    out: list[Any] = []
    for x in items:
        out.extend(_flat(x) if isinstance(x, tuple) else [x])
    return out


@dataclass(frozen=True)
class Activity:
    """The data's observed activity (SPEC §3), from :meth:`Dataset.activity`.

    ``tables``: activity table -> (first, last) date of its activity, stray rows left out (a
    table with no activity by today is absent); ``export_date``: the latest of them (today
    without any); ``stray_after``: table -> the date after which its activity is stray (rows
    dated after it, up to today, were left out), for the tables that have stray rows.
    """

    tables: Mapping[str, tuple[dt.date, dt.date]]
    export_date: dt.date
    stray_after: Mapping[str, dt.date]


def activity_date_exprs() -> dict[str, pl.Expr]:
    """The date of observed activity of each activity table's rows (SPEC §3): the last day of
    a usage week, a touchpoint, an NPS response, an onboarding session marked done."""
    return {
        "usage_weekly": pl.col("week_start") + pl.duration(days=6),
        "touchpoints": pl.col("occurred_on"),
        "nps_responses": pl.col("responded_on"),
        "onboarding_sessions": pl.when(pl.col("status") == "done").then(pl.col("held_on")),
    }


def _activity(ds: Dataset, today: dt.date) -> Activity:
    """Distinct activity dates per table (a few thousand at most), the stray tail cut off."""
    queries = {
        name: ds.frames[name]
        .select(expr.alias("d"))
        .filter(pl.col("d") <= today)
        .unique()
        .select(pl.lit(name).alias("table"), "d")
        for name, expr in activity_date_exprs().items()
        if name in ds.frames
    }
    if not queries:
        return Activity({}, today, {})
    dates = pl.concat(pl.collect_all(list(queries.values())))
    if dates.height == 0:
        return Activity({}, today, {})
    cut = _stray_cut(dates["d"].unique().sort())
    kept = dates.filter(pl.col("d") <= cut) if cut is not None else dates
    spans = kept.group_by("table").agg(pl.col("d").min().alias("a"), pl.col("d").max().alias("b"))
    tables = {t: (a, b) for t, a, b in spans.sort("table").iter_rows()}
    stray = {}
    if cut is not None:
        late = dates.filter(pl.col("d") > cut)["table"].unique().sort().to_list()
        stray = {t: cut for t in late}
    return Activity(tables, max(b for _, b in tables.values()), stray)


def _stray_cut(days: pl.Series) -> dt.date | None:
    """The last date before the stray tail of sorted distinct activity dates, or None (no
    stray tail). The dates fall into runs separated by gaps of more than STRAY_GAP_DAYS; the
    trailing runs are stray while they hold at most max(1, STRAY_MAX_SHARE x all) dates; the
    first run never is."""
    frame = pl.DataFrame({"d": days}).with_columns(
        run=(pl.col("d").diff().dt.total_days() > STRAY_GAP_DAYS).fill_null(False).cum_sum()
    )
    limit = max(1, int(STRAY_MAX_SHARE * frame.height))
    runs = frame.group_by("run").agg(pl.len().alias("n"), pl.col("d").max()).sort("run")
    runs = runs.with_columns(tail=pl.col("n").reverse().cum_sum().reverse())
    stray = runs.filter((pl.col("run") > 0) & (pl.col("tail") <= limit))
    if stray.height == 0:
        return None
    first_stray = int(stray["run"].min())
    return runs.filter(pl.col("run") == first_stray - 1)["d"].item()


def _first_active_month(ds: Dataset) -> Month | None:
    subs = ds.frames.get("subscriptions")
    if subs is None:
        return None
    first = month_index_expr(pl.col("start_date"))
    last = last_active_index_expr(pl.col("end_date"))
    value = (
        subs.filter((pl.col("mrr") > 0) & pl.col("start_date").is_not_null())
        .filter(pl.col("end_date").is_null() | (last >= first))
        .select(first.min())
        .collect()
        .item()
    )
    return None if value is None else Month(int(value))


def _no_active_issue(ds: Dataset) -> Issue:
    from cs_metrics.messages import lang_of, message

    file = ds.sources["subscriptions"].file if "subscriptions" in ds.sources else "subscriptions"
    return Issue(
        "subscriptions", file, "no_active_month", message("no_active_month", lang_of(ds.config))
    )
