#!/usr/bin/env bash
# Builds capsrun with AddressSanitizer and UndefinedBehaviorSanitizer into
# build-asan/ and runs the whole busted suite under it. Any report fails.
set -uo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCAPSRUN_SANITIZE=address,undefined >/dev/null || exit 1
cmake --build build-asan -j"$(nproc)" >/dev/null || exit 1
export LSAN_OPTIONS="suppressions=$PWD/tools/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
log=$(mktemp)
CAPSRUN_BIN="$PWD/build-asan/capsrun" build-asan/capsrun /usr/bin/busted -o utfTerminal spec 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$log"; then echo "sanitizer report above"; rc=1; fi
rm -f "$log"
exit "$rc"
