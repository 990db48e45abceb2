#!/usr/bin/env bash
# Runs the runtime tests against the PJRT CUDA plugin on a machine with an NVIDIA GPU and
# records the outcome (card, driver, versions, test output) in OUT_DIR.
#
#   scripts/gpu-smoke.sh [OUT_DIR]      default: $OUT, else bench/gpu-smoke
#
# Needs: node >= 20 on PATH, this package installed (npm install; `build/Release/pjrt_bert.node`
# and `dist/`), and `pip install jax-cuda13-pjrt` (its nvidia-* wheels provide CUDA).
# Tests that need 8 devices are skipped on a single GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-bench/gpu-smoke}}
mkdir -p "$out"

# shellcheck source=scripts/cuda-env.sh
source scripts/cuda-env.sh "$out/environment.txt"

node bin/pjrt-bert.js plugin where cuda 2>&1 | tee "$out/plugin.txt"
node bin/pjrt-bert.js devices --plugin cuda 2>&1 | tee "$out/devices.txt"
PJRT_BERT_TEST_PLUGIN=cuda node_modules/.bin/tap --reporter=tap \
  test/runtime.test.ts test/runtime-errors.test.ts test/runtime-async.test.ts 2>&1 | tee "$out/tests.txt"
status=${PIPESTATUS[0]}
echo "runtime tests on cuda: exit $status" | tee -a "$out/environment.txt"
exit "$status"
