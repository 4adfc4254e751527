#!/usr/bin/env bash
# Long forms of the reliability campaign (docs/durability.md, "Campaign figures").
#
#   npm run stress -- --workloads 100000        simulated power loss: N seeded workloads through
#                                               the real Wal, crashing at every I/O step, sharded
#                                               over --jobs processes (default: every core)
#   npm run stress -- --io-errors               the I/O error matrix (plain build)
#   npm run stress -- --kill-rounds 100         kill -9 during recovery/cleanup/reopen (per mode)
#   npm run stress -- --lifecycle-cycles 10000  worker open/commit/terminate cycles
#   npm run stress -- --property-runs 20        fast-check suites with 20x the CI run counts
# Options: --seed S (power loss base seed), --jobs J, --build plain|asan|tsan (default plain).
# Several may be combined; the exit status is non-zero if any part failed.
set -euo pipefail
cd "$(dirname "$0")/.."

workloads="" seed=20241121 jobs="$(nproc)" build=plain io=0 kill="" cycles="" prop=""
while [ $# -gt 0 ]; do
  case "$1" in
    --workloads) workloads="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --io-errors) io=1; shift ;;
    --kill-rounds) kill="$2"; shift 2 ;;
    --lifecycle-cycles) cycles="$2"; shift 2 ;;
    --property-runs) prop="$2"; shift 2 ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$workloads$kill$cycles$prop" ] && [ "$io" = 0 ]; then workloads=10000; fi

status=0
case "$build" in
  plain) san="" ;; asan) san=address ;; tsan) san=thread ;;
  *) echo "unknown build $build" >&2; exit 2 ;;
esac
dir="build-native-$build"

if [ -n "$workloads" ] || [ "$io" = 1 ]; then
  cmake -S . -B "$dir" -DPWAL_SANITIZE="$san" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$dir" -j "$(nproc)" --target stress_power_loss_test stress_io_errors_test >/dev/null
fi

if [ -n "$workloads" ]; then
  echo "power loss: $workloads workloads, seed $seed, $jobs shards ($build build)"
  tmp="$(mktemp -d)"
  pids=()
  for ((s = 0; s < jobs; s++)); do
    PWAL_STRESS_WORKLOADS="$workloads" PWAL_STRESS_SEED="$seed" PWAL_STRESS_SHARD="$s" PWAL_STRESS_SHARDS="$jobs" \
      "$dir/stress_power_loss_test" --gtest_filter='StressPowerLoss.*' >"$tmp/shard-$s.log" 2>&1 &
    pids+=($!)
  done
  for ((s = 0; s < jobs; s++)); do
    if ! wait "${pids[$s]}"; then status=1; echo "shard $s FAILED:"; grep -E "FAILURE|Failure|Expected" "$tmp/shard-$s.log" | head -20; fi
  done
  grep -h '^STRESS power-loss:' "$tmp"/shard-*.log | awk '
    { for (i = 3; i <= NF; i++) if (split($i, kv, "=") == 2 && kv[2] ~ /^[0-9.]+$/) { sum[kv[1]] += kv[2]; order[kv[1]] = i } }
    END {
      printf "TOTAL power loss: workloads=%d crash_points=%d crashes_hit=%d commits_submitted=%d acked_commits_checked=%d records_checked=%d reopens=%d failures=%d\n",
        sum["workloads"], sum["crash_points"], sum["crashes_hit"], sum["commits_submitted"], sum["acked_commits_checked"], sum["records_checked"], sum["reopens"], sum["failures"]
    }'
  grep -h '^  FAILURE' "$tmp"/shard-*.log | head -20 || true
  rm -rf "$tmp"
fi

if [ "$io" = 1 ]; then
  "$dir/stress_io_errors_test" | grep -E '^STRESS|FAILED|OK \]' || status=1
fi

if [ -n "$kill$cycles$prop" ]; then
  suites=()
  [ -n "$kill" ] && suites+=(test/reliability/kill9-recovery.test.ts)
  [ -n "$cycles" ] && suites+=(test/reliability/lifecycle-stress.test.ts)
  [ -n "$prop" ] && suites+=(test/property.test.ts)
  PWAL_KILL_RECOVERY_ROUNDS="${kill:-6}" PWAL_LIFECYCLE_CYCLES="${cycles:-1000}" PWAL_PROPERTY_RUNS="${prop:-1}" \
    npx jest --runInBand --testTimeout=86400000 "${suites[@]}" || status=1
fi
exit $status
