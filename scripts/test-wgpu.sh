#!/usr/bin/env bash
# The second test lane: the GPU kernel tests and the llama.cpp conformance
# under Deno's WebGPU (wgpu) on Mesa's lavapipe (a CPU Vulkan with
# shader-f16), on the f32 and f16 arithmetic paths. See vitest.wgpu.config.ts.
# Extra arguments go to Vitest (a file, -t NAME).
set -euo pipefail
cd "$(dirname "$0")/.."

LAVAPIPE_ICD=/usr/share/vulkan/icd.d/lvp_icd.$(uname -m).json
# A developer with a real GPU can keep their driver: CLAW_USE_SYSTEM_VULKAN=1.
if [ -z "${VK_ICD_FILENAMES:-}" ] && [ -z "${CLAW_USE_SYSTEM_VULKAN:-}" ]; then
  if [ ! -f "$LAVAPIPE_ICD" ]; then
    echo "test-wgpu: $LAVAPIPE_ICD not found; install Mesa's Vulkan drivers (apt-get install mesa-vulkan-drivers)" >&2
    exit 1
  fi
  export VK_ICD_FILENAMES="$LAVAPIPE_ICD"
fi
# The Vulkan loader complains on stderr without one.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
# Every weight type's decoding runs in the kernel tests here; the end-to-end
# comparison with llama.cpp takes these (the K-quant mix, Q6_K, IQ4_XS, the
# unquantized and 8-bit types whose error is smallest, NVFP4, TQ1_0, and
# every lattice type, whose grids the GPU reads from the grid table);
# CLAW_CONFORMANCE_QUANTS=all runs every type (npm run records:conformance).
export CLAW_CONFORMANCE_QUANTS="${CLAW_CONFORMANCE_QUANTS:-F32,F16,Q8_0,Q4_K_M mix,Q6_K,IQ4_XS,NVFP4,TQ1_0,IQ2_XXS,IQ2_XS,IQ2_S,IQ3_XXS,IQ3_S,IQ1_S,IQ1_M}"

exec npx deno run -A --unstable-webgpu node_modules/vitest/vitest.mjs run --config vitest.wgpu.config.ts "$@"
