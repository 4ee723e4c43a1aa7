// Remembering the matvec search's choice (GpuOpsOptions.matvec 'auto'), so
// a model is searched once per GPU and not at every load. The choice is
// kept under a key made of everything the timings depended on: the
// adapter (its description, features and limits), the kernel family and
// arithmetic path, the model's shape, and every candidate's recorded pass
// (the hash of each kernel's assembled WGSL and its grid, in order). A new
// driver, a changed kernel or another candidate list is another key, so a
// stale choice is never read back. What is stored is only ever a tuning:
// any tuning decodes correctly, so a wrong hit could cost speed, never
// tokens.

import { createStore, get, set } from 'idb-keyval';
import type { MatvecAutotuneReport } from './matvec-autotune';
import { hashText } from './text-hash';
import { MATVEC_TUNING, type MatvecChoice, type MatvecTuning } from './matvec-tuning';

/** Where 'auto' keeps its choices: a key-value store (IndexedDB in a browser, a JSON file for the CLI, a Map in tests). */
export interface MatvecChoiceStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
}

/** One stored choice. */
export interface RememberedChoice {
  version: typeof FORMAT_VERSION;
  /** The tuning the pass records with. */
  choice: MatvecChoice;
  /** The search's report when it ran. */
  report: MatvecAutotuneReport;
  /** When it ran (ISO 8601). */
  measuredAt: string;
}

const FORMAT_VERSION = 1;

/** What the key is made of (DecodePass.prepare gathers it). */
export interface SearchIdentity {
  /** The adapter, its features and limits, the kernel family and arithmetic path (GpuOps.matvecSearchContext). */
  context: string;
  /** The model's shape (its hyperparameters). */
  model: string;
  /** Each candidate's label and recorded pass (kernel hashes and grids), or why the device refused it. */
  candidates: readonly { label: string; signature: string }[];
}

export function searchKey(id: SearchIdentity): string {
  return `matvec-v${FORMAT_VERSION}-${hashText(JSON.stringify([id.context, id.model, id.candidates.map((c) => [c.label, c.signature])]))}`;
}

/** A tuning's fields, each of its default's type. */
function isTuning(v: unknown): v is Partial<MatvecTuning> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.entries(v).every(([k, x]) => k in MATVEC_TUNING && typeof x === typeof MATVEC_TUNING[k as keyof MatvecTuning]);
}

function isChoice(v: unknown): v is MatvecChoice {
  if (isTuning(v)) return true;
  if (typeof v !== 'object' || v === null || !('bySite' in v)) return false;
  const bySite = (v as { bySite: unknown }).bySite;
  return typeof bySite === 'object' && bySite !== null && Object.values(bySite).every(isTuning) && Object.keys(v).length === 1;
}

/** A stored value read back, or null when it is not one this version wrote (absent, corrupt, older). */
export function parseRemembered(v: unknown): RememberedChoice | null {
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Partial<RememberedChoice>;
  if (r.version !== FORMAT_VERSION || !isChoice(r.choice) || typeof r.measuredAt !== 'string') return null;
  const report = r.report as Partial<MatvecAutotuneReport> | undefined;
  if (!report || typeof report.chosen !== 'string' || !Array.isArray(report.candidates) || typeof report.tookMs !== 'number' || typeof report.bySite !== 'object') return null;
  return r as RememberedChoice;
}

/** The value to store for a search's outcome. */
export function rememberChoice(choice: MatvecChoice, report: MatvecAutotuneReport, at = new Date()): RememberedChoice {
  return { version: FORMAT_VERSION, choice, report, measuredAt: at.toISOString() };
}

/** A store in memory (tests; a page that should not write to IndexedDB but reloads models). */
export function memoryMatvecStore(): MatvecChoiceStore & { readonly entries: Map<string, unknown> } {
  const entries = new Map<string, unknown>();
  return {
    entries,
    get: async (key) => structuredClone(entries.get(key)),
    set: async (key, value) => void entries.set(key, structuredClone(value)),
  };
}

/** IndexedDB database and object store of the browser's default store. */
export const MATVEC_IDB = { database: 'webclaw-kernels', store: 'matvec-choices' } as const;

/** The store in IndexedDB (a page or worker), through idb-keyval. */
export function indexedDbMatvecStore(): MatvecChoiceStore {
  const store = createStore(MATVEC_IDB.database, MATVEC_IDB.store);
  return {
    get: (key) => get(key, store),
    set: (key, value) => set(key, value, store),
  };
}

/** The default where none is given: IndexedDB where the runtime has it (browsers), else none (Node, Deno: the CLI passes a file). */
export function defaultMatvecStore(): MatvecChoiceStore | null {
  return typeof indexedDB === 'undefined' ? null : indexedDbMatvecStore();
}
