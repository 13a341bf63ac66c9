interface Pending<In, Out> {
  input: In;
  resolve: (output: Out) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs the calls that arrive together (in the same turn of the event loop,
 * or within `windowMs` of the first) as one: what concurrent jobs each ask
 * of the database becomes one statement over all their rows, so the round
 * trips (and the socket writes, which dominate on this hardware) no longer
 * grow with the number of callers. `run` answers the inputs in order; when
 * it throws, every caller of that batch gets the error, and callers of other
 * batches are not touched. With `isolateFailures`, a failed batch is run
 * again one input at a time, so that one bad input (a value that does not
 * open, a row a constraint refuses) fails its own caller only; `run` must
 * then be all or nothing, as one statement is.
 */
export class Batcher<In, Out> {
  private pending: Pending<In, Out>[] = [];

  /**
   * `windowMs`: how long the first call of a batch waits for others (0: to
   * the end of the current turn of the event loop); `maxSize`: a batch that
   * reaches it runs at once.
   */
  constructor(
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    private readonly options: { windowMs?: number; maxSize?: number; isolateFailures?: boolean } = {},
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      const { windowMs = 0, maxSize = 200 } = this.options;
      if (this.pending.length >= maxSize) this.flush();
      else if (this.pending.length === 1) {
        if (windowMs > 0) setTimeout(() => this.flush(), windowMs);
        else setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    // A batch that reached maxSize ran already; this timer then starts the next one early, which is harmless.
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.runBatch(batch).catch((error: unknown) => {
      if (!this.options.isolateFailures || batch.length === 1) {
        for (const call of batch) call.reject(error);
        return;
      }
      for (const call of batch) this.runBatch([call]).catch(call.reject);
    });
  }

  /** Runs one batch and answers its callers; rejects, answering none, when `run` fails. */
  private async runBatch(batch: Pending<In, Out>[]): Promise<void> {
    const outputs = await this.run(batch.map((call) => call.input));
    if (outputs.length !== batch.length) {
      throw new Error(`batch answered ${outputs.length} of ${batch.length} inputs`);
    }
    batch.forEach((call, index) => call.resolve(outputs[index]));
  }
}
