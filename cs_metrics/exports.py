"""Files for Excel and Salesforce: UTF-8 CSV with BOM, safe against CSV (formula) injection."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cs_metrics.data.dataset import Dataset
from cs_metrics.metrics.kpis import RATE_KEYS
from cs_metrics.periods import Month, MonthLike

__all__ = [
    "excel_csv_bytes",
    "kpi_summary_frame",
    "neutralise_text",
    "report_csvs",
    "salesforce_health_frame",
    "write_excel_csv",
    "write_report_csvs",
]


def neutralise_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that start with ``= + - @`` (or tab/CR) with ``'`` so Excel shows them
    as text instead of evaluating a formula. Numeric columns are left numeric."""
    exprs = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            c = pl.col(name)
            risky = c.str.contains(r"^[=+\-@\t\r]")
            exprs.append(pl.when(risky).then(pl.lit("'") + c).otherwise(c).alias(name))
    return frame.with_columns(exprs) if exprs else frame


def excel_csv_bytes(frame: pl.DataFrame) -> bytes:
    """``frame`` as UTF-8 CSV with BOM (Excel opens Japanese correctly), injection-safe; list
    columns joined with " / "."""
    flat = frame.with_columns(
        [
            pl.col(n).cast(pl.List(pl.String)).list.join(" / ")
            for n, t in frame.schema.items()
            if isinstance(t, pl.List)
        ]
    )
    data = neutralise_text(flat).write_csv(date_format="%Y-%m-%d")
    return b"\xef\xbb\xbf" + data.encode("utf-8")


