// Random-access byte sources the GGUF reader works over. A model file may be
// many gigabytes, so nothing here ever reads a whole file: callers ask for
// (offset, length) ranges and get exactly those bytes.
//
// File handles for Node live in source-node.ts so this module stays
// browser-safe.

import { ClawError, modelInvalid } from '../errors';
import type { ByteSource } from './types';

/** Rejects a range that is not inside [0, size): a caller bug, never user data. */
export function checkReadRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new ClawError('clw-bad-request', `read of ${length} bytes at ${offset} is outside the source (size ${size})`, {
      details: { offset, length, size },
    });
  }
}

/** Bytes already in memory. Reads return views, not copies. */
export class BytesSource implements ByteSource {
  readonly size: number;

  constructor(
    private readonly bytes: Uint8Array,
    readonly name?: string,
  ) {
    this.size = bytes.byteLength;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadRange(this.size, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}

/**
 * A Blob or File (a dropped file, or one kept in IndexedDB). Each read is a
 * slice, so the browser only pages in the requested range.
 */
export class BlobSource implements ByteSource {
  readonly size: number;
  readonly name?: string;

  constructor(private readonly blob: Blob, name?: string) {
    this.size = blob.size;
    this.name = name ?? (typeof File !== 'undefined' && blob instanceof File ? blob.name : undefined);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadRange(this.size, offset, length);
    try {
      return new Uint8Array(await this.blob.slice(offset, offset + length).arrayBuffer());
    } catch (e) {
      // A File whose bytes changed or vanished on disk after it was picked.
      throw unreadable(offset, e);
    }
  }
}

/** The error for a source that fails mid-read (file changed, moved or truncated on disk). */
export function unreadable(offset: number, cause: unknown): ClawError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const err = modelInvalid('file', offset, `could not be read (${reason})`);
  return new ClawError(err.code, err.message, {
    fix: 'The file changed or is no longer readable; pick it again.',
    details: err.details,
    cause,
  });
}

/** Bytes the reader fetches at a time while walking the header. */
export const DEFAULT_WINDOW_BYTES = 1 << 20;

/**
 * Sequential reads over a ByteSource through one cached window, so parsing a
 * header of a million small fields costs a handful of source reads.
 *
 * Use: `if (!c.has(n)) await c.fill(n, field)`, then the synchronous getters.
 * The split lets hot loops (vocabularies) skip an await per element.
 */
export class SourceCursor {
  /** Absolute position of the next byte to read. */
  pos = 0;
  private window: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(this.window.buffer);
  private windowStart = 0;

  constructor(
    readonly source: ByteSource,
    private readonly windowBytes = DEFAULT_WINDOW_BYTES,
  ) {}

  get remaining(): number {
    return this.source.size - this.pos;
  }

  /** Whether `n` bytes at `pos` are already in the window. */
  has(n: number): boolean {
    const rel = this.pos - this.windowStart;
    return rel >= 0 && rel + n <= this.window.length;
  }

  /**
   * Brings `n` bytes at `pos` into the window. A file that ends first is
   * malformed: the error names `field`, which starts at `fieldStart`.
   */
  async fill(n: number, field: string, fieldStart = this.pos): Promise<void> {
    if (this.has(n)) return;
    if (n > this.remaining) {
      throw modelInvalid(field, fieldStart, `the file ends at byte ${this.source.size}, ${n - this.remaining} bytes too early`);
    }
    const length = Math.min(this.remaining, Math.max(n, this.windowBytes));
    const bytes = await this.source.read(this.pos, length);
    if (bytes.length !== length) throw modelInvalid('file', this.pos, `asked for ${length} bytes, the source returned ${bytes.length}`);
    this.window = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.windowStart = this.pos;
  }

  // The getters below assume has(size) holds; they advance pos.
  private at(size: number): number {
    const rel = this.pos - this.windowStart;
    this.pos += size;
    return rel;
  }
  u8(): number { return this.view.getUint8(this.at(1)); }
  i8(): number { return this.view.getInt8(this.at(1)); }
  u16(): number { return this.view.getUint16(this.at(2), true); }
  i16(): number { return this.view.getInt16(this.at(2), true); }
  u32(): number { return this.view.getUint32(this.at(4), true); }
  i32(): number { return this.view.getInt32(this.at(4), true); }
  f32(): number { return this.view.getFloat32(this.at(4), true); }
  f64(): number { return this.view.getFloat64(this.at(8), true); }
  u64(): bigint { return this.view.getBigUint64(this.at(8), true); }
  i64(): bigint { return this.view.getBigInt64(this.at(8), true); }
  /** A view into the window, valid until the next fill. */
  bytes(n: number): Uint8Array {
    const rel = this.at(n);
    return this.window.subarray(rel, rel + n);
  }
  /** Reads a u64 at pos without advancing. */
  peekU64(): bigint {
    return this.view.getBigUint64(this.pos - this.windowStart, true);
  }
}
