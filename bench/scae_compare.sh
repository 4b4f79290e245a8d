#!/usr/bin/env bash
# The stacked capsule autoencoder's training step (official MNIST
# configuration, float32 in PyTorch, capsrun's default precision: bf16
# convolutions where the CPU runs them natively; forward + backward + Adam),
# capsrun against PyTorch's version (bench/scae_torch.py) on the same
# initial parameters, side by side in one run.
#   bash bench/scae_compare.sh [THREADS] [BATCH] [STEPS]   (default: 1, 128, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-1}; batch=${2:-128}; steps=${3:-5}
python=${CAPSRUN_PYTHON:-/usr/bin/python3}
echo "# $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo none), $(lscpu | sed -n 's/^Model name: *//p')"
params=$(mktemp --suffix=.tensors)
ours=$(build/capsrun bench/scae_bench.lua "$threads" "$batch" "$steps" "$params")
theirs=$("$python" bench/scae_torch.py "$threads" "$batch" "$steps" "$params")
rm -f "$params"
echo "$ours"; echo "$theirs"
awk -v a="$(echo "$ours" | sed 's/.*: \([0-9.]*\) ms.*/\1/')" -v t="$(echo "$theirs" | sed 's/.*: \([0-9.]*\) ms.*/\1/')" \
  'BEGIN { printf "pytorch / capsrun time = %.2fx\n", t / a }'
