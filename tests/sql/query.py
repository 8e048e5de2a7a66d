"""Runs SQL that `seg sql` wrote in a real database and prints the rows as JSON.

Usage: query.py duckdb|sqlite FILE.sql [TABLE=DATAFILE ...]

DuckDB reads the spec's files itself (read_parquet, read_csv). For SQLite, each
TABLE=DATAFILE is loaded first, through DuckDB's readers, into a table of that name.
"""
import json
import sqlite3
import sys

import duckdb


def main():
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
