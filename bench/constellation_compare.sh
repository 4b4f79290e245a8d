#!/usr/bin/env bash
# The constellation autoencoder's training step (the official configuration,
# float32, forward + backward + Adam), capsrun against PyTorch's version of
# the official code (bench/constellation_torch.py) on the same initial
# parameters, side by side in one run.
#   bash bench/constellation_compare.sh [THREADS] [BATCH] [STEPS]   (default: 1, 32, 20)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}; batch=${2:-32}; steps=${3:-20}
python=${CAPSRUN_PYTHON:-/usr/bin/python3}
echo "# $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo none), $(lscpu | sed -n 's/^Model name: *//p')"
params=$(mktemp --suffix=.tensors)
build/capsrun -e "local m = capsrun.scae.ConstellationAE.new{gen = capsrun.generator(1)}
  local t = {}
  for _, e in ipairs(m:named_parameters()) do t['param.' .. e.name] = e.param end
  capsrun.native.save_tensors('$params', t)"
ours=$(build/capsrun bench/constellation_bench.lua "$threads" "$batch" "$steps")
theirs=$("$python" bench/constellation_torch.py bench "$threads" "$batch" "$steps" "$params")
rm -f "$params"
echo "$ours"; echo "$theirs"
awk -v a="$(echo "$ours" | sed 's/.*: \([0-9.]*\) ms.*/\1/')" -v t="$(echo "$theirs" | sed 's/.*: \([0-9.]*\) ms.*/\1/')" \
  'BEGIN { printf "pytorch / capsrun time = %.2fx\n", t / a }'
