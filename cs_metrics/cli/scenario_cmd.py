"""``cs-metrics scenario``: what-if churn and NRR under the review's levers, with intervals."""

from __future__ import annotations

import argparse
from typing import Any

from cs_metrics.cli.common import add_data_args, open_validated, print_json
from cs_metrics.cli.usage import OptionValueError, shown_value

__all__ = ["register", "render_scenario_table", "run"]


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise OptionValueError("option_not_number", value=shown_value(text)) from None
    if not 0.0 <= v <= 1.0:
        raise OptionValueError("option_fraction", value=shown_value(text))
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "scenario",
        help="what-if: churn within 24 months and NRR if churn of a reason is saved or "
        "onboarding graduation rises (with 95%% intervals)",
        description="Baseline and projected churn within H (observed, Kaplan-Meier) and "
        "trailing-12-month NRR under the levers given (docs/metrics.md, scenarios). A lever not "
        "given is not applied; a lever whose groups are too small is reported, not applied.",
        epilog="examples:\n"
        "  cs-metrics scenario --data data/sample --save-reason-pct 0.3\n"
        "  cs-metrics scenario --data data/sample --save-reason-pct 0.3 --reason 予算削減 "
        "--graduation-target 0.8 --format json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_args(p)
    p.add_argument(
        "--save-reason-pct",
        type=_fraction,
        metavar="X",
        help="share of the churn with --reason saved, a fraction (0.3 = 30%%)",
    )
    p.add_argument(
        "--reason",
        metavar="R",
        help="reason category of the save lever (default: scenario.default_reason, 施策終了・中止)",
    )
    p.add_argument(
        "--graduation-target",
        type=_fraction,
        metavar="Y",
        help="onboarding graduation share among accounts with onboarding records (0.8 = 80%%)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cs_metrics.errors import UsageError
    from cs_metrics.messages import lang_of
    from cs_metrics.metrics.scenarios import what_if

    if args.reason is not None and args.save_reason_pct is None:
        raise UsageError("scenario_reason_without_save")
    ds, cfg, as_of, _ = open_validated(args)
    w = what_if(
        ds,
        as_of,
        save_reason_pct=args.save_reason_pct,
        reason=args.reason,
        graduation_target=args.graduation_target,
    )
    if args.format == "json":
        print_json(w)
        return 0
    print(render_scenario_table(w, lang_of(cfg)))
    return 0


def render_scenario_table(w: dict[str, Any], lang: str = "ja") -> str:
    """The people's table of ``cs-metrics scenario`` (missing values are "—", never nan)."""
    from cs_metrics.format import fmt_rate_ci, render_table
    from cs_metrics.metrics.scenarios import FIGURES, figure_label, lever_summary

    ja = lang == "ja"
    now, then = ("現状", "シナリオ") if ja else ("now", "scenario")
    rows = [("対象月" if ja else "Month", w["as_of"])]
    for key, ci in FIGURES:
        base = fmt_rate_ci(w["baseline"][key], w["baseline"][ci], lang)
        proj = fmt_rate_ci(w["projected"][key], w["projected"][ci], lang)
        rows.append((figure_label(key, lang, w["horizon"]), f"{now} {base} → {then} {proj}"))
        reason = w["baseline"].get(f"{key}_reason")
        if reason:
            rows.append(("", f"（{reason}）" if ja else f"({reason})"))
    if not w["levers"]:
        rows.append(("施策" if ja else "Levers", "指定なし" if ja else "none given"))
    for lv in w["levers"]:
        rows.append(("施策" if ja else "Lever", lever_summary(lv, lang, w["horizon"])))
    for note in w["notes"]:
        rows.append(("注記" if ja else "Note", note))
    return render_table(rows)
