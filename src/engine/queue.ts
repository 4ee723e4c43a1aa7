// The request queue: one request uses the GPU at a time, the others wait
// their turn in order. Nothing a caller does can hold the queue for good:
// a streamed request asks for its turn only when its caller asks for the
// first event, gives the turn up when the caller returns, aborts or drops
// the iterator, and a request whose signal aborts while it waits leaves the
// line at once.

export class RequestQueue {
  private tail: Promise<void> = Promise.resolve();

  /**
   * Waits for this request's turn and resolves with the function that ends
   * it (call it exactly once). If `signal` aborts first, the promise rejects
   * with the signal's reason and the turn passes straight to the next in line.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = this.tail;
    this.tail = before.then(() => mine);
    if (signal?.aborted) {
      release();
      return Promise.reject(signal.reason);
    }
    return new Promise<() => void>((resolve, reject) => {
      const onAbort = () => {
        release();
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      void before.then(() => {
        if (signal?.aborted) return;
        signal?.removeEventListener('abort', onAbort);
        resolve(release);
      });
    });
  }

  /** Runs `fn` in its turn, after every earlier request has finished. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/**
 * A streamed request's producer: `emit` resolves once the caller took the
 * event (back-pressure) or went away; `signal` aborts when the caller's own
 * signal aborts or the caller goes away, and the producer should then end.
 */
export type Producer<E> = (emit: (e: E) => Promise<void>, signal: AbortSignal) => Promise<void>;

/** The reason a request's signal carries when it ends early, whatever the caller's own reason was. */
const cancelled = () => new DOMException('the request was cancelled', 'AbortError');

/** Ends a started request whose iterator was garbage-collected without being finished. */
const dropped = new FinalizationRegistry<AbortController>((controller) => controller.abort(cancelled()));

/**
 * `produce` as a request in `queue`, its events as an async iterator. The
 * turn is asked for at the first next(), not before: an iterator that is
 * never read, or closed before its first event, never holds the queue.
 * `toError` turns a failure (an abort while waiting included) into the
 * error the iterator throws.
 */
export function queuedStream<E>(queue: RequestQueue, produce: Producer<E>, options: { signal?: AbortSignal; toError: (e: unknown) => unknown }): AsyncGenerator<E> {
  const controller = new AbortController();
  const callerSignal = options.signal;
  const events: E[] = [];
  let wake: (() => void) | null = null;
  let resumeProducer: (() => void) | null = null;
  let finished = false;
  let failure: unknown = null;

  const resume = () => {
    const r = resumeProducer;
    resumeProducer = null;
    r?.();
  };
  // However the request ends early (caller's signal, return, drop), a producer waiting on back-pressure goes on.
  controller.signal.addEventListener('abort', resume, { once: true });
  const stop = () => {
    if (!controller.signal.aborted) controller.abort(cancelled());
  };
  const emit = async (e: E) => {
    events.push(e);
    wake?.();
    while (events.length > 0 && !controller.signal.aborted) await new Promise<void>((r) => (resumeProducer = r));
  };

  async function* stream(): AsyncGenerator<E> {
    let release: () => void;
    try {
      release = await queue.acquire(callerSignal);
    } catch (e) {
      throw options.toError(callerSignal?.aborted ? cancelled() : e);
    }
    callerSignal?.addEventListener('abort', stop, { once: true });
    // Aborted between getting the turn and listening: end at the producer's first check.
    if (callerSignal?.aborted) stop();
    void (async () => {
      try {
        await produce(emit, controller.signal);
      } catch (e) {
        failure = options.toError(e);
      } finally {
        callerSignal?.removeEventListener('abort', stop);
        finished = true;
        release();
        wake?.();
      }
    })();
    try {
      for (;;) {
        if (events.length > 0) {
          const e = events.shift()!;
          resume();
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
      stop();
    }
  }
  const iterator = stream();
  dropped.register(iterator, controller);
  return iterator;
}
