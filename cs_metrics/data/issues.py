"""Structured data-quality findings shared by the loader and the validation gate.

They travel to the user inside :class:`cs_metrics.errors.DataError`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Issue"]


@dataclass
class Issue:
    """One finding: which file, column and rule, how many rows, and example rows.

    ``rows`` are row numbers as in the file (CSV: the header is row 1, so the first data row is
    row 2; Parquet: the first row is row 1). ``examples`` pairs a row number with its value.
    """

    table: str
    file: str
    rule: str
    message: str
    column: str | None = None
    severity: str = "error"  # "error" blocks metrics; "warning" is shown only
    n_rows: int = 0
    examples: list[tuple[int, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["examples"] = [{"row": r, "value": v} for r, v in self.examples]
        return d