def write_excel_csv(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write :func:`excel_csv_bytes` of ``frame`` to ``path`` atomically (a temporary file beside
    it, then renamed: never half-written)."""
    from cs_metrics.fsutil import atomic_write_bytes

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(p, excel_csv_bytes(frame))
    return p


def salesforce_health_frame(ds: Dataset, as_of: MonthLike) -> pl.DataFrame:
    """Rows for Salesforce Data Loader: one per active account.

    Returns
    -------
    DataFrame
        ``Id`` (the account ID as in the data), ``Health_Score__c``, ``Health_Band__c``,
        ``Segment__c``, ``Top_Risk__c`` (the first risk rule by a fixed priority, empty when
        none), ``Health_As_Of__c`` (the as-of month's last day). Rename the custom fields in
        Data Loader's mapping to match your org.
    """
    from cs_metrics.metrics.risk import RISK_RULES, risk_signals
    from cs_metrics.metrics.segments import segments

    m = Month.parse(as_of)
    seg = segments(ds, m)
    sig = risk_signals(ds, m).signals.filter(pl.col("kind") == "risk")
    priority = {r: i for i, r in enumerate(RISK_RULES)}
    top = (
        sig.with_columns(pl.col("rule").replace_strict(priority, return_dtype=pl.Int64).alias("p"))
        .sort("account_id", "p")
        .group_by("account_id", maintain_order=True)
        .agg(pl.col("rule").first().alias("Top_Risk__c"))
    )
    return (
        seg.join(top, on="account_id", how="left")
        .select(
            pl.col("account_id").alias("Id"),
            pl.col("score").alias("Health_Score__c"),
            pl.col("band").alias("Health_Band__c"),
            pl.col("segment").alias("Segment__c"),
            pl.col("Top_Risk__c").fill_null(""),
            pl.lit(m.last_day).alias("Health_As_Of__c"),
        )
        .sort("Id")
    )


# ---- the report's CSVs for Excel ---------------------------------------------------------------
#
# Conventions (docs/reports.md): headers in the report's language (the label catalogue); money in
# yen rounded to whole yen; rates as percentages rounded to 1 decimal (a header says "（%）" /
# "(%)"): 0.015384615384615385 is written 1.5; counts as integers; lists joined with " / "; one
# value per cell (no JSON). Machine-readable figures stay in metrics.json (fractions, full
# precision).


def _pct_header(name: str, lang: str) -> str:
    return f"{name}（%）" if lang == "ja" else f"{name} (%)"


def _people_frame(
    frame: pl.DataFrame, lang: str, rates: tuple[str, ...] = (), keep: tuple[str, ...] = ()
) -> pl.DataFrame:
    """Round floats (rates to % with 1 decimal, amounts to whole yen; ``keep`` as they are) and
    rename the columns to their labels."""
    from cs_metrics.labels import column_label

    exprs = []
    for name, dtype in frame.schema.items():
        if name in rates:
            exprs.append((pl.col(name) * 100).round(1))
        elif dtype in (pl.Float64, pl.Float32) and name not in keep:
            exprs.append(pl.col(name).round(0).cast(pl.Int64))
    out = frame.with_columns(exprs) if exprs else frame
    names = {
        c: (_pct_header(column_label(c, lang), lang) if c in rates else column_label(c, lang))
        for c in out.columns
    }
    return out.rename(names)


def kpi_summary_frame(k: dict, lang: str = "ja") -> pl.DataFrame:
    """The month's KPIs flat: one row per figure with its label, value and unit (a nested block
    such as churn within H becomes one row per figure: ``churn_within_24m.km_rate``)."""
    from cs_metrics.labels import label

    h_key = next((key for key in k if key.startswith("churn_within_")), None)
    h = int(h_key.removeprefix("churn_within_").removesuffix("m")) if h_key else None
    cw_words = {
        "eligible": ("kpi.eligible", "count"),
        "churned": ("kpi.churned", "count"),
        "rate": ("kpi.observed", "rate"),
        "km_rate": ("kpi.kaplan_meier", "rate"),
        "km_ci_low": ("kpi.ci95", "rate"),
        "km_ci_high": ("kpi.ci95", "rate"),
    }
    rows = []
    for key, v in k.items():
        if isinstance(v, dict):
            head = label("kpi.churn_within", lang, h=h)
            for sub, x in v.items():
                if sub.endswith(("_reason", "_reason_code")) or sub not in cw_words:
                    continue
                word, kind = cw_words[sub]
                tail = {"km_ci_low": "−", "km_ci_high": "+"}.get(sub, "")
                rows.append((f"{key}.{sub}", f"{head}（{label(word, lang)}{tail}）", x, kind))
            continue
        if key.endswith("_reason_code"):
            continue
        if key.endswith("_reason"):  # why a figure is empty, beside it, in the CSV's language
            why = "（理由）" if lang == "ja" else " (why empty)"
            from cs_metrics.messages import message

            code = k.get(f"{key}_code")
            if code:
                v = message(code, lang, h=h)
            rows.append((key, label(f"kpi.{key.removesuffix('_reason')}", lang) + why, v, "text"))
            continue
        kind = "rate" if key in RATE_KEYS else "count" if key.startswith("accounts") else "money"
        if key == "as_of":
            kind = "month"
        rows.append((key, label(f"kpi.{key}", lang), v, kind))
    units = {
        "rate": "%",
        "money": "円" if lang == "ja" else "JPY",
        "count": "社" if lang == "ja" else "accounts",
        "month": "",
        "text": "",
    }

    def value(v: object, kind: str) -> str:
        if v is None:
            return ""
        if kind == "rate":
            return f"{float(v) * 100:.1f}"
        if kind in ("money", "count"):
            return f"{float(v):.0f}"
        return str(v)

    from cs_metrics.labels import column_label

    return pl.DataFrame(
        {
            column_label("key", lang): [r[0] for r in rows],
            column_label("label", lang): [r[1] for r in rows],
            column_label("value", lang): [value(r[2], r[3]) for r in rows],
            column_label("unit", lang): [units[r[3]] for r in rows],
        }
    )


def report_csvs(ds: Dataset, as_of: MonthLike) -> dict[str, pl.DataFrame]:
    """The monthly report's CSVs as frames for people (see the conventions above):
    ``kpi_summary``, ``mrr_bridge``, ``churned_accounts``, ``risk_list``."""
    from cs_metrics.labels import band_label
    from cs_metrics.metrics.churn import churn_events
    from cs_metrics.metrics.kpis import kpis
    from cs_metrics.metrics.retention import monthly_rates
    from cs_metrics.metrics.risk import risk_list

    m = Month.parse(as_of)
    lang = ds.config["general"]["lang"]
    rates = monthly_rates(ds, m)
    out = {"kpi_summary": kpi_summary_frame(kpis(ds, m, rates=rates), lang)}
    bridge = rates.drop("month_idx").with_columns(pl.col("month").dt.strftime("%Y-%m"))
    out["mrr_bridge"] = _people_frame(bridge, lang, RATE_KEYS)
    names = ds.accounts.select("account_id", "account_name", "industry", "csm").collect()
    ev = churn_events(ds, m).join(names, on="account_id", how="left").drop("churn_month_idx")
    ev = ev.select("account_id", "account_name", "industry", "csm", pl.exclude(names.columns)).drop(
        "days_from_cancellation", strict=False
    )
    ev = ev.with_columns(pl.col("churn_month").dt.strftime("%Y-%m"))
    out["churned_accounts"] = _people_frame(ev, lang)
    rl = risk_list(ds, m).with_columns(
        pl.col("band").map_elements(lambda b: band_label(b, lang), return_dtype=pl.String),
        pl.col("severity").round(2),
    )
    rl = rl.select(
        "csm",
        "rank",
        "account_id",
        "account_name",
        "segment",
        "mrr",
        "priority",
        "severity",
        pl.col("rule_labels").list.join(" / ").alias("rules"),
        "evidence",
        "next_action",
        "score",
        "band",
        "health_note",
    )
    out["risk_list"] = _people_frame(rl, lang, keep=("severity", "score"))
    return out


def write_report_csvs(ds: Dataset, as_of: MonthLike, folder: str | Path) -> list[Path]:
    """Write :func:`report_csvs` as Excel CSVs (UTF-8 with BOM) into ``folder``."""
    return [
        write_excel_csv(frame, Path(folder) / f"{name}.csv")
        for name, frame in report_csvs(ds, as_of).items()
    ]
