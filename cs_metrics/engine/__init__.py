"""Engines: the revenue core written once (:mod:`cs_metrics.engine.core`, narwhals) and run on
polars (the default, in-process) or Apache Spark (:mod:`cs_metrics.engine.spark`, optional extra).
"""

__all__: list[str] = []  # the engines are its modules (core, primitives, spark), imported by name
