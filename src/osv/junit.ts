// JUnit XML for OSv test results, in the dialect GitHub Actions reporters, GitLab and Jenkins read:
// <testsuites> holding one <testsuite>; per test a <testcase> with <failure> (the guest failed),
// <error> (osvemu failed) or <skipped>, and the console in <system-out>.
import { failureFileLines } from './test-failure-files.js';
import { shellQuote, type OsvTestResult } from './test-runner.js';

export interface JunitInfo {
  /** The suite's name, e.g. the kernel's file name. */
  suite: string;
  /** Start of the run. */
  timestamp: Date;
  hostname: string;
  /** Wall time of the whole run in ms. */
  wallMs: number;
  /** The kernel's path (for the gdb command of a core file). */
  kernel?: string;
  /** Shown as <property> elements (kernel, disk, jobs...). */
  properties: Record<string, string>;
}

/** Text as XML 1.0 allows it: escaped, characters XML cannot hold shown as \xNN. */
export function xmlText(s: string): string {
  return s
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Latin-1 characters (bytes off the serial port) read as the UTF-8 the guest wrote. */
export function consoleText(console: string): string {
  return Buffer.from(console, 'latin1').toString('utf8');
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

export function junitXml(results: readonly OsvTestResult[], info: JunitInfo): string {
  const failures = results.filter((r) => !r.ok && r.outcome !== 'error').length;
  const errors = results.filter((r) => r.outcome === 'error').length;
  const skipped = results.filter((r) => r.outcome === 'skipped').length;
  const counts = `tests="${results.length}" failures="${failures}" errors="${errors}"`;
  const time = `time="${seconds(info.wallMs)}"`;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  // Jenkins' schema has no "skipped" count on <testsuites>: it is on the suite only.
  out.push(`<testsuites name="osvemu test" ${counts} ${time}>`);
  const stamp = info.timestamp.toISOString().replace(/\.\d+Z$/, '');
  out.push(`  <testsuite name="${xmlText(info.suite)}" ${counts} skipped="${skipped}" ${time} timestamp="${stamp}" ` +
    `hostname="${xmlText(info.hostname)}">`);
  out.push('    <properties>');
  for (const [name, value] of Object.entries(info.properties)) {
    out.push(`      <property name="${xmlText(name)}" value="${xmlText(value)}"/>`);
  }
  out.push('    </properties>');
  for (const r of results) {
    out.push(`    <testcase name="${xmlText(r.name)}" classname="osv.tests" time="${seconds(r.wallMs)}">`);
    if (r.outcome === 'skipped') {
      out.push(`      <skipped message="${xmlText(r.reason)}"/>`);
    } else if (!r.ok) {
      const tag = r.outcome === 'error' ? 'error' : 'failure';
      const body = [`${r.outcome}: ${r.reason}`];
      if (r.failureLine !== null && r.failureLine.trim() !== r.reason) body.push(`first failure line: ${r.failureLine}`);
      body.push(`reproduce: ${r.reproduce}`);
      for (const l of failureFileLines(r.failureFiles, 'osvemu', info.kernel ?? '', shellQuote)) body.push(l);
      out.push(`      <${tag} type="${r.outcome}" message="${xmlText(`${r.outcome}: ${consoleText(r.reason)}`)}">` +
        `${xmlText(consoleText(body.join('\n')))}</${tag}>`);
    }
    if (r.console !== '') out.push(`      <system-out>${xmlText(consoleText(r.console))}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>');
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
