"""Baseline 2: the straightforward pandas version an analyst would write (expand every line to
its active months, then groupby/merge), from SPEC §4."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
from common import AS_OF_IDX, HORIZON, km_from_counts, run, write_outputs


def main(data, out) -> None:
    A = AS_OF_IDX
    subs = pd.read_parquet(f"{data}/subscriptions.parquet")
    subs = subs[subs["mrr"] > 0]
    start = pd.to_datetime(subs["start_date"])
    end = pd.to_datetime(subs["end_date"])
    subs = subs[start <= pd.Timestamp(A // 12, A % 12 + 1, 1) + pd.offsets.MonthEnd(0)]
    start, end = start[subs.index], end[subs.index]
    first = start.dt.year * 12 + start.dt.month - 1
    is_me = end == end + pd.offsets.MonthEnd(0)
    last = (end.dt.year * 12 + end.dt.month - 1 - np.where(is_me, 0, 1)).where(end.notna(), A)
    last = np.minimum(last.fillna(A).astype(int), A)
    lines = pd.DataFrame(
        {
            "account_id": subs["account_id"].values,
            "product": subs["product"].values,
            "mrr": subs["mrr"].values,
            "first": first.values,
            "last": last.values,
        }
    )
    lines = lines[lines["last"] >= lines["first"]]
    n = (lines["last"] - lines["first"] + 1).values
    rep = lines.loc[lines.index.repeat(n)].copy()
    rep["m"] = rep["first"].values + (np.arange(len(rep)) - np.repeat(np.cumsum(n) - n, n))
    pm = rep.groupby(["account_id", "product", "m"], as_index=False)["mrr"].sum()
    am = pm.groupby(["account_id", "m"], as_index=False)["mrr"].sum()
    firstm = am.groupby("account_id", as_index=False)["m"].min().rename(columns={"m": "s"})

    prev = pm.assign(m=pm["m"] + 1).rename(columns={"mrr": "prev"})
    pp = (
        pm.rename(columns={"mrr": "cur"})
        .merge(prev, on=["account_id", "product", "m"], how="outer")
        .fillna({"cur": 0.0, "prev": 0.0})
    )
    pp = pp[pp["m"] <= A]
    acct = (
        pp.groupby(["account_id", "m"], as_index=False)[["cur", "prev"]]
        .sum()
        .rename(columns={"cur": "cur_a", "prev": "prev_a"})
        .merge(firstm, on="account_id")
    )
    x = pp.merge(acct, on=["account_id", "m"])
    started = (x["prev_a"] == 0) & (x["cur_a"] > 0)
    stopped = (x["prev_a"] > 0) & (x["cur_a"] == 0)
    both = (x["prev_a"] > 0) & (x["cur_a"] > 0)
    x["new"] = np.where(started & (x["m"] == x["s"]), x["cur"], 0.0)
    x["reactivation"] = np.where(started & (x["m"] > x["s"]), x["cur"], 0.0)
    x["churn"] = np.where(stopped, x["prev"], 0.0)
    x["cross_sell"] = np.where(both & (x["prev"] == 0), x["cur"], 0.0)
    x["upsell"] = np.where(
        both & (x["prev"] > 0) & (x["cur"] > x["prev"]), x["cur"] - x["prev"], 0.0
    )
    x["contraction"] = np.where(both & (x["cur"] < x["prev"]), x["prev"] - x["cur"], 0.0)
    mov = x.groupby("m")[
        ["new", "reactivation", "upsell", "cross_sell", "contraction", "churn"]
    ].sum()
    a_started = (acct["prev_a"] == 0) & (acct["cur_a"] > 0)
    cnt = pd.DataFrame(
        {
            "accounts_new": (a_started & (acct["m"] == acct["s"])).groupby(acct["m"]).sum(),
            "accounts_reactivated": (a_started & (acct["m"] > acct["s"])).groupby(acct["m"]).sum(),
            "accounts_churned": ((acct["prev_a"] > 0) & (acct["cur_a"] == 0))
            .groupby(acct["m"])
            .sum(),
        }
    )
    lvl = am.groupby("m").agg(mrr_end=("mrr", "sum"), accounts_end=("mrr", "size"))
    spine = pd.Index(range(int(am["m"].min()), A + 1), name="m")
    b = pd.DataFrame(index=spine).join(lvl).join(mov).join(cnt).fillna(0)
    b["mrr_start"] = b["mrr_end"].shift(1).fillna(0)
    b["accounts_start"] = b["accounts_end"].shift(1).fillna(0)
    base = am.assign(m=am["m"] + 12).merge(
        am, on=["account_id", "m"], how="left", suffixes=("0", "1")
    )
    base = base[base["m"] <= A].fillna({"mrr1": 0.0})
    base["cap"] = np.minimum(base["mrr0"], base["mrr1"])
    tr = base.groupby("m")[["mrr0", "mrr1", "cap"]].sum()
    b = b.join(tr)
    b["nrr_trailing_12m"] = b["mrr1"] / b["mrr0"]
    b["grr_trailing_12m"] = b["cap"] / b["mrr0"]
    with np.errstate(divide="ignore", invalid="ignore"):
        b["logo_churn_rate"] = np.where(
            b["accounts_start"] > 0, b["accounts_churned"] / b["accounts_start"], np.nan
        )
        kept = b["mrr_start"] - b["churn"] - b["contraction"]
        b["grr"] = np.where(b["mrr_start"] > 0, kept / b["mrr_start"], np.nan)
        b["nrr"] = np.where(
            b["mrr_start"] > 0, (kept + b["upsell"] + b["cross_sell"]) / b["mrr_start"], np.nan
        )
    b = b.reset_index().rename(columns={"m": "month_idx"})
    bridge = pl.from_pandas(b).with_columns(pl.col(pl.Float64).fill_nan(None))

    am_sorted = am.sort_values(["account_id", "m"])
    nxt = am_sorted.groupby("account_id")["m"].shift(-1)
    gap = (nxt.isna() | (nxt > am_sorted["m"] + 1)) & (am_sorted["m"] + 1 <= A)
    c = (am_sorted["m"] + 1)[gap].groupby(am_sorted["account_id"][gap]).min().rename("c")
    life = firstm.set_index("account_id").join(c)
    life["T"] = np.where(life["c"].notna(), life["c"] - life["s"], A - life["s"])
    life["event"] = life["c"].notna()
    elig = life[life["s"] <= A - HORIZON]
    churned = int((elig["event"] & (elig["T"] <= HORIZON)).sum())
    counts = life.groupby("T").agg(n=("event", "size"), d=("event", "sum")).reset_index()
    churn24 = {
        "eligible": len(elig),
        "churned": churned,
        "rate": churned / len(elig) if len(elig) else None,
        "km_rate": km_from_counts(
            [(int(t), int(nn), int(d)) for t, nn, d in counts.itertuples(index=False)]
        ),
    }

    coh = am.merge(firstm, on="account_id")
    coh["age"] = coh["m"] - coh["s"]
    coh = coh.groupby(["s", "age"], as_index=False).agg(
        active_accounts=("mrr", "size"), mrr=("mrr", "sum")
    )
    size = coh[coh["age"] == 0][["s", "active_accounts", "mrr"]].rename(
        columns={"active_accounts": "cohort_accounts", "mrr": "mrr0"}
    )
    coh = coh.merge(size, on="s")
    coh["logo_retention"] = coh["active_accounts"] / coh["cohort_accounts"]
    coh["revenue_retention"] = coh["mrr"] / coh["mrr0"]
    write_outputs(out, bridge, churn24, pl.from_pandas(coh))


if __name__ == "__main__":
    run(main)
