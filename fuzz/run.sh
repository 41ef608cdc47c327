#!/bin/sh
# Runs fuzz targets one after another and prints a table row per target: inputs run, seconds,
# and whether it crashed. Usage: fuzz/run.sh RUNS MAX_SECONDS target...
# The working corpus lives outside the repository ($FUZZ_WORK, default /tmp/pagetrail-fuzz),
# so fuzz/corpus keeps only the seeds; new crash inputs land in fuzz/artifacts/<target>/.
set -u
runs=$1 secs=$2
shift 2
work=${FUZZ_WORK:-/tmp/pagetrail-fuzz}
sanitizer=${FUZZ_SANITIZER:-none}
# One target folder per sanitizer: switching flags in one folder rebuilds everything (10 min).
case $sanitizer in
    none) tdir=${FUZZ_TARGET_DIR:-$HOME/.cache/pagetrail-fuzz-target-nosan} ;;
    *) tdir=${FUZZ_TARGET_DIR:-$HOME/.cache/pagetrail-fuzz-target} ;;
esac
cd "$(dirname "$0")/.." || exit 1
for t in "$@"; do
    mkdir -p "$work/corpus/$t" "$work/logs"
    log="$work/logs/$t.log"
    start=$(date +%s)
    RUSTC_BOOTSTRAP=1 cargo fuzz run -a -s "$sanitizer" --target-dir "$tdir" "$t" \
        "$work/corpus/$t" "fuzz/corpus/$t" -- \
        -runs="$runs" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 >"$log" 2>&1
    rc=$?
    end=$(date +%s)
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "| $t | ${n:-?} | $((end - start)) | rc=$rc |"
done
