import { Batcher } from './batcher.js';

describe(Batcher.name, () => {
  it('runs the calls of one turn of the event loop as one batch, and answers each its own output', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher(async (inputs: number[]) => {
      batches.push(inputs);
      return inputs.map((n) => n * 10);
    });
    const first = await Promise.all([1, 2, 3].map((n) => batcher.submit(n)));
    const second = await batcher.submit(4);
    expect(first).toEqual([10, 20, 30]);
    expect(second).toBe(40);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('splits at the maximum size', async () => {
    const sizes: number[] = [];
    const batcher = new Batcher(
      async (inputs: number[]) => {
        sizes.push(inputs.length);
        return inputs;
      },
      { maxSize: 2 },
    );
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)))).toEqual([1, 2, 3, 4, 5]);
    expect(sizes).toEqual([2, 2, 1]);
  });

  it('waits windowMs for more calls when asked to', async () => {
    const batches: number[][] = [];
    const batcher = new Batcher(
      async (inputs: number[]) => {
        batches.push(inputs);
        return inputs;
      },
      { windowMs: 20 },
    );
    const first = batcher.submit(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all([first, batcher.submit(2)]);
    expect(batches).toEqual([[1, 2]]);
  });

  it('fails every call of a failed batch, and only those', async () => {
    let calls = 0;
    const batcher = new Batcher(async (inputs: string[]) => {
      if (calls++ === 0) throw new Error('connection lost');
      return inputs;
    });
    const failed = await Promise.allSettled(['a', 'b'].map((x) => batcher.submit(x)));
    expect(failed.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await batcher.submit('c')).toBe('c');
  });

  it('with isolateFailures, runs a failed batch again one by one: a bad input fails its own caller only', async () => {
    const runs: string[][] = [];
    const batcher = new Batcher(
      async (inputs: string[]) => {
        runs.push(inputs);
        if (inputs.includes('bad')) throw new Error('value does not open');
        return inputs.map((input) => input.toUpperCase());
      },
      { isolateFailures: true },
    );
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((input) => batcher.submit(input)));
    expect(results).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('value does not open') },
      { status: 'fulfilled', value: 'C' },
    ]);
    expect(runs).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
  });

  it('fails the batch when run throws at once, or answers the wrong number of outputs', async () => {
    const throwing = new Batcher<number, number>(() => {
      throw new Error('bad input');
    });
    await expect(throwing.submit(1)).rejects.toThrow('bad input');
    const short = new Batcher(async (inputs: number[]) => inputs.slice(1));
    await expect(Promise.all([short.submit(1), short.submit(2)])).rejects.toThrow('answered 1 of 2');
  });
});
