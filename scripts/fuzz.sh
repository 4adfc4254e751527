#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for N seconds.
#   scripts/fuzz.sh [seconds per target, default 30]
# Exits non-zero if any target finds a crash (libFuzzer writes the input as crash-*/leak-*
# under build-fuzz/artifacts/). The seed corpus lives in native/fuzz/corpus/<target>/; new
# inputs found during the run go to build-fuzz/corpus/<target>/ (not committed).
set -euo pipefail
secs="${1:-30}"
cd "$(dirname "$0")/.."
cxx="${CXX_FUZZ:-clang++}"
command -v "$cxx" >/dev/null || cxx=clang++-14
dir=build-fuzz
cmake -S . -B "$dir" -DPWAL_FUZZ=ON -DCMAKE_CXX_COMPILER="$cxx" -DPWAL_SANITIZE=address \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j "$(nproc)" --target segment_decoder_fuzzer recovery_fuzzer log_file_fuzzer
mkdir -p "$dir/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
for target in segment_decoder_fuzzer recovery_fuzzer log_file_fuzzer; do
  seeds="native/fuzz/corpus/${target%_fuzzer}"
  work="$dir/corpus/${target%_fuzzer}"
  mkdir -p "$work"
  echo "== $target for ${secs}s (seeds: $seeds)"
  # A log file's second frame starts at 4 KiB: give that target room for three slots.
  max_len=4096
  [ "$target" = log_file_fuzzer ] && max_len=12288
  if ! "$dir/$target" "$work" "$seeds" -max_total_time="$secs" -max_len="$max_len" \
      -artifact_prefix="$dir/artifacts/$target-" -print_final_stats=1 2>"$dir/$target.log"; then
    echo "!! $target found a crash; see $dir/$target.log and $dir/artifacts/" >&2
    tail -40 "$dir/$target.log" >&2
    status=1
  fi
  grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" \
    "$dir/$target.log" || true
done
exit $status
