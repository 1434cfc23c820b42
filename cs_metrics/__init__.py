"""cs-metrics: customer-success analytics for B2B SaaS on polars.

Quick start::

    import cs_metrics as cs
    ds = cs.load_dataset("data/sample")
    k = cs.kpis(ds, as_of="2026-09")
"""

from cs_metrics.config import ConfigError, load_config
from cs_metrics.data.issues import DataError, Issue
from cs_metrics.data.load import Dataset, load_dataset
from cs_metrics.metrics.kpis import kpis

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "Dataset",
    "Issue",
    "__version__",
    "kpis",
    "load_config",
    "load_dataset",
]
