#!/usr/bin/env bash
# Times our BERT train step through several CPU PJRT plugin builds in one run, alternating the
# plugins round by round (and rotating which goes first) so that load from other tenants of a
# shared machine falls on all of them alike. PyTorch and JAX are timed beside them in the first
# rounds for the pairs REFERENCES lists, so every ratio comes from the same run. Each plugin runs
# in its own `pjrt-bert bench` process, a minute or more apart: on a heavily loaded machine,
# bench/cpu-plugins-bench.ts (steps alternating within one process) gives steadier ratios.
#
#   scripts/compare-cpu-plugins.sh OUT_DIR PLUGIN.so [PLUGIN.so ...]
#
# Environment (all optional):
#   CONFIGS="mini:f32:3:10 mini:bf16:3:10 base:f32:2:5 base:bf16:2:5"   config:precision:rounds:steps
#   FIRST_ROUND=1            number of the first round (to add rounds to an earlier run's folder)
#   REFERENCES="mini:f32 mini:bf16"   config:precision pairs for which torch and jax run ("" for none)
#   REFERENCE_ROUNDS=1       ...in rounds FIRST_ROUND..REFERENCE_ROUNDS only (they are slow)
#
# Each run writes OUT_DIR/<config>-<precision>-r<round>-<label>.json (the last line of
# `pjrt-bert bench --json`) and .log (its progress); a failed run leaves its log and the script
# goes on. Summarize with scripts/compare-cpu-plugins-summary.mjs OUT_DIR.
set -uo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR PLUGIN.so [PLUGIN.so ...]" >&2
  exit 2
fi
out=$1
shift
plugins=("$@")
for plugin in "${plugins[@]}"; do
  [ -f "$plugin" ] || { echo "compare-cpu-plugins: $plugin is not a file (pass the paths of PJRT plugin .so files)" >&2; exit 2; }
done
mkdir -p "$out"
root=$(cd "$(dirname "$0")/.." && pwd)
cli="$root/bin/pjrt-bert.js"
[ -f "$root/dist/lib/index.js" ] || { echo "compare-cpu-plugins: run 'npm run build' first ($root/dist is missing)" >&2; exit 2; }
CONFIGS=${CONFIGS:-"mini:f32:3:10 mini:bf16:3:10 base:f32:2:5 base:bf16:2:5"}
FIRST_ROUND=${FIRST_ROUND:-1}
REFERENCES=${REFERENCES-"mini:f32 mini:bf16"}
REFERENCE_ROUNDS=${REFERENCE_ROUNDS:-1}

# A label per plugin: the folder it lives in (e.g. .../xla-cpu-pjrt/xla_cpu_pjrt.so -> xla-cpu-pjrt).
label() { basename "$(dirname "$1")"; }

run() { # name, then bench arguments
  local name=$1
  shift
  echo "$(date -u +%H:%M:%S) $name" >&2
  if node "$cli" bench --json "$@" >"$out/$name.out" 2>"$out/$name.log"; then
    tail -n 1 "$out/$name.out" >"$out/$name.json"
  else
    echo "  failed (see $out/$name.log)" >&2
  fi
  rm -f "$out/$name.out"
}

n=${#plugins[@]}
for spec in $CONFIGS; do
  IFS=: read -r config precision rounds steps <<<"$spec"
  for ((round = FIRST_ROUND; round < FIRST_ROUND + rounds; round++)); do
    for ((i = 0; i < n; i++)); do
      plugin=${plugins[$(((i + round - 1) % n))]}
      run "$config-$precision-r$round-$(label "$plugin")" --configs "$config" --precision "$precision" --steps "$steps" \
        --warmup 1 --frameworks ours --plugin "$plugin"
    done
    if ((round <= REFERENCE_ROUNDS)) && [[ " $REFERENCES " == *" $config:$precision "* ]]; then
      run "$config-$precision-r$round-references" --configs "$config" --precision "$precision" --steps "$steps" \
        --warmup 1 --frameworks torch,jax --plugin "${plugins[0]}"
    fi
  done
done
echo "$(date -u +%H:%M:%S) done" >&2
