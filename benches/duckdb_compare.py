#!/usr/bin/env python3
"""The same questions answered by DuckDB over the same reads, timed on this machine.

    python3 benches/duckdb_compare.py READS.csv FROM TO USER PAGE SPACE [RUNS]

READS.csv comes from `bench-export` (see benches/README.md). FROM/TO bound the 90-day window
(YYYY-MM-DD). Prints a table of median milliseconds per query, measured inside one warm DuckDB
connection with the table already loaded (DuckDB's best case; pagetrail's figures are whole
processes including start-up).
"""
import statistics
import sys
import time

import duckdb

reads, frm, to, user, page, space = sys.argv[1:7]
runs = int(sys.argv[7]) if len(sys.argv) > 7 else 7
con = duckdb.connect()
t = time.time()
con.execute(f"CREATE TABLE reads AS SELECT * FROM read_csv('{reads}', header=true, columns={{'ts':'TIMESTAMP','user':'VARCHAR','page':'BIGINT','space':'VARCHAR','bytes':'BIGINT'}})")
n = con.execute("SELECT count(*) FROM reads").fetchone()[0]
print(f"loaded {n} reads in {time.time() - t:.1f} s", file=sys.stderr)

W = f"ts >= TIMESTAMP '{frm}' AND ts < TIMESTAMP '{to}'"
queries = {
    "top-readers --by pages": "SELECT user, count(DISTINCT page) p, count(*) e, sum(bytes) b, count(DISTINCT space) s FROM reads WHERE {w} GROUP BY user ORDER BY p DESC, user LIMIT 20",
    "top-readers --space K": f"SELECT user, count(DISTINCT page) p, count(*) e, sum(bytes) b FROM reads WHERE space = '{space}' AND {{w}} GROUP BY user ORDER BY p DESC, user LIMIT 20",
    "who-read --space K": f"SELECT user, count(*) e, count(DISTINCT page) p, sum(bytes) b, min(ts), max(ts) FROM reads WHERE space = '{space}' AND {{w}} GROUP BY user ORDER BY e DESC, user",
    "who-read --page N": f"SELECT user, count(*) e, sum(bytes) b, min(ts), max(ts) FROM reads WHERE page = {page} AND {{w}} GROUP BY user ORDER BY e DESC, user",
    "user U": f"SELECT CAST(ts AS DATE) d, count(*), count(DISTINCT page), sum(bytes) FROM reads WHERE user = '{user}' AND {{w}} GROUP BY d ORDER BY d",
}


def med(sql):
    con.execute(sql).fetchall()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        con.execute(sql).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


print("| query | DuckDB 90 days (ms) | DuckDB whole store (ms) |")
print("|---|---|---|")
for name, q in queries.items():
    print(f"| {name} | {med(q.format(w=W)):.1f} | {med(q.format(w='TRUE')):.1f} |")
