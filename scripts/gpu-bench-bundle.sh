#!/usr/bin/env bash
# Builds .gpu-bench/ (gitignored): everything `npm run bench:gpu` needs on a
# Linux x86-64 machine with a GPU but no Node.js and no npm packages:
#   bench-gpu.mjs    bench/gpu.ts bundled by esbuild, the WGSL inlined
#   bench-matvec.mjs bench/matvec.ts likewise (per-type matvec vs the copy kernel)
#   reference/       the shared test models and llama.cpp's greedy tokens on them
#                    (bench/gpu-reference.ts, run here), checked there first
#   node.xz          this machine's node binary, xz-compressed
#   node_modules/webgpu/{index.js,package.json} + dawn.node.xz (linux-x64 Dawn)
#   *.deb            the Vulkan loader (libvulkan1) and libglvnd (libglvnd0, libglx0, libegl1,
#                    libgl1: NVIDIA's Vulkan driver lives in libGLX_nvidia.so.0 and needs
#                    them), amd64, unpacked there into / where missing
#   run.sh           unpacks all of it and runs the benchmark; JSON to $OUT (or .)
# On the GPU machine, from the folder that holds .gpu-bench/:
#   bash .gpu-bench/run.sh [bench:gpu options, e.g. --tokens 16]
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=.gpu-bench
rm -rf "$DIR"
mkdir -p "$DIR/node_modules/webgpu/dist/linux-x64"

node --input-type=module -e "
import { build } from 'esbuild';
import { rawText } from './scripts/raw-text-plugin.mjs';
for (const [entry, out] of [['bench/gpu.ts', 'bench-gpu.mjs'], ['bench/matvec.ts', 'bench-matvec.mjs']])
  await build({ entryPoints: [entry], outfile: '$DIR/' + out, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    external: ['webgpu'], plugins: [rawText], logLevel: 'warning' });
"
# bench-matvec.mjs registers these hooks at start (they serve only tsx runs).
cp bench/raw-text-hooks.mjs "$DIR/"
npm run -s ts -- bench/gpu-reference.ts "$DIR/reference"

# xz -9 of a 100 MB binary takes minutes on a small machine: keep each result, keyed by the input's hash.
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/webclaw-gpu-bench"
mkdir -p "$CACHE"
compressed() {
  local key
  key="$CACHE/$(sha256sum "$1" | cut -c1-16).xz"
  [ -s "$key" ] || { xz -9 -T2 < "$1" > "$key.tmp" && mv "$key.tmp" "$key"; }
  cp "$key" "$2"
}
compressed "$(command -v node)" "$DIR/node.xz"
cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$DIR/node_modules/webgpu/"
compressed node_modules/webgpu/dist/linux-x64/dawn.node "$DIR/dawn.node.xz"

# The Vulkan loader and libglvnd for amd64, whatever this machine's architecture (Debian's package lists in /tmp).
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64-lists'
mkdir -p /tmp/amd64-lists/partial
# shellcheck disable=SC2086
apt-get $o update -qq >/dev/null 2>&1 || echo "apt-get update failed: add the libvulkan1 libglvnd0 libglx0 libegl1 libgl1 debs to $DIR by hand" >&2
# shellcheck disable=SC2086
(cd "$DIR" && apt-get $o download libvulkan1 libglvnd0 libglx0 libegl1 libgl1 >/dev/null) || echo "could not download the loader debs: add libvulkan1 libglvnd0 libglx0 libegl1 libgl1 to $DIR by hand" >&2

cat > "$DIR/run.sh" <<'RUN'
#!/usr/bin/env bash
# Unpacks the carried node, Dawn and Vulkan loader, then runs the GPU benchmark.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
if ! ldconfig -p | grep -q libvulkan.so.1 || ! ldconfig -p | grep -q libGLdispatch.so.0; then
  for f in "$HERE"/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
# NVIDIA containers often keep the ICD outside the loader's search path.
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nv" ]; then export VK_DRIVER_FILES="$nv"; fi
# ...and libglvnd's EGL vendor file for the NVIDIA driver (the H200 run of 2026-11-30 exported it by hand).
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ] && [ -f "$egl" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES="$egl"; fi
[ -x "$HERE/node" ] || { xz -dc "$HERE/node.xz" > "$HERE/node"; chmod +x "$HERE/node"; }
dawn="$HERE/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$dawn" ] || xz -dc "$HERE/dawn.node.xz" > "$dawn"
o="${OUT:-.}"
# The decode benchmark (with llama.cpp's tokens checked first), then the
# per-type matvec (MATVEC: its options; MATVEC=skip to leave it out).
# Each is bounded (GPU_BENCH_S, MATVEC_S seconds); gpu.json is written after every model.
timeout "${GPU_BENCH_S:-1800}" "$HERE/node" "$HERE/bench-gpu.mjs" --reference "$HERE/reference/reference.json" --out "$o/gpu.json" "$@" 2>&1 | tee "$o/gpu-bench.log" || true
if [ "${MATVEC:-}" != skip ]; then
  # shellcheck disable=SC2086
  timeout "${MATVEC_S:-600}" "$HERE/node" "$HERE/bench-matvec.mjs" --no-baseline --out "$o/matvec-gpu.json" ${MATVEC:---rows 16384 --cols 8192 --runs 5 --repeats 100 --warmup 2} 2>&1 | tee "$o/matvec-gpu.log" || true
fi
RUN
chmod +x "$DIR/run.sh"
du -sh "$DIR"; ls -la "$DIR"
