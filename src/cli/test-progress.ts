// What `osvemu test` shows while it runs: a line per finished test on stdout, and on a terminal a
// progress line on stderr (done/total, passed, failed, running, ETA) kept below them.
import type { OsvTestResult } from '../osv/test-runner.js';

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Where the lines go; a terminal on `err` gets the progress line. */
export interface ProgressOutput {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
  tty: boolean;
}

export class TestProgress {
  private done = 0;
  private passed = 0;
  private failed = 0;
  private skipped = 0;
  private running = 0;
  private ranMs = 0;
  private ran = 0;
  private shown = false;
  private readonly timer: NodeJS.Timeout | null;
  private readonly t0 = Date.now();
  private readonly io: ProgressOutput;

  constructor(private readonly total: number, private readonly jobs: number, private readonly nameWidth: number, io?: ProgressOutput) {
    this.io = io ?? { out: process.stdout, err: process.stderr, tty: !!process.stderr.isTTY };
    this.timer = this.io.tty ? setInterval(() => this.draw(), 1000) : null;
    this.timer?.unref();
  }

  started(): void {
    this.running++;
    this.draw();
  }

  finished(r: OsvTestResult): void {
    if (r.outcome !== 'skipped') {
      this.running--;
      this.ran++;
      this.ranMs += r.wallMs;
    }
    this.done++;
    if (r.outcome === 'skipped') this.skipped++;
    else if (r.ok) this.passed++;
    else this.failed++;
    this.clear();
    const tag = r.outcome === 'skipped' ? 'SKIP' : r.ok ? 'PASS' : 'FAIL';
    const time = r.outcome === 'skipped' ? '' : `  (${(r.wallMs / 1000).toFixed(2)} s)`;
    const why = r.ok && r.outcome !== 'skipped' ? '' : `  ${r.outcome}: ${r.reason}`;
    this.io.out.write(`  ${tag}  ${r.name.padEnd(this.nameWidth)}${time}${why}\n`);
    this.draw();
  }

  /** Estimated time left: the mean test time so far, over the tests left, spread on the jobs. */
  private eta(): string {
    if (this.ran === 0) return '?';
    const left = this.total - this.done;
    return duration((this.ranMs / this.ran) * left / this.jobs);
  }

  private draw(): void {
    if (!this.io.tty) return;
    const line = `[osvemu test] ${this.done}/${this.total} done, ${this.passed} passed, ${this.failed} failed, ` +
      `${this.running} running, ${duration(Date.now() - this.t0)} elapsed, ETA ${this.eta()}`;
    this.io.err.write(`\r\x1b[K${line}`);
    this.shown = true;
  }

  private clear(): void {
    if (this.shown) this.io.err.write('\r\x1b[K');
    this.shown = false;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.clear();
  }
}
