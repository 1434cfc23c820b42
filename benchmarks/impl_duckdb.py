"""Baseline 1: SPEC §4 in DuckDB SQL over the same Parquet files (written independently)."""

from __future__ import annotations

import duckdb
import polars as pl
from common import AS_OF_IDX, HORIZON, km_from_counts, run, write_outputs

SQL = """
CREATE TEMP TABLE lines AS
SELECT account_id, product, mrr,
       year(start_date) * 12 + month(start_date) - 1 AS first_idx,
       CASE WHEN end_date IS NULL THEN {A}
            ELSE least({A}, year(end_date) * 12 + month(end_date) - 1
                            - CASE WHEN end_date = last_day(end_date) THEN 0 ELSE 1 END) END AS last_idx
FROM read_parquet('{data}/subscriptions.parquet')
WHERE mrr > 0 AND start_date <= last_day(make_date({A} // 12, {A} % 12 + 1, 1));

-- product MRR per month (month-end snapshot), only active rows
CREATE TEMP TABLE pm AS
SELECT account_id, product, m, sum(mrr) AS mrr
FROM (SELECT account_id, product, mrr, unnest(range(first_idx, last_idx + 1)) AS m
      FROM lines WHERE last_idx >= first_idx)
GROUP BY ALL;

CREATE TEMP TABLE am AS SELECT account_id, m, sum(mrr) AS mrr FROM pm GROUP BY ALL;
CREATE TEMP TABLE firstm AS SELECT account_id, min(m) AS s FROM am GROUP BY ALL;

-- every account x product change from m-1 to m
CREATE TEMP TABLE pp AS
SELECT coalesce(c.account_id, p.account_id) AS account_id, coalesce(c.product, p.product) AS product,
       coalesce(c.m, p.m + 1) AS m, coalesce(c.mrr, 0) AS cur, coalesce(p.mrr, 0) AS prev
FROM pm c FULL OUTER JOIN pm p
  ON c.account_id = p.account_id AND c.product = p.product AND c.m = p.m + 1
WHERE coalesce(c.m, p.m + 1) <= {A};

CREATE TEMP TABLE acct AS
SELECT pp.account_id, pp.m, sum(cur) AS cur_a, sum(prev) AS prev_a, any_value(f.s) AS s
FROM pp JOIN firstm f USING (account_id) GROUP BY ALL;

CREATE TEMP TABLE mov AS
SELECT a.m,
  sum(CASE WHEN a.prev_a = 0 AND a.cur_a > 0 AND a.m = a.s THEN pp.cur ELSE 0 END) AS new,
  sum(CASE WHEN a.prev_a = 0 AND a.cur_a > 0 AND a.m > a.s THEN pp.cur ELSE 0 END) AS reactivation,
  sum(CASE WHEN a.prev_a > 0 AND a.cur_a = 0 THEN pp.prev ELSE 0 END) AS churn,
  sum(CASE WHEN a.prev_a > 0 AND a.cur_a > 0 AND pp.prev = 0 THEN pp.cur ELSE 0 END) AS cross_sell,
  sum(CASE WHEN a.prev_a > 0 AND a.cur_a > 0 AND pp.prev > 0 AND pp.cur > pp.prev THEN pp.cur - pp.prev ELSE 0 END) AS upsell,
  sum(CASE WHEN a.prev_a > 0 AND a.cur_a > 0 AND pp.cur < pp.prev THEN pp.prev - pp.cur ELSE 0 END) AS contraction
FROM pp JOIN acct a USING (account_id, m) GROUP BY ALL;

CREATE TEMP TABLE cnt AS
SELECT m,
  count(*) FILTER (WHERE prev_a = 0 AND cur_a > 0 AND m = s) AS accounts_new,
  count(*) FILTER (WHERE prev_a = 0 AND cur_a > 0 AND m > s) AS accounts_reactivated,
  count(*) FILTER (WHERE prev_a > 0 AND cur_a = 0) AS accounts_churned
FROM acct GROUP BY ALL;

CREATE TEMP TABLE spine AS SELECT unnest(range((SELECT min(m) FROM am), {A} + 1)) AS m;
CREATE TEMP TABLE lvl AS SELECT m, sum(mrr) AS mrr_end, count(*) AS accounts_end FROM am GROUP BY ALL;

CREATE TEMP TABLE trail AS
SELECT b.m + 12 AS m, sum(b.mrr) AS m0, sum(coalesce(c.mrr, 0)) AS m1,
       sum(least(b.mrr, coalesce(c.mrr, 0))) AS cap
FROM am b LEFT JOIN am c ON c.account_id = b.account_id AND c.m = b.m + 12
WHERE b.m + 12 <= {A} GROUP BY ALL;

CREATE TEMP TABLE bridge AS
SELECT s.m AS month_idx,
  coalesce(l0.mrr_end, 0) AS mrr_start,
  coalesce(mv.new, 0) AS new, coalesce(mv.reactivation, 0) AS reactivation,
  coalesce(mv.upsell, 0) AS upsell, coalesce(mv.cross_sell, 0) AS cross_sell,
  coalesce(mv.contraction, 0) AS contraction, coalesce(mv.churn, 0) AS churn,
  coalesce(l1.mrr_end, 0) AS mrr_end,
  coalesce(l0.accounts_end, 0) AS accounts_start, coalesce(c.accounts_new, 0) AS accounts_new,
  coalesce(c.accounts_reactivated, 0) AS accounts_reactivated,
  coalesce(c.accounts_churned, 0) AS accounts_churned, coalesce(l1.accounts_end, 0) AS accounts_end,
  t.m1 / t.m0 AS nrr_trailing_12m, t.cap / t.m0 AS grr_trailing_12m
FROM spine s
LEFT JOIN lvl l1 ON l1.m = s.m LEFT JOIN lvl l0 ON l0.m = s.m - 1
LEFT JOIN mov mv ON mv.m = s.m LEFT JOIN cnt c ON c.m = s.m LEFT JOIN trail t ON t.m = s.m;

-- lifetimes: c = first inactive month after s (up to as_of)
CREATE TEMP TABLE gaps AS
SELECT account_id, m, lead(m) OVER (PARTITION BY account_id ORDER BY m) AS nxt FROM am;
CREATE TEMP TABLE life AS
SELECT f.account_id, f.s, min(g.m + 1) FILTER (WHERE (g.nxt IS NULL OR g.nxt > g.m + 1) AND g.m + 1 <= {A}) AS c
FROM firstm f JOIN gaps g USING (account_id) GROUP BY ALL;

CREATE TEMP TABLE cohorts AS
SELECT f.s, am.m - f.s AS age, count(*) AS active_accounts, sum(am.mrr) AS mrr
FROM am JOIN firstm f USING (account_id) GROUP BY ALL;
"""


