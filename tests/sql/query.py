"""Runs SQL that `seg sql` wrote in a real database and prints the rows as JSON.

Usage: query.py duckdb|sqlite FILE.sql [TABLE=DATAFILE ...]
       query.py csv DATAFILE '["column", ...]'

DuckDB reads the spec's files itself (read_parquet, read_csv). For SQLite, each
TABLE=DATAFILE is loaded first, through DuckDB's readers, into a table of that name.
`csv` prints a data file's columns as CSV with a header, for PostgreSQL's COPY
(a CSV file's fields as written: no type guessing turns a code "007" into 7).
"""
import csv
import datetime
import json
import sqlite3
import sys

import duckdb


def to_csv(data, columns):
    source = f"read_csv('{data}', all_varchar = true)" if data.endswith(".csv") else f"'{data}'"
    picked = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
    rel = duckdb.connect().execute(f"SELECT {picked} FROM {source}")
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(columns)
    for row in rel.fetchall():
        out.writerow([cell(v) for v in row])


def cell(v):
    """A value as PostgreSQL's COPY reads it: NULL as an empty field, dates ISO."""
    if v is None:
        return ""
    if isinstance(v, datetime.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, datetime.date):
        return v.isoformat()
    return v


def main():
    if sys.argv[1] == "csv":
        to_csv(sys.argv[2], json.loads(sys.argv[3]))
        return
    engine, path, *tables = sys.argv[1:]
    sql = open(path, encoding="utf-8").read().strip().rstrip(";")
    if engine == "duckdb":
        rows = duckdb.connect().execute(sql).fetchall()
    elif engine == "sqlite":
        db = sqlite3.connect(":memory:")
        for t in tables:
            name, data = t.split("=", 1)
            rel = duckdb.connect().execute(f"SELECT * FROM '{data}'")
            cols = [d[0] for d in rel.description]
            db.execute(f'CREATE TABLE "{name}" ({", ".join(chr(34) + c + chr(34) for c in cols)})')
            marks = ", ".join("?" for _ in cols)
            db.executemany(f'INSERT INTO "{name}" VALUES ({marks})',
                           [tuple(str(v) if hasattr(v, "isoformat") else v for v in r)
                            for r in rel.fetchall()])
        rows = db.execute(sql).fetchall()
    else:
        raise SystemExit(f"unknown engine {engine}")
    json.dump([[v if isinstance(v, (int, float, str, type(None))) else str(v) for v in r]
               for r in rows], sys.stdout)


main()
