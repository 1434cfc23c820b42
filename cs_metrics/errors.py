"""The one error family of cs-metrics.

Every problem the user can cause or fix (bad data, bad configuration, a month outside the data, an
option out of range, an unwritable output) raises a subclass of :class:`CsMetricsError`. Each
carries a stable ``code`` from the message catalogue (:mod:`cs_metrics.messages`) and the
parameters of its template; the text is rendered in the reader's language where it is shown::

    raise PeriodError("month_out_of_range", month="2027-01", first="2023-06", last="2026-09")

The command line turns a ``CsMetricsError`` into its message and exit status 2; anything else is a
bug: "internal error", the traceback in a log file, exit status 1 (see :mod:`cs_metrics.cli.main`).
``str(error)`` is the English text, for logs and tests.
"""

from __future__ import annotations

import os
import re
from typing import Any

from cs_metrics.messages import MESSAGES, message

# Environment variables whose values are secrets: never printed, logged or written.
SECRET_ENV_VARS = ("CS_METRICS_SLACK_WEBHOOK_URL",)
_WEBHOOK_RE = re.compile(r"https?://hooks\.slack(?:-gov)?\.com/\S*", re.IGNORECASE)
REDACTED = "<redacted>"

__all__ = [
    "ConfigError",
    "CsMetricsError",
    "DataError",
    "MappingError",
    "ModelError",
    "NotifyError",
    "OutputError",
    "PeriodError",
    "ReportError",
    "ReportFailed",
    "UsageError",
    "redact",
]


def redact(text: str) -> str:
    """``text`` with every secret removed: the values of :data:`SECRET_ENV_VARS` (also their
    path part and percent-encoded forms) and anything shaped like a Slack webhook URL."""
    from urllib.parse import quote, urlsplit

    out = str(text)
    for var in SECRET_ENV_VARS:
        value = os.environ.get(var, "")
        if not value.strip():
            continue
        forms = {value, value.strip(), quote(value, safe=":/"), repr(value)[1:-1]}
        try:
            path = urlsplit(value.strip()).path
        except ValueError:
            path = ""
        if len(path) > 8:
            forms |= {path, quote(path), repr(path)[1:-1]}
        forms |= {part for part in _secret_parts(value.strip()) if part}
        for form in sorted(forms, key=len, reverse=True):
            if form:
                out = out.replace(form, REDACTED)
    return _WEBHOOK_RE.sub(REDACTED, out)


def _secret_parts(url: str) -> set[str]:
    """The pieces of a secret URL that are secrets on their own: path segments and query values
    of 8+ characters that are not plain lower-case words (``services`` is not a secret; the
    token of ``/services/T0/B0/<token>`` is)."""
    import re as _re

    pieces = _re.split(r"[/?&=#;:@\s]+", url)
    return {p for p in pieces if len(p) >= 8 and not _re.fullmatch(r"[a-z.\-]+", p)}


class CsMetricsError(Exception):
    """Root of every expected error: a catalogue ``code`` plus the template's parameters."""

    default_code = "internal_error"
    #: exit status of the command line for this error (2: the user can fix the input)
    exit_code = 2

    def __init__(self, code: str | None = None, /, **params: Any) -> None:
        self.code = code or self.default_code
        if self.code not in MESSAGES:
            raise KeyError(f"message code {self.code!r} is not in cs_metrics.messages")
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "ja") -> str:
        """The message in ``lang`` ("ja" or "en")."""
        return message(self.code, lang, **self.params)

    def to_dict(self, lang: str = "ja") -> dict[str, Any]:
        """``{"code", "message"}`` for JSON output."""
        return {"code": self.code, "message": self.message(lang)}


class DataError(CsMetricsError):
    """The data cannot be used; carries the :class:`~cs_metrics.data.issues.Issue` list found
    (and the validation report, when the gate produced one)."""

    default_code = "data_invalid"

    def __init__(self, issues: list[Any], report: Any = None) -> None:
        self.issues = list(issues)
        self.report = report
        summary = "; ".join(i.message for i in self.issues[:3]) or "-"
        super().__init__("data_invalid", summary=summary)

    def message(self, lang: str = "ja") -> str:
        texts = [i.message for i in self.issues[:3]]
        return "; ".join(texts) if texts else super().message(lang)


class MappingError(DataError):
    """The column-mapping file is missing or invalid (rule ``mapping_missing``/``mapping_invalid``)."""


class ConfigError(CsMetricsError):
    """Invalid configuration; the message names the key."""

    default_code = "config_invalid"


class PeriodError(CsMetricsError):
    """A month that is not ``YYYY-MM``, or outside the data's range."""

    default_code = "month_invalid"


class UsageError(CsMetricsError):
    """An option or argument out of range (``--window-months -5``, ``--by bogus``)."""

    default_code = "option_invalid"


class OutputError(CsMetricsError):
    """An output path that cannot be written, or that would overwrite the user's files."""

    default_code = "output_unwritable"


class ReportError(CsMetricsError):
    """A report cannot be rendered (bad parameters, a failed section)."""

    default_code = "report_failed"


class ReportFailed(ReportError):
    """A report section failed unexpectedly (a bug or data the code did not foresee): nothing
    was published, the traceback is in a log beside the reports; exit status 1."""

    default_code = "report_failed"
    exit_code = 1


class NotifyError(CsMetricsError):
    """Slack notification cannot be sent (no or invalid webhook URL, HTTP failure)."""

    default_code = "notify_failed"


class ModelError(CsMetricsError):
    """A model cannot be fitted to the data given (no cohort, no period observed)."""

    default_code = "model_unfit"
