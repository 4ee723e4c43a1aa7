// CPU clocks for the benchmarks: the whole process's (all threads: JS,
// Dawn, the driver's or SwiftShader's workers) and the main thread's alone
// (the JS thread, where WebGPU calls and Dawn's event polling run). The
// main thread's comes from Linux's /proc/self/task/<pid>/schedstat (ns on
// the CPU); elsewhere it is null. For benchmarks only.

import { readFileSync } from 'node:fs';

/** CPU ms of every thread of the process. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

function readMainThreadMs(): number {
  return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) / 1e6;
}

/** CPU ms of the main thread, where the system tells (Linux); null elsewhere. */
export const mainThreadCpuMs: (() => number) | null = (() => {
  try {
    return Number.isFinite(readMainThreadMs()) ? readMainThreadMs : null;
  } catch {
    return null;
  }
})();
