#!/usr/bin/env python3
"""Soak run of `pagetrail watch`: a live access log written at a steady rate, rotated and
gzipped like logrotate, for N minutes. Prints the lines/s held, the collector's memory over the
run (peak, and first against last minutes: growth), and the time from a line being written to
its being queryable.

    cargo build --release -p pagetrail-cli
    python3 benches/watch_soak.py --minutes 10 --rate 1500

A benchmark, not a test: it prints what it measured and judges nothing."""

import argparse
import gzip
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def binary():
    for d in (os.environ.get("CARGO_TARGET_DIR"), str(Path.home() / ".cache/pagetrail-target"), "target"):
        if d and Path(d, "release", "pagetrail").exists():
            return str(Path(d, "release", "pagetrail"))
    sys.exit("build first: cargo build --release -p pagetrail-cli")


def rss_kib(pid):
    """(VmRSS, VmHWM) in KiB from /proc."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out.get("VmRSS", 0), out.get("VmHWM", 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=int, default=1500, help="lines per second written")
    ap.add_argument("--rotate-minutes", type=float, default=3)
    ap.add_argument("--bin", default=None)
    ap.add_argument("--repeat-lines", type=int, default=0,
                    help="write only the first N generated lines, over and over: after the first pass no new "
                         "strings arrive, so memory that still grows grows per line, not per distinct string")
    a = ap.parse_args()
    pt = a.bin or binary()
    tmp = Path(tempfile.mkdtemp(prefix="pagetrail-soak-"))
    src = tmp / "source.log"
    need = int(a.rate * a.minutes * 60 * 1.1)
    users = max(200, need // 900) if not a.repeat_lines else 200
    with open(src, "wb") as f:
        subprocess.run([pt, "gen", "--users", str(users), "--days", "30"], stdout=f, check=True)
    lines = src.read_bytes().splitlines(keepends=True)
    if a.repeat_lines:
        lines = lines[:a.repeat_lines]
    print(f"source: {len(lines):,} generated lines ({users} users x 30 days); writing {a.rate}/s for {a.minutes} min",
          file=sys.stderr)
    logs = tmp / "logs"
    logs.mkdir()
    live = logs / "conf_access_log.log"
    store = tmp / "store"
    err = open(tmp / "watch.err", "wb")
    w = subprocess.Popen([pt, "--store", str(store), "watch", "--poll", "1s", "--detect-every", "2m",
                          "--alerts", str(tmp / "alerts.jsonl"), str(logs)], stderr=err)
    stop = threading.Event()
    written = [0]
    wrote_for = [0.0]
    probes = []

    def writer():
        i = 0
        t0 = time.time()
        rotated_at = t0
        gen = 0
        while not stop.is_set():
            due = int((time.time() - t0) * a.rate)
            chunk = []
            while written[0] < due:
                chunk.append(lines[i % len(lines)])
                i += 1
                written[0] += 1
            with open(live, "ab") as f:
                f.write(b"".join(chunk))
            if time.time() - rotated_at > a.rotate_minutes * 60:
                # logrotate with delaycompress: .1 is gzipped at the next rotation.
                gen += 1
                old = logs / "conf_access_log.log.1"
                if old.exists():
                    with open(old, "rb") as fi, gzip.open(logs / f"conf_access_log.log.{gen}.gz", "wb") as fo:
                        shutil.copyfileobj(fi, fo)
                    old.unlink()
                os.rename(live, old)
                rotated_at = time.time()
            time.sleep(0.1)
        wrote_for[0] = time.time() - t0

    def prober():
        n = 0
        while not stop.wait(20):
            n += 1
            user = f"probe{n}"
            t = time.gmtime()
            stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", t)
            line = (f"[{stamp}] {user} http-nio-8090-exec-1 10.9.9.9 GET /pages/viewpage.action?pageId=424242 "
                    f"HTTP/1.1 200 5ms 100 - Mozilla/5.0\n").encode()
            with open(live, "ab") as f:
                f.write(line)
                written[0] += 1
            t0 = time.time()
            while time.time() - t0 < 60:
                o = subprocess.run([pt, "--store", str(store), "--format", "json", "events", "--user", user],
                                   capture_output=True)
                if o.returncode == 0 and o.stdout.strip():
                    probes.append(time.time() - t0)
                    break
                time.sleep(0.05)

    threads = [threading.Thread(target=writer), threading.Thread(target=prober)]
    for t in threads:
        t.start()
    samples = []
    t_start = time.time()
    while time.time() - t_start < a.minutes * 60:
        time.sleep(10)
        samples.append((time.time() - t_start, *rss_kib(w.pid)))
    stop.set()
    for t in threads:
        t.join()
    # Let the collector catch up, then stop it the way systemd does.
    time.sleep(3)
    peak = rss_kib(w.pid)[1]
    w.send_signal(signal.SIGTERM)
    code = w.wait(timeout=60)
    err.close()
    stats = json.loads(subprocess.run([pt, "--store", str(store), "--format", "json", "stats"], capture_output=True,
                                      check=True).stdout)
    lines_in = int(subprocess.run([pt, "--store", str(store), "stats"], capture_output=True, text=True)
                   .stdout.split("lines")[1].split()[0].replace(",", ""))
    dur = a.minutes * 60
    held = lines_in / wrote_for[0]
    first = [s[1] for s in samples if s[0] <= 70]
    last = [s[1] for s in samples if s[0] >= dur - 60]
    log = (tmp / "watch.err").read_text().splitlines()
    print(f"| measure | value |")
    print(f"|---|---|")
    print(f"| run | {a.minutes} min, {a.rate} lines/s written, rotation every {a.rotate_minutes} min, gzip at the next |")
    print(f"| lines written | {written[0]:,} |")
    print(f"| lines in the store after SIGTERM | {lines_in:,} ({stats['events']:,} events) |")
    print(f"| lines/s held | {held:,.0f} over {wrote_for[0]:.0f} s of writing (all {written[0]:,} in the store: {lines_in == written[0]}) |")
    print(f"| exit on SIGTERM | {code} |")
    print(f"| peak RSS (VmHWM) | {peak / 1024:.1f} MiB |")
    print(f"| RSS, median of the first minute | {statistics.median(first) / 1024:.1f} MiB |")
    print(f"| RSS, median of the last minute | {statistics.median(last) / 1024:.1f} MiB |")
    if probes:
        print(f"| written -> queryable, median of {len(probes)} | {statistics.median(probes):.2f} s |")
        print(f"| written -> queryable, max | {max(probes):.2f} s |")
    mem = []
    for l in log:
        if "event=memory" in l:
            f = dict(kv.split("=", 1) for kv in l.split() if "=" in kv)
            mem.append({k: int(v) for k, v in f.items() if k.endswith("_kib") and v.isdigit()})
    half = [s for s in samples if s[0] >= dur / 2]
    if len(half) >= 2:
        # Least squares over the second half: a collector that stopped growing has a slope near 0.
        n = len(half)
        mx, my = sum(s[0] for s in half) / n, sum(s[1] for s in half) / n
        slope = sum((s[0] - mx) * (s[1] - my) for s in half) / sum((s[0] - mx) ** 2 for s in half)
        print(f"| RSS trend over the second half | {slope * 60 / 1024:+.2f} MiB per minute |")
    print(f"| commits logged | {sum('event=commit' in l for l in log)} |")
    print(f"| warnings or errors logged | {sum('level=warn' in l or 'level=error' in l for l in log)} |")
    if mem:
        print()
        print("| minute | RSS | memtables | block cache | table readers | names | heap in use | heap freed, held |")
        print("|---|---|---|---|---|---|---|---|")
        mib = lambda r, k: f"{r[k] / 1024:.1f}" if k in r else "-"
        for i, r in enumerate(mem):
            print(f"| {i + 1} | {mib(r, 'rss_kib')} | {mib(r, 'memtables_kib')} | {mib(r, 'block_cache_kib')} | "
                  f"{mib(r, 'table_readers_kib')} | {mib(r, 'names_kib')} | {mib(r, 'heap_used_kib')} | {mib(r, 'heap_free_kib')} |")
    print("rss samples (s, MiB):", " ".join(f"{s[0]:.0f}:{s[1] / 1024:.0f}" for s in samples), file=sys.stderr)
    print(f"store and logs kept in {tmp}", file=sys.stderr)


if __name__ == "__main__":
    main()
