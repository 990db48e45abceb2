# Sourced by the GPU scripts: puts the CUDA libraries that pip installed beside jax-cuda13-pjrt
# (site-packages/nvidia/*/lib, which the PJRT CUDA plugin dlopens) on LD_LIBRARY_PATH, and
# writes the machine's card, driver and versions to the file named by $1.
site=$(python3 -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null || true)
if [ -n "$site" ] && [ -d "$site/nvidia" ]; then
  for lib in "$site"/nvidia/*/lib; do LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"; done
  export LD_LIBRARY_PATH
fi

{
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo unknown)"
  echo "node: $(node --version)"
  for package in jax jaxlib jax-cuda13-pjrt jax-cuda13-plugin torch transformers; do
    echo "$package: $(python3 -m pip show "$package" 2>/dev/null | sed -n 's/^Version: //p')"
  done
} | tee "$1"
