// The matvec search's store as a JSON file (Node: the CLI's --matvec-cache):
// one object of key -> stored choice, read at each access and written
// whole through a temporary file and a rename, so a crash mid-write leaves
// the old file. A file that cannot be parsed counts as empty.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { MatvecChoiceStore } from './matvec-memory';

/** Choices a file keeps; the oldest written go first. */
export const MATVEC_FILE_ENTRIES = 64;

/** $XDG_CACHE_HOME/webclaw/matvec.json, or ~/.cache/webclaw/matvec.json. */
export function defaultMatvecCachePath(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'webclaw', 'matvec.json');
}

/** A store in the JSON file at `path` (made with its folders on the first write), keeping the MATVEC_FILE_ENTRIES most recently written choices. */
export function fileMatvecStore(path: string): MatvecChoiceStore {
  const read = async (): Promise<Record<string, unknown>> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    try {
      const v = JSON.parse(text) as unknown;
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const write = async (entries: Record<string, unknown>) => {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(entries, null, 1));
    await rename(tmp, path);
  };
  return {
    get: async (key) => (await read())[key],
    set: async (key, value) => {
      const entries = await read();
      delete entries[key];
      entries[key] = value;
      const keys = Object.keys(entries);
      for (const old of keys.slice(0, Math.max(0, keys.length - MATVEC_FILE_ENTRIES))) delete entries[old];
      await write(entries);
    },
  };
}
