// Whole-system: a real OSv kernel (built outside this repository) boots on the board, runs its
// application from the built-in ramfs and powers off. Skipped unless OSV_KERNEL names the kernel
// (loader-stripped.elf with an app in its bootfs). Optional:
//   OSV_LOADER_ELF  the unstripped loader.elf, so a failure names the function the vCPU stopped in
//   OSV_CMDLINE     kernel command line (default "--verbose /hello")
//   OSV_APP_LINE    a regular expression the app prints (default "^Hello from")
//   OSV_CPUS        comma-separated vCPU counts to try (default "1,2")
// A second, independent block runs some of OSv's own unit tests (tests/tst-*.so, built into the
// bootfs of another kernel) when OSV_TESTS_KERNEL names that kernel; OSV_TESTS lists which
// (comma-separated, default: a quick set that covers TLS calls, FPU state, signals, exceptions).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { KernelSymbols } from '../../src/osv/symbols.js';

const kernelPath = process.env.OSV_KERNEL ?? '';
const haveKernel = kernelPath !== '' && existsSync(kernelPath);
const cmdline = process.env.OSV_CMDLINE ?? '--verbose /hello';
const appLine = new RegExp(process.env.OSV_APP_LINE ?? '^Hello from', 'm');
const cpuCounts = (process.env.OSV_CPUS ?? '1,2').split(',').map((s) => Number(s.trim()));
/** The reference boot is ~10 M instructions (44 M with 2 vCPUs); leave room for idle polling. */
const MAX_INSNS = 400_000_000;
const testsKernelPath = process.env.OSV_TESTS_KERNEL ?? '';
const haveTestsKernel = testsKernelPath !== '' && existsSync(testsKernelPath);
const osvTests = (process.env.OSV_TESTS ??
  'tst-hello,tst-tls,tst-thread-local,tst-feexcept,tst-math,tst-except,tst-setjmp,tst-printf,tst-sigaction,tst-align')
  .split(',').map((s) => s.trim()).filter((s) => s !== '');
const TIMEOUT_MS = 180_000;

function symbols(): KernelSymbols | null {
  const path = process.env.OSV_LOADER_ELF ?? kernelPath;
  try {
    return KernelSymbols.fromElf(readFileSync(path));
  } catch {
    return null;
  }
}

/** Where each vCPU stopped, by symbol when known: the first thing to read when the boot fails. */
function whereStopped(m: Machine, syms: KernelSymbols | null): string {
  return m.cpus.map((c, k) => {
    const rip = c.rip;
    const name = syms?.resolve(rip) ?? '?';
    return `vCPU ${k}: rip=0x${rip.toString(16)} <${name}>${c.halted ? ' halted' : ''}`;
  }).join('\n');
}

describe.skipIf(!haveKernel)('real OSv kernel on the board', () => {
  const syms = haveKernel ? symbols() : null;
  for (const cpus of cpuCounts) {
    it(`boots with -c ${cpus}, runs the app and powers off`, () => {
      const kernel = readFileSync(kernelPath);
      const m = new Machine({ kernel, cpus, cmdline, memMiB: 256 });
      const r = m.run({ maxInsns: MAX_INSNS, timeoutMs: TIMEOUT_MS });
      const why = `${r.message} after ${r.instructions} instructions\n${whereStopped(m, syms)}\n--- console ---\n${m.console}`;
      expect(m.console, why).toMatch(/^OSv v\d/m);
      expect(m.console, why).toMatch(appLine);
      expect(r.cause, why).toBe('poweroff');
      if (cmdline.includes('--verbose')) expect(m.console, why).toContain(`${cpus} CPUs detected`);
    }, TIMEOUT_MS + 30_000);
  }
});

/** OSv's tests print "FAIL" lines, or die through abort()/a fault (which prints a backtrace). */
const TEST_FAILURE = /^FAIL|\bAborted\b|\[backtrace\]|SUMMARY: \d+,? tests?,? [1-9]\d* failures/m;

describe.skipIf(!haveTestsKernel)('OSv unit tests on the board', () => {
  const syms = haveTestsKernel ? (() => {
    try { return KernelSymbols.fromElf(readFileSync(process.env.OSV_LOADER_ELF ?? testsKernelPath)); } catch { return null; }
  })() : null;
  for (const name of osvTests) {
    it(`${name} passes with -c 1`, () => {
      const m = new Machine({ kernel: readFileSync(testsKernelPath), cpus: 1, cmdline: `/tests/${name}.so`, memMiB: 256 });
      const r = m.run({ maxInsns: MAX_INSNS, timeoutMs: TIMEOUT_MS });
      const why = `${r.message} after ${r.instructions} instructions\n${whereStopped(m, syms)}\n--- console ---\n${m.console}`;
      expect(m.console, why).not.toMatch(TEST_FAILURE);
      expect(r.cause, why).toBe('poweroff');
    }, TIMEOUT_MS + 30_000);
  }
});
