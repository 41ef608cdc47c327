#!/usr/bin/env python3
"""How well `detect` ranks planted incidents, and how much it says about everyone else.

    python3 benches/detect_quality.py PAGETRAIL STORE TRUTH.jsonl USERS DAYS [detect args...]

STORE holds a site made by `pagetrail gen --incidents --truth TRUTH.jsonl` (USERS people over
DAYS days). Prints, from one default `detect --format json` (no allow-list):
  - each planted incident: whether its detectors found it, and its person's case rank;
  - medium-or-high alerts and cases on people with nothing planted, per 10,000 user-days;
  - the number of cases, by severity, and the unplanted medium+ alerts by detector.
Standard library only.
"""
import collections
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta


def ms(s):
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%S%z").timestamp() * 1000) if "." not in s else int(
        datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


def main():
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    exe, store, truth_path, users, days = sys.argv[1:6]
    extra = sys.argv[6:]
    truth = [json.loads(l) for l in open(truth_path) if l.strip()]
    t0 = time.monotonic()
    out = subprocess.run([exe, "--store", store, "--format", "json", "detect", *extra],
                         check=True, capture_output=True, text=True)
    secs = time.monotonic() - t0
    doc = json.loads(out.stdout)
    alerts, cases = doc["alerts"], doc.get("cases", [])
    day = 86_400_000
    planted = {i["user"] for i in truth}
    user_days = int(users) * int(days)

    print(f"detect: {secs:.1f} s, {len(alerts)} alerts, {len(cases)} cases")
    print(f"{'incident':<16} {'user':<22} {'found':<40} {'missed':<24} case rank")
    missed_total = 0
    for inc in truth:
        s, e = inc["start_ms"], inc["end_ms"]
        found, missed = [], []
        for d in inc["detectors"]:
            hit = any(a["detector"] == d and a["user"] == inc["user"] and ms(a["start"]) <= e + day
                      and ms(a["end"]) >= s - day for a in alerts)
            (found if hit else missed).append(d)
        missed_total += len(missed)
        ranks = [c["rank"] for c in cases if c["user"] == inc["user"]]
        rank = min(ranks) if ranks else "-"
        print(f"{inc['kind']:<16} {inc['user']:<22} {','.join(found):<40} {','.join(missed) or '-':<24} {rank}")
    ranks = [min([c["rank"] for c in cases if c["user"] == u] or [10**9]) for u in planted]
    print(f"planted people: {len(planted)}; worst case rank {max(ranks) if ranks else '-'} "
          f"(aim <= {2 * len(planted)}); detector misses {missed_total}")

    fp_alerts = [a for a in alerts if a["severity"] != "low" and a["user"] not in planted]
    fp_cases = [c for c in cases if c["severity"] != "low" and c["user"] not in planted]
    per = lambda n: n / user_days * 10_000
    print(f"unplanted medium+ alerts: {len(fp_alerts)} = {per(len(fp_alerts)):.1f} per 10k user-days; "
          f"medium+ cases: {len(fp_cases)} = {per(len(fp_cases)):.1f}; together "
          f"{per(len(fp_alerts) + len(fp_cases)):.1f} (aim <= 10)")
    by = collections.Counter((a["detector"], a["severity"]) for a in fp_alerts)
    for (d, sev), n in by.most_common():
        print(f"  {d:<18} {sev:<6} {n}")
    sev = collections.Counter(c["severity"] for c in cases)
    print(f"cases by severity: {dict(sev)}")
    for c in cases[:25]:
        tag = "PLANTED" if c["user"] in planted else ""
        print(f"  #{c['rank']:<3} {c['score']:>7} {c['severity']:<6} {c['user']:<22} {tag:<8} {','.join(c['detectors'])}")


if __name__ == "__main__":
    main()
