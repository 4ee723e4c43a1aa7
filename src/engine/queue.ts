// The request queue: one request uses the GPU at a time, the others wait
// their turn in order. A streamed request hands its events to the caller
// one at a time (back-pressure), so the producer never runs ahead.

export class RequestQueue {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `fn` after every earlier request has finished. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }
}

/** What a streamed request's producer gets: emit an event (resolves once the caller took it), and whether the caller went away. */
export type Producer<E> = (emit: (e: E) => Promise<void>, abandoned: () => boolean) => Promise<void>;

/**
 * Runs `produce` as a request in `queue` and returns its events as an async
 * iterator. `toError` turns a failure into the error the iterator throws.
 */
export function queuedStream<E>(queue: RequestQueue, produce: Producer<E>, toError: (e: unknown) => unknown): AsyncGenerator<E> {
  const events: E[] = [];
  let wake: (() => void) | null = null;
  let finished = false;
  let failure: unknown = null;
  let consumerGone = false;
  let resumeProducer: (() => void) | null = null;

  const push = async (e: E) => {
    events.push(e);
    wake?.();
    // Back-pressure: wait until the consumer took it.
    while (events.length > 0 && !consumerGone) await new Promise<void>((r) => (resumeProducer = r));
  };
  void queue.run(async () => {
    try {
      await produce(push, () => consumerGone);
    } catch (e) {
      failure = toError(e);
    } finally {
      finished = true;
      wake?.();
    }
  });

  const self = async function* (): AsyncGenerator<E> {
    try {
      for (;;) {
        if (events.length > 0) {
          const e = events.shift()!;
          const r = resumeProducer;
          resumeProducer = null;
          r?.();
          yield e;
          continue;
        }
        if (finished) {
          if (failure) throw failure;
          return;
        }
        await new Promise<void>((r) => (wake = r));
        wake = null;
      }
    } finally {
      consumerGone = true;
      const r = resumeProducer;
      resumeProducer = null;
      r?.();
    }
  };
  return self();
}
