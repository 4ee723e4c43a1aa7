// Types of raw-text-plugin.mjs, for the TypeScript benchmarks that bundle with it.
import type { Plugin } from 'esbuild';

export declare const rawText: Plugin;
