"""The validation gate: file-level checks (loader), value parsing, Great Expectations suites
(``expectations/*.json``) and the cross-table checks GX cannot express.

``validate_dataset`` never raises for bad data: it returns a :class:`ValidationReport` whose
``errors`` block every metric command and report, and whose ``warnings`` are shown only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cs_metrics.data.issues import DataError, Issue
from cs_metrics.data.load import Dataset, load_dataset, parse_issues


@dataclass
class ValidationReport:
    """Result of the gate. ``dataset`` is None when a file-level problem stopped loading."""

    path: str
    issues: list[Issue] = field(default_factory=list)
    dataset: Dataset | None = None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors and self.dataset is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "errors": [i.to_dict() for i in self.errors],
            "warnings": [i.to_dict() for i in self.warnings],
            "encodings": self.dataset.encodings() if self.dataset else {},
        }

    def format(self, lang: str = "ja") -> str:
        return format_issues(self.issues, lang=lang, report=self)


def validate_dataset(
    path: str | Path | Dataset,
    mapping: Any = None,
    config: Any = None,
) -> ValidationReport:
    """Run the whole gate on a dataset folder (or an already loaded Dataset)."""
    if isinstance(path, Dataset):
        ds = path
    else:
        try:
            ds = load_dataset(path, mapping=mapping, config=config)
        except DataError as e:
            return ValidationReport(str(path), list(e.issues), None)
    issues = list(ds.warnings) + parse_issues(ds)
    return ValidationReport(str(ds.path), issues, ds)


_LABELS = {
    "ja": {
        "title": "データ検証",
        "ok": "問題はありません",
        "errors": "エラー",
        "warnings": "警告",
        "file": "ファイル",
        "column": "列",
        "rule": "ルール",
        "rows": "行数",
        "examples": "例（行: 値）",
        "encoding": "文字コード",
        "blocked": "エラーがあるため指標は計算しません。ファイルを修正して再実行してください。",
    },
    "en": {
        "title": "Data validation",
        "ok": "no problems found",
        "errors": "errors",
        "warnings": "warnings",
        "file": "file",
        "column": "column",
        "rule": "rule",
        "rows": "rows",
        "examples": "examples (row: value)",
        "encoding": "encoding",
        "blocked": "Metrics are not computed while there are errors: fix the files and run again.",
    },
}


def format_issues(issues: list[Issue], lang: str = "ja", report: ValidationReport | None = None) -> str:
    """A readable report: one block per finding with file, column, rule, rows and examples."""
    L = _LABELS.get(lang, _LABELS["en"])
    path = report.path if report else ""
    lines = [f"{L['title']}: {path}".rstrip(": ")]
    if report is not None and report.dataset is not None:
        enc = ", ".join(
            f"{s.file} ({s.encoding or s.format})" for s in report.dataset.sources.values()
        )
        lines.append(f"{L['encoding']}: {enc}")
    errors = [i for i in issues if i.severity == "error"]
    warnings = [i for i in issues if i.severity != "error"]
    if not issues:
        lines.append(L["ok"])
        return "\n".join(lines)
    for title, group in ((L["errors"], errors), (L["warnings"], warnings)):
        if not group:
            continue
        lines.append(f"\n{title}: {len(group)}")
        for i in group:
            lines.append(f"- {i.message}")
            parts = [f"{L['file']}={i.file}"]
            if i.column:
                parts.append(f"{L['column']}={i.column}")
            parts.append(f"{L['rule']}={i.rule}")
            if i.n_rows:
                parts.append(f"{L['rows']}={i.n_rows}")
            lines.append("    " + "  ".join(parts))
            if i.examples:
                ex = ", ".join(f"{r}: {v!r}" for r, v in i.examples)
                lines.append(f"    {L['examples']}: {ex}")
    if errors:
        lines.append("\n" + L["blocked"])
    return "\n".join(lines)
