"""Runs one benchmark case in DuckDB or Polars and prints its table as CSV.

Usage: peer.py (duckdb|polars) CASE DATA THREADS [SQL_FILE] [CUTS_JSON]

stdout: the result as CSV (header, then rows; null is an empty field).
stderr: a last line `SECONDS <s>`: the query alone, from opening the data to the
result in Python objects, so interpreter and library start-up are not counted.
"""

import csv
import json
import os
import sys
import time

engine, case, data, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
sql_file = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None
cuts = json.loads(sys.argv[6]) if len(sys.argv) > 6 else None
# Polars reads its thread count once, when it is imported.
os.environ["POLARS_MAX_THREADS"] = str(threads)


def emit(header, rows, seconds):
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(header)
    for r in rows:
        out.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in r])
    sys.stdout.flush()
    print(f"SECONDS {seconds:.6f}", file=sys.stderr)


def run_duckdb():
    import duckdb

    sql = open(sql_file, encoding="utf-8").read()
    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    started = time.perf_counter()
    reader = "read_csv" if data.endswith(".csv") else "read_parquet"
    con.execute(f"CREATE VIEW coffee AS SELECT * FROM {reader}('{data}')")
    cur = con.execute(sql)
    rows = cur.fetchall()
    seconds = time.perf_counter() - started
    emit([d[0] for d in cur.description], rows, seconds)


def run_polars():
    import polars as pl

    assert pl.thread_pool_size() == threads, pl.thread_pool_size()
    B2B = ["office", "restaurant", "cafe", "hotel"]
    AGES = ["< 18", "18-25", "25-35", "35-50", "50-65", "65+"]
    buyer = pl.when(pl.col("customer_type").is_in(B2B)).then(pl.lit("b2b")).otherwise(pl.lit("b2c")).alias("buyer")
    age_band = pl.col("age").cut([18, 25, 35, 50, 65], labels=AGES, left_closed=True).cast(pl.String).alias("age_band")
    product_line = (
        pl.col("product")
        .replace_strict(
            {"ground": "roast & ground", "beans": "roast & ground", "capsules": "capsules", "cold_brew": "cold brew"},
            default="other",
            return_dtype=pl.String,
        )
        .alias("product_line")
    )
    sums = [pl.len().alias("rows"), pl.col("kg").sum().alias("volume"), pl.col("revenue").sum().alias("value")]
    share = (pl.col("rows") / pl.col("rows").sum()).alias("share")

    started = time.perf_counter()
    lf = pl.scan_csv(data) if data.endswith(".csv") else pl.scan_parquet(data)
    if case == "segmentation":
        out = (
            lf.group_by(buyer, age_band, product_line)
            .agg(sums)
            .with_columns(share)
            .sort("buyer", "age_band", "product_line", nulls_last=True)
            .select("buyer", "age_band", "product_line", "rows", "volume", "value", "share")
            .collect()
        )
    elif case == "hierarchy":
        keys = ["buyer", "product_line", "age_band"]
        leaves = lf.group_by(buyer, product_line, age_band).agg(sums).collect()
        levels = []
        for depth in (1, 2, 3):
            lv = leaves.group_by(keys[:depth]).agg(pl.col("rows", "volume", "value").sum())
            total = pl.col("rows").sum()
            parent = total.over(keys[: depth - 1]) if depth > 1 else total
            lv = lv.with_columns(
                pl.lit(depth, pl.Int64).alias("level"),
                (pl.col("rows") / total).alias("share"),
                (pl.col("rows") / parent).alias("share_of_parent"),
            )
            levels.append(lv)
        out = (
            pl.concat(levels, how="diagonal")
            .sort(keys + ["level"], nulls_last=True)
            .select(keys + ["level", "rows", "volume", "value", "share", "share_of_parent"])
        )
    elif case in ("grid", "column7"):
        column = "region" if case == "grid" else "customer_type"
        labelled = lf.select(pl.col(column).alias("region_dim"), age_band, "revenue")
        agg = labelled.group_by("region_dim", "age_band").agg(pl.len().alias("rows"), pl.col("revenue").sum().alias("value"))
        regions = labelled.select(pl.col("region_dim").drop_nulls().unique())
        cells = regions.join(pl.LazyFrame({"age_band": AGES}), how="cross")
        out = (
            cells.join(agg, on=["region_dim", "age_band"], how="full", coalesce=True, nulls_equal=False)
            .with_columns(pl.col("rows").fill_null(0), pl.col("value").fill_null(0.0))
            .with_columns((pl.col("value") / pl.col("value").sum()).alias("share"))
            .sort("region_dim", "age_band", nulls_last=True)
            .select("region_dim", "age_band", "rows", "value", "share")
            .collect()
        )
        if case == "column7":
            out = out.rename({"region_dim": "venue"})
    elif case == "monthly":
        cells = (
            lf.group_by(pl.col("order_date").dt.strftime("%Y-%m").alias("period"), buyer.alias("buyer_m"))
            .agg(sums)
            .with_columns((pl.col("rows") / pl.col("rows").sum().over("period")).alias("share"))
            .sort("period")
        )
        out = (
            cells.with_columns(
                (pl.col("rows") / pl.col("rows").shift(1).over("buyer_m") - 1).alias("growth"),
                (pl.col("share") - pl.col("share").shift(1).over("buyer_m")).alias("share_change"),
            )
            .sort("period", "buyer_m")
            .select("period", "buyer_m", "rows", "volume", "value", "share", "growth", "share_change")
            .collect()
        )
    elif case == "column10k":
        out = (
            lf.filter(pl.col("customer_id") <= 10000)
            .group_by(pl.col("customer_id").alias("shop"))
            .agg(pl.len().alias("rows"), pl.col("revenue").sum().alias("value"))
            .with_columns((pl.col("value") / pl.col("value").sum()).alias("share"))
            .sort("shop")
            .select("shop", "rows", "value", "share")
            .collect()
        )
    elif case in ("tiers", "tiers2m"):
        customers = (
            lf.filter(pl.col("customer_id").is_not_null())
            .group_by("customer_id")
            .agg(pl.col("revenue").sum().alias("spend"))
            .with_columns(
                pl.when(pl.col("spend").is_null())
                .then(None)
                .otherwise(
                    pl.lit("Q")
                    + ((pl.col("spend").rank("min") - 1) * 5 // pl.col("spend").count() + 1).cast(pl.String)
                )
                .alias("spend_tier")
            )
            .select("customer_id", "spend_tier")
        )
        out = (
            lf.join(customers, on="customer_id", how="left")
            .group_by("spend_tier")
            .agg(sums)
            .with_columns(share)
            .sort("spend_tier", nulls_last=True)
            .select("spend_tier", "rows", "volume", "value", "share")
            .collect()
        )
    elif case.startswith("bins"):
        labels = [f"< {cuts[0]}"] + [f"{a}-{b}" for a, b in zip(cuts, cuts[1:])] + [f"{cuts[-1]}+"]
        band = pl.col("revenue").cut(cuts, labels=labels, left_closed=True).cast(pl.String).alias("rev_band")
        out = (
            lf.group_by(band)
            .agg(sums)
            .with_columns(share)
            .select("rev_band", "rows", "volume", "value", "share")
            .collect()
        )
    else:
        raise SystemExit(f"unknown case {case}")
    seconds = time.perf_counter() - started
    emit(out.columns, out.rows(), seconds)


if engine == "duckdb":
    run_duckdb()
elif engine == "polars":
    run_polars()
else:
    raise SystemExit(f"unknown engine {engine}")
