"""Usage errors of the command line in the reader's language, with no secret in them.

argparse prints its own English messages and echoes what was typed (``--format
https://hooks.slack.com/...`` shows the webhook URL). :class:`UsageParser` turns every usage
error instead into a :class:`~cs_metrics.errors.UsageError` with a catalogue code (the
``usage_*`` block of :mod:`cs_metrics.messages`): the command line prints it in the language
asked for (``--lang``, wherever it stands on the line, else the configuration's), with every
value it quotes redacted (:func:`shown_value`).

Option types raise :class:`OptionValueError` (a catalogue code and its parameters) rather than
an English ``ArgumentTypeError``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from cs_metrics.errors import REDACTED, UsageError, redact
from cs_metrics.messages import Text

__all__ = [
    "ArgumentUsageError",
    "OptionValueError",
    "UsageParser",
    "lang_from_argv",
    "shown_value",
]

# A run of 24+ letters and digits (with both): an API token or key pasted on the line.
_TOKEN = re.compile(r"(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{24,}")
_TYPE_WORDS = {"int": "usage_type_int", "float": "usage_type_float"}


def shown_value(value: Any) -> str:
    """``value`` as a usage message may quote it: secrets (:func:`redact`), any URL (it may
    carry a token in its path or query) and token-like runs are replaced by ``<redacted>``."""
    text = redact(str(value))
    text = re.sub(r"[A-Za-z][A-Za-z0-9+.\-]*://\S*", REDACTED, text)
    return _TOKEN.sub(REDACTED, text)


class OptionValueError(argparse.ArgumentTypeError):
    """An option value refused by its type function: a catalogue ``code`` and parameters (the
    option and the value are added by :class:`UsageParser`)."""

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(code)
        self.code, self.params = code, params


class ArgumentUsageError(UsageError):
    """A usage error found while parsing the command line; ``usage`` is the parser's usage
    line (printed above the message)."""

    def __init__(self, code: str, usage: str = "", /, **params: Any) -> None:
        super().__init__(code, **params)
        self.usage = usage


def _names(text: str) -> str:
    return shown_value(text)


def _argument(name: str | None) -> Any:
    """An argument's name as shown: options as they are, the sub-command slot in words."""
    if not name or name == "COMMAND":
        return Text("usage_word_command")
    return shown_value(name)


def _from_argument_error(err: argparse.ArgumentError) -> tuple[str, dict[str, Any]]:
    option = _argument(err.argument_name)
    msg = err.message or ""
    cause = err.__context__
    if isinstance(cause, OptionValueError):
        return cause.code, {"option": option, **cause.params}
    m = re.fullmatch(r"invalid choice: (.*) \(choose from (.*)\)", msg, re.S)
    if m:
        value = _unquote(m.group(1))
        return "usage_invalid_choice", {
            "option": option,
            "value": shown_value(value),
            "choices": m.group(2).replace("'", ""),
        }
    m = re.fullmatch(r"invalid (\S+) value: (.*)", msg, re.S)
    if m:
        kind = Text(_TYPE_WORDS.get(m.group(1), "usage_type_value"))
        value = shown_value(_unquote(m.group(2)))
        return "usage_invalid_type", {"option": option, "value": value, "kind": kind}
    if msg.startswith("expected "):
        return "usage_expected_value", {"option": option}
    m = re.fullmatch(r"not allowed with argument (.*)", msg, re.S)
    if m:
        return "usage_not_allowed_with", {"option": option, "other": _names(m.group(1))}
    m = re.fullmatch(r"ignored explicit argument (.*)", msg, re.S)
    if m:
        value = shown_value(_unquote(m.group(1)))
        return "usage_ignored_value", {"option": option, "value": value}
    return "usage_other", {"detail": shown_value(str(err))}


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _from_message(message: str) -> tuple[str, dict[str, Any]]:
    patterns = [
        (r"unrecognized arguments: (.*)", "usage_unrecognized", "args"),
        (r"the following arguments are required: (.*)", "usage_required", "names"),
        (r"one of the arguments (.*) is required", "usage_one_of_required", "names"),
    ]
    for pattern, code, field in patterns:
        m = re.fullmatch(pattern, message, re.S)
        if m:
            return code, {field: _names(m.group(1))}
    m = re.fullmatch(r"ambiguous option: (\S+) could match (.*)", message, re.S)
    if m:
        option = shown_value(m.group(1).split("=", 1)[0])
        return "usage_ambiguous", {"option": option, "matches": _names(m.group(2))}
    m = re.fullmatch(r"argument (\S+): (.*)", message, re.S)
    if m:  # an ArgumentError rendered to text by argparse itself
        err = argparse.ArgumentError(None, m.group(2))
        err.argument_name = m.group(1)
        return _from_argument_error(err)
    return "usage_other", {"detail": shown_value(message)}


class UsageParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors raise :class:`ArgumentUsageError` (catalogue
    code, redacted values) instead of printing argparse's English text and exiting."""

    def error(self, message: str) -> NoReturn:
        current = sys.exc_info()[1]
        if isinstance(current, argparse.ArgumentError):
            code, params = _from_argument_error(current)
        else:
            code, params = _from_message(message)
        raise ArgumentUsageError(code, self.format_usage().strip(), **params) from None


def lang_from_argv(argv: Sequence[str]) -> str | None:
    """The ``--lang`` of a command line, wherever it stands (``--lang ja``, ``--lang=en``), or
    the ``general.lang`` of its ``--config`` file; None when neither says."""
    lang = config = None
    items = list(argv)
    for i, arg in enumerate(items):
        if arg == "--":
            break
        name, eq, value = arg.partition("=")
        if not eq:
            value = items[i + 1] if i + 1 < len(items) else ""
        if name == "--lang" and value in ("ja", "en"):
            lang = value
        elif name == "--config" and value:
            config = value
    if lang or not config:
        return lang
    from cs_metrics.config import load_config
    from cs_metrics.errors import CsMetricsError

    try:
        return str(load_config(config)["general"]["lang"])
    except (CsMetricsError, OSError):
        return None
