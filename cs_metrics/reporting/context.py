"""The report context: the data, the month and every shared figure, computed once per report.

A notebook builds one :class:`Report` with :func:`prepare` and passes it to each section. The
figures several sections use (the monthly rates, the KPIs, their changes, segments and health,
risk signals, NPS, the LTV pieces) are cached properties: computed on first use, then shared.

Sections go through :func:`guarded`: a section whose optional data is missing raises
:class:`SectionUnavailable` and shows an explanation instead (the report still renders, exit 0);
any other exception is a bug and fails the cell, so the render fails (nothing is published, exit
1, the traceback in ``<reports>/logs/``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from cs_metrics.config import Config, load_config
from cs_metrics.data.dataset import Dataset
from cs_metrics.errors import DataError
from cs_metrics.format import fmt_money
from cs_metrics.periods import Month, MonthLike
from cs_metrics.reporting.html import notice

__all__ = ["Report", "SectionUnavailable", "guarded", "need", "preload", "prepare"]


class SectionUnavailable(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a section that cannot be shown for lack of optional data; its text (already in
    the report's language) is shown instead."""


@dataclass(eq=False)
class Report:
    """What every section needs. Shared figures are computed on first use, once."""

    ds: Dataset
    as_of: Month
    validation: dict[str, Any] | None = None

    @property
    def cfg(self) -> Config:
        return self.ds.config

    @property
    def lang(self) -> str:
        return self.cfg["general"]["lang"]

    @property
    def unit(self) -> str:
        return self.cfg["general"]["display_unit"]

    @property
    def horizon(self) -> int:
        return int(self.cfg["revenue"]["churn_horizon_months"])

    def money(self, v: Any) -> str:
        return fmt_money(v, self.unit, self.lang)

    def t(self, ja: str, en: str) -> str:
        return ja if self.lang == "ja" else en

    # ---- shared figures ----------------------------------------------------------------------

    @cached_property
    def rates(self) -> pl.DataFrame:
        from cs_metrics.metrics.retention import monthly_rates

        return monthly_rates(self.ds, self.as_of)

    @cached_property
    def kpis(self) -> dict[str, Any]:
        from cs_metrics.metrics.kpis import kpis

        return kpis(self.ds, self.as_of, rates=self.rates)

    @cached_property
    def changes(self) -> dict[str, dict[str, Any]]:
        from cs_metrics.metrics.summary import kpi_changes

        return kpi_changes(self.rates, self.as_of)

    @cached_property
    def churn_within(self) -> dict[str, Any]:
        """The churn-within-H block of the KPIs (observed and Kaplan-Meier)."""
        return self.kpis[f"churn_within_{self.horizon}m"]

    @cached_property
    def segments(self) -> pl.DataFrame:
        from cs_metrics.metrics.segments import segments

        return segments(self.ds, self.as_of)

    @cached_property
    def risk(self) -> Any:
        from cs_metrics.metrics.risk import risk_signals

        return risk_signals(self.ds, self.as_of)

    @cached_property
    def risk_list(self) -> pl.DataFrame:
        from cs_metrics.metrics.risk import risk_list

        return risk_list(self.ds, self.as_of)

    @cached_property
    def nps(self) -> dict[str, Any] | None:
        if not self.ds.has("nps_responses"):
            return None
        from cs_metrics.metrics.nps import nps

        return nps(self.ds, self.as_of)[0]

    @cached_property
    def simple_ltv(self) -> dict[str, Any]:
        from cs_metrics.metrics.ltv import simple_ltv

        return simple_ltv(self.ds, self.as_of)

    @cached_property
    def predictive_ltv(self) -> dict[str, Any]:
        from cs_metrics.metrics.ltv import predictive_ltv

        return predictive_ltv(self.ds, self.as_of)

    @cached_property
    def ltv_cac(self) -> dict[str, Any]:
        from cs_metrics.metrics.ltv import ltv_cac

        return ltv_cac(self.ds, self.as_of, pred=self.predictive_ltv)[0]

    @cached_property
    def revenue_by_source(self) -> pl.DataFrame:
        from cs_metrics.metrics.ltv import revenue_by_source

        return revenue_by_source(self.ds, self.as_of)


def prepare(
    data_dir: str | Path,
    as_of: MonthLike | None = None,
    config_path: str | Path | None = None,
    lang: str | None = None,
    validation_path: str | Path | None = None,
    mapping_path: str | Path | None = None,
) -> Report:
    """Load (and, without ``validation_path``, validate) the data once for a report.

    ``as_of`` is checked against the data's range (SPEC §3); None is the default month.
    ``validation_path`` is the gate's JSON written by ``cs-metrics report`` (validated already).

    Raises
    ------
    DataError
        The data is invalid.
    PeriodError
        ``as_of`` is not a month of the data.
    """
    from cs_metrics.charts import warm_up
    from cs_metrics.data.load import load_dataset

    warm_up()  # the chart renderer starts while the data loads
    cfg = load_config(config_path or None)
    if lang:
        cfg = cfg.updated({"general": {"lang": lang}})
    if validation_path and Path(validation_path).is_file():
        validation = json.loads(Path(validation_path).read_text("utf-8"))
        # parsed once here: every section then reads materialised tables
        ds = load_dataset(data_dir, mapping=mapping_path, config=cfg).collected()
    else:
        from cs_metrics.data.validate import validate_dataset

        rep = validate_dataset(data_dir, mapping=mapping_path, config=cfg)
        if not rep.ok:
            raise DataError(rep.errors, report=rep)
        validation = rep.to_dict()
        ds = rep.dataset
    return Report(ds, ds.resolve_month(as_of), validation)


# What a report's sections import, at the latest, on their first use.
REPORT_MODULES = (
    "cs_metrics.reporting.sections",
    "cs_metrics.reporting.backtest_section",
    "cs_metrics.reporting.notebook",
    "cs_metrics.reporting.outputs",
    "cs_metrics.data.load",
    "cs_metrics.exports",
    "cs_metrics.metrics.backtest",
    "cs_metrics.metrics.kpis",
    "cs_metrics.metrics.ltv",
    "cs_metrics.metrics.nps",
    "cs_metrics.metrics.retention",
    "cs_metrics.metrics.risk",
    "cs_metrics.metrics.segments",
    "cs_metrics.metrics.summary",
)


def preload() -> None:
    """Import what a report notebook uses and start the chart renderer.

    ``cs-metrics report`` runs this in the notebook's kernel as the kernel starts (IPython's
    ``exec_lines``), while it validates the data in its own process: the notebook's first cell
    then finds its imports done and vl-convert started. Harmless anywhere else.
    """
    import importlib

    from cs_metrics.charts import warm_up

    warm_up()
    for name in REPORT_MODULES:
        importlib.import_module(name)


def guarded(fn: Callable[..., str]) -> Callable[..., str]:
    """Show the explanation of a :class:`SectionUnavailable` instead of the section; let every
    other exception through (a failing section fails the report)."""

    @functools.wraps(fn)
    def wrapper(r: Report, *args: Any, **kwargs: Any) -> str:
        try:
            return fn(r, *args, **kwargs)
        except SectionUnavailable as e:
            return notice(str(e))

    return wrapper


def need(r: Report, table_name: str) -> None:
    """Raise :class:`SectionUnavailable` (a notice) when the optional table is absent."""
    if not r.ds.has(table_name):
        raise SectionUnavailable(
            r.t(
                f"{table_name} のデータがないため、この項目は表示できません。",
                f"No {table_name} table in the data: this section is not shown.",
            )
        )
