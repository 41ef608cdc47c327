#!/usr/bin/env python3
"""pagetrail's questions over a `pagetrail export parquet` folder, in DuckDB or Spark SQL.

    python3 sql/lake.py ENGINE LAKE top-readers [--space K] [--by pages|events|bytes] [--limit N] [TIME]
    python3 sql/lake.py ENGINE LAKE who-read (--page N | --space K | --title K/T) [TIME]
    python3 sql/lake.py ENGINE LAKE user U [TIME]
    python3 sql/lake.py ENGINE LAKE bench SPEC.json      # many questions, one session, with times

ENGINE is duckdb (pip install duckdb) or spark (pip install pyspark; Java 17+). TIME is
--from/--to (YYYY-MM-DD or RFC 3339, to exclusive). Prints the JSON `pagetrail --format json`
prints for the same question (contract §4), so the two can be compared as they are. The SQL is in
sql/ENGINE/*.sql; this script only binds parameters and shapes rows.
"""
import argparse
import json
import os
import sys
import time
from datetime import date, datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
# No --from / --to: the whole lake.
EARLIEST, LATEST = "1970-01-01T00:00:00Z", "9999-12-31T00:00:00Z"


def instant(v):
    """RFC 3339 UTC with a Z, milliseconds only when there are any (as pagetrail prints)."""
    if v is None:
        return None
    if v.tzinfo is None:
        v = v.replace(tzinfo=timezone.utc)
    v = v.astimezone(timezone.utc)
    ms = v.microsecond // 1000
    s = v.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{s}.{ms:03d}Z" if ms else f"{s}Z"


def norm_time(s, default):
    if s is None:
        return default
    return s + "T00:00:00Z" if len(s) == 10 else s


def sql(engine, name):
    with open(os.path.join(HERE, engine, name + ".sql")) as f:
        return f.read()


class DuckDB:
    def __init__(self, lake):
        import duckdb
        self.c = duckdb.connect()
        self.c.execute("SET TimeZone = 'UTC'")
        self.c.execute(sql("duckdb", "events").replace("{lake}", lake))

    def rows(self, name, params):
        text = sql("duckdb", name)
        used = {k: v for k, v in params.items() if "$" + k in text}
        cur = self.c.execute(text, used)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


class Spark:
    def __init__(self, lake):
        from pyspark.sql import SparkSession
        self.s = (SparkSession.builder.master("local[*]").appName("pagetrail-lake")
                  .config("spark.sql.session.timeZone", "UTC")
                  .config("spark.ui.enabled", "false")
                  .config("spark.ui.showConsoleProgress", "false")
                  .getOrCreate())
        self.s.sparkContext.setLogLevel("ERROR")
        self.s.sql(sql("spark", "events").replace("{lake}", os.path.abspath(lake)).rstrip().rstrip(";"))

    def rows(self, name, params):
        text = sql("spark", name).rstrip().rstrip(";")
        used = {k: v for k, v in params.items() if ":" + k in text}
        return [r.asDict() for r in self.s.sql(text, args=used).collect()]


def answer(db, q):
    """q: {"question", "from", "to", ...} -> pagetrail's JSON for it."""
    p = {"from": norm_time(q.get("from"), EARLIEST), "to": norm_time(q.get("to"), LATEST)}
    kind = q["question"]
    if kind == "top-readers":
        p.update(space=q.get("space"), by=q.get("by", "pages"), limit=int(q.get("limit", 20)))
        rows = db.rows("top-readers", p)
        return {"rows": [{"user": r["user"], "distinct_pages": r["distinct_pages"], "events": r["events"],
                          "bytes": r["bytes"], "distinct_spaces": r["distinct_spaces"]} for r in rows]}
    if kind == "who-read":
        p.update(page_id=None, space=None, title=None)
        if q.get("page") is not None:
            p["page_id"] = int(q["page"])
        elif q.get("title"):
            p["space"], p["title"] = q["title"].split("/", 1)
        else:
            p["space"] = q["space"]
        rows = db.rows("who-read", p)
        return {"rows": [{"user": r["user"], "events": r["events"], "distinct_pages": r["distinct_pages"],
                          "bytes": r["bytes"], "first_seen": instant(r["first_seen"]),
                          "last_seen": instant(r["last_seen"])} for r in rows]}
    if kind == "user":
        p["user"] = q["user"].lower()
        t = db.rows("user", p)[0]
        day = lambda d: d.isoformat() if isinstance(d, date) else str(d)
        return {
            "user": p["user"], "events": t["events"], "distinct_pages": t["distinct_pages"],
            "distinct_spaces": t["distinct_spaces"], "bytes": t["bytes"],
            "first_seen": instant(t["first_seen"]), "last_seen": instant(t["last_seen"]),
            "days": [{"day": day(r["day"]), "events": r["events"], "distinct_pages": r["distinct_pages"],
                      "bytes": r["bytes"]} for r in db.rows("user-days", p)],
            "spaces": [{"space": r["space"], "events": r["events"], "distinct_pages": r["distinct_pages"],
                        "bytes": r["bytes"]} for r in db.rows("user-spaces", p)],
            "sources": [{"ip": r["ip"], "user_agent": r["user_agent"], "events": r["events"],
                         "first_seen": instant(r["first_seen"]), "last_seen": instant(r["last_seen"])}
                        for r in db.rows("user-sources", p)],
        }
    raise SystemExit(f"unknown question {kind}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("engine", choices=["duckdb", "spark"])
    ap.add_argument("lake")
    ap.add_argument("question", choices=["top-readers", "who-read", "user", "bench"])
    ap.add_argument("arg", nargs="?")
    for o in ["from", "to", "space", "by", "limit", "page", "title"]:
        ap.add_argument("--" + o)
    a = ap.parse_args()
    if not os.path.isdir(a.lake):
        sys.exit(f"{a.lake}: not a folder")
    t0 = time.monotonic()
    db = DuckDB(a.lake) if a.engine == "duckdb" else Spark(a.lake)
    opened = time.monotonic() - t0
    if a.question == "bench":
        # SPEC.json: a list of questions; prints one line per question: answer and seconds.
        for q in json.load(open(a.arg)):
            t = time.monotonic()
            ans = answer(db, q)
            print(json.dumps({"question": q, "seconds": round(time.monotonic() - t, 4), "answer": ans}))
        print(json.dumps({"opened_seconds": round(opened, 3)}), file=sys.stderr)
        return
    q = {"question": a.question, "from": getattr(a, "from"), "to": a.to, "space": a.space, "by": a.by or "pages",
         "limit": a.limit or 20, "page": a.page, "title": a.title, "user": a.arg}
    print(json.dumps(answer(db, q)))


if __name__ == "__main__":
    main()
