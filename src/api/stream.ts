// A streamed response: chunks pushed by the producer, read by a for-await
// loop. The producer never waits for the reader (the buffer is bounded by
// max_tokens), so a stream nobody reads, or one abandoned midway, cannot
// hold the engine's request queue; leaving the loop early aborts the
// generation.

import { toClawError } from '../errors';
import type { CompletionStream } from './types';

export class ChunkStream<T> implements CompletionStream<T> {
  readonly controller = new AbortController();
  private readonly chunks: T[] = [];
  private finished = false;
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  private iterated = false;

  push(chunk: T): void {
    this.chunks.push(chunk);
    this.notify();
  }

  /** Ends the stream, with an error the reader gets after the chunks before it. */
  end(failure?: unknown): void {
    if (this.finished) return;
    this.finished = true;
    if (failure !== undefined) this.failure = toClawError(failure);
    this.notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) throw new Error('a completion stream can be read only once');
    this.iterated = true;
    try {
      for (;;) {
        if (this.chunks.length > 0) {
          yield this.chunks.shift()!;
          continue;
        }
        if (this.finished) {
          if (this.failure) throw this.failure;
          return;
        }
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      // The reader left early (break, return, throw): stop generating.
      if (!this.finished) this.controller.abort();
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
