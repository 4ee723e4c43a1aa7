import { defineConfig } from 'vitest/config';

// The second test lane (scripts/test-wgpu.sh, `npm run test:wgpu`): Vitest
// run by Deno, so the tests get Deno's WebGPU (wgpu, with the naga shader
// compiler) instead of Dawn; in CI over Mesa's lavapipe, which has
// shader-f16 and no subgroups (SwiftShader, the main lane, is the reverse).
// The GPU kernel tests and the llama.cpp conformance (node-llama-cpp runs
// under Deno too) on both arithmetic paths; tokenizer and unit tests do not
// touch the GPU and stay in the main lane.
export default defineConfig({
  test: {
    include: [
      'tests/gpu/**/*.test.ts',
      'tests/conformance/architectures.test.ts',
      'tests/conformance/quant-types-legacy.test.ts',
      'tests/conformance/quant-types-kquants.test.ts',
      'tests/conformance/quant-types-lattice.test.ts',
      'tests/conformance/shared-models.test.ts',
    ],
    // Node-only by design: they start `node` processes (the CLI server, a
    // packed-package consumer) or time Dawn itself (bench:gpu); and one lane
    // is enough for the 100-generation stress run, for the recurrent state's
    // bookkeeping in the engine (lfm2, qwen35: their kernels run here in
    // architectures.test.ts), and for the layers above the engine that run
    // no kernel of their own: the OpenAI API mapping, the worker wrapper and
    // the end-of-generation text rules (CI time: 113 s on lavapipe).
    exclude: [
      'tests/gpu/server.test.ts',
      'tests/gpu/package.test.ts',
      'tests/gpu/bench-gpu.test.ts',
      'tests/gpu/engine-stress.test.ts',
      'tests/gpu/lfm2-state.test.ts',
      'tests/gpu/qwen35-state.test.ts',
      'tests/gpu/stateful-decode.test.ts',
      'tests/gpu/openai-api.test.ts',
      'tests/gpu/worker-engine.test.ts',
      'tests/gpu/engine-eog-text.test.ts',
    ],
    // Deno runs Vitest's forks (child processes) with its own flags; its
    // worker threads lack parts of node:worker_threads that Vitest uses.
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['tests/setup-env.ts'],
    // Counted into the closing line of .ci/run by scripts/test-summary.mjs.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest-wgpu.json' }]],
  },
});
