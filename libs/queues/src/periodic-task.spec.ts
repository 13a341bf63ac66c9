import { PeriodicTask } from './periodic-task.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(PeriodicTask.name, () => {
  it('never runs twice at once, and stop waits for the run in progress', async () => {
    let running = 0;
    let mostAtOnce = 0;
    let runs = 0;
    let finished = 0;
    const task = new PeriodicTask('test', 5, async () => {
      runs++;
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await sleep(30);
      running--;
      finished++;
    });
    task.start();
    void task.runOnce(); // a run asked for from outside joins the one in progress rather than overlapping
    while (runs < 3) await sleep(5);
    await task.stop();
    expect(mostAtOnce).toBe(1);
    expect(finished).toBe(runs); // the run in progress ended before stop returned
    await sleep(50);
    expect(runs).toBe(finished); // and none started after it
  });

  it('logs an error and keeps running', async () => {
    let runs = 0;
    const task = new PeriodicTask('failing', 5, async () => {
      runs++;
      if (runs === 1) throw new Error('database away');
    });
    task.start();
    while (runs < 3) await sleep(5);
    await task.stop();
    expect(runs).toBeGreaterThanOrEqual(3);
  });
});
