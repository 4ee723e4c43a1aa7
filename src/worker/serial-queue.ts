// Runs async tasks one at a time, in the order they were submitted. The
// engine has one model and one KV cache: a second request must wait for the
// first to finish, not interleave with it. A failed task does not stop the
// ones behind it.

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Tasks submitted and not yet finished, including the running one. */
  get size(): number {
    return this.pending;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(task).finally(() => {
      this.pending--;
    });
    // The next task waits for this one to settle, whatever the outcome.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
