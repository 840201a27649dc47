// How OSv's scripts/test.py runs one test and judges it, and osvemu's own ways for a run to end.
// test.py (through tests/testing.py) boots `run.py -s -e "--power-off-on-abort /tests/NAME"` and
// fails the test when the run's exit status is non-zero or a console line matches one of
// scan_errors()'s patterns. osvemu adds outcomes QEMU has no name for: an abort that halted the
// machine, a triple fault, an instruction limit, a timeout, an unimplemented instruction.
import type { StopCause } from '../machine/machine.js';

export type OsvTestOutcome =
  | 'passed'
  /** A console line matched one of test.py's failure patterns. */
  | 'failed'
  /** The machine ended with a non-zero exit status (isa-debug-exit). */
  | 'exit-status'
  /** OSv's abort(): "[backtrace]" on the console (powered off by --power-off-on-abort, or halted). */
  | 'abort'
  /** Every vCPU halted for good without an abort message. */
  | 'halted'
  | 'triple-fault'
  | 'insn-limit'
  | 'timeout'
  | 'unimplemented'
  /** The guest reset the machine (QEMU under run.py would reboot it into the test again). */
  | 'reset'
  /** osvemu itself failed (an internal error): not the guest's fault. */
  | 'error'
  | 'skipped';

/** The kernel command line test.py gives a test (tests/testing.py run_command_in_guest). */
export function testCommandLine(guestPath: string): string {
  return `--power-off-on-abort ${guestPath}`;
}

/** tests/testing.py scan_errors(), with "Failed to load object" (test.py scans for it too). */
export const FAILURE_PATTERNS: readonly RegExp[] = [
  /failure.*detected.*in.*test/,
  /FAIL/,
  /cannot execute /,
  /Assertion failed/,
  /Aborted/,
  /Error/,
  /\[BUG]/,
  /Failed looking up symbol/,
  /Failure/,
  /program exited with status/,
  /program tests\/(.*?) returned/,
  /Exception was caught while running/,
  /at org.junit.runner.JUnitCore.main/,
  /ContextFailedException/,
  /AppThreadTerminatedWithUncaughtException/,
  /\[backtrace]/,
  /Test setup error/,
  /Failed to load object/,
];

/** The first console line test.py would call a failure, or null. */
export function firstFailureLine(console: string): string | null {
  for (const line of console.split('\n')) {
    for (const p of FAILURE_PATTERNS) if (p.test(line)) return line.replace(/\r$/, '');
  }
  return null;
}

/** How a test machine ended: its stop cause ('error' when osvemu failed) and exit status. */
export interface MachineEnd {
  cause: StopCause | 'error';
  message: string;
  exitStatus: number;
}

export interface Verdict {
  outcome: OsvTestOutcome;
  /** One line: why. */
  reason: string;
  /** The first line matching a failure pattern, if any. */
  failureLine: string | null;
}

const BACKTRACE = /^\[backtrace\]\r?$/m;

/** The message OSv printed before "[backtrace]": the last non-empty line above it. */
function abortMessage(console: string): string | null {
  const m = BACKTRACE.exec(console);
  if (!m) return null;
  const before = console.slice(0, m.index).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return before.length ? before[before.length - 1] : 'abort';
}

/**
 * The outcome of a test from how its machine ended and what it printed. The machine's own end
 * comes first (it says most about a run that did not finish), then an abort, then test.py's
 * failure patterns, then the exit status.
 */
export function classify(end: MachineEnd, console: string): Verdict {
  const failureLine = firstFailureLine(console);
  const aborted = abortMessage(console);
  const v = (outcome: OsvTestOutcome, reason: string): Verdict => ({ outcome, reason, failureLine });
  switch (end.cause) {
    case 'error': return v('error', `osvemu failed: ${end.message}`);
    case 'timeout': return v('timeout', end.message);
    case 'insn-limit': return v('insn-limit', end.message);
    case 'triple-fault': return v('triple-fault', end.message);
    case 'unimplemented': return v('unimplemented', end.message);
    case 'reset': return v('reset', end.message);
    case 'stopped': return v('error', end.message);
    case 'halted':
      return aborted ? v('abort', `${aborted} (machine halted)`) : v('halted', end.message);
    default:
      break;
  }
  if (aborted) return v('abort', aborted);
  if (failureLine !== null) return v('failed', failureLine.trim());
  if (end.cause === 'debug-exit' && end.exitStatus !== 0) return v('exit-status', `exit status ${end.exitStatus}`);
  return v('passed', end.cause === 'poweroff' ? 'powered off' : end.message);
}

/** A per-test rdrand seed: the same for a test whatever the order or number of jobs. */
export function seedFor(guestPath: string): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < guestPath.length; k++) {
    h ^= guestPath.charCodeAt(k);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) || 1;
}
