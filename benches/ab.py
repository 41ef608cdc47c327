#!/usr/bin/env python3
"""Times two or more pagetrail binaries on the same commands, alternating run by run.

On a shared, noisy machine one binary timed after another drifts with the load; alternating
(A B, B A, ...) gives both the same conditions. Prints the median whole-process time per binary
and command, and the ratio of the first binary to each other one.

  python3 benches/ab.py --bin /tmp/old --bin target/release/pagetrail --runs 50 \
      -- "--store /tmp/s rejects" "--store /tmp/s events --user adavis2 --last 3d"

Copy each binary to a fresh file first: a binary whose pages sit in the page cache differently
starts faster or slower by a millisecond, which is the size of the effects this is for.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", action="append", required=True, help="a binary (give two or more)")
    ap.add_argument("--runs", type=int, default=40, help="runs per binary and command")
    ap.add_argument("commands", nargs="+", help="argument strings, one per command")
    args = ap.parse_args()
    bins = args.bin
    print("| command | " + " | ".join(os.path.basename(b) + " (ms)" for b in bins) + " | ratios |")
    print("|---|" + "---:|" * len(bins) + "---|")
    for command in args.commands:
        argv = shlex.split(command)
        times = {b: [] for b in bins}
        for i in range(args.runs):
            for b in bins if i % 2 == 0 else bins[::-1]:
                start = time.perf_counter()
                subprocess.run([b] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
                times[b].append(time.perf_counter() - start)
        med = [statistics.median(times[b]) * 1e3 for b in bins]
        ratios = ", ".join(f"{med[0] / m:.2f}" for m in med[1:])
        print(f"| `{command}` | " + " | ".join(f"{m:.2f}" for m in med) + f" | {ratios} |")


if __name__ == "__main__":
    main()
