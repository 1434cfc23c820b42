"""The one schema definition of every input table (SPEC §2).

Each column has a *kind* that decides how a raw export value is parsed:

- ``id``: identifiers and codes: NFKC-normalised (full-width -> half-width), trimmed; Salesforce
  18-character IDs with a valid checksum are reduced to their 15-character form so both match.
- ``text``: free text (names, notes): trimmed, otherwise kept as written.
- ``code``: short codes and categories (product, kind, status): NFKC, trimmed.
- ``date``: ``YYYY-MM-DD``, ``YYYY/MM/DD`` or ``YYYY/M/D`` (an Excel time part is ignored).
- ``money``: amounts, ``¥1,200,000`` / ``￥1,200,000`` / ``1200000`` (Float64).
- ``int``: whole numbers (Int64); ``number``: any number (Float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

__all__ = ["Column", "NULLABLE_REQUIRED", "ONBOARDING_STATUSES", "TABLES", "Table", "table"]

KIND_DTYPES: dict[str, pl.DataType] = {
    "id": pl.String(),
    "text": pl.String(),
    "code": pl.String(),
    "date": pl.Date(),
    "money": pl.Float64(),
    "int": pl.Int64(),
    "number": pl.Float64(),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = True

    @property
    def dtype(self) -> pl.DataType:
        return KIND_DTYPES[self.kind]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    required: bool = False
    # usage_weekly accepts any other numeric measure column
    extra_numeric: bool = False

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


C = Column

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "accounts",
            (
                C("account_id", "id"),
                C("account_name", "text"),
                C("industry", "code", False),
                C("csm", "text", False),
                C("acquisition_cost", "money", False),
            ),
            key=("account_id",),
            required=True,
        ),
        Table(
            "subscriptions",
            (
                C("subscription_id", "id"),
                C("account_id", "id"),
                C("product", "code"),
                C("start_date", "date"),
                C("end_date", "date"),  # empty = open-ended; else the last day of service
                C("mrr", "money"),
                C("plan", "code", False),
                C("currency", "code", False),
                C("billing_interval_months", "int", False),
            ),
            key=("subscription_id",),
            required=True,
        ),
        Table(
            "cancellations",
            (
                C("account_id", "id"),
                C("cancelled_on", "date"),
                C("reason", "text"),
                C("note", "text", False),
            ),
        ),
        Table(
            "usage_weekly",
            (
                C("account_id", "id"),
                C("week_start", "date"),
                C("logins", "number"),
                C("deliveries", "number"),
                C("outcome_rate", "number", False),
            ),
            key=("account_id", "week_start"),
            extra_numeric=True,
        ),
        Table(
            "touchpoints",
            (
                C("account_id", "id"),
                C("occurred_on", "date"),
                C("kind", "code"),
                C("csm", "text", False),
            ),
        ),
        Table(
            "nps_responses",
            (
                C("response_id", "id"),
                C("account_id", "id"),
                C("responded_on", "date"),
                C("score", "int"),
                C("survey", "code", False),
                C("comment", "text", False),
            ),
            key=("response_id",),
        ),
        Table(
            "onboarding_sessions",
            (
                C("account_id", "id"),
                C("user_id", "id"),
                C("session_no", "int"),
                C("status", "code"),
                C("held_on", "date", False),
            ),
            key=("user_id", "session_no"),
        ),
        Table(
            "cs_costs",
            (C("month", "date"), C("amount", "money")),
            key=("month",),
        ),
    ]
}

# Columns whose empty value is allowed even though the column is required.
NULLABLE_REQUIRED: set[tuple[str, str]] = {("subscriptions", "end_date")}

ONBOARDING_STATUSES = ("done", "scheduled", "missed", "cancelled")


def table(name: str) -> Table:
    """The schema of table ``name`` (KeyError lists the known tables)."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}") from None
