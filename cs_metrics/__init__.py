"""cs-metrics: customer-success analytics for B2B SaaS on polars.

Quick start::

    import cs_metrics as cs
    ds = cs.load_dataset("data/sample")
    k = cs.kpis(ds, as_of="2026-09")

The names below are imported on first use (PEP 562), so ``import cs_metrics`` and the command
line's ``--help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Config": "cs_metrics.config",
    "ConfigError": "cs_metrics.errors",
    "CsMetricsError": "cs_metrics.errors",
    "DataError": "cs_metrics.errors",
    "Dataset": "cs_metrics.data.dataset",
    "Issue": "cs_metrics.data.issues",
    "Month": "cs_metrics.periods",
    "kpis": "cs_metrics.metrics.kpis",
    "load_config": "cs_metrics.config",
    "load_dataset": "cs_metrics.data.load",
}

__all__ = [*sorted(_EXPORTS), "__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cs_metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
