#!/usr/bin/env bash
# The GPU benchmark of issue 6: BERT-base S=128 at B=32 and B=256, f32 and bf16, through the
# PJRT CUDA plugin of jax-cuda13-pjrt, with JAX (and PyTorch CUDA when the machine's python3
# has torch + transformers) as references in the same run. Writes to OUT_DIR:
#   environment.txt  card, driver, date, versions
#   devices.txt      what the CUDA plugin reports
#   bench.json       the `pjrt-bert bench --json` object
#   RESULTS-gpu.md   the same as a dated Markdown section, to paste into bench/RESULTS.md
#   bench.log        progress and any errors
#   job.json, job.log, RESULTS-gpu-job.md   issue 13's whole GRGE job (`bench --job --plugin
#                    cuda`), when $PJRT_BERT_DATA names a folder holding GRGE_sentiment.csv
#                    and python3 has `tokenizers` (the vocabulary); the Hugging Face Trainer row
#                    only when it also has torch, transformers and accelerate. Skipped otherwise,
#                    with the reason in job.log.
#
#   scripts/gpu-bench.sh [OUT_DIR]        default: $OUT, else bench/gpu
#
# Made for the lent device machine, which has CUDA and python3 with jax + jax-cuda13-pjrt but no
# network and maybe no node. Prepare on the dev machine (all ignored by git):
#   npm install                                              # dist/, build/Release/pjrt_bert.node
#   mkdir -p .carry && xz -T2 -c "$(command -v node)" >.carry/node.xz  # node is one self-contained binary
# then run with carry [".carry", "dist", "build/Release", "node_modules/zod"]:
#   bash scripts/gpu-bench.sh "$OUT"
# BENCH_ARGS overrides the bench flags (e.g. BENCH_ARGS="--configs mini" for a quick check).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-bench/gpu}}
mkdir -p "$out"

if ! command -v node >/dev/null || [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
  if [ ! -f .carry/node.xz ]; then
    echo "gpu-bench: no node >= 20 on PATH and no .carry/node.xz to unpack (see the top of this script)" >&2
    exit 1
  fi
  mkdir -p /tmp/node/bin && xz -dc .carry/node.xz >/tmp/node/bin/node && chmod +x /tmp/node/bin/node
  export PATH="/tmp/node/bin:$PATH"
fi

# shellcheck source=scripts/cuda-env.sh
source scripts/cuda-env.sh "$out/environment.txt"

node bin/pjrt-bert.js devices --plugin cuda 2>&1 | tee "$out/devices.txt"

# K=8 steps per execution, 16 timed steps (two timed calls) per framework and model.
read -r -a args <<<"${BENCH_ARGS:---configs base --precision f32,bf16 --batch-size 32,256 --steps-per-execution 8 --steps 16 --warmup 1}"
node bin/pjrt-bert.js bench --plugin cuda --python python3 --json --record "$out/RESULTS-gpu.md" "${args[@]}" \
  >"$out/bench.json" 2> >(tee "$out/bench.log" >&2)
status=$?
echo "bench exit: $status" | tee -a "$out/environment.txt"

# Issue 13's job on the GPU, after the step bench (its failure does not change the exit status).
data=${PJRT_BERT_DATA:-}
if [ -z "$data" ] || [ ! -f "$data/GRGE_sentiment.csv" ]; then
  echo "job: skipped, PJRT_BERT_DATA (${data:-unset}) holds no GRGE_sentiment.csv; set it to the folder of the real data to run the job" | tee "$out/job.log"
elif ! python3 -c 'import tokenizers' 2>/dev/null; then
  echo "job: skipped, python3 has no tokenizers package (it trains the job's vocabulary)" | tee "$out/job.log"
else
  runs=fixed,bucket,pack
  if python3 -c 'import torch, transformers, accelerate' 2>/dev/null; then runs=$runs,hf; else echo "job: no torch/transformers/accelerate in python3, the Hugging Face Trainer row is left out" >"$out/job.log"; fi
  PJRT_BERT_DATA=$data node bin/pjrt-bert.js bench --job --plugin cuda --python python3 --runs "$runs" --json --record "$out/RESULTS-gpu-job.md" \
    >"$out/job.json" 2> >(tee -a "$out/job.log" >&2)
  echo "job exit: $?" | tee -a "$out/environment.txt"
fi
exit "$status"
