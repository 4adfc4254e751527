#!/usr/bin/env bash
# Configures, builds and runs the core's ctest suite under a sanitizer.
#   scripts/test-native.sh asan   (ASan + UBSan, the default; what `npm test` runs)
#   scripts/test-native.sh tsan
#   scripts/test-native.sh plain
set -euo pipefail
mode="${1:-asan}"
cd "$(dirname "$0")/.."
case "$mode" in
  asan) san=address ;;
  tsan) san=thread ;;
  plain) san="" ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
dir="build-native-$mode"
cmake -S . -B "$dir" -DPWAL_SANITIZE="$san" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j "$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
# Run the suite against every CRC32C implementation this CPU supports.
ctest --test-dir "$dir" --output-on-failure -j "$(nproc)"
