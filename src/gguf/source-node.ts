// A ByteSource over a file on disk, for the Node.js CLI, tests and benchmarks.
// Node only: browser code uses BlobSource from source.ts.

import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { ClawError } from '../errors';
import { checkReadRange, unreadable } from './source';
import type { ByteSource } from './types';

class FileHandleSource implements ByteSource {
  private closed = false;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly name: string,
  ) {}

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (this.closed) throw new ClawError('clw-bad-request', `read from ${this.name} after close`);
    checkReadRange(this.size, offset, length);
    const out = new Uint8Array(length);
    let filled = 0;
    try {
      // FileHandle.read may return fewer bytes than asked; keep going until
      // the range is full or the file turns out shorter than it was.
      while (filled < length) {
        const { bytesRead } = await this.handle.read(out, filled, length - filled, offset + filled);
        if (bytesRead === 0) throw new Error(`file ended at ${offset + filled}, expected ${this.size} bytes`);
        filled += bytesRead;
      }
    } catch (e) {
      throw unreadable(offset + filled, e);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Opens a file for random-access reads. Call close() when done. */
export async function openFileSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw new ClawError('clw-bad-request', `cannot open ${path}: ${e instanceof Error ? e.message : String(e)}`, {
      fix: 'Check the path and the file permissions.',
      details: { path },
      cause: e,
    });
  }
  try {
    const stat = await handle.stat();
    return new FileHandleSource(handle, stat.size, basename(path));
  } catch (e) {
    await handle.close().catch(() => undefined);
    throw new ClawError('clw-bad-request', `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, {
      details: { path },
      cause: e,
    });
  }
}
