import { defineConfig } from 'vitest/config';

// Unit, GPU (Node + Dawn over SwiftShader) and conformance (node-llama-cpp) tests.
// GPU tests share one Dawn instance per worker process; forks keep native
// addons (Dawn, llama.cpp) isolated from each other.
export default defineConfig({
  test: {
    include: ['tests/unit/**/*.test.ts', 'tests/gpu/**/*.test.ts', 'tests/conformance/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['tests/setup-env.ts'],
    // The JSON report feeds the one-line summary .ci/run prints (scripts/test-summary.mjs).
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
