#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for SECONDS (default
# 60) on a copy of its committed seed corpus. `bash tools/fuzz.sh 3600` for a
# longer run. Crashes are written to build-fuzz/crash-* and fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
if ! dpkg-query -W -f='${Status}' clang libclang-rt-14-dev 2>/dev/null | grep -q "ok installed.*ok installed"; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null
fi
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCAPSRUN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_idx fuzz_tensorio fuzz_png fuzz_norb fuzz_http fuzz_matfile >/dev/null
for t in idx tensorio png norb http matfile; do
  work=build-fuzz/corpus-$t
  mkdir -p "$work"
  cp -n fuzz/corpus/$t/* "$work"/ 2>/dev/null || true
  echo "fuzzing $t for ${secs}s"
  build-fuzz/fuzz_$t -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix=build-fuzz/crash-$t- "$work" 2>&1 | grep -E "^(#[0-9]+ +DONE|==|SUMMARY|Done)" || true
  if ls build-fuzz/crash-$t-* >/dev/null 2>&1; then echo "fuzz_$t found a crash"; exit 1; fi
done
