"""Stub CUDA libraries so the PyPI torch wheel imports and runs on the CPU without its
~2.3 GB of nvidia-* wheels (the CPU-only wheel index is not reachable here, only PyPI).

Usage: cuda_stubs.py SITE_PACKAGES

The Linux torch wheel links libtorch_cuda.so & co. against libcudart, libcublas, libcudnn,
libnccl, ... (DT_NEEDED), looked up through its RPATH, which includes
site-packages/nvidia/cu13/lib. For every such library that is missing, this script writes
a small shared library with that soname into that folder, defining every symbol torch
imports from it (with the library's symbol version, e.g. cudaMalloc@libcudart.so.13):
each stub function returns 100 (cudaErrorNoDevice for the runtime API, an error for the
others), and the *GetErrorString-style functions return a message. torch then reports
torch.cuda.is_available() == False and runs every CPU operation normally. Needs cc, nm and
readelf (binutils). Idempotent: existing real libraries are never replaced.
"""
import collections
import glob
import os
import re
import subprocess
import sys
import tempfile

SYSTEM_LIBRARIES = {
    "libc.so.6", "libm.so.6", "libdl.so.2", "librt.so.1", "libpthread.so.0", "libstdc++.so.6",
    "libgcc_s.so.1", "ld-linux-x86-64.so.2", "libquadmath.so.0", "libz.so.1",
    # The driver API is only dlopen'ed lazily (by libcaffe2_nvrtc), never at import.
    "libcuda.so.1",
}
SYSTEM_VERSIONS = re.compile(r"(GLIBC|GLIBCXX|CXXABI|GCC|GOMP|OMP|QUADMATH)_")
CUDA_NAMES = re.compile(r"(cu|nccl|nv|Cupti|CUPTI)")
STRING_RETURNING = re.compile(r"Get(Error|Status)(String|Name)$")


def dynamic_symbols(path, undefined):
    flag = "--undefined-only" if undefined else "--defined-only"
    out = subprocess.run(["nm", "-D", flag, path], capture_output=True, text=True, check=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.split()]


def needed_libraries(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)


def wanted_symbols(torch_libs):
    """Symbols torch imports but does not define: {version node: names} and unversioned names."""
    defined = {s.split("@")[0] for lib in torch_libs for s in dynamic_symbols(lib, False)}
    by_version = collections.defaultdict(set)
    unversioned = set()
    for lib in torch_libs:
        for symbol in dynamic_symbols(lib, True):
            name, _, version = symbol.partition("@")
            version = version.lstrip("@")
            if name in defined:
                continue
            if version and not SYSTEM_VERSIONS.match(version):
                by_version[version].add(name)
            elif not version and CUDA_NAMES.match(name):
                unversioned.add(name)
    return by_version, unversioned


def build_stub(out_dir, soname, node, names, work):
    source = ['static const char message[] = "CUDA is not available (CPU-only stub library)";']
    for name in sorted(names):
        if STRING_RETURNING.search(name):
            source.append(f"const char *{name}(void) {{ return message; }}")
        else:
            source.append(f"long {name}(void) {{ return 100; }}")
    c_file = os.path.join(work, f"{soname}.c")
    map_file = os.path.join(work, f"{soname}.map")
    with open(c_file, "w") as f:
        f.write("\n".join(source) + "\n")
    with open(map_file, "w") as f:
        if names:
            body = "".join(f"    {name};\n" for name in sorted(names))
            f.write(f"{node} {{\n  global:\n{body}  local: *;\n}};\n")
        else:
            f.write(f"{node} {{ local: *; }};\n")
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", os.path.join(out_dir, soname), c_file,
         f"-Wl,-soname,{soname}", f"-Wl,--version-script={map_file}"],
        check=True,
    )


def main():
    site = sys.argv[1]
    torch_libs = [p for p in glob.glob(os.path.join(site, "torch", "lib", "*.so*")) if os.path.isfile(p)]
    if not torch_libs:
        sys.exit(f"cuda_stubs.py: no torch libraries under {site}")
    present = {os.path.basename(p) for p in torch_libs}
    out_dir = os.path.join(site, "nvidia", "cu13", "lib")
    os.makedirs(out_dir, exist_ok=True)
    missing = sorted({n for lib in torch_libs for n in needed_libraries(lib)} - present - SYSTEM_LIBRARIES)
    by_version, unversioned = wanted_symbols(torch_libs)
    with tempfile.TemporaryDirectory() as work:
        for soname in missing:
            if os.path.exists(os.path.join(out_dir, soname)):
                continue
            names = set(by_version.get(soname, ()))
            node = soname
            if soname.startswith("libnvshmem_host"):
                names |= by_version.get("NVSHMEM", set())
                node = "NVSHMEM"
            if soname.startswith("libcudart"):
                # Loaded RTLD_GLOBAL first (through libtorch_global_deps): the home of the
                # unversioned driver/NCCL/cuSPARSELt/cuFile symbols.
                names |= unversioned
            build_stub(out_dir, soname, node, names, work)


if __name__ == "__main__":
    main()
