// The markdown tables of the generation benchmark (printed, and pasted
// into BENCHMARKS.md).

import type { GenerateRow } from '../generate';
import type { PeerRun, WebClawRun } from './measure-engine';

const f = (v: number | undefined, digits = 1) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));
const mib = (b: number) => (b / 2 ** 20).toFixed(1);

function peer(p: PeerRun | { error: string } | undefined): PeerRun | undefined {
  return p && !('error' in p) ? p : undefined;
}

function speedRow(r: GenerateRow): string {
  const w = r.webclaw;
  const wl = peer(r.wllama);
  return `| ${r.model} | ${mib(r.fileBytes)} | ${f(w.loadMBs)} | ${f(w.ttftMs, 0)} | ${w.nPrompt} | ${f(w.prefillTokS, 2)} | ${f(w.decodeTokS, 2)} | ${f(w.cpuMsPerToken, 0)} | ${f(r.llamacpp.prefillTokS)} | ${f(r.llamacpp.decodeTokS)} | ${f(r.decodeRatio, 3)} | ${wl ? f(wl.decodeTokS) : '-'} | ${wl ? f(w.decodeTokS / wl.decodeTokS, 3) : '-'} |`;
}

function counterRow(label: string, w: WebClawRun, nLayers: number): string {
  const c = w.perToken;
  return `| ${label} | ${f(w.decodeTokS, 2)} | ${f(w.cpuMsPerToken, 0)} | ${f(c.dispatches, 0)} | ${f(c.dispatches / nLayers, 1)} | ${f(c.bindGroups, 0)} | ${f(c.submits, 0)} | ${f(c.bytesReadBack, 0)} | ${f(c.recordMs, 2)} | ${f(c.maps, 0)} | ${f(c.errorScopes, 0)} | ${f(w.weightReadRatio, 3)} |`;
}

function browserRow(r: GenerateRow): string {
  const b = r.browser;
  if (!b || 'error' in b) return `| ${r.model} | failed: ${b?.error ?? 'not run'} |`;
  const c = b.perToken;
  return `| ${r.model} | ${b.adapter} | ${f(b.ttftMs, 0)} | ${f(b.prefillTokS, 2)} | ${f(b.decodeTokS, 2)} | ${f(r.webclaw.decodeTokS, 2)} | ${f(b.decodeTokS / r.webclaw.decodeTokS, 2)} | ${f(c.dispatches, 0)} | ${f(c.dispatches / r.nLayers, 1)} | ${f(c.bindGroups, 0)} | ${f(c.submits, 0)} | ${f(c.bytesReadBack, 0)} | ${f(c.recordMs, 2)} | ${f(b.weightReadRatio, 3)} |`;
}

export function markdownTable(rows: GenerateRow[]): string {
  const speed = [
    '| model | file MiB | load MB/s | first token ms | prompt tokens | prefill tok/s | decode tok/s | CPU ms / token | llama.cpp prefill tok/s | llama.cpp decode tok/s | decode ratio (WebClaw / llama.cpp) | wllama decode tok/s | ratio (WebClaw / wllama) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(speedRow),
  ];
  const counters = [
    '| model, path | decode tok/s | CPU ms / token | dispatches | per layer | bind groups | submits | bytes read back | JS recording ms | maps | error scopes | weight bytes read / model |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    // The default run's path: the decode pass unless the engine did not use it (e.g. layers streamed under the VRAM budget).
    ...rows.flatMap((r) => [counterRow(`${r.model}, ${r.webclaw.decodePass ? 'decode pass' : 'batch path (the engine did not use the decode pass)'}`, r.webclaw, r.nLayers), ...(r.before ? [counterRow(`${r.model}, batch path (before)`, r.before, r.nLayers)] : [])]),
  ];
  const inBrowser = rows.filter((r) => r.browser);
  const browser = inBrowser.length
    ? [
        '',
        'WebClaw in Chromium (--browser; the same prompt and window as the Node run; per decoded token at steady state):',
        '',
        '| model | adapter | first token ms | prefill tok/s | decode tok/s | Node decode tok/s | Chromium / Node | dispatches | per layer | bind groups | submits | bytes read back | JS recording ms | weight bytes read / model |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
        ...inBrowser.map((r) => browserRow(r)),
      ]
    : [];
  return `${speed.join('\n')}\n\nPer decoded token (steady state):\n\n${counters.join('\n')}\n${browser.join('\n')}\n`;
}