def main(data, out) -> None:
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    for stmt in SQL.format(A=AS_OF_IDX, data=str(data)).split(";"):
        if stmt.strip():
            con.execute(stmt).fetchall()
    b = (
        con.sql("SELECT * FROM bridge ORDER BY month_idx")
        .pl()
        .with_columns(
            (pl.col("accounts_churned") / pl.col("accounts_start")).alias("logo_churn_rate"),
            (
                (pl.col("mrr_start") - pl.col("churn") - pl.col("contraction"))
                / pl.col("mrr_start")
            ).alias("grr"),
            (
                (
                    pl.col("mrr_start")
                    - pl.col("churn")
                    - pl.col("contraction")
                    + pl.col("upsell")
                    + pl.col("cross_sell")
                )
                / pl.col("mrr_start")
            ).alias("nrr"),
        )
        .with_columns(pl.col("logo_churn_rate", "grr", "nrr").fill_nan(None))
    )
    lt = con.sql(
        f"""SELECT CASE WHEN c IS NULL THEN {AS_OF_IDX} - s ELSE c - s END AS t,
                   count(*) AS n, count(c) AS d, min(s) AS s_min FROM life GROUP BY 1"""
    ).fetchall()
    elig = con.sql(
        f"""SELECT count(*), count(*) FILTER (WHERE c IS NOT NULL AND c - s <= {HORIZON})
            FROM life WHERE s <= {AS_OF_IDX} - {HORIZON}"""
    ).fetchall()[0]
    churn24 = {
        "eligible": elig[0],
        "churned": elig[1],
        "rate": elig[1] / elig[0] if elig[0] else None,
        "km_rate": km_from_counts([(t, n, d) for t, n, d, _ in lt]),
    }
    coh = con.sql("SELECT * FROM cohorts").pl()
    size = coh.filter(pl.col("age") == 0).select(
        "s", pl.col("active_accounts").alias("cohort_accounts"), pl.col("mrr").alias("mrr0")
    )
    coh = coh.join(size, on="s").with_columns(
        (pl.col("active_accounts") / pl.col("cohort_accounts")).alias("logo_retention"),
        (pl.col("mrr") / pl.col("mrr0")).alias("revenue_retention"),
    )
    write_outputs(out, b, churn24, coh)


if __name__ == "__main__":
    run(main)
