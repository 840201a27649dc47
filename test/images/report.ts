// Parses the report the bare guests print on port 0xE9: "PASS <check>",
// "FAIL <check> <detail>", and the final "DONE <n> passed <m> failed".
export interface GuestReport {
  passed: string[];
  failed: { check: string; detail: string }[];
  /** The DONE line's counts; undefined if the guest never got there. */
  done: { passed: number; failed: number } | undefined;
}

export function parseReport(output: string): GuestReport {
  const report: GuestReport = { passed: [], failed: [], done: undefined };
  for (const line of output.replace(/\r/g, '').split('\n')) {
    let m = /^PASS (.+)$/.exec(line);
    if (m) {
      report.passed.push(m[1]!);
      continue;
    }
    m = /^FAIL (\S+) ?(.*)$/.exec(line);
    if (m) {
      report.failed.push({ check: m[1]!, detail: m[2]! });
      continue;
    }
    m = /^DONE (\d+) passed (\d+) failed$/.exec(line);
    if (m) report.done = { passed: Number(m[1]), failed: Number(m[2]) };
  }
  return report;
}

/** One line per problem, empty when the guest finished and every check passed. */
export function reportProblems(name: string, output: string): string[] {
  const r = parseReport(output);
  const problems = r.failed.map((f) => `FAIL ${f.check} ${f.detail}`.trim());
  if (!r.done) problems.push(`${name}: no DONE line (the guest did not finish)`);
  else if (r.done.failed !== r.failed.length) problems.push(`${name}: DONE counts ${r.done.failed} failures, saw ${r.failed.length}`);
  if (!r.passed.some((p) => p === name || p.startsWith(`${name} `))) problems.push(`${name}: no "PASS ${name}" line`);
  return problems;
}
