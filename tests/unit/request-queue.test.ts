// The request queue cannot be wedged: a streamed request holds the queue
// only from its first next() until it finishes, is returned, aborted or
// dropped, and a waiting request whose signal aborts leaves the line.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { RequestQueue, queuedStream, type Producer } from '../../src/engine/queue';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const toError = (e: unknown) => (e instanceof DOMException && e.name === 'AbortError' ? new Error('aborted') : e);

/** A producer of `n` numbered events that records what happened to it. */
function counting(n: number) {
  const log = { started: 0, offered: 0, emitted: 0, sawAbort: false, ended: 0 };
  const produce: Producer<number> = async (emit, signal) => {
    log.started++;
    try {
      for (let i = 0; i < n; i++) {
        if (signal.aborted) {
          log.sawAbort = true;
          return;
        }
        log.offered++;
        await emit(i);
        log.emitted++;
      }
    } finally {
      log.ended++;
    }
  };
  return { produce, log };
}

async function drain<E>(it: AsyncIterable<E>): Promise<E[]> {
  const out: E[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** A request after the ones under test: it completes only if the queue is free. */
async function following(queue: RequestQueue): Promise<number[]> {
  return drain(queuedStream(queue, counting(3).produce, { toError }));
}

/** Lets pending promise jobs and timers run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('RequestQueue', () => {
  it('runs requests one at a time in order, and a failure does not stop the next', async () => {
    const queue = new RequestQueue();
    const order: string[] = [];
    const a = queue.run(async () => {
      order.push('a');
      await settle();
      order.push('a-end');
      throw new Error('a failed');
    });
    const b = queue.run(async () => {
      order.push('b');
      return 2;
    });
    await expect(a).rejects.toThrow('a failed');
    expect(await b).toBe(2);
    expect(order).toEqual(['a', 'a-end', 'b']);
  });

  it('a waiting request whose signal aborts leaves the line at once, and the next one still gets its turn', async () => {
    const queue = new RequestQueue();
    const releaseFirst = await queue.acquire();
    const controller = new AbortController();
    const waiting = queue.acquire(controller.signal);
    let thirdRan = false;
    const third = queue.run(async () => {
      thirdRan = true;
    });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    expect(thirdRan).toBe(false);
    releaseFirst();
    await third;
    expect(thirdRan).toBe(true);
  });

  it('a request whose signal aborted before it asked never runs', async () => {
    const queue = new RequestQueue();
    const controller = new AbortController();
    controller.abort();
    let ran = false;
    await expect(queue.run(async () => void (ran = true), controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(ran).toBe(false);
    expect(await following(queue)).toEqual([0, 1, 2]);
  });
});

describe('queuedStream', () => {
  it('delivers every event in order with back-pressure (the producer waits for the caller)', async () => {
    const queue = new RequestQueue();
    const { produce, log } = counting(5);
    const it = queuedStream(queue, produce, { toError });
    expect((await it.next()).value).toBe(0);
    await settle();
    // Event 0 was taken, event 1 waits for the caller: nothing further is made.
    expect(log.offered).toBe(2);
    expect(await drain(it)).toEqual([1, 2, 3, 4]);
    expect(log).toMatchObject({ started: 1, emitted: 5, ended: 1 });
  });

  it('an iterator that is never read never starts and does not hold the queue', async () => {
    const queue = new RequestQueue();
    const { produce, log } = counting(3);
    const unread = queuedStream(queue, produce, { toError });
    expect(await following(queue)).toEqual([0, 1, 2]);
    expect(log.started).toBe(0);
    expect(unread).toBeDefined();
  });

  it('.return() before next() ends it without running, and the next request completes', async () => {
    const queue = new RequestQueue();
    const { produce, log } = counting(3);
    const it = queuedStream(queue, produce, { toError });
    expect(await it.return(undefined)).toEqual({ done: true, value: undefined });
    expect(await following(queue)).toEqual([0, 1, 2]);
    expect(log.started).toBe(0);
  });

  it('.return() in the middle aborts the producer and frees the queue', async () => {
    const queue = new RequestQueue();
    const { produce, log } = counting(100);
    const it = queuedStream(queue, produce, { toError });
    await it.next();
    await it.next();
    await it.return(undefined);
    expect(await following(queue)).toEqual([0, 1, 2]);
    expect(log).toMatchObject({ sawAbort: true, ended: 1 });
    expect(log.emitted).toBeLessThan(100);
  });

  it('breaking out of for-await frees the queue', async () => {
    const queue = new RequestQueue();
    const { produce, log } = counting(100);
    for await (const e of queuedStream(queue, produce, { toError })) if (e === 1) break;
    expect(await following(queue)).toEqual([0, 1, 2]);
    expect(log.ended).toBe(1);
  });

  it('a signal aborted before the first next() makes next() throw, without running', async () => {
    const queue = new RequestQueue();
    const { produce, log } = counting(3);
    const controller = new AbortController();
    controller.abort('a custom reason');
    const it = queuedStream(queue, produce, { signal: controller.signal, toError });
    await expect(it.next()).rejects.toThrow('aborted');
    expect(log.started).toBe(0);
    expect(await following(queue)).toEqual([0, 1, 2]);
  });

  it('a signal aborted while the request waits for its turn ends it at once, behind a request that holds the queue', async () => {
    const queue = new RequestQueue();
    const holder = queuedStream(queue, counting(100).produce, { toError });
    await holder.next();
    const controller = new AbortController();
    const { produce, log } = counting(3);
    const waiting = queuedStream(queue, produce, { signal: controller.signal, toError }).next();
    await settle();
    controller.abort();
    await expect(waiting).rejects.toThrow('aborted');
    expect(log.started).toBe(0);
    await holder.return(undefined);
    expect(await following(queue)).toEqual([0, 1, 2]);
  });

  it('a signal aborted while the caller has stopped reading ends the producer and frees the queue, the events stay readable', async () => {
    const queue = new RequestQueue();
    const controller = new AbortController();
    const { produce, log } = counting(100);
    const it = queuedStream(queue, produce, { signal: controller.signal, toError });
    expect((await it.next()).value).toBe(0);
    controller.abort();
    expect(await following(queue)).toEqual([0, 1, 2]);
    expect(log).toMatchObject({ sawAbort: true, ended: 1 });
    expect(await drain(it)).toEqual([1]);
  });

  it('an iterator dropped after its first event gives up its turn once it is garbage-collected', async () => {
    const queue = new RequestQueue();
    const { produce, log } = counting(100);
    await (async () => {
      const it = queuedStream(queue, produce, { toError });
      await it.next();
    })();
    let done = false;
    const next = following(queue).then((r) => {
      done = true;
      return r;
    });
    for (let i = 0; i < 50 && !done; i++) {
      gc();
      await settle();
    }
    expect(done).toBe(true);
    expect(await next).toEqual([0, 1, 2]);
    expect(log).toMatchObject({ sawAbort: true, ended: 1 });
  });

  it("a producer's failure is thrown by the iterator, and the queue goes on", async () => {
    const queue = new RequestQueue();
    const it = queuedStream<number>(
      queue,
      async (emit) => {
        await emit(1);
        throw new Error('broken');
      },
      { toError },
    );
    await expect(drain(it)).rejects.toThrow('broken');
    expect(await following(queue)).toEqual([0, 1, 2]);
  });
});
