#!/usr/bin/env bash
# Builds the addon itself with AddressSanitizer and runs the jest suite against it.
#
#   bash scripts/asan-addon.sh                 # whole jest suite
#   bash scripts/asan-addon.sh test/wal.test.ts test/property.test.ts   # some suites
#
# How: the package is copied to build-asan-addon/pkg (sources, lib, tests; node_modules is a
# symlink) so the normal build/Release is left alone; node-gyp builds there with
# -fsanitize=address; node (not instrumented) runs with the ASan runtime preloaded
# (LD_PRELOAD=$(gcc -print-file-name=libasan.so)) and leak detection off, since node itself
# keeps allocations alive at exit. Any ASan report aborts the process, which fails the test that
# ran it. Linux + gcc; the runtime must match the compiler that built the addon.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
work="$root/build-asan-addon/pkg"
libasan="$(gcc -print-file-name=libasan.so)"
if [ ! -e "$libasan" ]; then echo "asan-addon: no libasan.so from gcc ($libasan)" >&2; exit 2; fi

mkdir -p "$work"
# Mirror the package (no build outputs, no node_modules: linked).
tar -C "$root" --exclude=./node_modules --exclude='./build*' --exclude=./.git -cf - . | tar -C "$work" -xf -
ln -sfn "$root/node_modules" "$work/node_modules"
cd "$work"

export CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g"
export CXXFLAGS="-fsanitize=address -fno-omit-frame-pointer -g"
export LDFLAGS="-fsanitize=address"
if [ "${PWAL_ASAN_REUSE:-0}" = 1 ] && [ -f build/Release/parallel_wal.node ]; then
  echo "asan-addon: reusing $work/build/Release/parallel_wal.node"
else
  npx node-gyp rebuild >/tmp/pwal-asan-addon-build.log 2>&1 || { tail -40 /tmp/pwal-asan-addon-build.log; exit 1; }
fi
unset CFLAGS CXXFLAGS LDFLAGS
# The addon must really be instrumented.
if [ "$(nm -D build/Release/parallel_wal.node | grep -c __asan_)" = 0 ]; then
  echo "asan-addon: build/Release/parallel_wal.node is not instrumented" >&2; exit 1
fi
# From here on every node process may load the instrumented addon (write-esm-entry.js does).
export LD_PRELOAD="$libasan"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:print_stacktrace=1:allow_user_segv_handler=1:handle_segv=0"
npx tsc -p tsconfig.build.json && node scripts/write-esm-entry.js
echo "asan-addon: running jest against $(realpath build/Release/parallel_wal.node) with $libasan preloaded"
status=0
# test/e2e packs and installs the package (packaging, not memory safety; it needs the real
# checkout, not this mirror): left out unless suites are named.
if [ $# -eq 0 ]; then set -- --testPathIgnorePatterns '/test/e2e/'; fi
npx jest --ci "$@" 2>&1 | tee /tmp/pwal-asan-addon-jest.log || status=${PIPESTATUS[0]}
if grep -q "ERROR: AddressSanitizer" /tmp/pwal-asan-addon-jest.log; then
  echo "asan-addon: AddressSanitizer reported errors (see above)" >&2
  status=1
fi
exit $status
