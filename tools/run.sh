#!/usr/bin/env bash
# The main job on a fresh Debian machine: installs missing packages, builds
# capsrun, finds MNIST, and trains CapsNet with experiments/classify.lua.
# Extra arguments go to classify.lua, e.g. bash tools/run.sh --epochs 1
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
bash tools/build.sh
# Data: --data, $CAPSRUN_DATA/mnist and ./data/mnist are searched by
# classify.lua itself; a workspace copy beside the checkout is used next, and
# otherwise the canonical files are downloaded into ./data/mnist.
if [ -z "${CAPSRUN_DATA:-}" ] && [ ! -e data/mnist/train-images-idx3-ubyte.gz ] && [ ! -e data/mnist/train-images-idx3-ubyte ]; then
  if [ -e ../shared/data/mnist/train-images-idx3-ubyte.gz ]; then
    export CAPSRUN_DATA="$(cd ../shared/data && pwd)"
  else
    build/capsrun tools/download.lua mnist data/mnist
  fi
fi
exec build/capsrun experiments/classify.lua "$@"
