import { spawn } from 'node:child_process';

/**
 * `promtool check metrics` (Debian package `prometheus`, installed by .ci/run)
 * over a scrape: its exit code and what it printed (the lint problems, one a
 * line). A missing promtool fails the test rather than skipping it.
 */
export function promtoolCheck(exposition: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) =>
      reject(new Error(`promtool not found (apt-get install prometheus): ${error.message}`)),
    );
    child.on('close', (code) => resolve({ code, output: output.trim() }));
    child.stdin.end(exposition);
  });
}
