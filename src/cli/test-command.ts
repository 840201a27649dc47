// `osvemu test`: plan, run in parallel, report (summary table, JUnit XML, console logs, and a
// command that reproduces each failure alone).
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { consoleText, junitXml } from '../osv/junit.js';
import { OsvTestError, planOsvTests, type TestPlan } from '../osv/test-list.js';
import { failureFileLines, testFileBase } from '../osv/test-failure-files.js';
import { resolveTestNet } from '../osv/test-net.js';
import { engineRunWords } from '../osv/test-engine.js';
import { memorySpelling, runTestPlan, shellQuote, type OsvTestResult } from '../osv/test-runner.js';
import { UsageError } from './args.js';
import { parseTestArgs, TEST_USAGE, type TestArgs } from './test-args.js';
import { TestProgress } from './test-progress.js';
import { historyPath } from '../osv/test-history.js';

function fail(lines: string[], code: number): number {
  for (const l of lines) process.stderr.write(`osvemu: ${l}\n`);
  return code;
}

/** The log file of a test. */
export function logFileName(name: string): string {
  return `${testFileBase(name)}.log`;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function count(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${(n / 1e3).toFixed(1)} k`;
}

function summary(results: OsvTestResult[], args: TestArgs, wallMs: number, jobs: number): string {
  const rows = [['test', 'outcome', 'wall', 'instructions', 'virtual']];
  for (const r of results) {
    const ran = r.outcome !== 'skipped';
    rows.push([r.name, r.outcome, ran ? `${(r.wallMs / 1000).toFixed(2)} s` : '',
      ran ? count(r.instructions) : '', ran ? `${(r.virtualNs / 1e6).toFixed(2)} ms` : '']);
  }
  const by = new Map<string, number>();
  for (const r of results) if (!r.ok) by.set(r.outcome, (by.get(r.outcome) ?? 0) + 1);
  const passed = results.filter((r) => r.outcome === 'passed').length;
  const skipped = results.filter((r) => r.outcome === 'skipped').length;
  const failed = results.length - passed - skipped;
  const detail = failed ? ` (${[...by].map(([o, n]) => `${n} ${o}`).join(', ')})` : '';
  const out = [table(rows), '',
    `${plural(results.length, 'test')}: ${passed} passed, ${failed} failed${detail}, ${skipped} skipped; ` +
    `${(wallMs / 1000).toFixed(1)} s wall, ${plural(jobs, 'job')}`];
  const failures = results.filter((r) => !r.ok);
  if (failures.length) {
    out.push('', 'Failures, each with the command that runs it alone (add -s to attach gdb):');
    for (const r of failures) {
      out.push(`${r.name}: ${r.outcome}: ${consoleText(r.reason)}`);
      if (args.logs !== undefined) out.push(`  log: ${path.join(args.logs, logFileName(r.name))}`);
      else {
        const tail = consoleText(r.console).replace(/\r/g, '').trimEnd().split('\n').slice(-5);
        for (const l of tail) out.push(`  | ${l}`);
      }
      out.push(`  ${r.reproduce}`);
      for (const l of failureFileLines(r.failureFiles, 'osvemu', args.kernel, shellQuote)) out.push(`  ${l}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function listPlan(plan: TestPlan): number {
  for (const t of plan.tests) process.stdout.write(`${t.path}${t.skip ? `  (skipped: ${t.skip})` : ''}\n`);
  process.stderr.write(`osvemu: ${plural(plan.tests.length, 'test')} from ${plan.source}\n`);
  return 0;
}

export async function testCommand(argv: string[]): Promise<number> {
  // A reader that went away (| head) ends the report, not with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(1);
    throw e;
  });
  if (argv.includes('-h') || argv.includes('--help')) {
    process.stdout.write(`${TEST_USAGE}\n`);
    return 0;
  }
  let args: TestArgs;
  try {
    args = parseTestArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return fail([e.message], 2);
    throw e;
  }
  const selection = {
    kernel: args.kernel, disk: args.disk, testsFile: args.testsFile, manifest: args.manifest, filter: args.filter,
    excludeFile: args.excludeFile, shard: args.shard,
  };
  let plan: TestPlan;
  try {
    plan = planOsvTests(selection);
  } catch (e) {
    if (e instanceof OsvTestError) return fail(e.lines, 1);
    throw e;
  }
  if (args.list) return listPlan(plan);
  if (plan.tests.length === 0) {
    process.stdout.write(`no tests in shard ${args.shard}\n`);
    return 0;
  }
  if (args.logs !== undefined) {
    try {
      mkdirSync(args.logs, { recursive: true });
    } catch (e) {
      return fail([`cannot create log directory ${args.logs}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`], 1);
    }
  }

  const runnable = plan.tests.filter((t) => !t.skip).length;
  const jobs = Math.max(1, Math.min(args.jobs, runnable));
  const started = new Date();
  const t0 = Date.now();
  const progress = new TestProgress(plan.tests.length, jobs, Math.max(...plan.tests.map((t) => t.name.length)));
  const net = resolveTestNet(args.net, plan.kernelBytes);
  process.stdout.write(`osvemu test: ${plural(plan.tests.length, 'test')} from ${plan.source}, ${plural(jobs, 'job')}, ` +
    `-c ${args.cpus} -m ${memorySpelling(args.memMiB)}${net ? ', net isolated' : ''}${args.rng ? '' : ', no rng'}` +
    `${engineRunWords(args.engine).length ? `, ${engineRunWords(args.engine).join(' ')}` : ''}\n`);
  // Ctrl-C: finish with a report of what ran; a second one ends at once.
  const stop = new AbortController();
  const onSigint = () => {
    if (stop.signal.aborted) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSigint);
  let results: OsvTestResult[];
  try {
    results = await runTestPlan(plan, {
      signal: stop.signal,
      ...selection, jobs, cpus: args.cpus, memMiB: args.memMiB, maxInsns: args.maxInsns, timeoutSec: args.timeoutSec,
      cpuVendor: args.cpuVendor, net: args.net, onFail: args.onFail, onFailDir: args.logs, rng: args.rng, engine: args.engine,
      // Longest first by the last run's durations (test-history.ts); OSVEMU_TEST_HISTORY=0: name order, nothing kept.
      ...(process.env.OSVEMU_TEST_HISTORY === '0' ? {} : { durationsFile: historyPath(plan.kernelBytes) }),
      onEvent: (e) => {
        if (e.type === 'start') progress.started();
        else {
          progress.finished(e.result);
          if (args.logs !== undefined && e.result.outcome !== 'skipped') {
            writeFileSync(path.join(args.logs, logFileName(e.result.name)), Buffer.from(e.result.console, 'latin1'));
          }
        }
      },
    });
  } catch (e) {
    if (e instanceof OsvTestError) return fail(e.lines, 1);
    throw e;
  } finally {
    progress.stop();
    process.off('SIGINT', onSigint);
  }
  const wallMs = Date.now() - t0;
  process.stdout.write(`\n${summary(results, args, wallMs, jobs)}`);
  if (args.junit !== undefined) {
    const properties: Record<string, string> = {
      kernel: args.kernel, tests: plan.source, cpus: String(args.cpus), memory: memorySpelling(args.memMiB),
      jobs: String(jobs), timeout: String(args.timeoutSec),
    };
    if (args.disk !== undefined) properties.disk = args.disk;
    if (args.shard !== undefined) properties.shard = args.shard;
    if (args.maxInsns !== undefined) properties['max-insns'] = String(args.maxInsns);
    properties['cpu-vendor'] = args.cpuVendor;
    properties.net = net ? 'isolated' : 'none';
    properties.rng = args.rng ? 'seeded' : 'none';
    const e = args.engine;
    Object.assign(properties, { 'icount-shift': String(e.icountShift), 'pause-cost': String(e.pauseNs), 'rdtsc-cost': String(e.tscReadNs), jit: String(e.jit), 'loop-skip': String(e.loopSkip), wasm: String(e.wasm) });
    try {
      writeFileSync(args.junit, junitXml(results, { suite: path.basename(args.kernel), kernel: args.kernel, timestamp: started, hostname: hostname(), wallMs, properties }));
    } catch (e) {
      return fail([`cannot write ${args.junit}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`], 1);
    }
  }
  if (stop.signal.aborted) {
    process.stderr.write('osvemu: interrupted\n');
    return 130;
  }
  return results.every((r) => r.ok) ? 0 : 1;
}
