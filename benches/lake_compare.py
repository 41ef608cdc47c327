#!/usr/bin/env python3
"""pagetrail, DuckDB and Spark on the same questions: a store and its `export parquet` lake.

    python3 benches/lake_compare.py PAGETRAIL STORE LAKE [RUNS] [--no-spark]

Picks a page, a space and a user from the store, asks top-readers, who-read (page and space)
and user over windows ending at the store's last day, checks that DuckDB and Spark (through
sql/lake.py, one warm session each) give pagetrail's exact JSON, and prints a table of median
seconds: pagetrail as a whole process, the engines warm inside their own process (their start-up
and view creation printed apart). Needs `pip install duckdb pyspark` and Java 17+.
"""
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sql"))
import lake  # noqa: E402


def pt(exe, store, args):
    out = subprocess.run([exe, "--store", store, "--format", "json", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.splitlines()[0]) if args[0] != "events" else out.stdout


def timed(f, runs):
    ts, ans = [], None
    for _ in range(runs):
        t = time.monotonic()
        ans = f()
        ts.append(time.monotonic() - t)
    return statistics.median(ts), ans


def main():
    argv = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(argv) < 3:
        sys.exit(__doc__)
    exe, store, lake_dir = argv[:3]
    runs = int(argv[3]) if len(argv) > 3 else 3
    stats = pt(exe, store, ["stats"])
    last = datetime.strptime(stats["last"][:10], "%Y-%m-%d") + timedelta(days=1)
    day = lambda n: (last - timedelta(days=n)).strftime("%Y-%m-%d")
    end = last.strftime("%Y-%m-%d")
    top = pt(exe, store, ["top-readers", "--from", day(7), "--to", end, "--limit", "5"])["rows"]
    user = top[-1]["user"]
    evs = [json.loads(l) for l in pt(exe, store, ["events", "--user", user, "--from", day(7), "--to", end]).splitlines()]
    hit = next(e for e in evs if e.get("page_id") and e.get("space"))
    page, space = hit["page_id"], hit["space"]
    qs = [
        ("top readers by pages, 90 days", {"question": "top-readers", "by": "pages", "limit": 20, "from": day(90), "to": end}),
        ("top readers by bytes, 7 days", {"question": "top-readers", "by": "bytes", "limit": 20, "from": day(7), "to": end}),
        ("top readers in one space, 30 days", {"question": "top-readers", "by": "pages", "limit": 20, "space": space, "from": day(30), "to": end}),
        ("who read a page, 60 days", {"question": "who-read", "page": page, "from": day(60), "to": end}),
        ("who read a space, 30 days", {"question": "who-read", "space": space, "from": day(30), "to": end}),
        ("one user's week", {"question": "user", "user": user, "from": day(7), "to": end}),
    ]

    def pt_args(q):
        a = [q["question"]]
        if q["question"] == "top-readers":
            a += ["--by", q["by"], "--limit", str(q["limit"])] + (["--space", q["space"]] if q.get("space") else [])
        elif q["question"] == "who-read":
            a += ["--page", str(q["page"])] if q.get("page") else ["--space", q["space"]]
        else:
            a += [q["user"]]
        return a + ["--from", q["from"], "--to", q["to"]]

    engines = [("duckdb", lake.DuckDB)]
    if "--no-spark" not in sys.argv:
        engines.append(("spark", lake.Spark))
    results = {name: {} for name, _ in [("pagetrail", None)] + engines}
    for label, q in qs:
        results["pagetrail"][label] = timed(lambda: pt(exe, store, pt_args(q)), runs)
    opened = {}
    for name, cls in engines:
        t = time.monotonic()
        db = cls(lake_dir)
        opened[name] = time.monotonic() - t
        for label, q in qs:
            answer = lake.answer(db, q)  # warm-up, and the answer to check
            results[name][label] = timed(lambda: lake.answer(db, q), runs)
    print(f"store {store}: {stats['events']:,} events; lake {lake_dir}; median of {runs}; "
          + ", ".join(f"{n} start-up {s:.1f} s" for n, s in opened.items()))
    head = f"{'question':<36}" + "".join(f"{n:>12}" for n in results) + "   same answer"
    print(head)
    for label, _ in qs:
        want = results["pagetrail"][label][1]
        same = all(results[n][label][1] == want for n in results)
        print(f"{label:<36}" + "".join(f"{results[n][label][0] * 1000:>10.0f}ms" for n in results)
              + f"   {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
